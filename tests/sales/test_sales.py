"""etl sales: every bad-input case with its fixture, balance, idempotence, deliveries,
derived data against an independent computation, the data-quality gate, partitions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.errors import Conflict
from etl_toolkit.sales.generate import generate
from etl_toolkit.sales.generate_delivery import delivery_suffix, generate_delivery
from etl_toolkit.sales.lock import run_lock
from etl_toolkit.sales.pipeline import run_sales
from etl_toolkit.sales.refresh import DERIVED, refresh
from etl_toolkit.sales.report import SalesReport
from tests.paths import FIXTURES, ROOT

BASE = FIXTURES / "sales" / "base"
DELIVERY = FIXTURES / "sales" / "delivery"

# Every bad row of the hand-made fixtures: (file, line) -> its reasons.
BASE_REJECTS = {
    ("product_categories.csv", 5): ["parent_id: makes the tree a cycle"],
    ("product_categories.csv", 6): ["parent_id: makes the tree a cycle"],
    ("product_categories.csv", 7): ["parent_id: unknown category (or rejected)"],
    ("product_categories.csv", 8): ["parent_id: unknown category (or rejected)"],
    ("products.csv", 6): ["price: not a number with at most two decimals"],
    ("products.csv", 7): ["sku: duplicate (an earlier row of this file has it)"],
    ("products.csv", 8): ["product_id: duplicate (an earlier row of this file has it)"],
    ("products.csv", 9): ["category_id: unknown category (or rejected)"],
    ("products.csv", 10): ["is_active: not True/False"],
    ("products.csv", 11): ["row has more fields than the header"],
    ("customers.csv", 3): ["email: not an email address"],
    ("customers.csv", 4): ["email: duplicate (an earlier row of this file has it)"],
    ("customers.csv", 5): ["country: not an ISO country code"],
    ("customers.csv", 7): ["registration_date: not a timestamp (YYYY-MM-DD HH:MM:SS, 1970-2100)"],
    ("orders.csv", 5): ["order_date: not a timestamp (YYYY-MM-DD HH:MM:SS, 1970-2100)"],
    ("orders.csv", 6): ["customer_id: unknown customer (or rejected)"],
    ("orders.csv", 7): [
        "status: not one of Processing, Shipped, In Transit, Delivered, Cancelled, Returned"
    ],
    ("orders.csv", 8): ["processing_date: before an earlier lifecycle date"],
    ("orders.csv", 9): ["order_id: duplicate (an earlier row of this file has it)"],
    ("orders.csv", 11): ["customer_id: unknown customer (or rejected)"],
    ("order_items.csv", 5): ["quantity: not a positive integer"],
    ("order_items.csv", 6): ["product_id: unknown product (or rejected)"],
    ("order_items.csv", 7): ["order_id: unknown order (or rejected)"],
    ("order_items.csv", 8): ["discount: more than price x quantity"],
    ("order_items.csv", 10): ["order_item_id: duplicate (an earlier row of this file has it)"],
    ("order_items.csv", 12): ["product_id: not a positive integer"],
}


def _rows(db: Database, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return list(conn.execute(sql, params or {}).fetchall())  # type: ignore[arg-type]


def _files(report: SalesReport) -> dict[str, Any]:
    return {f.file: f for f in report.load.files}


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        shutil.copy(f, dst / f.name)
    return dst


def test_every_bad_row_is_rejected_with_its_reasons_and_the_report_balances(
    db: Database, tmp_path: Path
) -> None:
    r = run_sales(db, _copy(BASE, tmp_path / "d"))
    assert r.status == "succeeded"
    for f in r.load.files:
        assert f.status == "loaded" and f.mode == "bulk"
        assert f.balanced, f
    stored = {
        (row["file"], row["line"]): row["reasons"]
        for row in _rows(db, "SELECT file, line, reasons FROM sales.rejects")
    }
    assert stored == BASE_REJECTS
    counts = {f: r.rejected for f, r in _files(r).items()}
    assert sum(counts.values()) == len(BASE_REJECTS)
    # A raw row is kept as read, key by key.
    raw = _rows(db, "SELECT raw FROM sales.rejects WHERE file = 'orders.csv' AND line = 5")
    assert raw[0]["raw"]["order_date"] == "03/04/2024 10:00:00"


def test_cleaning_normalises_values(db: Database, tmp_path: Path) -> None:
    run_sales(db, _copy(BASE, tmp_path / "d"))
    c = _rows(db, "SELECT * FROM sales.customers ORDER BY customer_id")
    assert [(x["customer_id"], x["email"], x["country"]) for x in c] == [
        (1, "ada@example.com", "US"),
        (5, "linus@example.com", "US"),
    ]
    assert c[1]["last_login"].isoformat() == "2024-02-01T00:00:00+00:00"  # a date alone
    o = {x["order_id"]: x for x in _rows(db, "SELECT * FROM sales.orders")}
    assert (o[2]["status"], o[2]["payment_method"]) == ("In Transit", "PayPal")
    p = {x["product_id"]: x for x in _rows(db, "SELECT * FROM sales.products")}
    assert p[1]["description"] == "Line one\nline two"
    assert [p[i]["is_active"] for i in (1, 2, 3)] == [True, False, True]
    cats = _rows(db, "SELECT category_id, root_id, depth FROM sales.product_categories ORDER BY 1")
    assert [(x["category_id"], x["root_id"], x["depth"]) for x in cats] == [
        (1, 1, 0),
        (2, 1, 1),
        (3, 1, 2),
    ]
    items = {x["order_item_id"]: x for x in _rows(db, "SELECT * FROM sales.order_items")}
    assert items[3]["discount"] == 0  # empty discount
    assert items[8]["total"] == Decimal("90.00") and items[8]["reported_total"] == Decimal("95.00")
    assert items[1]["reported_total"] is None
    totals = {x["order_id"]: x for x in _rows(db, "SELECT * FROM sales.order_totals")}
    assert totals[10]["mismatch"] and not totals[1]["mismatch"]
    assert not totals[8]["counted"]  # returned


def test_the_same_files_again_change_nothing_and_incremental_is_a_no_op(
    db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "d")
    first = run_sales(db, data)
    second = run_sales(db, data)
    for f in second.load.files:
        assert (f.mode, f.inserted, f.updated) == ("merge", 0, 0)
        assert f.unchanged == f.read - f.rejected and f.balanced
    assert second.refresh is not None and second.refresh.mode == "queued"
    third = run_sales(db, data, incremental=True)
    assert third.status == "nothing new" and third.checks is None
    assert all(f.status == "skipped" for f in third.load.files)
    assert len(third.load.files) == len(first.load.files)


def test_a_delivery_updates_by_id_and_refuses_values_held_by_other_rows(
    db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "d")
    run_sales(db, data)
    _copy(DELIVERY, data / "2024-07-01")
    r = run_sales(db, data, incremental=True)
    files = _files(r)
    assert [f for f in files.values() if f.status == "loaded"] == [
        files["2024-07-01/products_2024-07-01.csv"],
        files["2024-07-01/customers_2024-07-01.csv"],
        files["2024-07-01/orders_2024-07-01.csv"],
        files["2024-07-01/order_items_2024-07-01.csv"],
    ]
    p = files["2024-07-01/products_2024-07-01.csv"]
    assert (p.inserted, p.updated, p.unchanged, p.rejected) == (0, 1, 1, 1)
    assert p.reasons == {"sku: already used by product 1": 1}
    c = files["2024-07-01/customers_2024-07-01.csv"]
    assert (c.inserted, c.updated, c.unchanged, c.rejected) == (1, 1, 0, 1)
    assert c.reasons == {"email: already used by customer 1": 1}
    o = files["2024-07-01/orders_2024-07-01.csv"]
    assert (o.inserted, o.updated, o.unchanged) == (1, 2, 0)
    assert all(f.balanced for f in files.values())
    status = {x["order_id"]: x["status"] for x in _rows(db, "SELECT * FROM sales.orders")}
    assert status[1] == "Returned" and status[2] == "Delivered"
    price = _rows(db, "SELECT price FROM sales.products WHERE product_id = 2")
    assert price[0]["price"] == Decimal("17.90")
    # The returned order left the derived data; the new one entered it.
    m = {x["customer_id"]: x for x in _rows(db, "SELECT * FROM sales.customer_metrics")}
    assert m[1]["order_count"] == 2 and m[1]["lifetime_value"] == Decimal("109.90")
    assert m[8]["lifetime_value"] == Decimal("29.85")
    dps = _rows(
        db,
        "SELECT orders, units FROM sales.daily_product_sales"
        " WHERE day = '2024-07-01' AND product_id = 3",
    )
    assert (dps[0]["orders"], dps[0]["units"]) == (1, 2)  # two lines of one order


def derived_snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(tuple(r.values()) for r in _rows(db, f"SELECT * FROM {t}")) for t in DERIVED}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sales")
    generate(out / "base", scale="sample", seed=3, dirty=0.01)
    for n in (1, 2):
        generate_delivery(out / f"delivery-{n}", n, scale="sample", seed=3, dirty=0.01)
    return out


def test_incremental_refresh_equals_a_full_rebuild(
    db: Database, tmp_path: Path, generated: Path
) -> None:
    data = tmp_path / "d"
    shutil.copytree(generated / "base", data)
    run_sales(db, data)
    for n in (1, 2):
        shutil.copytree(generated / f"delivery-{n}", data / f"delivery-{n}")
        r = run_sales(db, data, incremental=True)
        assert r.refresh is not None and r.refresh.mode == "queued"
        moved = _files(r)[f"delivery-{n}/orders_{delivery_suffix(n)}.csv"]
        assert moved.updated > 0  # status changes of earlier orders
    queued = derived_snapshot(db)
    with db.connect() as conn:
        conn.execute("UPDATE sales.refresh_state SET full_rebuild = true")
    assert refresh(db).mode == "full"
    assert derived_snapshot(db) == queued


def _rebuild_in_sql(db: Database) -> dict[str, float]:
    with db.connect() as conn:
        conn.execute("UPDATE sales.refresh_state SET full_rebuild = true")
    return refresh(db).steps


def test_a_first_load_derives_while_streaming_what_the_sql_rebuild_computes(
    db: Database, generated: Path
) -> None:
    r = run_sales(db, generated / "base")
    assert r.refresh is not None and r.refresh.mode == "full"
    assert "derive_daily_product_sales" in r.refresh.steps  # not the SQL rebuild
    assert "rebuild_daily_product_sales" not in r.refresh.steps
    streamed = derived_snapshot(db)
    assert all(streamed[t] for t in DERIVED)
    assert "rebuild_daily_product_sales" in _rebuild_in_sql(db)
    assert derived_snapshot(db) == streamed


def test_a_first_load_whose_checks_fail_publishes_no_derived_row(
    db: Database, tmp_path: Path
) -> None:
    """The refresh derives its tables while the checks run: when an error check
    fails (here a file that cannot be read), its transaction is rolled back."""
    data = _copy(BASE, tmp_path / "d")
    (data / "products.csv").write_text(
        (BASE / "products.csv").read_text() + '99,"Lamp,open quote,9.99\n'
    )
    r = run_sales(db, data)
    assert r.failed and r.refresh is None
    assert r.load.streamed is not None and r.load.streamed.usable  # the orders streamed
    assert _files(r)["orders.csv"].status == "loaded"
    assert all(rows == [] for rows in derived_snapshot(db).values())
    assert _rows(db, "SELECT full_rebuild FROM sales.refresh_state") == [{"full_rebuild": True}]


def test_a_first_run_with_a_delivery_in_it_rebuilds_in_sql(
    db: Database, tmp_path: Path, generated: Path
) -> None:
    """The delivery's merge changes rows the stream saw: what it derived is stale."""
    data = tmp_path / "d"
    shutil.copytree(generated / "base", data)
    shutil.copytree(generated / "delivery-1", data / "delivery-1")
    r = run_sales(db, data)
    assert r.refresh is not None and r.refresh.mode == "full"
    assert "rebuild_daily_product_sales" in r.refresh.steps
    assert r.load.streamed is not None and r.load.streamed.stale is not None
    assert "merged into sales.orders" in r.load.streamed.stale


