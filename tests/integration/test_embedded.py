"""The default database: an embedded server under ETL_HOME, started on demand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl_toolkit.db import embedded


def _etl(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["ETL_HOME"] = str(home)
    return subprocess.Popen(
        [sys.executable, "-m", "etl_toolkit", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_concurrent_commands_start_one_embedded_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    try:
        procs = [_etl(home, "db", "migrate", "--json") for _ in range(3)]
        outs = [p.communicate(timeout=180) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], [o[1].decode() for o in outs]
        applied = [json.loads(o[0])["applied"] for o in outs]
        assert sorted(len(a) for a in applied)[-1] > 0
        assert sum(len(a) for a in applied) == max(len(a) for a in applied)  # each file once
        st = embedded.status(home / "pgdata")
        assert st.running
        status = _etl(home, "db", "status", "--json")
        out, _ = status.communicate(timeout=60)
        body = json.loads(out)
        assert body["kind"] == "embedded"
        assert body["up_to_date"] is True
        assert body["server_version"].startswith("1")
    finally:
        stop = _etl(home, "db", "stop")
        out, _ = stop.communicate(timeout=60)
    assert out.decode().strip() == "stopped"
    assert not embedded.status(home / "pgdata").running
