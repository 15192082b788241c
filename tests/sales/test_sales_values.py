"""etl sales on values and files as other tools write them (issue 13): integers
spelled as decimals, the pandas dialect, rows with too few fields, an unterminated
quote, a data dir with nothing to load. Each case has its own fixture."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl_toolkit import clikit
from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.sales.generate import Dialect, generate
from etl_toolkit.sales.generate_delivery import generate_delivery
from etl_toolkit.sales.pipeline import run_sales
from etl_toolkit.sales.report import SalesReport
from tests.paths import FIXTURES
from tests.sales.test_sales import derived_snapshot

INTEGERS = FIXTURES / "sales" / "integers"


def _rows(db: Database, sql: str) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return list(conn.execute(sql).fetchall())


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _files(report: SalesReport) -> dict[str, Any]:
    return {f.file: f for f in report.load.files}


DECIMAL = ": integer written as a decimal"


def test_integers_written_as_decimals_load_as_integers_and_are_reported(
    db: Database, tmp_path: Path
) -> None:
    r = run_sales(db, _copy(INTEGERS, tmp_path / "d"))
    assert r.status == "succeeded"
    stored = {
        (row["file"], row["line"]): row["reasons"]
        for row in _rows(db, "SELECT file, line, reasons FROM sales.rejects")
    }
    assert stored == {
        ("product_categories.csv", 5): ["parent_id: not a positive integer"],  # 21.5
        ("product_categories.csv", 6): ["parent_id: not a positive integer"],  # 2.1e1
        ("products.csv", 4): ["inventory_count: not a non-negative integer"],  # 1,000
        ("products.csv", 5): ["category_id: not a positive integer"],  # 0x15
        ("products.csv", 6): ["product_id: duplicate (an earlier row of this file has it)"],
        ("products.csv", 7): ["inventory_count: not a non-negative integer"],  # 21.
        ("products.csv", 8): ["inventory_count: not a non-negative integer"],  # .0
        ("customers.csv", 4): ["customer_id: not a positive integer"],  # NaN
        ("orders.csv", 4): ["order_id: not a positive integer"],  # inf
        ("order_items.csv", 5): ["quantity: not a positive integer"],  # 1e0
    }
    cleaned = {f: rep.cleaned for f, rep in _files(r).items()}
    assert cleaned == {
        "product_categories.csv": {f"category_id{DECIMAL}": 2, f"parent_id{DECIMAL}": 2},
        "products.csv": {
            f"product_id{DECIMAL}": 1,
            f"category_id{DECIMAL}": 2,
            f"inventory_count{DECIMAL}": 1,
        },
        "customers.csv": {f"customer_id{DECIMAL}": 1},
        "orders.csv": {f"order_id{DECIMAL}": 1, f"customer_id{DECIMAL}": 2},
        "order_items.csv": {
            f"order_item_id{DECIMAL}": 1,
            f"order_id{DECIMAL}": 2,
            f"product_id{DECIMAL}": 2,
            f"quantity{DECIMAL}": 2,
        },
    }
    assert all(f.balanced for f in r.load.files)
    cats = _rows(
        db, "SELECT category_id, parent_id, root_id, depth FROM sales.product_categories ORDER BY 1"
    )
    assert [tuple(c.values()) for c in cats] == [(1, None, 1, 0), (2, 1, 1, 1), (3, 2, 1, 2)]
    products = _rows(db, "SELECT product_id, category_id, inventory_count FROM sales.products")
    assert sorted(tuple(p.values()) for p in products) == [(1, 2, 10), (2, 3, 100)]
    items = _rows(db, "SELECT order_item_id, order_id, product_id, quantity FROM sales.order_items")
    assert sorted(tuple(i.values()) for i in items) == [(1, 1, 1, 1), (2, 1, 2, 1), (3, 2, 2, 1)]
    metrics = _rows(db, "SELECT customer_id, order_count FROM sales.customer_metrics ORDER BY 1")
    assert [tuple(m.values()) for m in metrics] == [(1, 1), (2, 1)]


def test_a_pandas_export_with_float_noise_in_its_totals_loads_every_row(
    db: Database, tmp_path: Path
) -> None:
    """Totals computed by pandas without rounding (`206.57999999999998`): every
    row loads at its cents, the rewrites are reported, revenue is right."""
    r = run_sales(db, _copy(FIXTURES / "sales" / "float_totals", tmp_path / "d"))
    assert r.status == "succeeded"
    assert _rows(db, "SELECT file, line, reasons FROM sales.rejects") == []
    files = _files(r)
    assert all(f.rejected == 0 and f.parked == 0 and f.balanced for f in files.values())
    noise = ": floating-point noise rounded to cents"
    assert files["order_items.csv"].cleaned == {f"total{noise}": 4, f"quantity{DECIMAL}": 6}
    assert files["orders.csv"].cleaned == {f"total_amount{noise}": 3}
    items = _rows(db, "SELECT order_item_id, total FROM sales.order_items ORDER BY 1")
    assert [str(i["total"]) for i in items] == ["206.58", "19.98", "42.90", "13.00", "3.30", "0.10"]
    orders = _rows(db, "SELECT order_id, total_amount FROM sales.orders ORDER BY 1")
    assert [str(o["total_amount"]) for o in orders] == ["226.56", "55.90", "3.40"]
    revenue = _rows(db, "SELECT order_id, revenue FROM sales.order_totals ORDER BY 1")
    assert [str(o["revenue"]) for o in revenue] == ["226.56", "55.90", "3.40"]
    assert (
        _rows(db, "SELECT count(*) AS n FROM sales.order_items WHERE reported_total IS NOT NULL")[
            0
        ]["n"]
        == 0
    )
    assert r.checks is not None
    totals = [c for c in r.checks.results if c.check_name == "order_totals_vs_items"]
    assert [(c.observed, c.passed) for c in totals] == [(0, True)]


def test_the_report_shows_the_rewritten_values(settings: Settings, tmp_path: Path) -> None:
    data = _copy(INTEGERS, tmp_path / "d")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app, ["sales", "--data-dir", str(data), "--report", "--report-file", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "cleaned values (loaded, rewritten)" in result.output
    assert f"parent_id{DECIMAL}" in result.output
    body = json.loads(out.read_text())
    files = {f["file"]: f for f in body["files"]}
    assert files["product_categories.csv"]["cleaned"][f"parent_id{DECIMAL}"] == 2
    assert body["totals"]["cleaned"] == 19
    short = CliRunner().invoke(app, ["sales", "--data-dir", str(data)])
    assert short.exit_code == 0 and "cleaned 19 value(s)" in short.output


def test_a_data_dir_without_sales_files_fails_naming_what_it_found_and_expects(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)
    (other / "notes.txt").write_text("hello\n")
    (other / "sub" / "sales_2024.csv").write_text("a,b\n1,2\n")
    for folder, found in (
        (empty, "the folder is empty"),
        (other, "found 2 file(s): notes.txt, sub/sales_2024.csv"),
    ):
        result = CliRunner().invoke(app, ["sales", "--data-dir", str(folder)])
        assert result.exit_code == 1, result.output
        assert f"{folder}: no sales file to load ({found})" in result.output
        assert "expected product_categories.csv, products.csv, customers.csv" in result.output
        assert "<entity>_<suffix>.csv" in result.output
        incremental = CliRunner().invoke(app, ["sales", "--data-dir", str(folder), "--incremental"])
        assert incremental.exit_code == 1 and "no sales file to load" in incremental.output
    runs = _rows(db, "SELECT status, error FROM etl.runs ORDER BY id")
    assert [r["status"] for r in runs] == ["failed"] * 4
    assert all("no sales file to load" in r["error"] for r in runs)


def test_incremental_on_a_folder_already_loaded_is_nothing_new(
    settings: Settings, tmp_path: Path
) -> None:
    data = _copy(INTEGERS, tmp_path / "d")
    assert CliRunner().invoke(app, ["sales", "--data-dir", str(data)]).exit_code == 0
    again = CliRunner().invoke(app, ["sales", "--data-dir", str(data), "--incremental"])
    assert again.exit_code == 0, again.output
    assert "nothing new (5 file(s) already loaded)" in again.output


def test_a_pandas_export_loads_like_the_plain_one(
    db: Database, module_db: Database, tmp_path: Path
) -> None:
    """Same seed, both dialects, each into its own fresh database: every good row
    accepted, the same rejects, the same derived tables."""
    reports: dict[str, dict[str, Any]] = {}
    cleaned: dict[str, dict[str, dict[str, int]]] = {}
    snapshots: dict[str, Any] = {}
    rejects: dict[str, list[Any]] = {}
    dialects: tuple[tuple[Dialect, Database], ...] = (("plain", db), ("pandas", module_db))
    for dialect, database in dialects:
        data = tmp_path / dialect
        generate(data, scale="sample", seed=7, dirty=0.01, dialect=dialect)
        generate_delivery(data / "d1", 1, scale="sample", seed=7, dirty=0.01, dialect=dialect)
        first = run_sales(database, data)
        assert first.status == "succeeded"
        reports[dialect] = {
            f.file: (f.status, f.read, f.inserted, f.updated, f.unchanged, f.rejected, f.reasons)
            for f in first.load.files
        }
        cleaned[dialect] = {f.file: f.cleaned for f in first.load.files}
        snapshots[dialect] = derived_snapshot(database)
        rejects[dialect] = sorted(
            (r["file"], r["line"], tuple(r["reasons"]))
            for r in _rows(database, "SELECT file, line, reasons FROM sales.rejects")
        )
    assert cleaned["plain"] == {f: {} for f in cleaned["pandas"]}
    assert cleaned["pandas"]["product_categories.csv"] == {
        "parent_id: integer written as a decimal": 40
    }
    # Totals computed as floats and left unrounded, as pandas does: rewritten, counted.
    noise = ": floating-point noise rounded to cents"
    for name, column in (("order_items.csv", "total"), ("orders.csv", "total_amount")):
        assert cleaned["pandas"][name][f"{column}{noise}"] > 100, name
    raw = (tmp_path / "pandas" / "order_items.csv").read_text()
    assert re.search(r",\d+\.\d*(0000000|9999999)\d*\n", raw)
    assert reports["pandas"] == reports["plain"]
    assert rejects["pandas"] == rejects["plain"] and rejects["plain"]
    assert snapshots["pandas"] == snapshots["plain"]
    assert all(rows for rows in snapshots["plain"].values())


def test_a_failed_file_is_named_with_its_error_in_the_summary_and_the_ledger(
    settings: Settings, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --report the user still sees which file failed and why; the run's
    error in etl.runs says the same; the --report table does not call it ok."""
    data = _copy(FIXTURES / "sales" / "base", tmp_path / "d")
    shutil.copy(FIXTURES / "sales" / "unterminated" / "products.csv", data / "products.csv")
    quote = "products.csv: line 5: a quoted field opens here and is never closed"
    dependent = "order_items.csv: not loaded because this delivery's products file failed"
    result = CliRunner().invoke(app, ["sales", "--data-dir", str(data)])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if "error: files_failed" in x)
    assert line.startswith("  error: files_failed = 2 (max 0): " + quote), line
    assert dependent in line
    run = _rows(db, "SELECT status, error FROM etl.runs ORDER BY id DESC LIMIT 1")[0]
    assert run["status"] == "failed"
    assert run["error"].startswith("data-quality gate failed: files_failed = 2 (max 0): " + quote)
    assert dependent in run["error"]
    detail = _rows(db, "SELECT detail FROM sales.dq_results WHERE check_name = 'files_failed'")
    assert quote in detail[-1]["detail"] and dependent in detail[-1]["detail"]
    # One table row a line: the console's width was fixed from COLUMNS at import
    # (80 where no terminal is attached, as in CI), so set it on the console itself.
    monkeypatch.setattr(clikit.stdout, "width", 200)
    report = CliRunner().invoke(app, ["sales", "--data-dir", str(data), "--report"])
    assert report.exit_code == 1, report.output
    rows = {
        cells[0]: cells
        for x in report.stdout.splitlines()
        if len(cells := [c.strip() for c in x.split("│")[1:-1]]) == 10
    }
    assert rows["products.csv"][1] == "failed" and rows["products.csv"][-1] == "NO"
    assert rows["order_items.csv"][1] == "failed" and rows["order_items.csv"][-1] == "NO"
    assert rows["customers.csv"][1] == "loaded" and rows["customers.csv"][-1] == "yes"