def test_order_keys_follow_the_orders_when_a_delivery_moves_an_order_to_another_month(
    db: Database, tmp_path: Path
) -> None:
    """order_keys (order_id -> order_date) is how a delivery finds an order in its
    partition: it must match sales.orders row for row, through a bulk load and a
    merge that moves an order from March to May and adds a new one."""
    data = _copy(BASE, tmp_path / "d")
    run_sales(db, data)
    header = (BASE / "orders.csv").read_text().splitlines()[0]
    (data / "orders_2.csv").write_text(
        f"{header}\n"
        "1,1,2024-05-20 10:00:00,Delivered,Credit Card,,,,,,,,,519.89\n"
        "99,1,2024-06-01 08:00:00,Processing,PayPal,,,,,,,,,0.00\n"
    )
    r = run_sales(db, data, incremental=True)
    moved = _files(r)["orders_2.csv"]
    assert (moved.updated, moved.inserted) == (1, 1)
    rows = _rows(
        db,
        "SELECT count(*) AS n FROM sales.orders o FULL JOIN sales.order_keys k"
        " ON o.order_id = k.order_id AND o.order_date = k.order_date"
        " WHERE o.order_id IS NULL OR k.order_id IS NULL",
    )
    assert rows[0]["n"] == 0
    one = _rows(db, "SELECT tableoid::regclass::text AS part FROM sales.orders WHERE order_id = 1")
    assert one == [{"part": "sales.orders_2024_05"}]
    keys = _rows(db, "SELECT order_date FROM sales.order_keys WHERE order_id IN (1, 99)")
    assert sorted(str(k["order_date"])[:10] for k in keys) == ["2024-05-20", "2024-06-01"]


