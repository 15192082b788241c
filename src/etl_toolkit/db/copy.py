"""Bulk loading: COPY in bounded batches into a table or a temp staging table,
then one set-based merge.

Identifiers are composed with psycopg.sql from names the caller passes in code
(never from input data); values only travel through COPY or bound parameters.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from etl_toolkit.db.queries import query
from etl_toolkit.errors import ConfigError

if TYPE_CHECKING:  # Polars is imported by the pipelines that pass frames, not here
    import polars as pl

Conn = psycopg.Connection[Any]
DEFAULT_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class MergeCounts:
    inserted: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


def table_ident(name: str) -> sql.Identifier:
    """`schema.table` (or a bare temp-table name) as a quoted identifier."""
    parts = name.split(".")
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise ConfigError(f"bad table name {name!r}")
    return sql.Identifier(*parts)


def _idents(columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def table_columns(conn: Conn, table: str) -> list[str]:
    """The writable columns of `table` in order (generated columns left out)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query("db", "table_columns"), {"table": table}).fetchall()
    if not rows:
        raise ConfigError(f"table {table} does not exist")
    return [str(r["name"]) for r in rows if not r["generated"]]


def check_columns(conn: Conn, table: str, columns: Sequence[str]) -> None:
    """Refuse a COPY whose columns the table does not have (before any byte is sent)."""
    known = set(table_columns(conn, table))
    missing = [c for c in columns if c not in known]
    if missing:
        raise ConfigError(f"table {table} has no column(s) {', '.join(missing)}")
    if len(set(columns)) != len(columns):
        raise ConfigError(f"duplicate column names in COPY into {table}")


def _batches(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def copy_rows(
    conn: Conn,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> int:
    """COPY Python rows into `table`, one COPY statement per batch; returns rows copied."""
    check_columns(conn, table, columns)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(table_ident(table), _idents(columns))
    total = 0
    with conn.cursor() as cur:
        for batch in _batches(rows, batch_rows):
            with cur.copy(stmt) as cp:
                for row in batch:
                    cp.write_row(row)
            total += len(batch)
    return total


# Rows a COPY of a frame encodes at a time: the CSV of a 12M-row frame is never
# held whole.
FRAME_SLICE_ROWS = 250_000


def copy_frame(conn: Conn, table: str, frame: pl.DataFrame, *, freeze: bool = False) -> int:
    """COPY a Polars frame (its column names are the target's) as CSV; returns rows.

    `freeze`: the rows are written frozen (no later VACUUM or hint-bit rewrite);
    the table must have been created or truncated in the current transaction.
    """
    if frame.height == 0:
        return 0
    columns = frame.columns
    check_columns(conn, table, columns)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, NULL '\\N'{})").format(
        table_ident(table), _idents(columns), sql.SQL(", FREEZE" if freeze else "")
    )
    with conn.cursor() as cur, cur.copy(stmt) as cp:
        for start in range(0, frame.height, FRAME_SLICE_ROWS):
            buf = io.BytesIO()
            # Nulls travel as unquoted \N and every string is quoted, so an empty
            # string and a literal "\N" both stay distinct from NULL.
            frame.slice(start, FRAME_SLICE_ROWS).write_csv(
                buf, include_header=False, null_value="\\N", quote_style="non_numeric"
            )
            view = buf.getbuffer()
            step = 1 << 20
            for at in range(0, len(view), step):
                cp.write(view[at : at + step])
    return frame.height


def create_staging(
    conn: Conn,
    target: str,
    name: str,
    columns: Sequence[str] | None = None,
    *,
    extra: dict[str, str] | None = None,
) -> str:
    """A temp table shaped like `target` (or like its listed columns), dropped at commit.

    `extra` adds columns by name and type (types written in code), e.g. an
    ordinal `{"_ord": "bigint GENERATED ALWAYS AS IDENTITY"}` that records arrival order.
    """
    if columns is None:
        stmt = sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
            sql.Identifier(name), table_ident(target)
        )
    else:
        check_columns(conn, target, columns)
        stmt = sql.SQL(
            "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
        ).format(sql.Identifier(name), _idents(columns), table_ident(target))
    conn.execute(stmt)
    for col, typ in (extra or {}).items():
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                sql.Identifier(name), sql.Identifier(col), sql.SQL(typ)
            )
        )  # typ: written in code
    return name


