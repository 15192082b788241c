"""etl sales, nothing lost (issue 13): rows refused only for a reference that does
not exist yet are parked and come back when it loads; a file nearly all rejected
fails the gate; a re-run does not store its rejects twice."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db import migrate
from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import sql_root
from etl_toolkit.sales.pipeline import run_sales
from etl_toolkit.sales.refresh import DERIVED
from tests.databases import create_database, db_url, drop_database
from tests.paths import FIXTURES
from tests.sales.test_sales import BASE_REJECTS

BASE = FIXTURES / "sales" / "base"
BASE_TABLES = (
    "sales.product_categories",
    "sales.products",
    "sales.customers",
    "sales.orders",
    "sales.order_items",
)


@pytest.fixture
def clean_db(admin_url: str, template_db: str) -> Iterator[Database]:
    """A second fresh database, for the same data loaded in one clean run."""
    name = create_database(admin_url, template_db)
    yield Database(db_url(admin_url, name), "external")
    drop_database(admin_url, name)


def _rows(db: Database, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return list(conn.execute(sql, params or {}).fetchall())  # type: ignore[arg-type]


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        shutil.copy(f, dst / f.name)
    return dst


def _header(path: Path) -> str:
    with path.open("rb") as fp:  # the rest of a fixture may not be UTF-8
        return fp.readline().decode()


def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Base and derived tables (without the run that wrote each row), the rows
    rejected and those parked (a plain reject of the first run keeps its reasons
    then, among them the customer missing at the time)."""
    out = {}
    for t in (*BASE_TABLES, *DERIVED):
        rows = _rows(db, f"SELECT * FROM {t}")
        out[t] = sorted(tuple(v for k, v in r.items() if k != "run_id") for r in rows)
    out["rejects"] = sorted(
        (r["file"], r["line"], r["parked"])
        for r in _rows(db, "SELECT file, line, parked FROM sales.rejects")
    )
    return out


def _parked(db: Database) -> dict[tuple[str, int], list[str]]:
    return {
        (r["file"], r["line"]): r["reasons"]
        for r in _rows(db, "SELECT file, line, reasons FROM sales.rejects WHERE parked")
    }


def test_orders_of_an_empty_customers_file_come_back_when_the_customers_arrive(
    settings: Settings, db: Database, clean_db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "d")
    (data / "customers.csv").write_text(_header(BASE / "customers.csv"))  # header only
    first = CliRunner().invoke(app, ["sales", "--data-dir", str(data)])
    # Every order waits for a customer: the files are nearly all rejected, the gate fails.
    assert first.exit_code == 1, first.output
    assert "error: file_rejected orders.csv = 100.0% of rows rejected (max 90.0%)" in first.output
    assert (
        "error: file_rejected order_items.csv = 100.0% of rows rejected (max 90.0%)" in first.output
    )
    run = _rows(db, "SELECT id, status, error FROM etl.runs ORDER BY id DESC LIMIT 1")[0]
    assert run["status"] == "failed" and "file_rejected orders.csv" in run["error"]
    detail = _rows(
        db,
        "SELECT detail FROM sales.dq_results WHERE run_id = %(r)s"
        " AND check_name = 'file_rejected' AND subject = 'orders.csv'",
        {"r": run["id"]},
    )[0]["detail"]
    assert detail.startswith("11 of 11 rows rejected (7 parked")
    assert "customer_id: unknown customer (or rejected) (11)" in detail
    assert _rows(db, "SELECT count(*) AS n FROM sales.order_totals")[0]["n"] == 0
    parked = _parked(db)
    assert parked[("orders.csv", 2)] == ["customer_id: unknown customer (or rejected)"]
    # A row with another fault as well is a plain reject, not parked.
    assert ("orders.csv", 5) not in parked
    stored = _rows(db, "SELECT reasons FROM sales.rejects WHERE file = 'orders.csv' AND line = 5")
    assert stored[0]["reasons"] == [
        "order_date: not a timestamp (YYYY-MM-DD HH:MM:SS, 1970-2100)",
        "customer_id: unknown customer (or rejected)",
    ]
    assert sum(1 for f, _ in parked if f == "order_items.csv") == 7

    shutil.copy(BASE / "customers.csv", data / "customers.csv")  # the good file arrives
    second = CliRunner().invoke(app, ["sales", "--data-dir", str(data), "--incremental", "--json"])
    assert second.exit_code == 0, second.output
    body = json.loads(second.stdout)
    assert [f["file"] for f in body["files"] if f["status"] == "loaded"] == ["customers.csv"]
    # Re-tried: the parked rows that reference a row loaded now (not those waiting
    # for customer 99, still unknown, or for order 4, rejected).
    assert body["retried"]["orders"]["retried"] == 5
    assert body["retried"]["orders"]["inserted"] == 5
    assert body["retried"]["order_items"]["retried"] == 6
    assert body["retried"]["order_items"]["inserted"] == 5
    assert body["totals"]["retried"] == 11 and body["totals"]["retried_loaded"] == 10
    assert body["parked"]["orders"] == 2  # their customers are still unknown (99, rejected 2)
    # The same, clean, in one run: the same base rows, derived rows and rejects.
    assert run_sales(clean_db, _copy(BASE, tmp_path / "clean")).status == "succeeded"
    assert _snapshot(db) == _snapshot(clean_db)
    assert _rows(db, "SELECT count(*) AS n FROM sales.refresh_orders")[0]["n"] == 0


