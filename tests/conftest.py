"""Test fixtures: a real PostgreSQL, a fresh database per test.

The server is TEST_DATABASE_URL when set, else an embedded server started once
per test session in a temporary directory (deleted afterwards). A template
database is migrated once; each test gets `CREATE DATABASE ... TEMPLATE`.
Under pytest-xdist each worker is a session of its own: its own embedded server
(or, with TEST_DATABASE_URL, its own template and databases, all uniquely named).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql

from api.app import create_app
from etl_toolkit.config import Settings, get_settings
from etl_toolkit.db import embedded, migrate
from etl_toolkit.db.connect import Database
from tests.databases import create_database, db_url, drop_database
from tests.jwks import AUDIENCE, ISSUER, IdentityProvider, serve_idp

# skip_guard: under CI=true a skip not in tests/skips.toml fails; pytester: its tests.
pytest_plugins = ("tests.skip_guard", "pytester")


_TERMINAL_VARS = ("COLUMNS", "LINES")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    # xdist: the controller hands its terminal variables to each worker (below).
    node.workerinput["etl_terminal_env"] = {k: os.environ.get(k) for k in _TERMINAL_VARS}


def pytest_configure(config: pytest.Config) -> None:
    # An xdist worker starts with COLUMNS=80 and LINES=24 set, which a test passing
    # its environment to a terminal (tmux) or to rich would inherit: restore the
    # controller's, so a worker runs a test as a serial run would.
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return
    for key, value in workerinput.get("etl_terminal_env", {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Under xdist (`make pytest`: a file per worker, --no-loadscope-reorder) the files
    # holding slow tests go first, so the run never ends on one worker alone on a
    # slow file handed out last. A serial run keeps the file order.
    if not hasattr(config, "workerinput"):
        return
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: the rest keep their order


@pytest.fixture(scope="session")
def admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    # Not under pytest's basetemp: another pytest session (pytest keeps only the
    # last three basetemps) would delete the data directory under a running server.
    parent = Path(tempfile.mkdtemp(prefix="etl-test-pg-"))
    # Registered before the server's own exit hook, so it runs after it (LIFO).
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    return embedded.start(parent / "data", database="postgres", keep_running=False)


@pytest.fixture(scope="session")
def template_db(admin_url: str) -> Iterator[str]:
    name = f"etl_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.migrate(Database(db_url(admin_url, name), "external"))
    yield name
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def db(admin_url: str, template_db: str) -> Iterator[Database]:
    """A fresh, fully migrated database for this test alone."""
    name = create_database(admin_url, template_db)
    yield Database(db_url(admin_url, name), "external")
    drop_database(admin_url, name)


@pytest.fixture(scope="module")
def module_db(admin_url: str, template_db: str) -> Iterator[Database]:
    """A fresh, migrated database shared by one test module (for expensive loads)."""
    name = create_database(admin_url, template_db)
    yield Database(db_url(admin_url, name), "external")
    drop_database(admin_url, name)


@pytest.fixture
def empty_db(admin_url: str) -> Iterator[Database]:
    """A fresh database with no migrations applied."""
    name = create_database(admin_url, None)
    yield Database(db_url(admin_url, name), "external")
    drop_database(admin_url, name)


@pytest.fixture
def settings(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    """Settings (and environment, for CLI tests) pointing at the test database."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("ETL_HOME", str(tmp_path / "etl-home"))
    monkeypatch.setenv("AUTH_DISABLED", "1")
    for var in ("AUTH0_DOMAIN", "AUTH0_AUDIENCE", "JWT_ISSUER", "JWT_AUDIENCE", "JWKS_URL"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def app(db: Database) -> Iterator[Flask]:
    """The app with auth off, on the test database."""
    application = create_app(Settings(auth_disabled=True, database_url=db.url), db)
    yield application
    application.extensions["etl_db"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    with serve_idp() as provider:
        yield provider


@pytest.fixture
def secure_app(db: Database, idp: IdentityProvider) -> Iterator[Flask]:
    """The app with auth on, trusting the local identity provider."""
    s = Settings(database_url=db.url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwks_url=idp.url)
    application = create_app(s, db)
    yield application
    application.extensions["etl_db"].close()
