"""One `etl sales` run at a time (no heavy imports: the API's Lambda package uses it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.errors import Conflict
from etl_toolkit.log import get_logger

log = get_logger("etl_toolkit.sales")


@contextmanager
def run_lock(db: Database, current: int | None = None) -> Iterator[None]:
    """One sales run at a time (a session advisory lock held for the run). Runs
    still marked running when the lock is free were abandoned: they are closed."""
    with db.connect(autocommit=True) as conn:
        row = conn.execute(query("sales", "run_lock")).fetchone()
        if not row or not row["locked"]:
            raise Conflict(
                "another etl sales run is in progress", hint="wait for it, or see `etl runs`"
            )
        params = {"pipeline": "sales", "current": current}
        for stale in conn.execute(query("runs", "abandon_running"), params):
            log.warning("closed an abandoned run", abandoned_run=stale["id"])
        try:
            yield
        finally:
            conn.execute(query("sales", "run_unlock"))