def test_the_report_says_what_was_re_tried_and_loaded(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "d")
    (data / "customers.csv").write_text(_header(BASE / "customers.csv"))
    CliRunner().invoke(app, ["sales", "--data-dir", str(data)])
    shutil.copy(BASE / "customers.csv", data / "customers.csv")
    result = CliRunner().invoke(app, ["sales", "--data-dir", str(data), "--incremental"])
    assert result.exit_code == 0, result.output
    assert (
        "parked rows: orders re-tried 5, loaded 5; order_items re-tried 6, loaded 5, still parked 1"
    ) in result.output


def test_a_chain_comes_back_through_the_category_tree(db: Database, tmp_path: Path) -> None:
    data = _copy(BASE, tmp_path / "d")
    head = _header(BASE / "order_items.csv")
    # Item 30 is of product 6; item 31 loads (a file wholly parked would fail the gate).
    (data / "order_items_b.csv").write_text(head + "30,1,6,2,1.00,0,2.00\n31,1,1,1,1.00,0,1.00\n")
    first = run_sales(db, data)
    assert first.status == "succeeded"
    # Category 6 waits for its parent 99, 7 for 6; product 6 for category 42; item 30
    # for product 6.
    parked = _parked(db)
    assert {
        ("product_categories.csv", 7),
        ("product_categories.csv", 8),
        ("products.csv", 9),
        ("order_items_b.csv", 2),
    } <= set(parked)
    cats = _header(BASE / "product_categories.csv")
    (data / "product_categories_c.csv").write_text(
        cats + "99,Garden,,,2023-01-01 00:00:00\n42,Toys,,,2023-01-01 00:00:00\n"
    )
    second = run_sales(db, data, incremental=True)
    assert second.status == "succeeded"
    retried = {e: (r.retried, r.inserted) for e, r in second.load.retries.items()}
    assert retried == {"product_categories": (2, 2), "products": (1, 1), "order_items": (1, 1)}
    tree = _rows(db, "SELECT category_id, root_id, depth FROM sales.product_categories")
    assert {(r["category_id"], r["root_id"], r["depth"]) for r in tree} >= {(6, 99, 1), (7, 99, 2)}
    assert _rows(db, "SELECT category_id FROM sales.products WHERE product_id = 6") == [
        {"category_id": 42}
    ]
    # The re-tried item went through the refresh queue into the derived tables.
    assert second.refresh is not None and second.refresh.mode == "queued"
    sold = _rows(
        db,
        "SELECT units FROM sales.daily_category_sales WHERE category_id = 42"
        " AND day = '2024-03-01'",
    )
    assert sold == [{"units": 2}]
    assert set(_parked(db)) == set(parked) - {
        ("product_categories.csv", 7),
        ("product_categories.csv", 8),
        ("products.csv", 9),
        ("order_items_b.csv", 2),
    }


