"""`etl sales`: load -> check -> (gate) -> refresh, recorded as one run.

One composition: the stage functions here (load_stage, check_stage,
refresh_stage; typed inputs and outputs) and the end-of-run recording are used
by `run_sales` (the CLI: one process, the run lock held throughout) and by an
orchestrator (workflows/sales.py: begin_run, each stage a task, end_run); the
report is etl_toolkit.sales.report.SalesReport. When an `error` check
fails, everything is recorded (rows, rejects, results, the run as failed) and
the derived tables are left as they were: the refresh queue keeps the pending
orders, and the next run checks them again before refreshing.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, NamedTuple

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.progress import Progress, Reporter
from etl_toolkit.runs import finish_run, start_run, track_run
from etl_toolkit.sales.checks import CheckResult, check
from etl_toolkit.sales.load import load
from etl_toolkit.sales.load_results import LoadResult
from etl_toolkit.sales.lock import run_lock
from etl_toolkit.sales.refresh import RefreshResult, refresh
from etl_toolkit.sales.report import SalesReport


def pending(db: Database) -> bool:
    """Whether derived data waits for a refresh (a previous run's gate failed)."""
    with db.connect() as conn:
        row = conn.execute(query("sales", "pending_refresh")).fetchone()
    return bool(row and (row["full_rebuild"] or row["orders"]))


def run_sales(
    db: Database,
    data_dir: Path,
    *,
    incremental: bool = False,
    progress: Progress | None = None,
) -> SalesReport:
    """The whole run in this process: the run lock held throughout, the run held
    in the ledger (track_run), then the same stages and recording an
    orchestrator runs task by task."""
    started = time.perf_counter()
    reporter = Reporter(progress, "sales")
    with run_lock(db), track_run(db, "sales", _arguments(data_dir, incremental)) as run:
        loaded = load_stage(
            db, data_dir, run.id, incremental=incremental, progress=reporter, locked=True
        )
        reporter.overall("check")
        checks, refreshed = _check_and_refresh(db, loaded, reporter)
        report = SalesReport(run.id, loaded, checks, refreshed, time.perf_counter() - started)
        ended = _ending(report)
        run.status, run.counts, run.report, run.error = ended
    return report


class _Ending(NamedTuple):
    """What etl.runs records at a run's end (both paths: track_run and end_run)."""

    status: str
    counts: dict[str, Any]
    report: dict[str, Any]
    error: str | None


def _ending(report: SalesReport) -> _Ending:
    status = "failed" if report.failed else "succeeded"
    return _Ending(status, report.counts, report.body, report.error)


def _arguments(data_dir: str | Path, incremental: bool, **more: Any) -> dict[str, Any]:
    return {"data_dir": str(data_dir), "incremental": incremental, **more}


def gate_passed(checks: CheckResult | None) -> bool:
    """The gate: the refresh runs when no `error` check failed (or nothing was checked)."""
    return checks is None or checks.passed


# The stages, shared by run_sales and an orchestrator (workflows/sales.py: each
# its own task, the database the only state between them; a run is opened, each
# stage takes the run lock for itself unless its caller holds it, `locked`).
# Between two tasks another run may load (the lock is not held across tasks):
# the checks pass on the digest of the queue they covered, and the refresh
# publishes nothing else (it defers to the next run instead).


def begin_run(db: Database, data_dir: str, *, execution: str, kickoff: str | None) -> int:
    """Open an incremental run in etl.runs; `execution` names the orchestrator's run."""
    args = _arguments(data_dir, True, execution=execution, kickoff=kickoff)
    return start_run(db, "sales", args).id


def _lock(db: Database, run_id: int, locked: bool) -> AbstractContextManager[None]:
    return nullcontext() if locked else run_lock(db, current=run_id)


def load_stage(
    db: Database,
    data_dir: str | Path,
    run_id: int,
    *,
    incremental: bool = True,
    progress: Reporter | None = None,
    locked: bool = False,
) -> LoadResult:
    """Every new file into its table (incremental: only files the ledger has not loaded)."""
    with _lock(db, run_id, locked):
        return load(db, Path(data_dir), run_id=run_id, incremental=incremental, progress=progress)


def check_stage(db: Database, loaded: LoadResult, *, locked: bool = False) -> CheckResult | None:
    """The checks, stored; None when nothing was loaded and nothing waits."""
    with _lock(db, loaded.run_id, locked):
        if not loaded.processed and not pending(db):
            return None
        return check(db, loaded)


def refresh_stage(db: Database, checks: CheckResult, *, locked: bool = False) -> RefreshResult:
    """The refresh of what `checks` covered, or nothing (`deferred`) when data
    came after them."""
    with _lock(db, checks.run_id, locked):
        return refresh(db, checks.queue)


def _check_and_refresh(
    db: Database, loaded: LoadResult, reporter: Reporter
) -> tuple[CheckResult | None, RefreshResult | None]:
    """The checks, then the refresh if they pass (the run lock is held). After a
    first load this process streamed, both at once: the checks are the server's
    work, deriving the tables is Polars'; the refresh commits only if the checks
    pass on the queue it saw."""
    streamed = loaded.streamed if loaded.streamed is not None and loaded.streamed.usable else None
    if streamed is None:
        checks = check_stage(db, loaded, locked=True)
        reporter.overall("refresh")
        if checks is None or not checks.passed:
            return checks, None
        return checks, refresh_stage(db, checks, locked=True)
    with ThreadPoolExecutor(1, thread_name_prefix="sales-checks") as pool:
        gate = pool.submit(check_stage, db, loaded, locked=True)

        def verdict() -> str | None:
            checks = gate.result()
            return checks.queue if checks is not None and checks.passed else None

        reporter.overall("refresh")  # the checks go on meanwhile
        refreshed = refresh(db, verdict, streamed)
        checks = gate.result()
    return checks, refreshed if checks is not None and checks.passed else None


def end_run(
    db: Database,
    loaded: LoadResult,
    checks: CheckResult | None,
    refreshed: RefreshResult | None,
    seconds: float,
) -> SalesReport:
    """Record the run's end (a run begin_run opened): failed when an error check
    failed, else succeeded."""
    report = SalesReport(loaded.run_id, loaded, checks, refreshed, seconds)
    ended = _ending(report)
    finish_run(
        db, loaded.run_id, ended.status, counts=ended.counts, report=ended.report, error=ended.error
    )
    return report
