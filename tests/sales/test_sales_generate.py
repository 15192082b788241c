"""The sales generator writes the format of docs/formats/sales.md, deterministically."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from etl_toolkit.sales.generate import generate

COLUMNS = {
    "product_categories": ["category_id", "name", "description", "parent_id", "created_at"],
    "products": [
        "product_id",
        "name",
        "description",
        "price",
        "cost",
        "category_id",
        "sku",
        "inventory_count",
        "weight",
        "created_at",
        "is_active",
    ],
    "customers": [
        "customer_id",
        "email",
        "first_name",
        "last_name",
        "street_address",
        "city",
        "state",
        "zip_code",
        "country",
        "phone",
        "registration_date",
        "last_login",
    ],
    "orders": [
        "order_id",
        "customer_id",
        "order_date",
        "status",
        "payment_method",
        "shipping_address",
        "shipping_city",
        "shipping_state",
        "shipping_zip",
        "shipping_country",
        "processing_date",
        "shipping_date",
        "delivery_date",
        "total_amount",
    ],
    "order_items": [
        "order_item_id",
        "order_id",
        "product_id",
        "quantity",
        "price",
        "discount",
        "total",
    ],
}


def _read(root: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(root / f"{name}.csv", infer_schema_length=0)  # all text, as written


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sales-clean")
    generate(root, scale="sample", seed=1)
    return root


def test_files_and_columns_in_order(clean: Path) -> None:
    for name, cols in COLUMNS.items():
        assert _read(clean, name).columns == cols, name


def test_same_seed_same_bytes(clean: Path, tmp_path: Path) -> None:
    generate(tmp_path, scale="sample", seed=1)
    for name in COLUMNS:
        assert (tmp_path / f"{name}.csv").read_bytes() == (clean / f"{name}.csv").read_bytes()


def test_clean_data_keeps_the_business_rules(clean: Path) -> None:
    items = _read(clean, "order_items").with_columns(
        pl.col("price", "discount", "total").cast(pl.Float64), pl.col("quantity").cast(pl.Int64)
    )
    assert (items["quantity"] > 0).all()
    assert (items["discount"] <= items["price"] * items["quantity"]).all()
    line = (items["price"] * items["quantity"] - items["discount"]).round(2)
    assert (line - items["total"]).abs().max() < 0.011  # type: ignore[operator]
    orders = _read(clean, "orders")
    sums = items.group_by("order_id").agg(pl.col("total").sum().round(2).alias("s"))
    joined = orders.with_columns(pl.col("total_amount").cast(pl.Float64)).join(sums, on="order_id")
    assert ((joined["total_amount"] - joined["s"]).abs() < 0.011).all()
    assert orders["order_id"].n_unique() == orders.height
    assert set(orders["status"].unique()) <= {
        "Processing",
        "Shipped",
        "In Transit",
        "Delivered",
        "Cancelled",
        "Returned",
    }
    for a, b in (
        ("order_date", "processing_date"),
        ("processing_date", "shipping_date"),
        ("shipping_date", "delivery_date"),
    ):
        both = orders.filter(pl.col(a).is_not_null() & pl.col(b).is_not_null())
        assert (both[a] <= both[b]).all(), (a, b)
    customers = _read(clean, "customers")
    assert customers["email"].n_unique() == customers.height
    assert customers["email"].str.contains("@").all()
    assert _read(clean, "products")["sku"].n_unique() == 1000


def test_text_with_commas_and_quotes_round_trips(clean: Path) -> None:
    products = _read(clean, "products")
    assert products["description"].str.contains('"').any()
    assert products["description"].str.contains(",").any()
    assert (clean / "products.csv").read_text().count("\n") == products.height + 1


def test_money_has_two_decimals(clean: Path) -> None:
    for name, col in (("products", "price"), ("order_items", "total"), ("orders", "total_amount")):
        assert _read(clean, name)[col].str.contains(r"^-?\d+\.\d{2}$").all(), (name, col)


def test_dirty_rate_injects_each_defect(tmp_path: Path) -> None:
    generate(tmp_path, scale="sample", seed=1, dirty=0.05)
    items = _read(tmp_path, "order_items")
    orders = _read(tmp_path, "orders")
    assert items["quantity"].str.starts_with("-").any()  # negative quantity
    assert (items["product_id"].cast(pl.Int64) > 1000).any()  # unknown product
    assert orders["order_date"].str.contains("/").any()  # malformed date
    assert orders["order_id"].n_unique() < orders.height  # duplicate id
    assert (~_read(tmp_path, "customers")["email"].str.contains("@")).any()  # bad email
    assert (_read(tmp_path, "products")["category_id"].cast(pl.Int64) > 60).any()
    sums = (
        items.with_columns(pl.col("total").cast(pl.Float64))
        .group_by("order_id")
        .agg(pl.col("total").sum().alias("s"))
    )
    joined = orders.with_columns(pl.col("total_amount").cast(pl.Float64)).join(sums, on="order_id")
    assert ((joined["total_amount"] - joined["s"]).abs() > 5).any()  # total mismatch


def test_delivery_has_new_orders_status_moves_and_price_changes(
    clean: Path, tmp_path: Path
) -> None:
    from etl_toolkit.sales.generate_delivery import (
        NEXT_STATUS,
        delivery_suffix,
        generate_delivery,
    )

    report = generate_delivery(tmp_path, 1, scale="sample", seed=1)
    suffix = delivery_suffix(1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"order_items_{suffix}.csv",
        f"orders_{suffix}.csv",
        f"products_{suffix}.csv",
    ]
    orders = pl.read_csv(tmp_path / f"orders_{suffix}.csv", infer_schema_length=0)
    base = _read(clean, "orders")
    assert orders.columns == COLUMNS["orders"]
    ids = orders["order_id"].cast(pl.Int64)
    new = orders.filter(ids > 5000)
    assert new.height == 50  # 1% of the set's orders
    assert (new["status"] == "Processing").all()
    assert (new["order_date"] > base["order_date"].max()).all()  # after everything before
    moved = orders.filter(ids <= 5000).join(
        base.select("order_id", "status"), on="order_id", suffix="_before"
    )
    assert moved.height > 0
    assert all(
        NEXT_STATUS[b] == a for a, b in zip(moved["status"], moved["status_before"], strict=True)
    )
    items = pl.read_csv(tmp_path / f"order_items_{suffix}.csv", infer_schema_length=0)
    assert set(items["order_id"].cast(pl.Int64)) == set(new["order_id"].cast(pl.Int64))
    prices = pl.read_csv(tmp_path / f"products_{suffix}.csv", infer_schema_length=0).join(
        _read(clean, "products").select("product_id", "price"), on="product_id", suffix="_before"
    )
    assert prices.height == report.rows["products"] > 0
    assert (prices["price"] != prices["price_before"]).all()
    again = tmp_path / "again"
    generate_delivery(again, 1, scale="sample", seed=1)
    assert (again / f"orders_{suffix}.csv").read_bytes() == (
        tmp_path / f"orders_{suffix}.csv"
    ).read_bytes()


def test_pandas_dialect_spells_integers_holding_nulls_as_floats(
    clean: Path, tmp_path: Path
) -> None:
    generate(tmp_path, scale="sample", seed=1, dialect="pandas")
    cats = _read(tmp_path, "product_categories")
    parents = cats["parent_id"].drop_nulls()
    assert cats["parent_id"].null_count() == 20  # the roots
    assert parents.str.contains(r"^[0-9]+\.0$").all()
    assert (
        parents.str.strip_suffix(".0").to_list()
        == _read(clean, "product_categories")["parent_id"].drop_nulls().to_list()
    )
    # Integer columns without nulls stay integers; floats are pandas' shortest form.
    items = _read(tmp_path, "order_items")
    assert items["order_id"].str.contains(r"^[0-9]+$").all()
    assert items["discount"].str.contains(r"^[0-9]+\.[0-9]{1,2}$").all()
    assert (items["discount"] == "0.0").any()
    assert set(_read(tmp_path, "products")["is_active"]) == {"True", "False"}
    # Computed money is float arithmetic left unrounded (206.57999999999998).
    orders = _read(tmp_path, "orders")
    for money in (items["total"], orders["total_amount"]):
        noisy = money.filter(money.str.contains(r"\.[0-9]{3,}$"))
        assert noisy.len() > money.len() // 10
        value = noisy.cast(pl.Float64)
        assert ((value - value.round(2)).abs() < 1e-6).all()
    # The same values as the plain dialect, spelled differently.
    for name in COLUMNS:
        plain, pandas = _read(clean, name), _read(tmp_path, name)
        numeric = [c for c in plain.columns if plain[c].str.contains(r"^-?[0-9.]+$").all()]
        assert plain.with_columns(pl.col(numeric).cast(pl.Float64).round(2)).equals(
            pandas.with_columns(pl.col(numeric).cast(pl.Float64).round(2))
        ), name


def test_pandas_dialect_spells_any_integer_column_with_a_null_as_floats(tmp_path: Path) -> None:
    from etl_toolkit.sales.generate import write_csv

    frame = pl.DataFrame(
        {"product_id": [1, 2], "inventory_count": [5, None], "price": [19.9, 500.0]}
    )
    write_csv(frame, tmp_path / "pandas.csv", "pandas")
    write_csv(frame, tmp_path / "plain.csv", "plain")
    assert (tmp_path / "pandas.csv").read_text() == (
        "product_id,inventory_count,price\n1,5.0,19.9\n2,,500.0\n"
    )
    assert (tmp_path / "plain.csv").read_text() == (
        "product_id,inventory_count,price\n1,5,19.90\n2,,500.00\n"
    )