def test_a_later_version_supersedes_a_parked_row(db: Database, tmp_path: Path) -> None:
    data = _copy(BASE, tmp_path / "d")
    run_sales(db, data)
    assert ("orders.csv", 6) in _parked(db)  # order 5 waits for customer 99
    head = _header(BASE / "orders.csv")
    (data / "orders_2.csv").write_text(
        head + "5,1,2024-04-02 09:30:00,Shipped,PayPal,,,,,,,,,10.00\n"
    )
    r = run_sales(db, data, incremental=True)
    files = {f.file: f for f in r.load.files}
    assert files["orders_2.csv"].superseded == 1
    assert ("orders.csv", 6) not in _parked(db)
    # Customer 99 arrives: the older version of order 5 does not overwrite the newer.
    customers = _header(BASE / "customers.csv")
    (data / "customers_3.csv").write_text(customers + "99,late@example.com,,,,,,,US,,,\n")
    r = run_sales(db, data, incremental=True)
    assert r.status == "succeeded"
    assert _rows(db, "SELECT customer_id, status FROM sales.orders WHERE order_id = 5") == [
        {"customer_id": 1, "status": "Shipped"}
    ]


def test_a_file_nearly_all_rejected_fails_the_gate_and_leaves_the_derived_tables(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "d")
    base = run_sales(db, data)
    assert base.checks is not None
    gate = {c.subject: c for c in base.checks.results if c.check_name == "file_rejected"}
    assert gate["products.csv"].passed and gate["products.csv"].observed == pytest.approx(6 / 9)
    before = _rows(db, "SELECT * FROM sales.order_totals ORDER BY order_id")
    head = _header(BASE / "orders.csv")
    rows = "".join(
        f"{i},1,2024-07-01 10:00:00,Lost,PayPal,,,,,,,,,1.00\n" for i in range(20, 30)
    )  # a status we do not know, on every row but one
    (data / "orders_7.csv").write_text(
        head + rows + "30,1,2024-07-01 10:00:00,Shipped,,,,,,,,,,1.00\n"
    )
    result = CliRunner().invoke(app, ["sales", "--data-dir", str(data), "--incremental"])
    assert result.exit_code == 1, result.output
    assert "error: file_rejected orders_7.csv = 90.9% of rows rejected (max 90.0%)" in result.stdout
    # stderr: the gate's reason, one `Error:` line (the file itself did not fail).
    assert [x for x in result.stderr.splitlines() if x.startswith("Error:")] == [
        "Error: file_rejected orders_7.csv = 90.9% of rows rejected (max 90.0%): 10 of 11 rows"
        " rejected:"
        " status: not one of Processing, Shipped, In Transit, Delivered, Cancelled, Returned (10)"
    ]
    assert _rows(db, "SELECT * FROM sales.order_totals ORDER BY order_id") == before
    assert [r["order_id"] for r in _rows(db, "SELECT order_id FROM sales.refresh_orders")] == [30]


def test_a_re_run_counts_its_rejects_again_but_stores_them_once(
    db: Database, tmp_path: Path
) -> None:
    data = _copy(BASE, tmp_path / "d")
    reports = [run_sales(db, data) for _ in range(2)]
    for r in reports:
        assert sum(f.rejected for f in r.load.files) == len(BASE_REJECTS)
    stored = _rows(db, "SELECT file, line, reasons, run_id FROM sales.rejects")
    assert len(stored) == len(BASE_REJECTS)
    assert {(s["file"], s["line"]): s["reasons"] for s in stored} == BASE_REJECTS
    assert {s["run_id"] for s in stored} == {reports[1].run_id}  # the latest verdict
    # The same content under another name is still one content.
    shutil.copy(data / "orders.csv", data / "orders_copy.csv")
    r = run_sales(db, data)
    assert {f.file: f.rejected for f in r.load.files}["orders_copy.csv"] == 6
    assert len(_rows(db, "SELECT 1 FROM sales.rejects")) == len(BASE_REJECTS)


