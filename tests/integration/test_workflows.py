"""The Flyte workflows, executed locally (flytekit's local execution, no cluster)
against the test database, the same library stages as the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flytekit import CronSchedule
from workflows.medly import medly_pipeline
from workflows.pdf import pdf_pipeline
from workflows.sales import adhoc, hourly, sales_pipeline

from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from tests.conftest import ROOT
from tests.integration.test_sales import BASE, DELIVERY, derived_snapshot


def _runs(db: Database) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return list(conn.execute("SELECT * FROM etl.runs ORDER BY id").fetchall())  # type: ignore[arg-type]


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return dst


def test_sales_loads_then_a_scheduled_run_with_nothing_new_ends_quickly(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "sales")
    assert sales_pipeline(data_dir=str(data)).endswith(": succeeded")
    assert sales_pipeline(data_dir=str(data)).endswith(": nothing new")
    runs = _runs(db)
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    assert runs[1]["counts"]["files_skipped"] == 5 and runs[1]["counts"]["read"] == 0
    with db.connect() as conn:
        n = conn.execute("SELECT count(*) AS n FROM sales.daily_sales").fetchone()
    assert n is not None and n["n"] > 0  # refreshed


def test_a_failing_error_check_fails_the_workflow_at_the_gate(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "sales")
    sales_pipeline(data_dir=str(data))
    before = derived_snapshot(db)
    bad = _copy(DELIVERY, data / "2024-07-01")
    (bad / "order_items_2024-07-01.csv").write_text("order_item_id,order_id\n15,11\n")
    with pytest.raises(Exception, match="data-quality gate failed: files_failed"):
        sales_pipeline(data_dir=str(data))
    last = _runs(db)[-1]
    assert last["status"] == "failed"
    assert last["error"].startswith("data-quality gate failed: files_failed")
    with db.connect() as conn:
        dq = conn.execute(
            "SELECT count(*) AS n FROM sales.dq_results WHERE run_id = %s AND NOT passed",
            (last["id"],),
        ).fetchone()
    assert dq is not None and dq["n"] >= 1  # recorded before the gate
    assert derived_snapshot(db) == before  # the refresh did not run


def test_the_failure_handler_records_a_terminal_error(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    with pytest.raises(Exception, match="does not exist"):
        sales_pipeline(data_dir=str(tmp_path / "missing"))
    last = _runs(db)[-1]
    assert last["status"] == "failed" and "does not exist" in last["error"]


def test_schedules() -> None:
    assert isinstance(hourly.schedule, CronSchedule)
    assert hourly.schedule.kickoff_time_input_arg == "kickoff_time"
    assert hourly.notifications and hourly.notifications[0].phases
    assert adhoc.schedule is None
    assert adhoc.fixed_inputs.literals == {}


def test_pdf_fans_out_and_reports_partial_success(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    shutil.copy(ROOT / "samples" / "pdf" / "memo.pdf", folder / "good.pdf")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really")
    report = pdf_pipeline(folder=str(folder))
    assert (report.files, report.loaded, report.failed) == (2, 1, 1)
    assert report.failed_paths == [str(folder / "broken.pdf")]
    assert report.results[0].status == "loaded" and report.results[0].words > 0


def test_medly_reports_its_migration(settings: Settings, db: Database) -> None:
    report = medly_pipeline(data_dir=str(ROOT / "samples" / "medly"))
    assert report["run_id"] and report["entities"]
    assert all(e["balanced"] for e in report["entities"].values())  # type: ignore[union-attr]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "workflow", "args"),
    [
        ("workflows/sales.py", "sales_pipeline", ["--data_dir", "samples/sales"]),
        ("workflows/pdf.py", "pdf_pipeline", ["--folder", "samples/pdf"]),
        ("workflows/medly.py", "medly_pipeline", ["--data_dir", "samples/medly"]),
    ],
)
def test_pyflyte_run_on_the_samples(
    settings: Settings, module: str, workflow: str, args: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    pyflyte = Path(sys.executable).with_name("pyflyte")
    out = subprocess.run(
        [str(pyflyte), "run", module, workflow, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