def test_a_row_with_fewer_fields_than_the_header_is_a_reject(db: Database, tmp_path: Path) -> None:
    data = _copy(FIXTURES / "sales" / "short_rows", tmp_path / "d")
    r = run_sales(db, data)
    stored = {
        (row["file"], row["line"]): row["reasons"]
        for row in _rows(db, "SELECT file, line, reasons FROM sales.rejects")
    }
    assert stored == {
        ("customers.csv", 4): ["row has 9 fields, the header has 12"],
        ("customers.csv", 5): ["row has 8 fields, the header has 12"],  # a quoted newline
        ("customers.csv", 7): ["row has 2 fields, the header has 12"],
        ("customers.csv", 8): ["row has more fields than the header"],
    }
    c = _files(r)["customers.csv"]
    assert (c.read, c.inserted, c.rejected) == (7, 3, 4) and c.balanced
    # Empty trailing fields written out are not missing ones.
    loaded = _rows(db, "SELECT customer_id, last_login FROM sales.customers ORDER BY 1")
    assert [(x["customer_id"], x["last_login"]) for x in loaded][1:] == [(2, None), (7, None)]
    raw = _rows(db, "SELECT raw FROM sales.rejects WHERE line = 5")[0]["raw"]
    assert raw["street_address"] == "3 Oak Ave\nFloor 2, Suite 5" and raw["country"] is None


