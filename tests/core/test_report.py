"""clikit.emit: every pipeline's report shown one way (summary, --report, --json, --report-file)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from etl_toolkit.clikit import (
    JsonOption,
    ReportFileOption,
    ReportOption,
    emit,
    new_app,
    run_pipeline,
)
from etl_toolkit.errors import InputError
from etl_toolkit.progress import Progress
from etl_toolkit.report import Detail, Report, Section


@dataclass(frozen=True)
class ToyReport:
    run_id: int
    bad: int
    computed: list[int]  # counts how often the body is built

    @property
    def failed(self) -> bool:
        return self.bad > 0

    @property
    def status(self) -> str:
        return "failed" if self.failed else "succeeded"

    @cached_property
    def body(self) -> dict[str, Any]:
        self.computed.append(1)
        return {"run_id": self.run_id, "bad": self.bad, "password": "postgresql://u:pw@h/db"}

    def summary(self) -> list[str]:
        return [f"toy run {self.run_id}: {self.bad} bad", "  (--report for details)"]

    def details(self) -> list[Detail]:
        return [Section("toys", ["name", "ok"], [("a", "yes"), ("b", None)]), "all told"]

    def errors(self) -> list[str]:
        return [f"toy {i}: postgresql://u:secret@h/db refused" for i in range(self.bad)]


def _app(report: ToyReport) -> typer.Typer:
    app = new_app("toy")

    @app.command()
    def run(
        json: JsonOption = False, full: ReportOption = False, report_file: ReportFileOption = None
    ) -> None:
        emit(report, json=json, full=full, report_file=report_file)

    @app.command()
    def other() -> None:  # two commands, so `run` keeps its name
        pass

    return app


def test_a_toy_report_meets_the_protocol() -> None:
    report: Report = ToyReport(1, 0, [])  # mypy checks the shape; this checks it runs
    assert report.body["run_id"] == 1


@pytest.mark.parametrize("bad", [0, 2])
def test_every_output_comes_from_one_body(tmp_path: Path, bad: int) -> None:
    computed: list[int] = []
    report = ToyReport(7, bad, computed)
    runner = CliRunner()
    out = tmp_path / "report.json"
    r = runner.invoke(_app(report), ["run", "--json", "--report-file", str(out)])
    assert r.exit_code == (1 if bad else 0)
    assert json.loads(r.stdout) == json.loads(out.read_text()) == report.body
    assert computed == [1]  # the file and --json share one body
    assert r.stderr.count("Error: toy") == bad
    assert "secret" not in r.stderr  # what failed is shown with passwords hidden


def test_default_is_the_summary_and_report_the_details() -> None:
    report = ToyReport(3, 0, [])
    runner = CliRunner()
    plain = runner.invoke(_app(report), ["run"])
    assert plain.exit_code == 0
    assert plain.stdout.splitlines() == ["toy run 3: 0 bad", "  (--report for details)"]
    full = runner.invoke(_app(report), ["run", "--report"])
    assert full.exit_code == 0
    assert "toys" in full.stdout and "all told" in full.stdout
    assert "toy run 3" not in full.stdout


def test_a_run_that_raises_still_answers_json_and_report_file(tmp_path: Path) -> None:
    app = new_app("toy")

    def broken(progress: Progress | None) -> ToyReport:
        error = InputError("data dir /nope does not exist", hint="pass --data-dir")
        error.run_id = 42  # as runs.track_run sets it
        raise error

    @app.command()
    def run(json: JsonOption = False, report_file: ReportFileOption = None) -> None:
        run_pipeline(broken, json=json, full=False, report_file=report_file, quiet=True)

    @app.command()
    def other() -> None:
        pass

    out = tmp_path / "report.json"
    r = CliRunner().invoke(app, ["run", "--json", "--report-file", str(out)])
    assert r.exit_code == 1
    expected = {
        "run_id": 42,
        "status": "failed",
        "error": "data dir /nope does not exist",
        "hint": "pass --data-dir",
    }
    assert json.loads(r.stdout) == json.loads(out.read_text()) == expected
    assert r.stderr.startswith("Error: data dir /nope does not exist (pass --data-dir)")
