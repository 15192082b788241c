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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.runs import track_run
from etl_toolkit.sales.checks import CheckResult, check
from etl_toolkit.sales.load import LoadResult, load
from etl_toolkit.sales.lock import run_lock
from etl_toolkit.sales.refresh import RefreshResult, refresh


@dataclass(frozen=True)
class SalesReport:
    run_id: int
    load: LoadResult
    checks: CheckResult | None
    refresh: RefreshResult | None
    seconds: float

    @property
    def status(self) -> str:
        if self.checks is None:
            return "nothing new"
        return "succeeded" if self.checks.passed else "failed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def pending(db: Database) -> bool:
    """Whether derived data waits for a refresh (a previous run's gate failed)."""
    with db.connect() as conn:
        row = conn.execute(query("sales", "pending_refresh")).fetchone()
    return bool(row and (row["full_rebuild"] or row["orders"]))


def run_sales(db: Database, data_dir: Path, *, incremental: bool = False) -> SalesReport:
    started = time.perf_counter()
    with (
        run_lock(db),
        track_run(db, "sales", {"data_dir": str(data_dir), "incremental": incremental}) as run,
    ):
        loaded = load(db, data_dir, run_id=run.id, incremental=incremental)
        checks: CheckResult | None = None
        refreshed: RefreshResult | None = None
        if loaded.processed or pending(db):
            checks = check(db, loaded)
            if checks.passed:
                refreshed = refresh(db)
        report = SalesReport(run.id, loaded, checks, refreshed, time.perf_counter() - started)
        run.counts = counts(report)
        run.report = report_dict(report)
        if report.failed:
            run.status = "failed"
            run.error = "data-quality gate failed: " + "; ".join(
                f"{r.check_name} {r.subject}".strip() + f" = {r.observed:g} (max {r.threshold:g})"
                for r in checks.failed_errors  # type: ignore[union-attr]
            )
    return report


def counts(r: SalesReport) -> dict[str, Any]:
    files = r.load.processed
    return {
        "files": len(files),
        "files_skipped": len(r.load.files) - len(files),
        "files_failed": sum(f.status == "failed" for f in files),
        "read": sum(f.read for f in files),
        "inserted": sum(f.inserted for f in files),
        "updated": sum(f.updated for f in files),
        "unchanged": sum(f.unchanged for f in files),
        "rejected": sum(f.rejected for f in files),
    }


def report_dict(r: SalesReport) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "status": r.status,
        "data_dir": r.load.data_dir,
        "incremental": r.load.incremental,
        "totals": counts(r),
        "files": [
            {
                "file": f.file,
                "entity": f.entity,
                "delivery": f.delivery,
                "status": f.status,
                "mode": f.mode,
                "read": f.read,
                "inserted": f.inserted,
                "updated": f.updated,
                "unchanged": f.unchanged,
                "rejected": f.rejected,
                "flagged": f.flagged,
                "balanced": f.balanced,
                "reasons": dict(sorted(f.reasons.items(), key=lambda kv: -kv[1])),
                "error": f.error,
                "seconds": round(f.seconds, 3),
            }
            for f in r.load.files
        ],
        "ignored_files": r.load.ignored,
        "checks": [vars(c) for c in r.checks.results] if r.checks else [],
        "refresh": (
            {
                "mode": r.refresh.mode,
                "orders": r.refresh.orders,
                "seconds": round(r.refresh.seconds, 3),
                "steps": {k: round(v, 3) for k, v in r.refresh.steps.items()},
            }
            if r.refresh
            else None
        ),
        "seconds": round(r.seconds, 3),
    }