def test_customer_metrics_move_by_delta_and_recount_a_customer_whose_edge_order_left(
    db: Database, tmp_path: Path
) -> None:
    """Customer 1 gains an earlier order (the first moves out), then loses it (the
    first is recounted from order_totals); customer 5's cancelled order becomes a
    sale (a new row). After each delivery the queued refresh equals a rebuild."""
    data = _copy(BASE, tmp_path / "d")
    run_sales(db, data)
    header = (BASE / "orders.csv").read_text().splitlines()[0]
    metric = "SELECT first_order_at, order_count FROM sales.customer_metrics WHERE customer_id = "

    def deliver(name: str, rows: str) -> None:
        (data / name).write_text(f"{header}\n{rows}")
        r = run_sales(db, data, incremental=True)
        assert r.refresh is not None and r.refresh.mode == "queued"
        queued = derived_snapshot(db)
        _rebuild_in_sql(db)
        assert derived_snapshot(db) == queued

    deliver(
        "orders_2.csv",
        "99,1,2024-02-01 08:00:00,Delivered,PayPal,,,,,,,,,0.00\n"
        "3,5,2024-04-02 09:30:00,Delivered,Gift Card,,,,,,,,,0.00\n",
    )
    one = _rows(db, metric + "1")
    assert str(one[0]["first_order_at"])[:10] == "2024-02-01"
    assert _rows(db, metric + "5")[0]["order_count"] == 1
    deliver("orders_3.csv", "99,1,2024-02-01 08:00:00,Cancelled,PayPal,,,,,,,,,0.00\n")
    assert str(_rows(db, metric + "1")[0]["first_order_at"])[:10] == "2024-03-01"
    assert _rows(db, metric + "1")[0]["order_count"] == one[0]["order_count"] - 1


