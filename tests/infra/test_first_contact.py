"""A new user's first commands: an unmigrated database, a bad DATABASE_URL, a fresh machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import get_settings
from etl_toolkit.db import embedded, migrate
from etl_toolkit.db.connect import Database
from etl_toolkit.pdf.synth import text_page, write_pdf
from tests.paths import ROOT
from tests.processes import etl_process

runner = CliRunner()


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_pdf(tmp_path / "report.pdf", [text_page(["first contact"])], title="Report")


def _use(monkeypatch: pytest.MonkeyPatch, url: str, home: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ETL_HOME", str(home))
    get_settings.cache_clear()


@pytest.fixture
def unmigrated(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Database]:
    _use(monkeypatch, empty_db.url, tmp_path / "home")
    yield empty_db
    get_settings.cache_clear()


def _commands(pdf: Path) -> list[list[str]]:
    """Every command that reads or writes the toolkit's tables, one per pipeline and more."""
    return [
        ["load-pdf", str(pdf)],
        ["medly", "--data-dir", str(ROOT / "samples" / "medly")],
        ["sales", "--data-dir", str(ROOT / "samples" / "sales")],
        ["runs"],
        ["tasks", "list"],
    ]


def _tables(db: Database) -> int:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM pg_tables WHERE schemaname NOT IN "
            "('pg_catalog', 'information_schema')"
        ).fetchone()
    assert row is not None
    return int(row["n"])  # type: ignore[call-overload]


def test_an_unmigrated_external_database_names_the_fix(unmigrated: Database, good: Path) -> None:
    n = len(migrate.discover())
    for args in _commands(good):
        r = runner.invoke(app, args)
        assert r.exit_code == 1, (args, r.output)
        assert r.stderr.strip().splitlines() == [
            f"Error: the database {unmigrated.redacted_url} has {n} pending migrations "
            f"({migrate.discover()[0].filename} ... {migrate.discover()[-1].filename}): "
            "run `etl db migrate`"
        ], args
        assert "UndefinedTable" not in r.output
    assert _tables(unmigrated) == 0  # refused before anything was written


def test_a_database_behind_by_one_migration_is_refused_then_migrate_fixes_it(
    unmigrated: Database, good: Path, tmp_path: Path
) -> None:
    files = migrate.discover()
    older = tmp_path / "older"
    older.mkdir()
    for m in files[:-1]:
        shutil.copy(m.path, older / m.filename)
    migrate.migrate(unmigrated, older)
    r = runner.invoke(app, ["load-pdf", str(good)])
    assert r.exit_code == 1
    assert f"has 1 pending migration ({files[-1].filename}): run `etl db migrate`" in r.stderr
    assert runner.invoke(app, ["db", "migrate"]).exit_code == 0
    r = runner.invoke(app, ["load-pdf", str(good), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["totals"]["loaded"] == 1


# Each spelling of a password in DATABASE_URL, unreachable (port 1) or malformed.
BAD_URLS = [
    ("mysql://u:secret-mysql@localhost/db", "secret-mysql", "is not a PostgreSQL URL"),
    ("postgresql://u:s3cret-url@127.0.0.1:1/db", "s3cret-url", "cannot connect to"),
    ("postgresql://u@127.0.0.1:1/db?password=s3cret-query", "s3cret-query", "cannot connect to"),
    ("host=127.0.0.1 port=1 user=u password=s3cret-kw dbname=x", "s3cret-kw", "cannot connect"),
    ("host=127.0.0.1 port=1 password='s3cret quoted'", "s3cret quoted", "cannot connect"),
    ("host=127.0.0.1 password=s3cret-bogus bogus=1", "s3cret-bogus", "not a PostgreSQL connection"),
    ("postgres://u:s3cret-v6@[::1", "s3cret-v6", "not a PostgreSQL connection"),
    ("postgresql://u:s3cret-mode@127.0.0.1:1/db?sslmode=bogus", "s3cret-mode", "cannot connect"),
    # an unencoded @ in the password: libpq takes `ss3cret@127.0.0.1` for the host
    ("postgresql://u:p@ss3cret@127.0.0.1:1/db", "ss3cret", "cannot connect to"),
    # a keyword ending in password is a secret (the client key's), in both spellings
    ("host=127.0.0.1 port=1 sslpassword=s3cret-ssl", "s3cret-ssl", "cannot connect"),
    ("postgresql://u@127.0.0.1:1/db?sslpassword=s3cret-sslq", "s3cret-sslq", "cannot connect"),
]


@pytest.mark.parametrize(("url", "secret", "message"), BAD_URLS, ids=[u[0] for u in BAD_URLS])
def test_a_bad_database_url_never_shows_its_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, good: Path, url: str, secret: str, message: str
) -> None:
    _use(monkeypatch, url, tmp_path / "home")
    try:
        for args in (["load-pdf", str(good)], ["db", "status"], ["--debug", "runs"]):
            r = runner.invoke(app, args)
            assert r.exit_code == 1, (args, r.output)
            assert secret not in r.output, (args, r.output)
            assert message in r.stderr, (args, r.stderr)
            if args[0] != "--debug":
                assert len(r.stderr.strip().splitlines()) == 1
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u@127.0.0.1:1/db?password=s3cret", "password=***"),
        ("postgresql://u:p@s3cret@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db"),
        ("host=127.0.0.1 port=1 sslpassword=s3cret", "sslpassword=***"),
    ],
)
def test_the_real_cli_process_hides_the_password_too(
    tmp_path: Path, good: Path, url: str, shown: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    env |= {"DATABASE_URL": url, "ETL_HOME": "/x"}
    p = subprocess.run(
        [sys.executable, "-m", "etl_toolkit", "load-pdf", str(good)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 1
    assert "s3cret" not in p.stdout + p.stderr
    assert shown in p.stderr


@pytest.mark.slow
def test_load_pdf_is_a_fine_first_command_on_a_fresh_machine(tmp_path: Path) -> None:
    """No `etl db migrate` first: the embedded server is started and migrated on
    demand, by two first commands at once (one applies each file, the other waits)."""
    home = tmp_path / "fresh-home"
    a = write_pdf(tmp_path / "a" / "report.pdf", [text_page(["alpha"])], title="A")
    b = write_pdf(tmp_path / "b" / "other.pdf", [text_page(["beta gamma"])], title="B")
    try:
        procs = [etl_process(home, "load-pdf", str(p), "--json", "--workers", "1") for p in (a, b)]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
        assert [json.loads(o[0])["totals"]["loaded"] for o in outs] == [1, 1]
        status = etl_process(home, "db", "status", "--json")
        body = json.loads(status.communicate(timeout=120)[0])
        assert body["kind"] == "embedded" and body["up_to_date"] is True
        assert body["applied"] == [m.filename for m in migrate.discover()]
        runs = etl_process(home, "runs", "--json")
        listed = json.loads(runs.communicate(timeout=120)[0])["runs"]
        assert [r["status"] for r in listed] == ["succeeded", "succeeded"]
    finally:
        etl_process(home, "db", "stop").communicate(timeout=120)
    assert not embedded.status(home / "pgdata").running
