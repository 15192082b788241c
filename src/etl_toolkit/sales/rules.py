"""Validation and cleaning of one batch of raw sales rows, vectorised in Polars.

`check(entity, batch)` parses every column by its declared kind and returns the
batch with each target column as clean text ready for COPY (trimmed, case
normalised, timestamps rewritten as `YYYY-MM-DD HH:MM:SS`, booleans as t/f)
and `_reasons`, every rule the row breaks joined by SEP (null: the row is
valid; a string rather than a list, which is an order of magnitude faster to
build in Polars), and per integer or money column a flag `_cleaned_<column>`
where an integral decimal (`21.0`) was rewritten as the integer, or float noise
(`206.57999999999998`) as its cents. Rules that need more
than the row (duplicates within the file, references to other entities) are
added by the loader with `add_reasons`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from etl_toolkit.sales.source import EXTRA, KEYS, SHORT

STATUSES = ("Processing", "Shipped", "In Transit", "Delivered", "Cancelled", "Returned")
PAYMENTS = ("Credit Card", "PayPal", "Apple Pay", "Google Pay", "Gift Card")
INT32 = 2**31 - 1
INT64 = 2**63 - 1
SEP = "\x1f"
# Per column whose values cleaning rewrites in a way the user must see (an id
# `21.0` loaded as 21, a total `206.57999999999998` as 206.58), `check` adds a
# boolean column CLEANED + column.
CLEANED = "_cleaned_"
EMAIL = r"^[^@\s,;<>()\[\]]+@[^@\s,;<>()\[\]]+\.[A-Za-z]{2,}$"


@dataclass(frozen=True)
class Col:
    kind: str  # id32 id64 int text money decimal ts bool email enum country
    required: bool = False
    choices: tuple[str, ...] = ()


TEXT, REQ_TEXT = Col("text"), Col("text", True)
SPEC: dict[str, dict[str, Col]] = {
    "product_categories": {
        "category_id": Col("id32", True),
        "name": REQ_TEXT,
        "description": TEXT,
        "parent_id": Col("id32"),
        "created_at": Col("ts"),
    },
    "products": {
        "product_id": Col("id32", True),
        "name": REQ_TEXT,
        "description": TEXT,
        "price": Col("money", True),
        "cost": Col("money"),
        "category_id": Col("id32", True),
        "sku": REQ_TEXT,
        "inventory_count": Col("int"),
        "weight": Col("decimal"),
        "created_at": Col("ts"),
        "is_active": Col("bool", True),
    },
    "customers": {
        "customer_id": Col("id64", True),
        "email": Col("email", True),
        "first_name": TEXT,
        "last_name": TEXT,
        "street_address": TEXT,
        "city": TEXT,
        "state": TEXT,
        "zip_code": TEXT,
        "country": Col("country"),
        "phone": TEXT,
        "registration_date": Col("ts"),
        "last_login": Col("ts"),
    },
    "orders": {
        "order_id": Col("id64", True),
        "customer_id": Col("id64", True),
        "order_date": Col("ts", True),
        "status": Col("enum", True, STATUSES),
        "payment_method": Col("enum", False, PAYMENTS),
        "shipping_address": TEXT,
        "shipping_city": TEXT,
        "shipping_state": TEXT,
        "shipping_zip": TEXT,
        "shipping_country": Col("country"),
        "processing_date": Col("ts"),
        "shipping_date": Col("ts"),
        "delivery_date": Col("ts"),
        "total_amount": Col("money", True),
    },
    "order_items": {
        "order_item_id": Col("id64", True),
        "order_id": Col("id64", True),
        "product_id": Col("id32", True),
        "quantity": Col("id32", True),
        "price": Col("money", True),
        "discount": Col("money"),
        "total": Col("money", True),
    },
}
# Values of empty optional fields (a missing discount is no discount).
DEFAULTS = {"order_items": {"discount": "0"}}
# What cleaning did to a column, by its kind (a column name has one kind in
# every entity: an id is an id, a price money).
KINDS = {c: col.kind for spec in SPEC.values() for c, col in spec.items()}
CLEANED_AS = {
    "int": "integer written as a decimal",
    "money": "floating-point noise rounded to cents",
}
# The entity each reference column points to.
REFERENCES: dict[str, dict[str, str]] = {
    "product_categories": {"parent_id": "product_categories"},
    "products": {"category_id": "product_categories"},
    "orders": {"customer_id": "customers"},
    "order_items": {"order_id": "orders", "product_id": "products"},
}


def _text(c: str) -> pl.Expr:
    s = pl.col(c).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


# The helpers below read column c already trimmed (empty as null) by `check`.


def integer_value(t: pl.Expr) -> pl.Expr:
    """The Int64 value of trimmed text that is an integer (`[+-]digits`) or an
    integral decimal (`21.0`, `21.00`: a pandas export writes the integers of a
    column that holds nulls as floats, issue 13), else null: not `21.5`, `2.1e1`,
    `1,000`, `0x15`, `21.`, `.0`, `NaN`, `inf`. Duplicate keys and references use
    it too, so `21.0` and `21` are the same id."""
    # Polars' cast takes exactly [+-]digits; the decimal path strips trailing
    # zeros then the point, and needs at least one zero (`21.` stays a reject).
    head = t.str.strip_chars_end("0")
    decimal = t.str.ends_with("0") & head.str.ends_with(".")
    return pl.coalesce(
        t.cast(pl.Int64, strict=False),
        pl.when(decimal).then(head.str.strip_suffix(".").cast(pl.Int64, strict=False)),
    )


def duplicate_keys(entity: str) -> dict[str, pl.Expr]:
    """The keys a file must not repeat, as comparable values (`21.0` is `21`)."""
    key = KEYS[entity]
    keys = {key: integer_value(pl.col(key).str.strip_chars())}
    if entity == "customers":
        keys["email"] = pl.col("email").str.strip_chars().str.to_lowercase()
    if entity == "products":
        keys["sku"] = pl.col("sku").str.strip_chars()
    return keys


def _decimal(c: str, places: int | None) -> tuple[pl.Expr, pl.Expr]:
    t = pl.col(c)
    frac = r"\d+" if places is None else rf"\d{{1,{places}}}"
    ok = t.str.contains(rf"^[+-]?(\d{{1,10}}(\.{frac})?|\.{frac})$")
    return pl.when(ok).then(t), t.is_not_null() & ~ok


# A money value further than this from its cents is not float noise but a
# third decimal (19.999, 19.995): the noise of a float sum of cents is ~1e-12.
NOISE = 1e-6
NOISY = r"^[+-]?\d{1,10}\.\d{3,}$"


def money_noise(t: pl.Expr) -> pl.Expr:
    """The cents text of trimmed text with more than two decimals whose excess is
    binary floating-point noise (`206.57999999999998`: a pandas export of
    `price * quantity - discount`, issue 13) -> `206.58`, else null: not
    `19.999`, `19.995`, nor an exponent (`1e3`)."""
    f = pl.when(t.str.contains(NOISY)).then(t.cast(pl.Float64, strict=False))
    cents = f.round(2)
    # Polars writes a float in its shortest form: 206.58, 20.0, never an exponent
    # below 1e10 (at most ten integer digits, NOISY says).
    return pl.when((f - cents).abs() < NOISE).then(cents.cast(pl.String))


TS_FORMAT = "%Y-%m-%d %H:%M:%S"


# A zone after the seconds (and their fraction): `Z`, `+02:00`, `-0130`.
ZONE = r"(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$"


def parse_ts(text: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(timestamp, canonical text) of trimmed `YYYY-MM-DD HH:MM:SS` values, null
    where unparseable or outside 1970-2100. Also accepted, on a slower path taken
    only by the rows that need it: a `T` separator, a date alone (midnight),
    fractional seconds (dropped), and a zone (`Z`, `+02:00`, as ISO 8601 exports
    write them), converted to UTC."""
    parsed = text.str.strptime(pl.Datetime("us"), TS_FORMAT, strict=False, exact=True)
    canon = text
    miss = (parsed.is_null() & text.is_not_null()).arg_true()
    if miss.len():
        t = text.gather(miss).str.replace("T", " ", literal=True)
        zone = t.str.extract(ZONE, 1)
        t = t.str.replace(ZONE, "")
        n = t.str.len_bytes()
        t = pl.select(
            pl.when(n == 10)
            .then(t + " 00:00:00")
            .when((n > 20) & (t.str.slice(19, 1) == "."))
            .then(t.str.slice(0, 19))
            .otherwise(t)
        ).to_series()
        stamps = t.str.strptime(pl.Datetime("us"), TS_FORMAT, strict=False)
        if zone.is_not_null().any():
            stamps = stamps - pl.select(_offset(zone)).to_series()
            t = pl.select(
                pl.when(zone.is_null()).then(t).otherwise(stamps.dt.strftime(TS_FORMAT))
            ).to_series()
        parsed = parsed.scatter(miss, stamps)
        canon = canon.scatter(miss, t)
    in_range = parsed.dt.year().is_between(1970, 2100).fill_null(False)
    return parsed.zip_with(in_range, pl.Series([None], dtype=parsed.dtype)), canon.zip_with(
        in_range, pl.Series([None], dtype=pl.String)
    )


