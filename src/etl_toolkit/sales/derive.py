"""The derived tables of a first load, computed while it streams (issue 15).

A load into empty orders and items tables passes every row through Polars
anyway: it keeps a few narrow columns of each accepted row (33 bytes an order,
24 an item) and, at the refresh, derives from them every table the SQL full
rebuild writes (`rebuild_*` in sql/queries/sales/refresh.sql), by the same rules, in exact integer
cents. The refresh COPYs them into tables it truncates in its transaction:
frozen, without WAL where wal_level is minimal, and none re-read from disk.

It stands for the full rebuild only while the base tables hold exactly the rows
it saw: rows of a file whose transaction did not commit are dropped with it,
and any other write to orders or items in the run (a delivery's merge in the
same data dir, parked rows re-tried) makes it `stale`: the refresh then runs
the SQL rebuild. Products are read at the refresh (their category, as it is
then).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from etl_toolkit.sales.rules import TS_FORMAT

NOT_COUNTED = ("Cancelled", "Returned")  # an order counts as a sale unless it is one of these


def cents(column: str) -> pl.Expr:
    """Validated money text (at most two decimals) as Int64 cents, exactly."""
    return pl.col(column).cast(pl.Decimal(18, 2)).to_physical().cast(pl.Int64)


def money(column: str) -> pl.Expr:
    """Int64 cents as numeric text for COPY (`-0.05`, `12.30`)."""
    c = pl.col(column)
    a = c.abs()
    return pl.concat_str(
        pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (a // 100).cast(pl.String),
        pl.lit("."),
        (a % 100).cast(pl.String).str.zfill(2),
    ).alias(column)


def _round_div(total: pl.Expr, n: pl.Expr) -> pl.Expr:
    """total / n rounded half away from zero, like numeric round(x, 0)."""
    q = (2 * total.abs() + n) // (2 * n)
    return pl.when(total < 0).then(-q).otherwise(q)


class Streamed:
    """Narrow columns of the orders and items a first load COPYs, file by file.

    Orders stay in memory (33 bytes each); items are spilled to Arrow IPC files,
    one per batch and month of their order, in a temporary folder: the derived
    tables are then computed a month at a time (every derived row but a
    customer's belongs to one month), so memory holds one month of items, not
    the whole file.
    """

    def __init__(self) -> None:
        self.orders: list[pl.DataFrame] = []
        self._pending: list[pl.DataFrame] = []  # orders of the file in flight
        self._spill = tempfile.TemporaryDirectory(prefix="etl-sales-derive-")
        self._files: dict[int, list[Path]] = {}  # month (yyyymm) -> committed item files
        self._pending_files: dict[int, list[Path]] = {}  # of the file in flight
        self._batch = 0
        self._lookup: pl.DataFrame | None = None  # order_id (sorted) -> month
        self.stale: str | None = None  # why the SQL rebuild must run instead

    @property
    def usable(self) -> bool:
        return self.stale is None

    def add(self, entity: str, good: pl.DataFrame) -> None:
        """A batch of accepted rows (clean text columns) of the file in flight."""
        if self.stale is not None:
            return
        if entity == "orders":
            frame = good.select(
                order_id=pl.col("order_id").cast(pl.Int64),
                customer_id=pl.col("customer_id").cast(pl.Int64),
                order_date=pl.col("order_date").str.strptime(pl.Datetime("us"), TS_FORMAT),
                counted=~pl.col("status").is_in(NOT_COUNTED),
                total_amount=cents("total_amount"),
            )
            self._pending.append(frame)
        elif entity == "order_items":
            quantity = pl.col("quantity").cast(pl.Int32)
            self._spill_items(
                good.select(
                    order_id=pl.col("order_id").cast(pl.Int64),
                    product_id=pl.col("product_id").cast(pl.Int32),
                    quantity=quantity,
                    total=cents("price") * quantity - cents("discount").fill_null(0),
                )
            )

    def commit(self) -> None:
        """The file in flight committed: its rows are in the tables."""
        if self._pending:
            self.orders.extend(self._pending)
            self._lookup = None
        for month, paths in self._pending_files.items():
            self._files.setdefault(month, []).extend(paths)
        self._pending, self._pending_files = [], {}

    def rollback(self) -> None:
        """The file in flight did not commit: forget its rows."""
        for paths in self._pending_files.values():
            for path in paths:
                path.unlink(missing_ok=True)
        self._pending, self._pending_files = [], {}

    def invalidate(self, why: str) -> None:
        if self.stale is None:
            self.stale = why
            self.close()

    def close(self) -> None:
        """Drop what was kept (the spill folder included)."""
        self.orders, self._pending, self._lookup = [], [], None
        self._files, self._pending_files = {}, {}
        self._spill.cleanup()

    def _spill_items(self, items: pl.DataFrame) -> None:
        if self._lookup is None:
            orders = pl.concat(self.orders) if self.orders else pl.DataFrame(schema=ORDERS)
            self._lookup = orders.select("order_id", month=_month("order_date")).sort("order_id")
        ids = self._lookup["order_id"]
        pos = ids.search_sorted(items["order_id"]).clip(upper_bound=max(ids.len() - 1, 0))
        found = ids.len() > 0 and bool((ids.gather(pos) == items["order_id"]).all())
        if not found:  # an item of an order this load did not write
            self.invalidate("an item references an order loaded before this run")
            return
        months = self._lookup["month"].gather(pos)
        for (month,), part in items.group_by(months.alias("_month")):
            path = Path(self._spill.name) / f"items-{month}-{self._batch}.arrow"
            part.write_ipc(path)
            self._pending_files.setdefault(int(str(month)), []).append(path)
        self._batch += 1

    def tables(self, categories: pl.DataFrame) -> Iterator[tuple[str, pl.DataFrame]]:
        """(table, rows ready for COPY) of every derived table but dim_date, a month
        at a time (a table may come in several parts). `categories`: product_id
        (Int32) -> category_id of every product."""
        orders = pl.concat(self.orders) if self.orders else pl.DataFrame(schema=ORDERS)
        self.orders = []
        orders = orders.with_columns(month=_month("order_date"))
        customers: list[pl.DataFrame] = []
        for month in orders["month"].unique().sort():
            items = (
                pl.scan_ipc(self._files[month]).collect()
                if month in self._files
                else pl.DataFrame(schema=ITEMS)
            )
            parts = _month_tables(orders.filter(pl.col("month") == month), items, categories)
            customers.append(parts.pop("customers"))
            yield from parts.items()
        self.close()
        yield (
            "sales.customer_metrics",
            pl.concat([pl.DataFrame(schema=CUSTOMERS), *customers])
            .group_by("customer_id")
            .agg(
                order_count=pl.col("n").sum().cast(pl.Int32),
                lifetime_value=pl.col("revenue").sum(),
                first_order_at=pl.col("first").min(),
                last_order_at=pl.col("last").max(),
            )
            .select(
                "customer_id",
                "order_count",
                money("lifetime_value"),
                _text_ts("first_order_at"),
                _text_ts("last_order_at"),
                avg_order_value=_round_div(pl.col("lifetime_value"), pl.col("order_count")),
            )
            .with_columns(money("avg_order_value")),
        )


def _month_tables(
    orders: pl.DataFrame, items: pl.DataFrame, categories: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """One month's rows of each derived table (its orders, their items), and the
    month's partial customer metrics (`customers`: n, revenue, first, last)."""
    per_order = items.group_by("order_id").agg(
        items=pl.len().cast(pl.Int32),
        units=pl.col("quantity").cast(pl.Int64).sum(),
        revenue=pl.col("total").sum(),
    )
    totals = orders.join(per_order, on="order_id", how="left").with_columns(
        pl.col("items").fill_null(0),
        pl.col("units").fill_null(0),
        pl.col("revenue").fill_null(0),
    )
    counted = totals.filter("counted").with_columns(day=pl.col("order_date").dt.date())
    lines = items.join(counted.select("order_id", "day"), on="order_id", how="inner")
    daily = lines.group_by("day", "product_id").agg(
        orders=pl.col("order_id").n_unique().cast(pl.Int32),
        units=pl.col("quantity").cast(pl.Int64).sum(),
        revenue=pl.col("total").sum(),
    )
    return {
        "sales.order_totals": totals.select(
            "order_id",
            _text_ts("order_date"),
            "customer_id",
            "counted",
            "items",
            "units",
            money("revenue"),
            money("total_amount"),
            mismatch=pl.col("revenue") != pl.col("total_amount"),
        ),
        "sales.daily_sales": counted.group_by("day")
        .agg(
            orders=pl.len().cast(pl.Int32),
            units=pl.col("units").sum(),
            revenue=pl.col("revenue").sum(),
        )
        .with_columns(money("revenue")),
        "sales.daily_product_sales": daily.with_columns(money("revenue")),
        "sales.monthly_product_sales": daily.group_by(
            month=pl.col("day").dt.truncate("1mo"), product_id="product_id"
        )
        .agg(
            orders=pl.col("orders").sum().cast(pl.Int32),
            units=pl.col("units").sum(),
            revenue=pl.col("revenue").sum(),
        )
        .with_columns(money("revenue")),
        "sales.daily_category_sales": lines.join(categories, on="product_id", how="inner")
        .group_by("day", "category_id")
        .agg(
            orders=pl.col("order_id").n_unique().cast(pl.Int32),
            units=pl.col("quantity").cast(pl.Int64).sum(),
            revenue=pl.col("total").sum(),
        )
        .with_columns(money("revenue")),
        "customers": counted.group_by("customer_id").agg(
            n=pl.len(),
            revenue=pl.col("revenue").sum(),
            first=pl.col("order_date").min(),
            last=pl.col("order_date").max(),
        ),
    }


def _month(column: str) -> pl.Expr:
    """yyyymm of a timestamp, the spill's bucket."""
    return (pl.col(column).dt.year() * 100 + pl.col(column).dt.month()).cast(pl.Int32)


def _text_ts(column: str) -> pl.Expr:
    """A UTC timestamp as the text COPY reads in the loader's UTC session."""
    return pl.col(column).dt.strftime(TS_FORMAT).alias(column)


# The narrow columns kept, as empty frames (a load with no order or no item).
ORDERS = pl.Schema(
    {
        "order_id": pl.Int64(),
        "customer_id": pl.Int64(),
        "order_date": pl.Datetime("us"),
        "counted": pl.Boolean(),
        "total_amount": pl.Int64(),
    }
)
ITEMS = pl.Schema(
    {"order_id": pl.Int64(), "product_id": pl.Int32(), "quantity": pl.Int32(), "total": pl.Int64()}
)
CUSTOMERS = pl.Schema(
    {
        "customer_id": pl.Int64(),
        "n": pl.UInt32(),
        "revenue": pl.Int64(),
        "first": pl.Datetime("us"),
        "last": pl.Datetime("us"),
    }
)
