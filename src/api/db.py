"""The API's database: one connection pool per process, bounded statements."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from flask import current_app
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.errors import DatabaseUnavailable

Conn = psycopg.Connection[dict[str, Any]]


class ApiDatabase:
    """Lazily opened pool (so forked gunicorn workers each get their own)."""

    def __init__(self, db: Database, statement_timeout_ms: int, max_size: int = 8) -> None:
        self.db = db
        self.statement_timeout_ms = statement_timeout_ms
        self.max_size = max_size
        self._pool: ConnectionPool[Conn] | None = None
        self._lock = threading.Lock()

    def _configure(self, conn: Conn) -> None:
        conn.execute(query("db", "set_statement_timeout"), {"ms": str(self.statement_timeout_ms)})
        conn.execute(query("db", "set_utc"))  # timestamps render as ISO 8601 UTC
        conn.commit()

    @property
    def pool(self) -> ConnectionPool[Conn]:
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.db.url,
                    min_size=1,
                    max_size=self.max_size,
                    open=True,
                    kwargs={"row_factory": dict_row, "connect_timeout": 5},
                    configure=self._configure,
                    check=ConnectionPool.check_connection,
                    name="api",
                )
            return self._pool

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A pooled connection in a transaction; errors reaching the server become 503."""
        try:
            with self.pool.connection(timeout=5) as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise DatabaseUnavailable(f"database unavailable: {str(exc).strip()}") from exc

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def api_db() -> ApiDatabase:
    db: ApiDatabase = current_app.extensions["etl_db"]
    return db
