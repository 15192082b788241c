"""`etl sales generate`: the five sales CSVs of docs/formats/sales.md, vectorised.

Deterministic for a seed: every random value is a hash of (row id, seed, field)
computed by Polars, so any row can be regenerated alone and the same seed gives
the same bytes. Orders and their items are produced in chunks of orders, so
the full set (5M orders, 20M items) is written with bounded memory. With
`dirty > 0`, about that share of rows carry one realistic defect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Literal, NamedTuple

import polars as pl

from etl_toolkit.sales.source import COLUMNS

Scale = Literal["sample", "small", "full"]
# plain: integers as integers, money with two decimals. pandas: what
# `DataFrame.to_csv` writes (issue 13): an integer column that holds a null is
# float64 there, so every value of it is written `21.0`; floats in their
# shortest form (`19.9`, `500.0`), and computed money unrounded
# (`price * quantity - discount` = `206.57999999999998`, order totals as float
# sums of those); booleans `True`/`False` (as plain).
Dialect = Literal["plain", "pandas"]
DIALECTS = ("plain", "pandas")


class Sizes(NamedTuple):
    """Rows of each entity in a generated set (items: about 4 per order)."""

    categories: int
    products: int
    customers: int
    orders: int


SCALES: dict[str, Sizes] = {
    "sample": Sizes(60, 1_000, 2_000, 5_000),
    "small": Sizes(500, 10_000, 100_000, 500_000),
    "full": Sizes(500, 100_000, 1_000_000, 5_000_000),
}
ROOTS = [
    "Electronics",
    "Clothing",
    "Books",
    "Home & Kitchen",
    "Sports",
    "Toys",
    "Beauty",
    "Garden",
    "Automotive",
    "Grocery",
    "Health",
    "Music",
    "Office",
    "Pet Supplies",
    "Tools",
    "Baby",
    "Jewelry",
    "Shoes",
    "Video Games",
    "Outdoors",
]
STATUSES = ["Processing", "Shipped", "In Transit", "Delivered", "Cancelled", "Returned"]
PAYMENTS = ["Credit Card", "PayPal", "Apple Pay", "Google Pay", "Gift Card"]
WORDS = [
    "classic",
    "premium",
    "compact",
    "wireless",
    "organic",
    "deluxe",
    "portable",
    "smart",
    "vintage",
    "ultra",
    "eco",
    "pro",
    "mini",
    "heavy-duty",
    "soft",
]
NOUNS = [
    "lamp",
    "jacket",
    "novel",
    "blender",
    "racket",
    "puzzle",
    "serum",
    "hose",
    "wiper",
    "coffee",
    "vitamin",
    "guitar",
    "stapler",
    "leash",
    "drill",
]
STREETS = ["Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Pine Rd", "Lake View Blvd"]
CITIES = [
    ("Springfield", "IL", "627"),
    ("Portland", "OR", "972"),
    ("Austin", "TX", "787"),
    ("Madison", "WI", "537"),
    ("Denver", "CO", "802"),
    ("Raleigh", "NC", "276"),
    ("Boise", "ID", "837"),
    ("Albany", "NY", "122"),
]
FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "John",
    "Radia",
    "Edsger",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Backus",
    "Perlman",
    "Dijkstra",
]
EPOCH = datetime(2023, 1, 1)
SPAN_S = 2 * 365 * 24 * 3600  # order dates over two years
CHUNK_ORDERS = 250_000


@dataclass
class GenerateReport:
    out: Path
    rows: dict[str, int] = field(default_factory=dict)
    dirty: dict[str, int] = field(default_factory=dict)


def uniform(col: str, seed: int, salt: int) -> pl.Expr:
    """A uniform float in [0, 1) from a row id column, deterministic per (seed, salt)."""
    return (pl.col(col).hash(seed=seed * 1_000 + salt) % 1_000_003).cast(pl.Float64) / 1_000_003


def _pick(col: str, seed: int, salt: int, choices: list[str]) -> pl.Expr:
    idx = (pl.col(col).hash(seed=seed * 1_000 + salt) % len(choices)).cast(pl.Int64)
    return pl.lit(pl.Series(choices)).gather(idx)


def _title(col: str, seed: int, salt: int) -> pl.Expr:
    """A name: a word and a noun (`Bright Lamp`)."""
    return pl.format(
        "{} {}",
        _pick(col, seed, salt, WORDS).str.to_titlecase(),
        _pick(col, seed, salt + 1, NOUNS),
    )


def _ts(seconds: pl.Expr) -> pl.Expr:
    return (pl.lit(EPOCH) + pl.duration(seconds=seconds)).dt.strftime("%Y-%m-%d %H:%M:%S")


def write_csv(
    df: pl.DataFrame, fp: Path | BinaryIO, dialect: Dialect, *, header: bool = True
) -> None:
    """One frame in the dialect's spelling (the pandas one decides per frame, as
    pandas does per DataFrame: a chunk written alone is its own DataFrame)."""
    if dialect == "pandas":
        df = df.with_columns(
            pl.format("{}.0", pl.col(c))
            for c, dtype in df.schema.items()
            if dtype.is_integer() and df[c].null_count()
        )
        df.write_csv(fp, include_header=header)
    else:
        # Money (and weight) with two decimals, as the format says.
        df.write_csv(fp, include_header=header, float_precision=2)


def _dirty(col: str, seed: int, salt: int, rate: float) -> pl.Expr:
    return uniform(col, seed, 900 + salt) < rate


def categories(n: int, seed: int) -> pl.DataFrame:
    df = pl.DataFrame({"category_id": pl.int_range(1, n + 1, eager=True)})
    roots = min(len(ROOTS), n)
    parent = 1 + (pl.col("category_id").hash(seed=seed) % roots).cast(pl.Int64)
    return df.with_columns(
        name=pl.when(pl.col("category_id") <= roots)
        .then(pl.lit(pl.Series(ROOTS[:roots])).gather((pl.col("category_id") - 1) % roots))
        .otherwise(_title("category_id", seed, 1)),
        description=pl.format(
            'Everything "{}", from {} to {}.',
            _pick("category_id", seed, 3, WORDS),
            _pick("category_id", seed, 4, NOUNS),
            _pick("category_id", seed, 5, NOUNS),
        ),
        parent_id=pl.when(pl.col("category_id") <= roots).then(None).otherwise(parent),
        created_at=_ts((uniform("category_id", seed, 6) * 3600 * 24 * 30).cast(pl.Int64)),
    )


def products(n: int, n_categories: int, seed: int, rate: float) -> pl.DataFrame:
    df = pl.DataFrame({"product_id": pl.int_range(1, n + 1, eager=True)})
    price = (uniform("product_id", seed, 10) * 500 + 1).round(2)
    df = df.with_columns(
        name=_title("product_id", seed, 11),
        description=pl.format(
            'The "{}" {}, {} and {}; ships fast.',
            _pick("product_id", seed, 13, WORDS),
            _pick("product_id", seed, 14, NOUNS),
            _pick("product_id", seed, 15, WORDS),
            _pick("product_id", seed, 16, WORDS),
        ),
        price=price,
        cost=(price * (0.4 + uniform("product_id", seed, 17) * 0.4)).round(2),
        category_id=1 + (pl.col("product_id").hash(seed=seed + 18) % n_categories).cast(pl.Int64),
        sku=pl.format("SKU-{}", pl.col("product_id").cast(pl.String).str.zfill(8)),
        inventory_count=(uniform("product_id", seed, 19) * 1000).cast(pl.Int64),
        weight=(uniform("product_id", seed, 20) * 20 + 0.05).round(2),
        created_at=_ts((uniform("product_id", seed, 21) * 3600 * 24 * 60).cast(pl.Int64)),
        is_active=pl.when(uniform("product_id", seed, 22) < 0.9)
        .then(pl.lit("True"))
        .otherwise(pl.lit("False")),
    )
    # Defect: a product whose category does not exist.
    return df.with_columns(
        category_id=pl.when(_dirty("product_id", seed, 1, rate))
        .then(pl.lit(n_categories + 999))
        .otherwise(pl.col("category_id"))
    )


def customers(ids: pl.Series, seed: int, rate: float) -> pl.DataFrame:
    df = pl.DataFrame({"customer_id": ids})
    city = (pl.col("customer_id").hash(seed=seed + 30) % len(CITIES)).cast(pl.Int64)
    df = df.with_columns(
        first_name=_pick("customer_id", seed, 31, FIRST),
        last_name=_pick("customer_id", seed, 32, LAST),
        street_address=pl.format(
            "{} {}, Apt {}",
            (1 + uniform("customer_id", seed, 33) * 9000).cast(pl.Int64),
            _pick("customer_id", seed, 34, STREETS),
            (1 + uniform("customer_id", seed, 35) * 40).cast(pl.Int64),
        ),
        city=pl.lit(pl.Series([c[0] for c in CITIES])).gather(city),
        state=pl.lit(pl.Series([c[1] for c in CITIES])).gather(city),
        zip_code=pl.format(
            "{}{}",
            pl.lit(pl.Series([c[2] for c in CITIES])).gather(city),
            (10 + uniform("customer_id", seed, 36) * 89).cast(pl.Int64),
        ),
        country=pl.lit("US"),
        phone=pl.format(
            "+1-555-{}", (1_000_000 + uniform("customer_id", seed, 37) * 8_999_999).cast(pl.Int64)
        ),
        registration_date=_ts((uniform("customer_id", seed, 38) * SPAN_S / 2).cast(pl.Int64)),
    )
    df = df.with_columns(
        email=pl.format(
            "{}.{}{}@example.com",
            pl.col("first_name").str.to_lowercase(),
            pl.col("last_name").str.to_lowercase(),
            pl.col("customer_id"),
        ),
        last_login=_ts((uniform("customer_id", seed, 39) * SPAN_S).cast(pl.Int64)),
    )
    # Defect: a malformed email.
    df = df.with_columns(
        email=pl.when(_dirty("customer_id", seed, 2, rate))
        .then(pl.col("email").str.replace("@", " at "))
        .otherwise(pl.col("email"))
    )
    return df.select(COLUMNS["customers"])


def order_chunk(
    first: int,
    last: int,
    sizes: Sizes,
    seed: int,
    rate: float,
    *,
    t0: int = 0,
    span: int = SPAN_S,
    dialect: Dialect = "plain",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Orders first..last (inclusive) and their items, totals consistent unless dirty.
    In the pandas dialect totals are float arithmetic left unrounded, as a
    DataFrame computes them (`206.57999999999998`)."""

    def cents(money: pl.Expr) -> pl.Expr:
        return money if dialect == "pandas" else money.round(2)

    orders = pl.DataFrame({"order_id": pl.int_range(first, last + 1, eager=True)})
    orders = orders.with_columns(
        customer_id=1 + (pl.col("order_id").hash(seed=seed + 40) % sizes.customers).cast(pl.Int64),
        n_items=(1 + pl.col("order_id").hash(seed=seed + 41) % 7).cast(pl.Int64),
        order_s=t0 + (uniform("order_id", seed, 42) * span).cast(pl.Int64),
        status=_pick("order_id", seed, 43, STATUSES),
        payment_method=_pick("order_id", seed, 44, PAYMENTS),
    )
    items = (
        orders.select("order_id", "n_items")
        .with_columns(line=pl.int_ranges(0, pl.col("n_items")))
        .explode("line")
        .with_columns(order_item_id=pl.col("order_id") * 8 + pl.col("line"))
    )
    items = (
        items.with_columns(
            product_id=1
            + (pl.col("order_item_id").hash(seed=seed + 50) % sizes.products).cast(pl.Int64),
            quantity=(1 + pl.col("order_item_id").hash(seed=seed + 51) % 5).cast(pl.Int64),
            price=(uniform("order_item_id", seed, 52) * 500 + 1).round(2),
        )
        .with_columns(
            discount=pl.when(uniform("order_item_id", seed, 53) < 0.3)
            .then(
                (
                    pl.col("price") * pl.col("quantity") * uniform("order_item_id", seed, 54) * 0.3
                ).round(2)
            )
            .otherwise(0.0),
        )
        .with_columns(total=cents(pl.col("price") * pl.col("quantity") - pl.col("discount")))
    )
    # Item defects: negative quantity, unknown product.
    items = items.with_columns(
        quantity=pl.when(_dirty("order_item_id", seed, 3, rate / 2))
        .then(-pl.col("quantity"))
        .otherwise(pl.col("quantity")),
        product_id=pl.when(_dirty("order_item_id", seed, 4, rate / 2))
        .then(pl.lit(sizes.products + 12345))
        .otherwise(pl.col("product_id")),
    )
    totals = items.group_by("order_id").agg(total_amount=cents(pl.col("total").sum()))
    step = pl.col("order_s")
    day = 24 * 3600
    orders = orders.join(totals, on="order_id", how="left").with_columns(
        processing_date=pl.when(pl.col("status") != "Cancelled").then(
            _ts(step + (uniform("order_id", seed, 45) * day).cast(pl.Int64))
        ),
        shipping_date=pl.when(
            pl.col("status").is_in(["Shipped", "In Transit", "Delivered", "Returned"])
        ).then(_ts(step + day + (uniform("order_id", seed, 46) * 2 * day).cast(pl.Int64))),
        delivery_date=pl.when(pl.col("status").is_in(["Delivered", "Returned"])).then(
            _ts(step + 4 * day + (uniform("order_id", seed, 47) * 5 * day).cast(pl.Int64))
        ),
        order_date=_ts(step),
    )
    # Order defects: a malformed date, a total that does not match its items.
    orders = orders.with_columns(
        order_date=pl.when(_dirty("order_id", seed, 5, rate / 2))
        .then(pl.col("order_date").str.replace(r"^(\d{4})-(\d{2})-(\d{2})", "$3/$2/$1"))
        .otherwise(pl.col("order_date")),
        total_amount=pl.when(_dirty("order_id", seed, 6, rate / 2))
        .then(pl.col("total_amount") + 10)
        .otherwise(pl.col("total_amount")),
    )
    # The shipping address is the customer's at order time.
    addr = customers(pl.Series("customer_id", orders["customer_id"].unique().sort()), seed, 0.0)
    orders = orders.join(
        addr.select("customer_id", "street_address", "city", "state", "zip_code", "country"),
        on="customer_id",
        how="left",
    )
    orders = orders.rename(
        {
            "street_address": "shipping_address",
            "city": "shipping_city",
            "state": "shipping_state",
            "zip_code": "shipping_zip",
            "country": "shipping_country",
        }
    ).sort("order_id")
    orders = orders.select(COLUMNS["orders"])
    items = items.select(COLUMNS["order_items"]).sort("order_item_id")
    return orders, items


