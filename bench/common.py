"""Shared benchmark plumbing: a fresh, migrated database on the default server."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from etl_toolkit.db import migrate
from etl_toolkit.db.connect import Database, resolve


@contextmanager
def fresh_database(name: str) -> Iterator[Database]:
    """A new database `name` on BENCH_DATABASE_URL's server (default: the embedded one)."""
    admin = os.environ.get("BENCH_DATABASE_URL") or resolve().url
    ident = sql.Identifier(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    db = Database(make_conninfo(admin, dbname=name), "external")
    migrate.migrate(db)
    try:
        yield db
    finally:
        if not os.environ.get("BENCH_KEEP"):
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


def peak_rss_mb() -> float:
    """Peak RSS of this process (VmHWM) and of its finished children, in MB.

    VmHWM rather than ru_maxrss for ourselves: Linux carries ru_maxrss across exec,
    so a process started from a big parent would report the parent's peak.
    """
    own = 0
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                own = int(line.split()[1])
    else:  # not Linux
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024
