"""`etl sales generate --delivery N`: the N-th incremental delivery of the
generated set (docs/formats/sales.md): new orders and their items, status
changes of earlier orders, product price changes. Deterministic like the set."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl

from etl_toolkit.sales.generate import (
    EPOCH,
    SCALES,
    SPAN_S,
    Dialect,
    GenerateReport,
    Scale,
    order_chunk,
    products,
    uniform,
    write_csv,
)

NEXT_STATUS = {
    "Processing": "Shipped",
    "Shipped": "In Transit",
    "In Transit": "Delivered",
    "Delivered": "Returned",
}
DELIVERY_SHARE = 0.01  # a delivery's new orders, as a share of the full set's


WEEK_S = 7 * 24 * 3600


def delivery_window(n: int) -> int:
    """Seconds after EPOCH at which delivery n's week starts: right after the base span."""
    return SPAN_S + (n - 1) * WEEK_S


def delivery_suffix(n: int) -> str:
    """The file suffix of delivery n: the last day of its week."""
    day = (EPOCH + timedelta(seconds=delivery_window(n) + WEEK_S)).date()
    return day.isoformat()


def generate_delivery(
    out: Path,
    n: int,
    *,
    scale: Scale = "sample",
    seed: int = 42,
    dirty: float = 0.0,
    dialect: Dialect = "plain",
) -> GenerateReport:
    """The n-th incremental delivery (n >= 1): `<entity>_<date>.csv` files with new orders and
    their items, status changes of earlier orders, and product price changes."""
    if n < 1:
        raise ValueError("deliveries are numbered from 1")
    sizes = SCALES[scale]
    n_orders = sizes.orders
    out.mkdir(parents=True, exist_ok=True)
    suffix = delivery_suffix(n)
    report = GenerateReport(out)
    new = max(1, int(n_orders * DELIVERY_SHARE))
    first = n_orders + (n - 1) * new + 1
    # New orders, placed during the delivery's week (after everything before them).
    last, t0 = first + new - 1, delivery_window(n)
    orders, items = order_chunk(
        first, last, sizes, seed + n, dirty, t0=t0, span=WEEK_S, dialect=dialect
    )
    # Orders placed this week are still being processed (later deliveries move them on).
    orders = orders.with_columns(
        status=pl.lit("Processing"),
        shipping_date=pl.lit(None, dtype=pl.String),
        delivery_date=pl.lit(None, dtype=pl.String),
    )
    # Status changes: a contiguous block of earlier orders, regenerated exactly as first
    # written and moved one step along their lifecycle.
    block = max(1, new // 2)
    start = 1 + (n * 7919) % max(1, n_orders - block)
    earlier, _ = order_chunk(start, start + block - 1, sizes, seed, 0.0, dialect=dialect)
    moved = earlier.filter(pl.col("status").is_in(list(NEXT_STATUS))).with_columns(
        status=pl.col("status").replace_strict(NEXT_STATUS),
        shipping_date=pl.coalesce("shipping_date", "processing_date"),
        delivery_date=pl.when(pl.col("status").is_in(["In Transit", "Delivered"]))
        .then(pl.coalesce("delivery_date", "shipping_date", "processing_date"))
        .otherwise(pl.col("delivery_date")),
    )
    # Price changes: about 1% of products, +-10%.
    prods = products(sizes.products, sizes.categories, seed, 0.0)
    changed = prods.filter(uniform("product_id", seed + n, 60) < 0.01).with_columns(
        price=(pl.col("price") * (0.9 + uniform("product_id", seed + n, 61) * 0.2)).round(2)
    )

    def write(df: pl.DataFrame, name: str) -> None:
        write_csv(df, out / f"{name}_{suffix}.csv", dialect)
        report.rows[name] = report.rows.get(name, 0) + df.height

    write(pl.concat([orders, moved]), "orders")
    write(items, "order_items")
    write(changed, "products")
    return report