def test_a_bulk_load_writes_frozen_rows(db: Database, generated: Path) -> None:
    """Rows COPYed FREEZE into tables truncated in the file's (or the refresh's)
    transaction: every tuple frozen as written, so no VACUUM pass or hint-bit
    rewrite is due. (The visibility map marks the pages each COPY batch filled from
    empty; a page a later batch topped up is left for VACUUM to mark, cheaply.)"""
    run_sales(db, generated / "base")
    tables = ["sales.order_items", "sales.customers", "sales.order_keys"]
    tables += ["sales.daily_product_sales", "sales.order_totals"]
    with db.connect() as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        parts = conn.execute(
            "SELECT inhrelid::regclass::text AS part FROM pg_inherits"
            " WHERE inhparent = 'sales.orders'::regclass AND inhrelid::regclass::text <> "
            " 'sales.orders_default'"
        ).fetchall()
        assert len(parts) > 1  # the months, each COPYed straight into its partition
        for table in tables + [str(p["part"]) for p in parts]:
            row = conn.execute(
                "SELECT count(*) AS tuples, count(*) FILTER (WHERE NOT"
                " 'HEAP_XMIN_FROZEN' = ANY (f.combined_flags)) AS thawed"
                " FROM generate_series(0, pg_relation_size(%(t)s::regclass) / 8192 - 1) AS p,"
                " heap_page_items(get_raw_page(%(t)s::text, p::int)) AS h,"
                " heap_tuple_infomask_flags(h.t_infomask, h.t_infomask2) AS f"
                " WHERE h.lp_len > 0",
                {"t": table},
            ).fetchone()
            assert row is not None and row["tuples"] > 0, table
            assert row["thawed"] == 0, table