def _offset(zone: pl.Series) -> pl.Expr:
    """The UTC offset a zone names (`Z`: none), as a duration; 0 where there is none."""
    digits = pl.lit(zone).str.replace(":", "", literal=True)
    sign = pl.when(digits.str.starts_with("-")).then(-1).otherwise(1)
    minutes = digits.str.slice(1, 2).cast(pl.Int64, strict=False) * 60 + digits.str.slice(
        3, 2
    ).cast(pl.Int64, strict=False)
    return pl.duration(minutes=(sign * minutes).fill_null(0))


def _enum(c: str, choices: tuple[str, ...]) -> tuple[pl.Expr, pl.Expr]:
    t = pl.col(c)
    key = t.str.to_lowercase().str.replace_all(r"[\s_-]+", " ")
    v = key.replace_strict({x.lower(): x for x in choices}, default=None, return_dtype=pl.String)
    return v, t.is_not_null() & v.is_null()


BOOLS = {"true": "t", "t": "t", "1": "t", "yes": "t", "false": "f", "f": "f", "0": "f", "no": "f"}


# The reader decodes lossily: a row holding U+FFFD may come from bytes that are
# not UTF-8, which fails the whole file (load.py); this reason is how it shows.
NOT_UTF8 = "not valid UTF-8"


