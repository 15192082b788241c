"""The run ledger: every pipeline run is a row in etl.runs.

`track_run` records the start on its own autocommitted connection (so a
pipeline's rolled-back transaction cannot erase it), binds `run_id` to every
log line emitted inside, and records the outcome: succeeded with counts and
report, partial (part of the batch loaded, the error names what failed) or
failed with the error. A run that exits non-zero is never `succeeded`.

That connection stays open for the run's life and holds a session advisory
lock keyed by the run id: when the process dies (kill -9, OOM, a lost host)
the server drops the lock with the connection, so a `running` run nobody holds
is dead. Each pipeline's next run closes its dead runs as failed (`abandoned`).
Runs an orchestrator opens stage by stage (`start_run`) hold no lock and are
closed by the orchestrator's failure handler (`fail_execution_runs`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import psycopg
import structlog
from psycopg.types.json import Jsonb

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.errors import EtlError, NotFound
from etl_toolkit.jsonable import jsonable
from etl_toolkit.log import get_logger
from etl_toolkit.redact import redact

log = get_logger("etl_toolkit.runs")
Conn = psycopg.Connection[Any]
Status = Literal["running", "succeeded", "partial", "failed"]


@dataclass
class Run:
    """A run in progress; the pipeline fills counts and report."""

    id: int
    pipeline: str
    started_at: datetime
    counts: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] | None = None
    status: str = "running"
    # Set status "failed" or "partial" with an error to end the run so without raising.
    error: str | None = None
    abandoned: list[int] = field(default_factory=list)  # dead runs closed when this one began


@dataclass(frozen=True)
class RunRecord:
    id: int
    pipeline: str
    arguments: dict[str, Any]
    status: str
    started_at: datetime
    finished_at: datetime | None
    seconds: float
    counts: dict[str, Any]
    error: str | None
    report: dict[str, Any] | None = None
    alive: bool | None = None  # running runs a process holds: is it still there?

    @property
    def shown_status(self) -> str:
        """The status, with a running run whose process is gone shown as dead."""
        return "running (dead)" if self.status == "running" and self.alive is False else self.status


def start_run(db: Database, pipeline: str, arguments: Mapping[str, Any]) -> Run:
    """Record the start of a run no process holds (an orchestrator's, stage by stage)."""
    with db.connect(autocommit=True) as conn:
        return _start(conn, "start", pipeline, arguments)


def _start(conn: Conn, name: str, pipeline: str, arguments: Mapping[str, Any]) -> Run:
    row = conn.execute(
        query("runs", name),
        {"pipeline": pipeline, "arguments": Jsonb(jsonable(dict(arguments)))},
    ).fetchone()
    assert row is not None
    return Run(int(row["id"]), pipeline, row["started_at"])


def close_abandoned(conn: Conn, pipeline: str, current: int | None = None) -> list[int]:
    """Close as failed the runs of `pipeline` left running by a process that is gone."""
    rows = conn.execute(
        query("runs", "abandon_running"), {"pipeline": pipeline, "current": current}
    ).fetchall()
    ids = [int(r["id"]) for r in rows]
    for run_id in ids:
        log.warning("closed an abandoned run", abandoned_run=run_id)
    return ids


def finish_run(
    db: Database,
    run_id: int,
    status: str,
    *,
    counts: Mapping[str, Any] | None = None,
    report: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Record how a run ended (succeeded, partial or failed, with counts, report, error)."""
    with db.connect(autocommit=True) as conn:
        conn.execute(
            query("runs", "finish"),
            {
                "id": run_id,
                "status": status,
                "counts": Jsonb(jsonable(dict(counts or {}))),
                "report": Jsonb(jsonable(dict(report))) if report is not None else None,
                "error": redact(error) if error is not None else None,
            },
        )


@contextmanager
def track_run(db: Database, pipeline: str, arguments: Mapping[str, Any]) -> Iterator[Run]:
    """Record a run around the block; the block's exception is re-raised after recording.

    The run is held (see the module doc) until its end is recorded, and the
    pipeline's dead runs are closed first (their ids in `run.abandoned`).
    """
    with db.connect(autocommit=True) as holder:
        run = _start(holder, "start_held", pipeline, arguments)
        with structlog.contextvars.bound_contextvars(run_id=run.id, pipeline=pipeline):
            run.abandoned = close_abandoned(holder, pipeline, current=run.id)
            log.info("run started")
            try:
                yield run
            except BaseException as exc:
                if isinstance(exc, EtlError) and exc.run_id is None:
                    exc.run_id = run.id  # --json and --report-file name the run that failed
                _finish(db, run, "failed", error=str(exc) or type(exc).__name__)
                log.error("run failed", error=redact(str(exc)))
                raise
            ended = run.status if run.status in ("failed", "partial") else "succeeded"
            _finish(db, run, ended, error=run.error)
            log.info("run finished", status=run.status, counts=run.counts)


def _finish(db: Database, run: Run, status: str, error: str | None = None) -> None:
    run.status = status
    finish_run(db, run.id, status, counts=run.counts, report=run.report, error=error)


def fail_execution_runs(db: Database, pipeline: str, execution: str, error: str) -> list[int]:
    """Mark failed the runs of `pipeline` an orchestrator execution left running."""
    with db.connect(autocommit=True) as conn:
        rows = conn.execute(
            query("runs", "fail_running_execution"),
            {"pipeline": pipeline, "execution": execution, "error": error},
        ).fetchall()
    return [int(r["id"]) for r in rows]  # type: ignore[call-overload]


def _page(
    conn: Conn,
    *,
    pipeline: str | None,
    status: str | None,
    limit: int,
    offset: int,
    reports: bool = False,
) -> list[dict[str, Any]]:
    params = {
        "pipeline": pipeline,
        "status": status,
        "limit": limit,
        "offset": offset,
        "reports": reports,
    }
    return [dict(r) for r in conn.execute(query("runs", "page"), params).fetchall()]


def list_runs(
    db: Database, *, pipeline: str | None = None, status: str | None = None, limit: int = 20
) -> list[RunRecord]:
    """The newest runs, each with its stored report."""
    with db.connect() as conn:
        rows = _page(conn, pipeline=pipeline, status=status, limit=limit, offset=0, reports=True)
    return [RunRecord(**r) for r in rows]


def _get(conn: Conn, run_id: int) -> RunRecord:
    row = conn.execute(query("runs", "get"), {"id": run_id}).fetchone()
    if row is None:
        raise NotFound(f"run {run_id} not found")
    return RunRecord(**row)


def get_run(db: Database, run_id: int) -> RunRecord:
    with db.connect() as conn:
        return _get(conn, run_id)


def page_runs(
    conn: Conn, *, pipeline: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of runs, newest first, and how many match."""
    rows = _page(conn, pipeline=pipeline, status=status, limit=limit, offset=offset)
    total = conn.execute(query("runs", "count"), {"pipeline": pipeline, "status": status})
    row = total.fetchone()
    return rows, int(row["n"]) if row else 0


def run_detail(conn: Conn, run_id: int) -> dict[str, Any]:
    """One run with its report and its data-quality results (sales runs have them)."""
    run = vars(_get(conn, run_id))
    run["dq_results"] = [
        dict(r) for r in conn.execute(query("runs", "dq_results"), {"id": run_id}).fetchall()
    ]
    return run


def metrics(conn: Conn) -> dict[str, list[dict[str, Any]]]:
    """Run counts by pipeline and status, rows loaded and refused, last successes."""
    return {
        name: [dict(r) for r in conn.execute(query("runs", f"metrics_{name}")).fetchall()]
        for name in ("runs", "rows", "last_success")
    }