def test_derived_tables_follow_the_business_rules(
    db: Database, tmp_path: Path, generated: Path
) -> None:
    """Recomputed in Polars from the base tables, independently of the SQL."""
    run_sales(db, generated / "base")

    def frame(sql: str) -> pl.DataFrame:
        return pl.DataFrame(_rows(db, sql), infer_schema_length=None)

    orders = frame("SELECT order_id, customer_id, order_date, status FROM sales.orders")
    items = frame("SELECT order_id, product_id, quantity, price, discount FROM sales.order_items")
    products = frame("SELECT product_id, category_id FROM sales.products")
    lines = (
        items.with_columns(
            revenue=(pl.col("price") * pl.col("quantity") - pl.col("discount")).cast(
                pl.Decimal(16, 2)
            )
        )
        .join(orders, on="order_id")
        .filter(~pl.col("status").is_in(["Cancelled", "Returned"]))
        .with_columns(day=pl.col("order_date").dt.date())
    )
    # Every counted order, with or without items (all of an order's items may be rejected).
    per_order = (
        orders.filter(~pl.col("status").is_in(["Cancelled", "Returned"]))
        .join(lines.group_by("order_id").agg(pl.col("revenue").sum()), on="order_id", how="left")
        .with_columns(pl.col("revenue").fill_null(0))
    )
    expect_metrics = sorted(
        per_order.group_by("customer_id")
        .agg(
            n=pl.len(),
            ltv=pl.col("revenue").sum(),
            first=pl.col("order_date").min(),
            last=pl.col("order_date").max(),
        )
        .rows()
    )
    got = frame(
        "SELECT customer_id, order_count AS n, lifetime_value AS ltv, first_order_at AS first,"
        " last_order_at AS last FROM sales.customer_metrics"
    )
    assert sorted(got.rows()) == [
        (c, n, Decimal(ltv).quantize(Decimal("0.01")), f, last)
        for c, n, ltv, f, last in expect_metrics
    ]
    expect_dps = sorted(
        lines.group_by("day", "product_id")
        .agg(
            orders=pl.col("order_id").n_unique(),
            units=pl.col("quantity").sum(),
            revenue=pl.col("revenue").sum(),
        )
        .rows()
    )
    got_dps = frame("SELECT day, product_id, orders, units, revenue FROM sales.daily_product_sales")
    assert sorted(got_dps.rows()) == [
        (d, p, o, u, Decimal(r).quantize(Decimal("0.01"))) for d, p, o, u, r in expect_dps
    ]
    by_cat = lines.join(products, on="product_id")
    expect_dcs = sorted(
        by_cat.group_by("day", "category_id")
        .agg(orders=pl.col("order_id").n_unique(), revenue=pl.col("revenue").sum())
        .rows()
    )
    got_dcs = frame("SELECT day, category_id, orders, revenue FROM sales.daily_category_sales")
    assert sorted(got_dcs.rows()) == [
        (d, c, o, Decimal(r).quantize(Decimal("0.01"))) for d, c, o, r in expect_dcs
    ]
    days = frame("SELECT min(day) AS lo, max(day) AS hi, count(*) AS n FROM sales.dim_date")
    lo, hi, n = days.row(0)
    assert (lo, hi) == (lines["day"].min(), orders["order_date"].dt.date().max())
    assert n == (hi - lo).days + 1