def _duplicate(df: pl.DataFrame, key: str, seed: int, rate: float) -> pl.DataFrame:
    """Defect: a few rows repeated with the same id (a later duplicate)."""
    dup = df.filter(_dirty(key, seed, 7, rate / 4))
    return pl.concat([df, dup]) if dup.height else df


def generate(
    out: Path,
    *,
    scale: Scale = "sample",
    seed: int = 42,
    dirty: float = 0.0,
    dialect: Dialect = "plain",
) -> GenerateReport:
    """Write the five CSVs into `out` (created)."""
    sizes = SCALES[scale]
    n_cat, n_prod, n_cust, n_orders = sizes
    out.mkdir(parents=True, exist_ok=True)
    report = GenerateReport(out)

    def write(df: pl.DataFrame, name: str, append: bool = False) -> None:
        path = out / f"{name}.csv"
        with path.open("ab" if append else "wb") as fp:
            write_csv(df, fp, dialect, header=not append)
        report.rows[name] = report.rows.get(name, 0) + df.height

    write(categories(n_cat, seed), "product_categories")
    write(_duplicate(products(n_prod, n_cat, seed, dirty), "product_id", seed, dirty), "products")
    for start in range(1, n_cust + 1, 500_000):
        ids = pl.int_range(start, min(start + 500_000, n_cust + 1), eager=True)
        write(customers(ids.alias("customer_id"), seed, dirty), "customers", append=start > 1)
    for start in range(1, n_orders + 1, CHUNK_ORDERS):
        last = min(start + CHUNK_ORDERS - 1, n_orders)
        orders, items = order_chunk(start, last, sizes, seed, dirty, dialect=dialect)
        write(_duplicate(orders, "order_id", seed, dirty), "orders", append=start > 1)
        write(items, "order_items", append=start > 1)
    return report