def _reason(cond: pl.Expr, text: str) -> pl.Expr:
    return pl.when(cond).then(pl.lit(text))


def check(entity: str, batch: pl.DataFrame) -> pl.DataFrame:
    """The batch with clean text columns and `_reasons` (null: valid)."""
    spec = SPEC[entity]
    df = batch.with_columns(_text(c).alias(c) for c in spec)
    values: dict[str, pl.Expr] = {}
    reasons: list[pl.Expr] = [
        _reason(pl.col(EXTRA).is_not_null(), "row has more fields than the header"),
        pl.col(SHORT),  # "row has N fields, the header has M", set by the reader
        _reason(
            pl.concat_str([pl.col(c) for c in spec], ignore_nulls=True)
            .str.contains("\ufffd", literal=True)
            .fill_null(False),
            NOT_UTF8,
        ),
    ]
    typed: dict[str, pl.Expr | pl.Series] = {}
    cleaned: dict[str, pl.Expr] = {}
    for c, col in spec.items():
        t = pl.col(c)
        v: pl.Expr = t
        bad: pl.Expr | None = None
        if col.kind in ("id32", "id64", "int"):
            low = 1 if col.kind.startswith("id") else 0
            # The decimal spelling costs a few string passes: only for a batch that has one.
            dotted = bool(df[c].str.contains(".", literal=True).any())
            n = integer_value(t) if dotted else t.cast(pl.Int64, strict=False)
            typed[c] = pl.when(n.is_between(low, INT64 if col.kind == "id64" else INT32)).then(n)
            ok = _t(c).is_not_null()
            v, bad = pl.when(ok).then(t), t.is_not_null() & ~ok
            if dotted:  # `21.0` is written back as `21`, and counted
                rewritten = ok & t.str.contains(".", literal=True)
                v = pl.when(rewritten).then(_t(c).cast(pl.String)).otherwise(v)
                cleaned[f"{CLEANED}{c}"] = rewritten
            msg = f"{c}: not {'a positive' if low else 'a non-negative'} integer"
        elif col.kind in ("money", "decimal"):
            v, bad = _decimal(c, 2 if col.kind == "money" else None)
            if col.kind == "money":
                # The shape check evaluated once, here: the noise path (a few more
                # passes) only runs for a batch that has a value failing it.
                refused = df.select(bad).to_series()
                bad = pl.lit(refused)
                v = pl.when(~bad).then(t)
                if refused.any():
                    noise = money_noise(t)
                    rewritten = bad & noise.is_not_null()
                    v = pl.when(rewritten).then(noise).otherwise(v)
                    bad = bad & ~rewritten
                    cleaned[f"{CLEANED}{c}"] = rewritten
            msg = f"{c}: not a number" + (
                " with at most two decimals" if col.kind == "money" else ""
            )
            typed[c] = v.cast(pl.Float64)
        elif col.kind == "ts":
            stamp, canon = parse_ts(df[c])
            typed[c], v = stamp, pl.lit(canon)
            bad = t.is_not_null() & pl.lit(canon).is_null()
            msg = f"{c}: not a timestamp (YYYY-MM-DD HH:MM:SS, 1970-2100)"
        elif col.kind == "bool":
            v = t.str.to_lowercase().replace_strict(BOOLS, default=None, return_dtype=pl.String)
            bad, msg = t.is_not_null() & v.is_null(), f"{c}: not True/False"
        elif col.kind == "email":
            v = t.str.to_lowercase()
            bad, msg = t.is_not_null() & ~v.str.contains(EMAIL), f"{c}: not an email address"
        elif col.kind == "enum":
            v, bad = _enum(c, col.choices)
            msg = f"{c}: not one of {', '.join(col.choices)}"
        elif col.kind == "country":
            v = t.str.to_uppercase()
            bad = t.is_not_null() & ~v.str.contains(r"^[A-Z]{2}$")
            msg = f"{c}: not an ISO country code"
        if bad is not None:
            reasons.append(_reason(bad, msg))
        if col.required:
            reasons.append(_reason(t.is_null(), f"{c}: required"))
        values[c] = v if c not in DEFAULTS.get(entity, {}) else v.fill_null(DEFAULTS[entity][c])
    reasons.extend(_row_rules(entity))
    out = (
        df.with_columns(
            *[
                (e if isinstance(e, pl.Expr) else pl.lit(e)).alias(f"_t_{c}")
                for c, e in typed.items()
            ]
        )
        .with_columns(_reasons=joined(reasons), **cleaned)
        .with_columns(**values)
    )
    return out.drop(*[f"_t_{c}" for c in typed])