def test_a_failed_error_check_fails_the_run_after_recording_and_leaves_derived_data(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "d")
    run_sales(db, data)
    before = derived_snapshot(db)
    bad = _copy(DELIVERY, data / "2024-07-01")
    broken = "order_item_id,order_id,product_id,price,discount,total\n15,11,3,1,0,1\n"
    (bad / "order_items_2024-07-01.csv").write_text(broken)
    result = CliRunner().invoke(app, ["sales", "--data-dir", str(data), "--incremental"])
    assert result.exit_code == 1, result.output
    assert "files_failed" in result.output
    runs = _rows(db, "SELECT id, status, error FROM etl.runs ORDER BY id DESC LIMIT 1")
    assert runs[0]["status"] == "failed"
    assert "data-quality gate failed: files_failed" in runs[0]["error"]
    dq = _rows(
        db,
        "SELECT check_name, passed, detail FROM sales.dq_results WHERE run_id = %(r)s",
        {"r": runs[0]["id"]},
    )
    failed = [d for d in dq if not d["passed"] and d["check_name"] == "files_failed"]
    assert failed and "lacks required column(s) quantity" in failed[0]["detail"]
    assert derived_snapshot(db) == before  # the refresh did not run
    queued = {x["order_id"] for x in _rows(db, "SELECT order_id FROM sales.refresh_orders")}
    assert queued == {1, 2, 11}  # the delivery's orders were loaded; their refresh waits
    # Fixed, the next run loads the file, passes the gate and refreshes everything pending.
    shutil.copy(DELIVERY / "order_items_2024-07-01.csv", bad / "order_items_2024-07-01.csv")
    r = run_sales(db, data, incremental=True)
    assert r.status == "succeeded" and r.refresh is not None and r.refresh.mode == "queued"
    assert derived_snapshot(db) != before
    assert _rows(db, "SELECT count(*) AS n FROM sales.refresh_orders")[0]["n"] == 0


def test_fk_integrity_check_catches_rows_changed_behind_the_loader(
    db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "d")
    run_sales(db, data)
    with db.connect() as conn:  # another writer removes a customer that has orders
        conn.execute("DELETE FROM sales.customers WHERE customer_id = 1")
    (data / "order_items_2.csv").write_text(  # a line added to order 10, of customer 1
        "order_item_id,order_id,product_id,quantity,price,discount,total\n20,10,3,1,5.00,0,5.00\n"
    )
    r = run_sales(db, data, incremental=True)
    assert r.failed and r.checks is not None
    failed = {(c.check_name, c.subject) for c in r.checks.failed_errors}
    assert ("fk_integrity", "orders_without_customer") in failed


def test_a_file_that_cannot_be_read_fails_alone_and_its_dependents_wait(
    db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "d")
    (data / "orders.csv").write_bytes(b"")
    (data / "notes.csv").write_text("a,b\n")
    r = run_sales(db, data)
    files = _files(r)
    assert files["orders.csv"].status == "failed"
    assert "empty file (no header row)" in (files["orders.csv"].error or "")
    assert files["order_items.csv"].status == "failed"
    assert "this delivery's orders file failed" in (files["order_items.csv"].error or "")
    assert files["customers.csv"].status == "loaded"
    assert r.load.ignored == ["notes.csv"]
    assert r.failed
    ledger = {x["path"] for x in _rows(db, "SELECT path FROM sales.files")}
    assert ledger == {"product_categories.csv", "products.csv", "customers.csv"}


def test_columns_are_matched_by_name_in_any_order(db: Database, tmp_path: Path) -> None:
    data = _copy(BASE, tmp_path / "d")
    frame = pl.read_csv(BASE / "product_categories.csv", infer_schema=False)
    frame.select(reversed(frame.columns)).write_csv(data / "product_categories.csv")
    r = run_sales(db, data)
    cats = _files(r)["product_categories.csv"]
    assert (cats.inserted, cats.rejected) == (3, 4)


