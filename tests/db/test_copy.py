from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl_toolkit.db.connect import Database
from etl_toolkit.db.copy import copy_frame, copy_rows, create_staging, merge
from etl_toolkit.errors import ConfigError

DDL = """
CREATE TABLE etl.items (
  id bigint PRIMARY KEY, name text, price numeric(12,2), seen timestamptz, tags jsonb
)
"""


@pytest.fixture
def items(db: Database) -> Database:
    with db.connect() as conn:
        conn.execute(DDL)
    return db


def test_copy_rows_in_batches(items: Database) -> None:
    rows = (
        (i, f"n{i}", Decimal("1.50"), datetime(2024, 1, 1, tzinfo=UTC), None) for i in range(2500)
    )
    with items.connect() as conn:
        n = copy_rows(
            conn, "etl.items", ["id", "name", "price", "seen", "tags"], rows, batch_rows=1000
        )
        count = conn.execute("SELECT count(*) AS n, sum(price) AS s FROM etl.items").fetchone()
    assert n == 2500
    assert count == {"n": 2500, "s": Decimal("3750.00")}


def test_copy_refuses_unknown_columns_before_sending_and_rolls_back(items: Database) -> None:
    with pytest.raises(ConfigError, match="no column"), items.connect() as conn:
        copy_rows(conn, "etl.items", ["id"], [(1,)])
        copy_rows(conn, "etl.items", ["id", "nope"], [(2, "x")])
    with items.connect() as conn:
        assert conn.execute("SELECT count(*) AS n FROM etl.items").fetchone() == {"n": 0}


def test_copy_failure_mid_stream_leaves_nothing(items: Database) -> None:
    with pytest.raises(psycopg.errors.UniqueViolation), items.connect() as conn:
        copy_rows(conn, "etl.items", ["id"], [(1,), (2,), (1,)])
    with items.connect() as conn:
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute("SELECT count(*) AS n FROM etl.items").fetchone() == {"n": 0}


def test_merge_counts_inserted_updated_unchanged(items: Database) -> None:
    cols = ["id", "name", "price"]
    with items.connect() as conn:
        copy_rows(conn, "etl.items", cols, [(1, "a", 1), (2, "b", 2), (3, "c", 3)])
        create_staging(conn, "etl.items", "stg", cols)
        copy_rows(conn, "stg", cols, [(1, "a", 1), (2, "B", 2), (4, "d", 4)])
        counts = merge(conn, target="etl.items", source="stg", key=["id"], columns=cols)
        rows = conn.execute("SELECT id, name FROM etl.items ORDER BY id").fetchall()
    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 1, 1)
    assert [r["name"] for r in rows] == ["a", "B", "c", "d"]


def test_merge_twice_is_a_no_op(items: Database) -> None:
    cols = ["id", "name"]
    with items.connect() as conn:
        for expected in ((2, 0, 0), (0, 0, 2)):
            create_staging(conn, "etl.items", "stg", cols)
            copy_rows(conn, "stg", cols, [(1, "a"), (2, None)])
            c = merge(conn, target="etl.items", source="stg", key=["id"], columns=cols)
            assert (c.inserted, c.updated, c.unchanged) == expected
            conn.execute("DROP TABLE stg")


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(
        st.one_of(st.none(), text, st.just(""), st.just("\\N"), st.just('a,"b"\nc')),
        min_size=1,
        max_size=30,
    ),
    prices=st.lists(
        st.one_of(st.none(), st.decimals(min_value=-(10**6), max_value=10**6, places=2)),
        min_size=30,
        max_size=30,
    ),
)
def test_frame_copy_round_trip(
    items: Database, names: list[str | None], prices: list[Decimal | None]
) -> None:
    frame = pl.DataFrame(
        {"id": list(range(len(names))), "name": names, "price": prices[: len(names)]},
        schema={"id": pl.Int64, "name": pl.String, "price": pl.Decimal(12, 2)},
    )
    with items.connect() as conn:
        conn.execute("TRUNCATE etl.items")
        assert copy_frame(conn, "etl.items", frame) == len(names)
        rows = conn.execute("SELECT id, name, price FROM etl.items ORDER BY id").fetchall()
    assert [r["name"] for r in rows] == names
    assert [r["price"] for r in rows] == prices[: len(names)]
