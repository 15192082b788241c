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


def server_cpu_seconds(db: Database) -> float | None:
    """CPU seconds the database server has used so far, every process of it: the
    postmaster with its reaped children (finished backends, parallel workers) and
    its live children. None when the server is not on this machine (no /proc entry).

    The difference over a stage is the server's share of the work; with the
    client's own CPU it says what the stage costs in CPU, whatever the wall time."""
    with db.connect() as conn:  # the backend's /proc entry goes with its connection
        stat = Path(f"/proc/{conn.info.backend_pid}/stat")
        if not stat.exists():
            return None
        postmaster = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    tick = os.sysconf("SC_CLK_TCK")

    def times(pid: int, reaped: bool) -> int:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            return 0  # ended between the listing and the read
        # fields[11:15]: utime, stime, cutime, cstime (proc(5), counting from state)
        return sum(int(f) for f in fields[11 : 15 if reaped else 13])

    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    total = times(postmaster, True) + sum(times(int(c), False) for c in children)
    return total / tick
