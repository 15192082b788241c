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
from workflows.sales import (
    adhoc,
    check_quality,
    hourly,
    load_new,
    refresh_and_report,
    sales_pipeline,
    start,
)

from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.errors import Conflict
from etl_toolkit.sales.lock import run_lock
from etl_toolkit.sales.pipeline import check_stage, load_stage, refresh_stage
from etl_toolkit.sales.refresh import refresh
from tests.paths import ROOT
from tests.sales.test_sales import BASE, DELIVERY, derived_snapshot


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


def _queued(db: Database) -> set[int]:
    with db.connect() as conn:
        rows = conn.execute("SELECT order_id FROM sales.refresh_orders").fetchall()
    return {int(r["order_id"]) for r in rows}  # type: ignore[call-overload]


# A CLI delivery whose one good orders row loads and is queued while ten bad rows
# fail the gate (reject rate): a new order 20 with an item, or a change to order
# 11, which the workflow's delivery queued already (only its queue row's version
# shows the change).
NEW_ORDER = "20,1,2024-08-01 10:00:00,Processing,PayPal,,,,,,,,,9.99"
CHANGED_ORDER = "11,8,2024-07-01 10:00:00,Cancelled,PayPal,,,,,,,,,29.85"


def _bad_delivery(folder: Path, good: str) -> None:
    header = (BASE / "orders.csv").read_text().splitlines()[0]
    folder.mkdir()
    bad = [f"{n},1,2024-08-01 10:00:00,Lost,PayPal,,,,,,,,,1.00" for n in range(21, 31)]
    (folder / "orders_2024-08-01.csv").write_text("\n".join([header, good, *bad]) + "\n")
    if good == NEW_ORDER:
        (folder / "order_items_2024-08-01.csv").write_text(
            (BASE / "order_items.csv").read_text().splitlines()[0] + "\n100,20,1,1,9.99,0,9.99\n"
        )


@pytest.mark.parametrize(
    ("good", "added"), [(NEW_ORDER, {20}), (CHANGED_ORDER, set())], ids=["new", "changed"]
)
def test_a_cli_load_between_check_and_refresh_is_not_published(
    settings: Settings, db: Database, tmp_path: Path, good: str, added: set[int]
) -> None:
    """The workflow's refresh publishes exactly what its checks covered: data a CLI
    run queued after the checks (and which failed its own gate) stays unpublished,
    and the next run checks it before it is refreshed."""
    data = _copy(BASE, tmp_path / "sales")
    assert sales_pipeline(data_dir=str(data)).endswith(": succeeded")
    _copy(DELIVERY, data / "2024-07-01")
    run_id = start(data_dir=str(data))
    loaded = load_new(run_id=run_id, data_dir=str(data))
    gate = check_quality(loaded=loaded)
    assert gate.passed and gate.checks is not None
    checked = _queued(db)
    assert 11 in checked and 20 not in checked
    published = derived_snapshot(db)

    _bad_delivery(data / "2024-08-01", good)  # a CLI run between the two stages
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    cli = subprocess.run(
        [sys.executable, "-m", "etl_toolkit", "sales", "--data-dir", str(data), "--incremental"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert cli.stdout.startswith("sales run 3: failed") and "error: file_rejected" in cli.stdout
    assert _queued(db) == checked | added  # loaded and queued, not checked by the workflow

    assert refresh_and_report(loaded=loaded, checks=gate.checks).endswith(": succeeded")
    assert derived_snapshot(db) == published  # nothing the checks did not see
    assert _queued(db) == checked | added  # kept for the next run's checks
    report = next(r for r in _runs(db) if r["id"] == run_id)["report"]
    assert report["refresh"]["mode"] == "deferred"

    # The next run finds nothing new, checks everything pending, refreshes it all.
    assert sales_pipeline(data_dir=str(data)).endswith(": succeeded")
    assert _queued(db) == set()
    refreshed = derived_snapshot(db)
    assert refreshed != published
    with db.connect() as conn:
        conn.execute("UPDATE sales.refresh_state SET full_rebuild = true")
    assert refresh(db).mode == "full"
    assert derived_snapshot(db) == refreshed


def test_each_stage_takes_the_run_lock(settings: Settings, db: Database, tmp_path: Path) -> None:
    data = _copy(BASE, tmp_path / "sales")
    run_id = start(data_dir=str(data))
    with run_lock(db), pytest.raises(Conflict):
        load_stage(db, str(data), run_id)
    loaded = load_stage(db, str(data), run_id)
    with run_lock(db), pytest.raises(Conflict):
        check_stage(db, loaded)
    checks = check_stage(db, loaded)
    assert checks is not None and checks.passed
    with run_lock(db), pytest.raises(Conflict):
        refresh_stage(db, checks)
    assert derived_snapshot(db)["sales.order_totals"] == []  # the refused refresh did nothing
    assert refresh_stage(db, checks).mode == "full"


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


def test_pdf_a_lost_database_is_retried_not_failed(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    """The subtask's database goes away mid-file: the error reaches Flyte as
    recoverable (retried, RETRIES times), not as the file's terminal failure; the
    retry loads the file."""
    from flytekit.exceptions.user import FlyteRecoverableException
    from workflows.pdf import load_one

    from etl_toolkit.errors import DatabaseUnavailable
    from etl_toolkit.pdf.synth import long_document, write_pdf
    from tests.processes import LOADING_DOCUMENT, connection_killer

    big = write_pdf(tmp_path / "big.pdf", long_document(400))
    with (
        connection_killer(db, LOADING_DOCUMENT) as killed,
        pytest.raises(FlyteRecoverableException, match="lost the database while loading") as raised,
    ):
        load_one(path=str(big))
    assert killed and isinstance(raised.value.__cause__, DatabaseUnavailable)
    assert _runs(db)[-1]["status"] == "failed"
    assert load_one(path=str(big)).status == "loaded"
