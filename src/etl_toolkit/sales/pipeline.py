"""`etl sales`: load -> check -> (gate) -> refresh, recorded as one run.

Each stage is a library function with typed inputs and outputs (load.load,
checks.check, refresh.refresh), so an orchestrator can run them as separate
tasks; `run_sales` is the composition the CLI uses. When an `error` check
fails, everything is recorded (rows, rejects, results, the run as failed) and
the derived tables are left as they were: the refresh queue keeps the pending
orders, and the next run checks them again before refreshing.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.progress import Progress, Reporter
from etl_toolkit.runs import finish_run, start_run, track_run
from etl_toolkit.sales.checks import CheckResult, check
from etl_toolkit.sales.load import LoadResult, load
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
    started = time.perf_counter()
    reporter = Reporter(progress, "sales")
    with (
        run_lock(db),
        track_run(db, "sales", {"data_dir": str(data_dir), "incremental": incremental}) as run,
    ):
        loaded = load(db, data_dir, run_id=run.id, incremental=incremental, progress=reporter)
        reporter.overall("check")
        checks, refreshed = _check_and_refresh(db, loaded, reporter)
        report = SalesReport(run.id, loaded, checks, refreshed, time.perf_counter() - started)
        run.counts = report.counts
        run.report = report.body
        if report.failed:
            run.status = "failed"
            run.error = report.error
    return report


# Stages for an orchestrator: each its own task, the database the only state
# between them (a run is opened, each stage takes the run lock for itself).
# Between two stages another run may load (the lock is not held across tasks):
# the checks pass on the digest of the queue they covered, and the refresh
# publishes nothing else (it defers to the next run instead).


def begin_run(db: Database, data_dir: str, *, execution: str, kickoff: str | None) -> int:
    """Open an incremental run in etl.runs; `execution` names the orchestrator's run."""
    args = {"data_dir": data_dir, "incremental": True, "execution": execution, "kickoff": kickoff}
    return start_run(db, "sales", args).id


def load_stage(db: Database, data_dir: str, run_id: int) -> LoadResult:
    with run_lock(db, current=run_id):
        return load(db, Path(data_dir), run_id=run_id, incremental=True)


def _check_and_refresh(
    db: Database, loaded: LoadResult, reporter: Reporter
) -> tuple[CheckResult | None, RefreshResult | None]:
    """The checks, then the refresh if they pass. After a first load this process
    streamed, both at once: the checks are the server's work, deriving the tables
    is Polars'; the refresh commits only if the checks pass on the queue it saw."""
    streamed = loaded.streamed if loaded.streamed is not None and loaded.streamed.usable else None
    if streamed is None:
        checks = _check(db, loaded)
        reporter.overall("refresh")
        passed = checks is not None and checks.passed
        return checks, refresh(db, checks.queue) if passed and checks else None
    with ThreadPoolExecutor(1, thread_name_prefix="sales-checks") as pool:
        gate = pool.submit(_check, db, loaded)

        def verdict() -> str | None:
            checks = gate.result()
            return checks.queue if checks is not None and checks.passed else None

        reporter.overall("refresh")  # the checks go on meanwhile
        refreshed = refresh(db, verdict, streamed)
        checks = gate.result()
    return checks, refreshed if checks is not None and checks.passed else None


def _check(db: Database, loaded: LoadResult) -> CheckResult | None:
    if not loaded.processed and not pending(db):
        return None
    return check(db, loaded)


def check_stage(db: Database, loaded: LoadResult) -> CheckResult | None:
    """The checks, stored; None when nothing was loaded and nothing waits."""
    with run_lock(db, current=loaded.run_id):
        return _check(db, loaded)


def refresh_stage(db: Database, checks: CheckResult) -> RefreshResult:
    """The refresh of what `checks` covered, or nothing (`deferred`) when data
    came after them."""
    with run_lock(db, current=checks.run_id):
        return refresh(db, checks.queue)


def end_run(
    db: Database,
    loaded: LoadResult,
    checks: CheckResult | None,
    refreshed: RefreshResult | None,
    seconds: float,
) -> SalesReport:
    """Record the run's end: failed when an error check failed, else succeeded."""
    report = SalesReport(loaded.run_id, loaded, checks, refreshed, seconds)
    finish_run(
        db,
        loaded.run_id,
        "failed" if report.failed else "succeeded",
        counts=report.counts,
        report=report.body,
        error=report.error,
    )
    return report
