"""The API's database: one connection pool per process, bounded statements."""

from __future__ import annotations

import math
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from flask import current_app, has_request_context, request
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from etl_toolkit.db import migrate
from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.errors import DatabaseUnavailable

Conn = psycopg.Connection[dict[str, Any]]
CONNECT_TIMEOUT = 5
MIGRATIONS_TTL = 30.0  # seconds a readiness answer may report an old migration state
# Requests that only read: their statements run without BEGIN/COMMIT around them (two
# round trips fewer for a one-statement lookup, issue 18).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiDatabase:
    """Lazily opened pool (so forked server workers each get their own).

    After the server went away, psycopg_pool reconnects in the background with an
    exponential backoff (1, 2, 4, 8 s ...): left alone, the API answered 503 for
    15-20 s after the server was back. So every connection is checked before use,
    and once one fails (or the pool cannot deliver) the next request probes the
    server with a connection of its own: refused, it answers 503 at once instead
    of waiting for the pool; accepted, the stale pool is replaced by a fresh one
    and the request is served (issue 13 §4).

    The check costs no round trip unless something happened (issue 18): an idle
    connection has nothing to read, and a server that stopped or restarted has
    closed the socket (or sent its FATAL), which makes it readable. Only then is
    the connection checked with a query.
    """

    def __init__(
        self, db: Database, statement_timeout_ms: int, max_size: int = 8, wait: float = 5.0
    ) -> None:
        self.db = db
        self.statement_timeout_ms = statement_timeout_ms
        self.max_size = max_size
        self.wait = wait
        self._pool: ConnectionPool[Conn] | None = None
        self._lock = threading.Lock()
        self._probing = threading.Lock()
        self._failing = False
        self._migrations: tuple[float, migrate.MigrationState] | None = None

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
                    kwargs={
                        "row_factory": dict_row,
                        "connect_timeout": CONNECT_TIMEOUT,
                        # Transactions are opened where writes need them (connection()).
                        "autocommit": True,
                    },
                    configure=self._configure,
                    name="api",
                )
            return self._pool

    def _recover(self, connect_timeout: int = CONNECT_TIMEOUT) -> None:
        """While failing: 503 at once if the server still refuses, else a fresh pool."""
        with self._probing:
            if not self._failing:
                return  # another request recovered meanwhile
            try:
                psycopg.connect(self.db.url, connect_timeout=connect_timeout).close()
            except psycopg.OperationalError as exc:
                raise unavailable(exc) from exc
            with self._lock:
                stale, self._pool = self._pool, None
            self._failing = False
        if stale is not None:
            # Off the request's path: its workers may be inside a reconnection attempt.
            # Requests still holding its connections give them back to a closed pool,
            # which closes them.
            threading.Thread(target=stale.close, name="api-pool-close", daemon=True).start()

    def _acquire(self, wait: float | None = None) -> tuple[ConnectionPool[Conn], Conn]:
        """A checked connection; at most two tries (a stale pool is replaced in between)."""
        error: Exception | None = None
        for _ in range(2):
            if self._failing:
                # libpq's shortest connect timeout is 2 s
                self._recover(CONNECT_TIMEOUT if wait is None else max(2, math.ceil(wait)))
            pool = self.pool
            try:
                conn = pool.getconn(timeout=self.wait if wait is None else wait)
            except psycopg.OperationalError as exc:  # PoolTimeout, PoolClosed
                # Every connection busy is load, not an outage: keep the pool.
                if not isinstance(exc, PoolTimeout) or (
                    pool.get_stats().get("pool_size", 0) < self.max_size
                ):
                    self._failing = True
                error = exc
                continue
            try:
                if _disturbed(conn):
                    ConnectionPool.check_connection(conn)
            except psycopg.Error as exc:
                pool.putconn(conn)  # broken: the pool discards it
                self._failing = True
                error = exc
                continue
            return pool, conn
        assert error is not None
        raise unavailable(error)

    @contextmanager
    def connection(self, wait: float | None = None) -> Iterator[Conn]:
        """A pooled connection (waiting at most `wait` seconds for one when all are busy);
        errors reaching the server become 503.

        A request that may write (POST, PATCH, DELETE, and work outside a request)
        gets one transaction; a GET runs each statement on its own.
        """
        pool, conn = self._acquire(wait)
        try:
            if has_request_context() and request.method in SAFE_METHODS:
                yield conn
            else:
                with conn.transaction():
                    yield conn
        except psycopg.OperationalError as exc:
            raise unavailable(exc) from exc
        finally:
            pool.putconn(conn)

    def migrations(self) -> migrate.MigrationState:
        """The migration state, read again at most every MIGRATIONS_TTL seconds: it
        changes when someone runs `etl db migrate`, not between two requests."""
        now = time.monotonic()
        cached = self._migrations
        if cached is None or now - cached[0] > MIGRATIONS_TTL:
            try:
                state = migrate.state(self.db)
            except psycopg.OperationalError as exc:
                raise unavailable(exc) from exc
            cached = self._migrations = (now, state)
        return cached[1]

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def _disturbed(conn: Conn) -> bool:
    """Whether an idle connection has something to read (the server closed it, or said
    something unasked), or is known broken: then it is worth a query to check."""
    if conn.closed or conn.broken:
        return True
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def unavailable(exc: Exception) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"database unavailable: {str(exc).strip()}")


def api_db() -> ApiDatabase:
    db: ApiDatabase = current_app.extensions["etl_db"]
    return db
