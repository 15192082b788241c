"""Named SQL queries loaded from sql/queries/<domain>.sql, or from the files of
a folder sql/queries/<domain>/ (one file per stage: load.sql, refresh.sql, ...).

A file holds blocks introduced by `-- name: <query_name>`; the text up to the
next marker is the query. Code asks for `query("runs", "start")`, never writes
SQL inline; a name is unique across a domain's files.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from psycopg import sql
from psycopg.rows import dict_row

from etl_toolkit.errors import ConfigError

_NAME = re.compile(r"^--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)


def sql_root() -> Path:
    """The sql/ folder: inside the installed package, else at the source tree's top."""
    packaged = Path(str(resources.files("etl_toolkit"))) / "sql"
    if packaged.is_dir():
        return packaged
    source_tree = Path(__file__).resolve().parents[3] / "sql"
    if source_tree.is_dir():
        return source_tree
    raise ConfigError("sql/ folder not found", hint="reinstall etl-toolkit")


def parse_queries(text: str) -> dict[str, str]:
    """Split a queries file into {name: sql}; duplicate names are an error."""
    out: dict[str, str] = {}
    marks = list(_NAME.finditer(text))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        name = mark.group(1)
        if name in out:
            raise ConfigError(f"query {name!r} is defined twice")
        body = text[mark.end() : end].strip()
        out[name] = body
    return out


def domain_files(domain: str) -> list[Path]:
    """The files that hold a domain's queries: <domain>.sql, or <domain>/*.sql."""
    root = sql_root() / "queries"
    if (root / f"{domain}.sql").is_file():
        return [root / f"{domain}.sql"]
    files = sorted((root / domain).glob("*.sql"))
    if not files:
        raise ConfigError(
            f"no queries file for {domain!r}: {root / domain}.sql or {root / domain}/"
        )
    return files


@cache
def _load(domain: str) -> dict[str, str]:
    out: dict[str, str] = {}
    where: dict[str, str] = {}
    for path in domain_files(domain):
        for name, body in parse_queries(path.read_text(encoding="utf-8")).items():
            if name in out:
                raise ConfigError(
                    f"query {name!r} is defined twice: in {where[name]} and {path.name}"
                )
            out[name], where[name] = body, path.name
    return out


def query(domain: str, name: str) -> sql.SQL:
    """The named query as a psycopg SQL object (values stay bound parameters)."""
    queries = _load(domain)
    if name not in queries:
        raise ConfigError(f"no query {name!r} in sql/queries/{domain}(.sql|/)")
    # LiteralString cannot be proven for text read from files; these are our own .sql files.
    return sql.SQL(queries[name])


class Window(NamedTuple):
    """One page of a list nested in a resource (a paper's items, a document's pages):
    the API's `<list>_limit` / `<list>_offset`; the resource carries `<list>_total`."""

    limit: int = 20
    offset: int = 0


FIRST_PAGE = Window()


def fetch_page(
    conn: Any, domain: str, list_query: str, count_query: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """Rows of a list query that selects `count(*) OVER () AS total`, and that total.

    Past the last page the window count has no row to ride on, so the count
    query answers instead.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        rows: list[dict[str, Any]] = cur.execute(query(domain, list_query), params).fetchall()
        if rows:
            return rows, int(rows[0]["total"])
        row = cur.execute(query(domain, count_query), params).fetchone()
    return rows, int(row["total"]) if row else 0


def fetch_one(conn: Any, domain: str, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The first row of a named query, as a dict."""
    with conn.cursor(row_factory=dict_row) as cur:
        row: dict[str, Any] | None = cur.execute(query(domain, name), params).fetchone()
    return row


def fetch_all(conn: Any, domain: str, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of a named query, as dicts."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows: list[dict[str, Any]] = cur.execute(query(domain, name), params).fetchall()
    return rows