def test_orders_land_in_monthly_partitions_and_the_default_one_is_split(
    db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "d")
    run_sales(db, data)
    parts = {
        x["name"]
        for x in _rows(
            db,
            "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'sales.orders'::regclass",
        )
    }
    assert {"orders_default", "orders_2024_03", "orders_2024_05", "orders_2024_06"} <= parts
    with db.connect() as conn:  # written outside the loader: lands in the default partition
        conn.execute(
            "INSERT INTO sales.orders"
            " (order_id, customer_id, order_date, status, total_amount, run_id)"
            " VALUES (500, 1, '2030-01-15', 'Processing', 0, 0)"
        )
    (data / "orders_2030.csv").write_text(
        (BASE / "orders.csv").read_text().splitlines()[0]
        + "\n501,1,2030-01-20 10:00:00,Processing,PayPal,,,,,,,,,0.00\n"
    )
    run_sales(db, data, incremental=True)
    where = _rows(
        db,
        "SELECT order_id, tableoid::regclass::text AS part FROM sales.orders WHERE order_id >= 500",
    )
    assert {(x["order_id"], x["part"]) for x in where} == {
        (500, "sales.orders_2030_01"),
        (501, "sales.orders_2030_01"),
    }


HOLD_LOCK = """
import sys
from etl_toolkit.db.connect import Database
from etl_toolkit.sales.lock import run_lock
with run_lock(Database(sys.argv[1], "external")):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_one_run_at_a_time_across_processes(db: Database) -> None:
    """A lock held by one process refuses a run in another; released, the run goes on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    env["DATABASE_URL"] = db.url
    etl = [
        sys.executable,
        "-m",
        "etl_toolkit",
        "sales",
        "--data-dir",
        str(ROOT / "samples" / "sales"),
    ]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, db.url],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        refused = subprocess.run(etl, env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "another etl sales run is in progress" in refused.stdout + refused.stderr
        assert _rows(db, "SELECT count(*) AS n FROM sales.files") == [{"n": 0}]
        with pytest.raises(Conflict), run_lock(db):  # this process is refused too
            pass
    finally:
        holder.communicate("\n", timeout=60)  # releases the lock and exits
    assert holder.returncode == 0
    ran = subprocess.run(etl, env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert _rows(db, "SELECT status FROM etl.runs") == [{"status": "succeeded"}]


def test_cli_report_on_the_samples(settings: Settings, db: Database, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app,
        [
            "sales",
            "--data-dir",
            str(ROOT / "samples" / "sales"),
            "--report",
            "--report-file",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text())
    assert body["status"] == "succeeded"
    # One body per run: the ledger stores what --report-file wrote.
    assert _rows(db, "SELECT report FROM etl.runs")[0]["report"] == body
    assert all(f["balanced"] for f in body["files"])
    assert sum(f["rejected"] for f in body["files"]) > 0  # the samples have dirty rows
    assert "rejected rows (in sales.rejects)" in result.output
    assert {c["check_name"] for c in body["checks"]} >= {
        "files_failed",
        "row_count_reconciliation",
        "reject_rate",
        "null_rate",
        "fk_integrity",
        "order_totals_vs_items",
        "non_negative_revenue",
        "duplicates",
        "freshness",
    }
    again = CliRunner().invoke(
        app, ["sales", "--data-dir", str(ROOT / "samples" / "sales"), "--incremental"]
    )
    assert again.exit_code == 0 and "nothing new" in again.output


def test_the_ledger_is_keyed_by_content_not_by_name_or_time(db: Database, tmp_path: Path) -> None:
    data = _copy(BASE, tmp_path / "d")
    run_sales(db, data)
    items = data / "order_items.csv"
    os.utime(items, (1_000_000_000, 1_000_000_000))  # touched: hashed again, same content
    shutil.copy(data / "customers.csv", data / "customers_copy.csv")  # same content, new name
    again = run_sales(db, data, incremental=True)
    assert again.status == "nothing new"
    items.write_text(items.read_text() + "11,10,3,1,5.00,0,5.00\n")  # changed content
    r = run_sales(db, data, incremental=True)
    loaded = [f for f in r.load.files if f.status == "loaded"]
    assert [(f.file, f.inserted, f.unchanged) for f in loaded] == [("order_items.csv", 1, 5)]