def test_an_unterminated_quote_fails_its_file_by_line_and_nothing_else_is_lost(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    """The file fails as a unit (its rows before the quote are not loaded either);
    the other files load, its dependents wait, the run fails; fixed, it loads."""
    data = _copy(FIXTURES / "sales" / "base", tmp_path / "d")
    shutil.copy(FIXTURES / "sales" / "unterminated" / "products.csv", data / "products.csv")
    result = CliRunner().invoke(app, ["sales", "--data-dir", str(data), "--json"])
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    files = {f["file"]: f for f in body["files"]}
    error = "products.csv: line 5: a quoted field opens here and is never closed"
    assert files["products.csv"]["status"] == "failed"
    assert files["products.csv"]["error"].startswith(error)
    assert 'written twice: ""' in files["products.csv"]["error"]
    assert len(files["products.csv"]["error"]) < 300  # not the parser's quote of the file
    assert files["order_items.csv"]["status"] == "failed"
    assert "this delivery's products file failed" in files["order_items.csv"]["error"]
    for name in ("product_categories.csv", "customers.csv", "orders.csv"):
        assert files[name]["status"] == "loaded", name
    assert _rows(db, "SELECT count(*) AS n FROM sales.products")[0]["n"] == 0
    run = _rows(db, "SELECT status, error FROM etl.runs ORDER BY id DESC LIMIT 1")[0]
    assert run["status"] == "failed" and "files_failed" in run["error"]
    shutil.copy(FIXTURES / "sales" / "base" / "products.csv", data / "products.csv")
    fixed = run_sales(db, data, incremental=True)
    loaded = {f.file: f.inserted for f in fixed.load.files if f.status == "loaded"}
    assert loaded == {"products.csv": 3, "order_items.csv": 5}
    assert fixed.status == "succeeded"
