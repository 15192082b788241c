"""Health of the toolkit's database: reachability, latency, migration state."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg

from etl_toolkit.db import migrate
from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query


@dataclass(frozen=True)
class DatabaseHealth:
    reachable: bool
    kind: str
    latency_ms: float | None
    server_version: str | None
    migrations_applied: int
    migrations_pending: int
    up_to_date: bool
    error: str | None = None

    @property
    def status(self) -> str:
        """ok (reachable, migrated), degraded (reachable, migrations pending) or down."""
        if not self.reachable:
            return "down"
        return "ok" if self.up_to_date else "degraded"


def check(db: Database, timeout_s: int = 3) -> DatabaseHealth:
    """Connect afresh (a pooled connection could hide an outage) and time a round trip."""
    started = time.perf_counter()
    try:
        with psycopg.connect(db.url, connect_timeout=timeout_s, autocommit=True) as conn:
            conn.execute(query("db", "ping")).fetchone()
            latency = (time.perf_counter() - started) * 1000
            row = conn.execute(query("db", "server_version")).fetchone()
        st = migrate.state(db)
    except psycopg.Error as exc:
        return DatabaseHealth(False, db.kind, None, None, 0, 0, False, str(exc).strip() or "error")
    return DatabaseHealth(
        reachable=True,
        kind=db.kind,
        latency_ms=round(latency, 2),
        server_version=str(row[0]) if row else None,
        migrations_applied=len(st.applied),
        migrations_pending=len(st.pending) + len(st.changed),
        up_to_date=st.up_to_date,
    )
