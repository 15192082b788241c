"""Helpers for tests that run `etl` as a real process or wait on the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
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
