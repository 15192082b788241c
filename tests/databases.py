"""Databases for tests: created fresh (empty, or from a migrated template) and dropped.

The fixtures in conftest.py use these; a test that needs a database of its own
beside the fixture's (a second server's view, a fuzzing app) uses them too."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


def db_url(admin: str, name: str) -> str:
    """The URL of database `name` on the server of `admin`."""
    return make_conninfo(admin, dbname=name)


def create_database(admin_url: str, template: str | None) -> str:
    """A new database, empty or a copy of `template`; its name."""
    name = f"etl_test_{uuid.uuid4().hex[:12]}"
    stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(stmt)
    return name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
