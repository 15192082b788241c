"""The default database: an embedded server under ETL_HOME, started on demand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl_toolkit.db import embedded
from tests.processes import etl_process


@pytest.mark.slow
def test_concurrent_commands_start_one_embedded_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    try:
        procs = [etl_process(home, "db", "migrate", "--json") for _ in range(3)]
        outs = [p.communicate(timeout=180) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], [o[1] for o in outs]
        applied = [json.loads(o[0])["applied"] for o in outs]
        assert sorted(len(a) for a in applied)[-1] > 0
        assert sum(len(a) for a in applied) == max(len(a) for a in applied)  # each file once
        st = embedded.status(home / "pgdata")
        assert st.running
        status = etl_process(home, "db", "status", "--json")
        out, _ = status.communicate(timeout=60)
        body = json.loads(out)
        assert body["kind"] == "embedded"
        assert body["up_to_date"] is True
        assert body["server_version"].startswith("1")
    finally:
        stop = etl_process(home, "db", "stop")
        out, _ = stop.communicate(timeout=60)
    assert out.strip() == "stopped"
    assert not embedded.status(home / "pgdata").running