def test_the_migration_stores_old_rejects_once_and_parks_the_late_arrivals(
    empty_db: Database, tmp_path: Path
) -> None:
    """Rejects stored before 0008 (a re-run stored them twice; orders refused for a
    customer not loaded yet were lost): once per content and line, the late arrivals
    parked, and they come back with their customer."""
    folder = tmp_path / "migrations"
    shutil.copytree(sql_root() / "migrations", folder)
    (folder / "0008_sales_parked.sql").unlink()
    migrate.migrate(empty_db, folder)
    header = _header(BASE / "orders.csv").strip().split(",")
    late = {
        "order_id": "5",
        "customer_id": "99",
        "order_date": "2024-04-02 09:30:00",
        "status": "Processing",
        "total_amount": "10.00",
    }
    raw = json.dumps(dict.fromkeys(header) | late)  # the raw row, as the loader kept it
    bad = json.dumps(dict.fromkeys(header) | {"order_id": "4"})
    with empty_db.connect() as conn:
        conn.execute(
            "INSERT INTO sales.files (sha256, entity, path, abs_path, bytes, mtime_ns,"
            " rows_read, run_id) VALUES ('c0ffee', 'orders', 'orders.csv', '/x', 1, 1, 2, 2)"
        )
        conn.execute(
            "INSERT INTO sales.orders (order_id, customer_id, order_date, status,"
            " total_amount, run_id) VALUES (9, 1, '2024-04-02', 'Processing', 1, 1)"
        )
        for run in (1, 2):  # the same file, run twice
            conn.execute(
                "INSERT INTO sales.rejects (run_id, file, line, entity, record_key, reasons, raw)"
                " VALUES (%(r)s, 'orders.csv', 6, 'orders', '5',"
                " '{\"customer_id: unknown customer (or rejected)\"}', %(raw)s),"
                " (%(r)s, 'orders.csv', 5, 'orders', '4', '{\"order_date: bad\"}', %(bad)s),"
                " (%(r)s, 'orders.csv', 10, 'orders', '9',"
                " '{\"customer_id: unknown customer (or rejected)\"}', %(bad)s)",
                {"r": run, "raw": raw, "bad": bad},
            )
    migrate.migrate(empty_db)
    stored = _rows(
        empty_db, "SELECT line, run_id, sha256, parked, record_id FROM sales.rejects ORDER BY line"
    )
    assert [tuple(r.values()) for r in stored] == [
        (5, 2, "c0ffee", False, 4),
        (6, 2, "c0ffee", True, 5),
        (10, 2, "c0ffee", False, 9),  # order 9 was loaded since: not parked
    ]
    data = tmp_path / "d"
    data.mkdir()
    customers = _header(BASE / "customers.csv")
    (data / "customers.csv").write_text(customers + "99,late@example.com,,,,,,,US,,,\n")
    r = run_sales(empty_db, data)
    assert (r.load.retries["orders"].retried, r.load.retries["orders"].inserted) == (1, 1)
    assert _rows(empty_db, "SELECT customer_id FROM sales.orders WHERE order_id = 5") == [
        {"customer_id": 99}
    ]
    assert [x["line"] for x in _rows(empty_db, "SELECT line FROM sales.rejects")] == [5, 10]


def test_two_parked_rows_with_one_sku_the_first_loads(db: Database, tmp_path: Path) -> None:
    data = _copy(BASE, tmp_path / "d")
    products = _header(BASE / "products.csv")
    # Like product 6 of products.csv (SKU-6, category 42, unknown): both wait.
    (data / "products_b.csv").write_text(
        products + "20,Same sku,,1,1,42,SKU-6,1,1,2023-02-01 10:00:00,True\n"
    )
    run_sales(db, data)
    assert {("products.csv", 9), ("products_b.csv", 2)} <= set(_parked(db))
    cats = _header(BASE / "product_categories.csv")
    (data / "product_categories_c.csv").write_text(cats + "42,Toys,,,2023-01-01 00:00:00\n")
    r = run_sales(db, data, incremental=True)
    assert r.status == "succeeded" and r.load.retries["products"].error is None
    assert (r.load.retries["products"].inserted, r.load.retries["products"].rejected) == (1, 1)
    assert _rows(db, "SELECT product_id FROM sales.products WHERE sku = 'SKU-6'") == [
        {"product_id": 6}
    ]
    assert _rows(db, "SELECT reasons, parked FROM sales.rejects WHERE file = 'products_b.csv'") == [
        {"reasons": ["sku: duplicate (an earlier parked row has it)"], "parked": False}
    ]