def _t(c: str) -> pl.Expr:
    """The typed value `check` parsed for column c."""
    return pl.col(f"_t_{c}")


def _row_rules(entity: str) -> list[pl.Expr]:
    """Rules across a row's fields (on the typed values computed by `check`)."""
    t = _t
    if entity == "products":
        return [
            _reason(t("price") < 0, "price: negative"),
            _reason(t("cost") < 0, "cost: negative"),
        ]
    if entity == "orders":
        dates = ["order_date", "processing_date", "shipping_date", "delivery_date"]
        out = [_reason(t("total_amount") < 0, "total_amount: negative")]
        for i, later in enumerate(dates[1:], start=1):
            earlier = pl.coalesce([t(d) for d in reversed(dates[:i])])
            out.append(_reason(t(later) < earlier, f"{later}: before an earlier lifecycle date"))
        return out
    if entity == "order_items":
        qty = t("quantity")
        gross = t("price") * qty.cast(pl.Float64)
        return [
            _reason(t("price") < 0, "price: negative"),
            _reason(t("discount") < 0, "discount: negative"),
            _reason(
                (qty > 0) & (t("discount") > gross + 0.005), "discount: more than price x quantity"
            ),
        ]
    return []


def reported_total(batch: pl.DataFrame) -> pl.Series:
    """For valid item rows: the file's total where it differs from price x quantity
    - discount by more than half a cent (else null): kept as a flag, not a reject."""
    price = pl.col("price").cast(pl.Float64)
    qty = pl.col("quantity").cast(pl.Float64)
    disc = pl.col("discount").cast(pl.Float64).fill_null(0.0)
    total = pl.col("total").cast(pl.Float64)
    diff = (price * qty - disc - total).abs()
    return batch.select(
        pl.when(diff > 0.005).then(pl.col("total")).alias("reported_total")
    ).to_series()


def joined(reasons: list[pl.Expr]) -> pl.Expr:
    s = pl.concat_str(reasons, separator=SEP, ignore_nulls=True)
    return pl.when(s == "").then(None).otherwise(s)


def add_reasons(batch: pl.DataFrame, cond: pl.Series | pl.Expr, text: str) -> pl.DataFrame:
    """Add `text` to the reasons of the rows where `cond` holds."""
    c = cond if isinstance(cond, pl.Expr) else pl.lit(cond)
    return batch.with_columns(_reasons=joined([pl.col("_reasons"), _reason(c, text)]))


def cleaned_counts(checked: pl.DataFrame) -> dict[str, int]:
    """Per `column: what`, the rows of a checked frame whose value cleaning rewrote."""
    cols = [c for c in checked.columns if c.startswith(CLEANED)]
    if not cols or checked.height == 0:
        return {}
    sums = checked.select(pl.col(cols).sum()).row(0, named=True)
    out = {}
    for c, n in sums.items():
        column = c.removeprefix(CLEANED)
        if n:
            out[f"{column}: {CLEANED_AS.get(KINDS[column], CLEANED_AS['int'])}"] = int(n)
    return out


def reasons_list(reasons: pl.Series) -> list[list[str]]:
    """The reasons of each (rejected) row as a list."""
    return [r.split(SEP) if r else [] for r in reasons.to_list()]


def pg_array(reasons: pl.Expr) -> pl.Expr:
    """Joined reasons as a PostgreSQL text[] literal (for COPY)."""
    quoted = reasons.str.replace_all(r'(["\\])', r"\$1").str.replace_all(SEP, '","', literal=True)
    return pl.format('{{"{}"}}', quoted)
