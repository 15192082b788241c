"""One `etl sales` run at a time (no heavy imports: the API's Lambda package uses it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.errors import Conflict
from etl_toolkit.runs import close_abandoned


@contextmanager
def run_lock(db: Database, current: int | None = None) -> Iterator[None]:
    """One sales run at a time (a session advisory lock held for the run). Runs
    still marked running whose process is gone were abandoned: they are closed
    (also for the stages an orchestrator runs, which open no run of their own)."""
    with db.connect(autocommit=True) as conn:
        row = conn.execute(query("sales", "run_lock")).fetchone()
        if not row or not row["locked"]:
            raise Conflict(
                "another etl sales run is in progress", hint="wait for it, or see `etl runs`"
            )
        close_abandoned(conn, "sales", current)
        try:
            yield
        finally:
            conn.execute(query("sales", "run_unlock"))
