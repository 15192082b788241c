"""Progress of the long commands (issue 16): the library reports it through one
callback, the CLI writes JSON progress lines off a TTY and nothing with
--quiet; `etl load-pdf -` reads stdin; `etl runs --status` and its 80-column table."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.log import configure_logging
from etl_toolkit.medly.pipeline import run_medly
from etl_toolkit.pdf.pipeline import load_pdfs
from etl_toolkit.pdf.synth import text_page, write_pdf
from etl_toolkit.progress import ProgressEvent
from etl_toolkit.progress_cli import JsonView
from etl_toolkit.runs import track_run
from etl_toolkit.sales.pipeline import run_sales
from tests.paths import ROOT

runner = CliRunner()
SALES = ROOT / "samples" / "sales"
MEDLY = ROOT / "samples" / "medly"


def _lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def _good_pdf(path: Path) -> Path:
    return write_pdf(path, [text_page(["alpha beta gamma"]), text_page(["delta"])], title="Good")


# The library reports -------------------------------------------------------------


def test_sales_reports_every_file_with_its_rows_bytes_and_stages(db: Database) -> None:
    events: list[ProgressEvent] = []
    report = run_sales(db, SALES, progress=events.append)
    finished = {e.item: e for e in events if e.finished}
    assert set(finished) == {f.file for f in report.load.files}
    for f in report.load.files:
        last = finished[f.file]
        assert (last.done, last.stage) == (f.read, "loaded")
        assert last.bytes_done == last.bytes_total == (SALES / f.file).stat().st_size
    assert finished["order_items.csv"].items_done == 5 == events[-1].items_total
    assert events[-1].units_done == sum(f.read for f in report.load.files)
    stages = [e.stage for e in events]
    for stage in ("validate", "copy", "index", "check", "refresh"):
        assert stage in stages
    assert stages.index("check") < stages.index("refresh")
    # Per batch, not per row: a handful of events per file.
    assert len(events) < 10 * len(report.load.files) + 5


def test_medly_reports_each_file_read_to_its_end(db: Database) -> None:
    events: list[ProgressEvent] = []
    run_medly(db, MEDLY, progress=events.append)
    finished = [e for e in events if e.finished]
    files = sorted(str(p.relative_to(MEDLY)) for p in MEDLY.rglob("*.json"))
    assert sorted(e.item for e in finished if e.item) == files
    for e in finished:
        assert e.bytes_done == e.bytes_total == (MEDLY / str(e.item)).stat().st_size
        assert e.unit == "records" and e.done > 0
    assert finished[-1].items_done == finished[-1].items_total == len(files)
    assert [e.stage for e in events if e.item is None][-1] == "vacuum"


def test_load_pdf_reports_pages_of_each_file(db: Database, tmp_path: Path) -> None:
    good = _good_pdf(tmp_path / "good.pdf")
    bad = tmp_path / "bad.pdf"
    bad.write_text("not a pdf")
    events: list[ProgressEvent] = []
    load_pdfs(db, [bad, good], workers=1, progress=events.append)
    finished = {e.item: e for e in events if e.finished}
    assert finished[str(bad)].stage == "failed"
    assert (finished[str(good)].stage, finished[str(good)].done) == ("loaded", 2)
    assert finished[str(good)].total == 2 and finished[str(good)].unit == "pages"
    assert events[-1].items_done == events[-1].items_total == 2
    pages = [e.done for e in events if e.item == str(good) and e.stage == "copy"]
    assert pages == sorted(pages) and pages[-1] == 2


def test_no_callback_no_events(db: Database) -> None:
    report = run_sales(db, SALES)  # progress=None: the pipeline runs as before
    assert report.status == "succeeded"


# The CLI renders -------------------------------------------------------------------


def test_json_progress_lines_at_most_every_interval(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    view = JsonView(interval=3600)
    for n in range(50):
        view(ProgressEvent("sales", "copy", item="orders.csv", done=n, items_total=5))
    lines = _lines(capsys.readouterr().err)
    assert [(x["event"], x["done"], x["files_total"]) for x in lines] == [("progress", 0, 5)]


def test_off_a_tty_progress_is_json_on_stderr(settings: Settings) -> None:
    r = runner.invoke(app, ["sales", "--data-dir", str(SALES)])
    assert r.exit_code == 0, r.output
    progress = [x for x in _lines(r.stderr) if x["event"] == "progress"]
    assert progress and progress[0]["pipeline"] == "sales"
    assert progress[0]["files_total"] == 5 and "bytes_total" in progress[0]
    assert "━" not in r.stderr  # no bar off a TTY
    assert r.stdout.startswith("sales run ")


@pytest.mark.parametrize(
    "args",
    [["sales", "--data-dir", str(SALES)], ["medly", "--data-dir", str(MEDLY)]],
    ids=["sales", "medly"],
)
def test_quiet_hides_progress_and_info_logs(settings: Settings, args: list[str]) -> None:
    r = runner.invoke(app, [*args, "--quiet"])
    assert r.exit_code == 0, r.output
    assert [x for x in _lines(r.stderr) if x["level"] in ("info", "debug")] == []
    assert r.stdout.startswith(f"{args[0]} run ")  # the result still prints


def test_quiet_still_prints_errors(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_text("not a pdf")
    r = runner.invoke(app, ["load-pdf", str(bad), "-q"])
    assert r.exit_code == 1
    assert [x for x in _lines(r.stderr) if x["level"] == "info"] == []
    assert f"Error: {bad}: not a PDF" in r.stderr


# load-pdf - ------------------------------------------------------------------------


def _documents(settings: Settings) -> list[tuple[str, str]]:
    with Database(os.environ["DATABASE_URL"], "external").connect() as conn:
        rows = conn.execute("SELECT name, source_path FROM docs.documents ORDER BY name")
        return [(r["name"], r["source_path"]) for r in rows.fetchall()]


def test_load_pdf_reads_stdin_named_stdin_or_by_name(settings: Settings, tmp_path: Path) -> None:
    good = _good_pdf(tmp_path / "good.pdf").read_bytes()
    r = runner.invoke(app, ["load-pdf", "-", "--json"], input=good)
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert [(f["path"], f["status"], f["pages"]) for f in body["files"]] == [("stdin", "loaded", 2)]
    other = write_pdf(tmp_path / "other.pdf", [text_page(["epsilon"])]).read_bytes()
    r = runner.invoke(app, ["load-pdf", "-", "--name", "report.pdf"], input=other)
    assert r.exit_code == 0, r.output
    assert "report.pdf" in r.stdout and "loaded" in r.stdout
    assert _documents(settings) == [("report.pdf", "report.pdf"), ("stdin", "stdin")]
    again = runner.invoke(app, ["load-pdf", "-", "--json"], input=good)
    assert json.loads(again.stdout)["files"][0]["status"] == "unchanged"


def test_load_pdf_stdin_that_is_not_a_pdf_fails_with_its_name(settings: Settings) -> None:
    r = runner.invoke(app, ["load-pdf", "-", "--name", "notes.txt"], input=b"plain text\n")
    assert r.exit_code == 1
    assert "Error: notes.txt: not a PDF: no %PDF- header in the first 1024 bytes" in r.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-", "other.pdf"], 2, "cannot be combined"),
        (["some.pdf", "--name", "x.pdf"], 2, "--name names the PDF read from stdin"),
        (["-", "--name", "../x.pdf"], 1, "is not a file name"),
    ],
)
def test_load_pdf_stdin_usage(settings: Settings, args: list[str], code: int, message: str) -> None:
    r = runner.invoke(app, ["load-pdf", *args], input=b"%PDF-1.4\n")
    assert r.exit_code == code, r.output
    assert message in r.stderr


def test_load_pdf_stdin_from_a_terminal_is_refused(settings: Settings) -> None:
    main, terminal = pty.openpty()  # stdin is a terminal: nothing is piped in
    try:
        r = subprocess.run(
            [sys.executable, "-m", "etl_toolkit", "load-pdf", "-"],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(main)
        os.close(terminal)
    assert r.returncode == 1
    assert r.stderr.startswith("Error: `-` reads a PDF from stdin, and stdin is a terminal")


# etl runs --------------------------------------------------------------------------

SALES_COUNTS = {
    "files": 5,
    "files_skipped": 0,
    "files_failed": 1,
    "read": 26_123_456,
    "inserted": 25_000_000,
    "updated": 1_000_000,
    "unchanged": 123_456,
    "rejected": 12_345,
    "cleaned": 0,
    "parked": 678,
    "retried": 0,
    "retried_loaded": 0,
}


def _runs(db: Database) -> None:
    with track_run(db, "sales", {}) as run:
        run.counts = SALES_COUNTS
        run.status = "failed"
        run.error = "data-quality gate failed: " + "; ".join(
            f"reject_rate orders_{n}.csv = 50.0% of rows rejected (max 5.0%)" for n in range(4)
        )
    with track_run(db, "load-pdf", {}) as run:
        run.counts = {"files": 80, "loaded": 80, "pages": 1234, "words": 456_789}


def test_runs_status_filters(settings: Settings, db: Database) -> None:
    _runs(db)
    r = runner.invoke(app, ["runs", "--status", "failed", "--json"])
    assert r.exit_code == 0, r.output
    assert [(x["pipeline"], x["status"]) for x in json.loads(r.stdout)["runs"]] == [
        ("sales", "failed")
    ]
    r = runner.invoke(app, ["runs", "--status", "succeeded"])
    assert "load-pdf" in r.stdout and "sales" not in r.stdout
    r = runner.invoke(app, ["runs", "--status", "broken"])
    assert r.exit_code == 2
    assert "choose running, succeeded, partial, failed" in r.stderr


def _piped_runs(columns: str | None) -> str:
    """`etl runs` into a pipe, with COLUMNS set or not."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = columns
    run = [sys.executable, "-m", "etl_toolkit", "runs"]
    return subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout


def test_piped_output_is_not_folded_at_80_columns(settings: Settings, db: Database) -> None:
    """A pipe or a file (cron's log, `| less`) has no width: each run stays one line."""
    _runs(db)
    out = _piped_runs(None)
    whole = [f"{k}={v}" for k, v in SALES_COUNTS.items()]
    assert any(all(c in line for c in whole) for line in out.splitlines()), out


def test_runs_table_fits_80_columns(settings: Settings, db: Database) -> None:
    _runs(db)
    out = _piped_runs("80")
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, out
    # Every count is whole on one line (wrapped between counts, never inside one).
    for key, value in SALES_COUNTS.items():
        assert any(f"{key}={value}" in line for line in lines), (key, out)
    assert any("words=456789" in line for line in lines), out
    # The error follows the table, wrapped at the width, whole.
    error = " ".join(out.split("\nrun ", 1)[1].split())
    assert "reject_rate orders_3.csv = 50.0% of rows rejected (max 5.0%)" in error
