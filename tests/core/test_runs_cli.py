from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.errors import InputError
from etl_toolkit.runs import track_run
from etl_toolkit.runs_cli import summarize

runner = CliRunner()


def test_flat_counts_are_listed() -> None:
    assert summarize({"files": 3, "loaded": 2}) == "files=3, loaded=2"


def test_per_entity_counts_show_their_totals() -> None:
    counts = {
        "users": {"read": 9, "inserted": 2, "updated": 1, "skipped": 0},
        "attempts": {"read": 9, "inserted": 5, "updated": 0, "skipped": 3},
    }
    assert summarize(counts) == "inserted=7, updated=1, skipped=3"


def test_no_counts() -> None:
    assert summarize({}) == ""


def test_one_run_in_detail_and_whole_with_json(settings: Settings) -> None:
    db = Database(str(settings.database_url), "external")
    with pytest.raises(InputError), track_run(db, "medly", {"data_dir": "/data/medly"}) as run:
        run.counts = {"users": {"read": 3, "inserted": 2, "skipped": 1}}
        run.report = {"run_id": run.id, "status": "failed"}
        raise InputError("users.json: top level is an array", hint="see docs/formats/medly.md")
    shown = runner.invoke(app, ["runs", str(run.id)])
    assert shown.exit_code == 0, shown.output
    out = " ".join(shown.stdout.split())
    for expected in (
        f"run {run.id}",
        "medly",
        "failed",
        "data_dir=/data/medly",
        "inserted=2",
        "error: users.json: top level is an array (see docs/formats/medly.md)",
        f"etl runs {run.id} --json",
    ):
        assert expected in out, expected
    whole = json.loads(runner.invoke(app, ["runs", str(run.id), "--json"]).stdout)
    assert (whole["id"], whole["status"], whole["report"]) == (
        run.id,
        "failed",
        {"run_id": run.id, "status": "failed"},
    )
    assert whole["dq_results"] == []
    missing = runner.invoke(app, ["runs", "999999"])
    assert missing.exit_code == 1 and "run 999999 not found" in missing.stderr
