"""`etl schedule crontab`: lines cron can install, that run the pipelines, never
overlap, log, and exit with codes a monitor can read."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from croniter import croniter
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from tests.paths import ROOT

pytestmark = pytest.mark.skipif(shutil.which("flock") is None, reason="flock (util-linux) missing")


def _lines(tmp_path: Path, *extra: str) -> dict[str, str]:
    out = CliRunner().invoke(
        app,
        [
            "schedule",
            "crontab",
            "--sales-dir",
            str(ROOT / "samples" / "sales"),
            "--log-dir",
            str(tmp_path / "logs"),
            "--lock-dir",
            str(tmp_path),
            "--workdir",
            str(ROOT),
            *extra,
        ],
    )
    assert out.exit_code == 0, out.output
    jobs = [line for line in out.output.splitlines() if line and not line.startswith("#")]
    assert jobs[0] == "SHELL=/bin/sh"
    by_name = {}
    for line in jobs[1:]:
        fields = line.split(maxsplit=5)
        assert croniter.is_valid(" ".join(fields[:5])), line
        name = line.split("/etl-")[1].split(".lock")[0]
        by_name[name] = fields[5]
    assert set(by_name) == {"sales", "medly", "pdf"}
    return by_name


def _run(command: str, db: Database) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    env |= {"DATABASE_URL": db.url, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"}
    return subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True)


def test_the_lines_run_the_pipeline_log_and_exit_zero(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    sales = _lines(tmp_path)["sales"]
    assert "flock -n -E 75" in sales and "sales --data-dir" in sales and "--incremental" in sales
    first = _run(sales, db)
    assert first.returncode == 0, first.stderr
    log = (tmp_path / "logs" / "sales.log").read_text()
    assert "succeeded" in log
    assert _run(sales, db).returncode == 0
    assert "nothing new" in (tmp_path / "logs" / "sales.log").read_text()


def test_a_run_still_holding_the_lock_makes_the_next_one_skip_with_75(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    sales = _lines(tmp_path)["sales"]
    with (tmp_path / "etl-sales.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert _run(sales, db).returncode == 75


def test_a_failed_run_exits_one(settings: Settings, db: Database, tmp_path: Path) -> None:
    missing = _lines(tmp_path, "--pdf-dir", str(tmp_path / "no-such-folder"))["pdf"]
    assert _run(missing, db).returncode == 1


def test_bad_cron_fields_are_refused(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["schedule", "crontab", "--sales-schedule", "hourly"])
    assert out.exit_code == 2 and "five cron fields" in out.output
