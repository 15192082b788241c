"""The run ledger never disagrees with the exit code, and tells a dead run from a live one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from etl_toolkit import runs
from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.pdf import jobs
from etl_toolkit.pdf.pipeline import load_pdfs
from etl_toolkit.pdf.synth import long_document, text_page, write_pdf
from tests.paths import ROOT
from tests.processes import scalar, wait_for

runner = CliRunner()


def _last_run(db: Database) -> runs.RunRecord:
    latest = runs.list_runs(db, limit=1)
    assert latest, "no run was recorded"
    return latest[0]


def _pair(db: Database, args: list[str]) -> tuple[int, str, str | None]:
    r = runner.invoke(app, args)
    last = _last_run(db)
    return r.exit_code, last.status, last.error


def _good(path: Path) -> Path:
    return write_pdf(path, [text_page(["alpha beta"])], title="Good")


def test_load_pdf_exit_code_and_ledger_agree(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    good = _good(tmp_path / "good.pdf")
    bad = tmp_path / "bad.pdf"
    bad.write_text("not a pdf")
    missing = tmp_path / "no" / "such" / "file.pdf"

    assert _pair(db, ["load-pdf", str(missing)]) == (
        1,
        "failed",
        f"1 of 1 file(s) failed: {missing}: no such file",
    )
    assert _pair(db, ["load-pdf", str(bad), str(missing)])[:2] == (1, "failed")  # all bad
    code, status, error = _pair(db, ["load-pdf", str(bad), str(good)])
    assert (code, status) == (1, "partial")  # the good file loaded, the bad one did not
    assert (
        error == f"1 of 2 file(s) failed: {bad}: not a PDF: no %PDF- header in the first 1024 bytes"
    )
    assert _pair(db, ["load-pdf", str(good)]) == (0, "succeeded", None)  # unchanged is fine
    listed = runner.invoke(app, ["runs", "--pipeline", "load-pdf", "--json"])
    assert [r["status"] for r in json.loads(listed.stdout)["runs"]] == [
        "succeeded",
        "partial",
        "failed",
        "failed",
    ]
    table = runner.invoke(app, ["runs"])
    assert "partial" in table.stdout


def test_medly_exit_code_and_ledger_agree(settings: Settings, db: Database, tmp_path: Path) -> None:
    data = tmp_path / "medly"
    shutil.copytree(ROOT / "samples" / "medly", data)
    assert _pair(db, ["medly", "--data-dir", str(data)]) == (0, "succeeded", None)
    course = data / "curriculum_data" / "aqaGCSEBio_course.json"
    course.write_text(course.read_text()[:200])  # cut short: not valid JSON
    code, status, error = _pair(db, ["medly", "--data-dir", str(data)])
    assert (code, status) == (1, "failed")
    assert error is not None and "aqaGCSEBio_course.json" in error and "not valid JSON" in error


def test_sales_exit_code_and_ledger_agree(settings: Settings, db: Database, tmp_path: Path) -> None:
    data = tmp_path / "sales"
    shutil.copytree(ROOT / "samples" / "sales", data)
    assert _pair(db, ["sales", "--data-dir", str(data)]) == (0, "succeeded", None)
    assert _pair(db, ["sales", "--data-dir", str(data), "--incremental"]) == (0, "succeeded", None)
    (data / "products_2024-07-01.csv").write_text("no,such,columns\n1,2,3\n")
    code, status, error = _pair(db, ["sales", "--data-dir", str(data), "--incremental"])
    assert (code, status) == (1, "failed")
    assert error is not None and error.startswith("data-quality gate failed")


def test_runs_json_shows_each_run_s_stored_report(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    data = tmp_path / "sales"
    shutil.copytree(ROOT / "tests" / "fixtures" / "sales" / "float_totals", data)
    assert runner.invoke(app, ["sales", "--data-dir", str(data)]).exit_code == 0
    with runs.track_run(db, "demo", {}) as demo:
        demo.report = {"files": ["x.csv"]}
    with runs.track_run(db, "demo", {}):
        pass  # a run without a report
    result = runner.invoke(app, ["runs", "--json"])
    assert result.exit_code == 0, result.output
    listed = {r["id"]: r for r in json.loads(result.stdout)["runs"]}
    assert len(listed) == 3
    sales = next(r for r in listed.values() if r["pipeline"] == "sales")
    stored = runs.get_run(db, sales["id"]).report
    assert stored is not None and sales["report"] == json.loads(json.dumps(stored, default=str))
    assert sales["report"]["run_id"] == sales["id"] and sales["report"]["totals"]["cleaned"] > 0
    assert listed[demo.id]["report"] == {"files": ["x.csv"]}
    assert [r["report"] for r in listed.values() if r["pipeline"] == "demo"] == [
        None,
        {"files": ["x.csv"]},
    ]


def test_partial_runs_in_the_api_and_metrics(
    db: Database, client: FlaskClient, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_text("not a pdf")
    report = load_pdfs(db, [bad, _good(tmp_path / "good.pdf")], workers=1)
    run = runs.get_run(db, report.run_id)
    assert run.status == "partial"
    listed = client.get("/runs?status=partial")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.get_json()] == [run.id]
    assert listed.headers["X-Total-Count"] == "1"
    spec = client.get("/openapi.json").get_json()
    params = spec["paths"]["/runs"]["get"]["parameters"]
    status_param = next(p for p in params if p["name"] == "status")
    assert "partial" in json.dumps(status_param["schema"])
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'etl_runs_total{pipeline="load-pdf",status="partial"} 1.0' in metrics


# Dead or alive ---------------------------------------------------------------------


def test_a_run_is_alive_while_its_process_holds_it_and_dead_after(db: Database) -> None:
    with runs.track_run(db, "demo", {}) as first:
        assert runs.get_run(db, first.id).alive is True
        # A second run of the same pipeline at the same time leaves the live one alone.
        with runs.track_run(db, "demo", {}) as second:
            assert second.abandoned == []
        assert runs.get_run(db, first.id).status == "running"
    assert runs.get_run(db, first.id).alive is None  # finished: no question

    # A process that took its run, then vanished (its connection closed without a word).
    with db.connect(autocommit=True) as conn:
        dead = runs._start(conn, "start_held", "demo", {})
        assert runs.get_run(db, dead.id).alive is True
    record = runs.get_run(db, dead.id)
    assert (record.status, record.alive, record.shown_status) == (
        "running",
        False,
        "running (dead)",
    )
    # Runs an orchestrator opened are held by no process between stages: never dead.
    orchestrated = runs.start_run(db, "demo", {"execution": "exec-1"})
    assert runs.get_run(db, orchestrated.id).alive is None

    with runs.track_run(db, "demo", {}) as next_run:
        assert next_run.abandoned == [dead.id]
    closed = runs.get_run(db, dead.id)
    assert closed.status == "failed" and (closed.error or "").startswith("abandoned")
    assert runs.get_run(db, orchestrated.id).status == "running"
    other = runs.start_run(db, "other", {})  # another pipeline's dead run waits for its own
    with runs.track_run(db, "demo", {}) as again:
        assert again.abandoned == []
    assert runs.get_run(db, other.id).status == "running"


def test_kill_9_mid_load_pdf_then_the_next_run_closes_the_run_and_its_job(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    big = write_pdf(tmp_path / "big.pdf", long_document(1500))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    env["DATABASE_URL"] = db.url
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl_toolkit", "load-pdf", str(big), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its extraction workers die with it
    )
    try:
        wait_for(db, "SELECT count(*) > 0 FROM docs.extraction_jobs WHERE status = 'processing'")
        assert proc.poll() is None, "the load finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    dbname = conninfo_to_dict(db.url)["dbname"]
    wait_for(  # the server notices the dead client: its sessions end, its locks go
        db,
        "SELECT count(*) = 0 FROM pg_stat_activity "
        f"WHERE datname = '{dbname}' AND pid <> pg_backend_pid()",
    )
    killed = _last_run(db)
    assert (killed.status, killed.alive) == ("running", False)
    shown = runner.invoke(app, ["runs"])
    assert "running (dead)" in shown.stdout

    good = _good(tmp_path / "good.pdf")
    report = load_pdfs(db, [good], workers=1)
    assert [f.status for f in report.files] == ["loaded"]
    closed = runs.get_run(db, killed.id)
    assert closed.status == "failed"
    assert (
        closed.error == "abandoned: the process ended before the run finished (killed or crashed)"
    )
    with db.connect() as conn:
        found, _ = jobs.list_jobs(conn, status="processing")
        assert found == []
        failed, _ = jobs.list_jobs(conn, status="failed")
    assert len(failed) == 1 and failed[0].metadata is not None
    assert failed[0].metadata["run_id"] == killed.id
    assert failed[0].error_message == (
        f"abandoned: run {killed.id} ended before this job finished ({closed.error})"
    )
    assert scalar(db, "SELECT count(*) FROM docs.documents WHERE name = 'big.pdf'") == 0


@pytest.mark.parametrize("pipeline", ["sales", "medly"])
def test_a_report_file_that_cannot_be_written_is_refused_before_the_run(
    settings: Settings, db: Database, tmp_path: Path, pipeline: str
) -> None:
    data = ROOT / "samples" / pipeline
    target = tmp_path / "no-such-folder" / "report.json"
    r = runner.invoke(app, [pipeline, "--data-dir", str(data), "--report-file", str(target)])
    assert r.exit_code == 1
    assert r.stderr.strip() == (
        f"Error: --report-file {target}: folder {target.parent} does not exist "
        "(create it, or choose another path)"
    )
    assert runs.list_runs(db) == []  # no run recorded as succeeded behind an exit 1
