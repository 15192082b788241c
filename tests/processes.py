"""Helpers for tests that run `etl` as a real process or wait on the database."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from etl_toolkit.db.connect import Database


def etl_process(home: Path, *args: str) -> subprocess.Popen[str]:
    """`etl ARGS` in a process of its own, on the embedded server under `home`."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env = {k: v for k, v in env.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    env["ETL_HOME"] = str(home)
    return subprocess.Popen(
        [sys.executable, "-m", "etl_toolkit", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def scalar(db: Database, sql: str, params: dict[str, Any] | None = None) -> Any:
    """The first column of the first row."""
    with db.connect() as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return next(iter(row.values()))  # type: ignore[union-attr]


def wait_for(db: Database, sql: str, timeout: float = 120) -> None:
    """Until `sql` answers something true (a crash test's moment to strike)."""
    deadline = time.monotonic() + timeout
    while not scalar(db, sql):
        assert time.monotonic() < deadline, f"timed out waiting for: {sql}"
        time.sleep(0.05)


# The connection writing a document: in a transaction that wrote, its last statement
# the document's INSERT or a COPY of its pages (the jobs and ledger connections autocommit).
LOADING_DOCUMENT = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL "
    "AND (query ILIKE '%INSERT INTO docs.documents%' OR query ILIKE 'COPY docs.%')"
)


@contextmanager
def connection_killer(db: Database, target: str, timeout: float = 120) -> Iterator[list[int]]:
    """A thread that terminates (pg_terminate_backend) the first backends `target`
    selects (a query of pids): the database goes away under the block's work. Yields
    the pids it killed, filled in when it strikes."""
    killed: list[int] = []
    done = threading.Event()

    def strike() -> None:
        deadline = time.monotonic() + timeout
        with db.connect(autocommit=True) as conn:
            while not killed and not done.is_set() and time.monotonic() < deadline:
                pids = [next(iter(r.values())) for r in conn.execute(target).fetchall()]
                for pid in pids:
                    conn.execute("SELECT pg_terminate_backend(%s)", [pid])
                killed.extend(pids)
                time.sleep(0.01)

    thread = threading.Thread(target=strike, daemon=True)
    thread.start()
    try:
        yield killed
    finally:
        done.set()
        thread.join()