def merge(
    conn: Conn,
    *,
    target: str,
    source: str,
    key: Sequence[str],
    columns: Sequence[str],
    compare: Sequence[str] | None = None,
    always_set: dict[str, sql.Composable] | None = None,
) -> MergeCounts:
    """INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE ... WHERE changed.

    `columns` are copied from `source` (key included); `compare` (default: the
    non-key columns) decides whether an existing row changed; `always_set` are
    extra assignments applied to changed rows only. Rows that did not change are
    not written at all, so they cost no dead tuples, and are counted unchanged.
    """
    non_key = [c for c in columns if c not in key]
    compare = list(compare) if compare is not None else non_key
    if not non_key:
        set_clause: sql.Composable = sql.SQL("DO NOTHING")
    else:
        assigns = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in non_key]
        assigns += [
            sql.SQL("{} = {}").format(sql.Identifier(c), expr)
            for c, expr in (always_set or {}).items()
        ]
        set_clause = sql.SQL("DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})").format(
            sql.SQL(", ").join(assigns),
            sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in compare),
            sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in compare),
        )
    stmt = sql.SQL(
        "WITH src AS (SELECT count(*) AS n FROM {src}), "
        "up AS (INSERT INTO {tgt} AS t ({cols}) SELECT {cols} FROM {src} "
        "ON CONFLICT ({key}) {action} RETURNING (xmax = 0) AS inserted) "
        "SELECT (SELECT n FROM src) AS n, "
        "count(*) FILTER (WHERE inserted) AS inserted, "
        "count(*) FILTER (WHERE NOT inserted) AS updated FROM up"
    ).format(
        src=table_ident(source),
        tgt=table_ident(target),
        cols=_idents(columns),
        key=_idents(key),
        action=set_clause,
    )
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(stmt).fetchone()
    assert row is not None
    n, inserted, updated = int(row["n"]), int(row["inserted"]), int(row["updated"])
    return MergeCounts(inserted, updated, n - inserted - updated)


def dedupe(conn: Conn, *, source: str, into: str, key: Sequence[str], order_by: str) -> int:
    """Keep one row per key from `source` in a new temp table `into` (the first by
    `order_by`, an expression written in code); returns how many rows were dropped."""
    stmt = sql.SQL(
        "CREATE TEMP TABLE {into} ON COMMIT DROP AS "
        "SELECT DISTINCT ON ({key}) * FROM {src} ORDER BY {key}, {order}"
    ).format(
        into=sql.Identifier(into),
        key=_idents(key),
        src=table_ident(source),
        order=sql.SQL(order_by),
    )  # order_by is an expression written in our code
    conn.execute(stmt)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            sql.SQL("SELECT (SELECT count(*) FROM {}) - (SELECT count(*) FROM {}) AS n").format(
                table_ident(source), sql.Identifier(into)
            )
        ).fetchone()
    return int(row["n"]) if row else 0


def touch(
    conn: Conn, *, target: str, source: str, key: Sequence[str], column: str = "last_seen_at"
) -> int:
    """Set `column` = now() on every target row whose key is in `source` (provenance)."""
    match = sql.SQL(" AND ").join(sql.SQL("t.{0} = s.{0}").format(sql.Identifier(k)) for k in key)
    stmt = sql.SQL(
        "UPDATE {tgt} AS t SET {col} = now() FROM {src} AS s WHERE {match} "
        "AND t.{col} IS DISTINCT FROM now()"
    ).format(
        tgt=table_ident(target), col=sql.Identifier(column), src=table_ident(source), match=match
    )
    return conn.execute(stmt).rowcount


def is_empty(conn: Conn, table: str) -> bool:
    """Whether `table` has no row (reads at most one)."""
    stmt = sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {}) AS empty").format(table_ident(table))
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(stmt).fetchone()
    return bool(row and row["empty"])


@contextmanager
def deferred_indexes(conn: Conn, table: str) -> Iterator[int]:
    """Drop `table`'s indexes (primary key and unique constraints included) for the
    block and build them again after it, inside the caller's transaction: a bulk
    load into an empty table then builds each index once, sorted, instead of
    row by row. Yields how many indexes were deferred. Not for tables whose key a
    foreign key references."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query("db", "index_definitions"), {"table": table}).fetchall()
    schema = table.split(".")[0] if "." in table else None
    for r in rows:
        if r["constraint_name"]:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    table_ident(table), sql.Identifier(r["constraint_name"])
                )
            )
        else:
            name = (schema, r["name"]) if schema else (r["name"],)
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(*name)))
    yield len(rows)
    for r in rows:
        conn.execute(sql.SQL(r["definition"]))  # definitions the catalog wrote
