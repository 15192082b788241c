"""Validation and cleaning rules of etl sales, one row at a time."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl_toolkit.sales import rules
from etl_toolkit.sales.source import COLUMNS, EXTRA, SHORT


def _row(entity: str, **values: str | None) -> pl.DataFrame:
    data: dict[str, list[str | None]] = {c: [values.get(c)] for c in COLUMNS[entity]}
    data[EXTRA] = [values.get(EXTRA)]
    data[SHORT] = [values.get(SHORT)]
    return pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))


GOOD_ITEM = {
    "order_item_id": "1",
    "order_id": "2",
    "product_id": "3",
    "quantity": "2",
    "price": "10.50",
    "discount": "1.00",
    "total": "20.00",
}


def _reasons(entity: str, **values: str | None) -> list[str]:
    out = rules.check(entity, _row(entity, **values))
    return rules.reasons_list(out["_reasons"])[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01 10:00:00", "2024-03-01 10:00:00"),
        ("2024-03-01T10:00:00", "2024-03-01 10:00:00"),
        ("2024-03-01", "2024-03-01 00:00:00"),
        ("2024-03-01 10:00:00.123456", "2024-03-01 10:00:00"),
        ("2024-05-26T03:02:48Z", "2024-05-26 03:02:48"),  # ISO 8601 with a zone: UTC
        ("2024-05-26T05:02:48+02:00", "2024-05-26 03:02:48"),
        ("2024-05-26 03:02:48.5-0130", "2024-05-26 04:32:48"),
        ("2024-01-01T00:30:00+01:00", "2023-12-31 23:30:00"),  # across a year
        ("2024-03-01 10:00:00+2", None),  # not a zone
        ("01/03/2024 10:00:00", None),
        ("2024-02-30 10:00:00", None),
        ("1969-12-31 23:59:59", None),
        ("2024-03-01 25:00:00", None),
        ("soon", None),
        (None, None),
    ],
)
def test_timestamps(text: str | None, expected: str | None) -> None:
    stamp, canon = rules.parse_ts(pl.Series([text], dtype=pl.String))
    assert canon[0] == expected
    if expected:
        assert stamp[0] == datetime.fromisoformat(expected)


def test_a_valid_item_has_no_reason_and_keeps_its_values() -> None:
    out = rules.check("order_items", _row("order_items", **GOOD_ITEM))
    assert out["_reasons"][0] is None
    assert out.select(COLUMNS["order_items"]).row(0) == tuple(GOOD_ITEM.values())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"quantity": "0"}, "quantity: not a positive integer"),
        ({"quantity": "-2"}, "quantity: not a positive integer"),
        ({"quantity": "2.5"}, "quantity: not a positive integer"),
        ({"quantity": "99999999999"}, "quantity: not a positive integer"),
        ({"order_id": None}, "order_id: required"),
        ({"order_id": "   "}, "order_id: required"),
        ({"price": "10.505"}, "price: not a number with at most two decimals"),
        ({"price": "1e3"}, "price: not a number with at most two decimals"),
        ({"price": "-1.00"}, "price: negative"),
        ({"discount": "-1"}, "discount: negative"),
        ({"discount": "21.01"}, "discount: more than price x quantity"),
        ({EXTRA: "surplus"}, "row has more fields than the header"),
        ({SHORT: "row has 5 fields, the header has 7"}, "row has 5 fields, the header has 7"),
        ({"total": "\ufffd"}, "not valid UTF-8"),
    ],
)
def test_each_item_rule(change: dict[str, str | None], reason: str) -> None:
    assert reason in _reasons("order_items", **(GOOD_ITEM | change))


# Every integer column of every entity, with the bounds of its kind.
INTEGER_COLUMNS = [
    (entity, c, col.kind)
    for entity, spec in rules.SPEC.items()
    for c, col in spec.items()
    if col.kind in ("id32", "id64", "int")
]


def _int_check(entity: str, column: str, texts: Sequence[str | None]) -> pl.DataFrame:
    frame = pl.concat([_row(entity) for _ in texts]).with_columns(
        pl.Series(column, texts, dtype=pl.String)
    )
    return rules.check(entity, frame)


def _int_reasons(entity: str, column: str, out: pl.DataFrame) -> list[bool]:
    return [
        any(r.startswith(f"{column}: not a") for r in rs)
        for rs in rules.reasons_list(out["_reasons"])
    ]


@pytest.mark.parametrize(("entity", "column", "kind"), INTEGER_COLUMNS)
def test_every_integer_column_takes_an_integral_decimal_and_counts_it(
    entity: str, column: str, kind: str
) -> None:
    texts = ["21", "21.0", "21.00", " 21.000 ", "+21.0"]
    out = _int_check(entity, column, texts)
    assert out[column].to_list() == ["21"] * 5
    assert _int_reasons(entity, column, out) == [False] * 5
    assert out[f"{rules.CLEANED}{column}"].to_list() == [False, True, True, True, True]
    assert rules.cleaned_counts(out)[f"{column}: integer written as a decimal"] == 4


@pytest.mark.parametrize(("entity", "column", "kind"), INTEGER_COLUMNS)
@pytest.mark.parametrize(
    "text", ["21.5", "2.1e1", "1,000", "0x15", "21.", ".0", "NaN", "inf", "21.0.0", "21 .0"]
)
def test_every_integer_column_refuses_what_is_not_an_integer(
    entity: str, column: str, kind: str, text: str
) -> None:
    out = _int_check(entity, column, [text])
    low = "a positive" if kind.startswith("id") else "a non-negative"
    assert f"{column}: not {low} integer" in rules.reasons_list(out["_reasons"])[0]
    assert out[column][0] is None and rules.cleaned_counts(out) == {}


def _expected_int(text: str, low: int, high: int) -> str | None:
    """The rule, written independently: the clean integer text, or None (a reject)."""
    t = text.strip()
    m = re.fullmatch(r"([+-]?[0-9]+)(\.0+)?", t)
    if m is None or not low <= int(m[1]) <= high:
        return None
    return str(int(m[1])) if m[2] else t


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(
        st.one_of(
            st.text(alphabet="0123456789.+-eE,x ", max_size=24),
            st.builds(
                lambda n, zeros: f"{n}.{'0' * zeros}" if zeros else str(n),
                st.integers(min_value=-(2**63), max_value=2**63),
                st.integers(min_value=0, max_value=3),
            ),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_the_integer_rule_property(texts: list[str]) -> None:
    for column, low, high in (("quantity", 1, rules.INT32), ("order_id", 1, rules.INT64)):
        out = _int_check("order_items", column, texts)
        bad = _int_reasons("order_items", column, out)
        flag = f"{rules.CLEANED}{column}"  # only where the batch has a decimal spelling
        flags = out[flag] if flag in out.columns else pl.repeat(False, out.height, eager=True)
        for text, value, refused, cleaned in zip(texts, out[column], bad, flags, strict=True):
            expected = _expected_int(text, low, high)
            blank = not text.strip()
            assert value == expected, text
            assert refused == (expected is None and not blank), text
            assert bool(cleaned) == (expected is not None and "." in text), text


MONEY_COLUMNS = [
    (entity, c)
    for entity, spec in rules.SPEC.items()
    for c, col in spec.items()
    if col.kind == "money"
]
NOISE = ": floating-point noise rounded to cents"
NOT_MONEY = ": not a number with at most two decimals"


def _money_refused(column: str, out: pl.DataFrame) -> list[bool]:
    return [f"{column}{NOT_MONEY}" in rs for rs in rules.reasons_list(out["_reasons"])]


@pytest.mark.parametrize(("entity", "column"), MONEY_COLUMNS)
def test_every_money_column_rounds_float_noise_and_counts_it(entity: str, column: str) -> None:
    texts = ["206.58", "206.57999999999998", "19.990000000000002", " 12.999999999999998 ", "0.1"]
    out = _int_check(entity, column, texts)
    assert [float(v) for v in out[column]] == [206.58, 206.58, 19.99, 13.0, 0.1]
    assert all(len(v.partition(".")[2]) <= 2 for v in out[column])
    assert _money_refused(column, out) == [False] * 5
    assert out[f"{rules.CLEANED}{column}"].to_list() == [False, True, True, True, False]
    assert rules.cleaned_counts(out) == {f"{column}{NOISE}": 3}


@pytest.mark.parametrize(("entity", "column"), MONEY_COLUMNS)
@pytest.mark.parametrize(
    "text", ["19.999", "19.995", "19.9951", "1e3", "1.9990000000000002e1", "19.99e0", "NaN", "inf"]
)
def test_every_money_column_refuses_a_real_third_decimal_or_an_exponent(
    entity: str, column: str, text: str
) -> None:
    out = _int_check(entity, column, [text])
    assert _money_refused(column, out) == [True]
    assert out[column][0] == rules.DEFAULTS.get(entity, {}).get(column)  # not a value of it
    assert rules.cleaned_counts(out) == {}


def _expected_money(text: str) -> Decimal | None:
    """The money rule, written independently: the value loaded, or None (a reject)."""
    t = text.strip()
    if re.fullmatch(r"[+-]?([0-9]{1,10}(\.[0-9]{1,2})?|\.[0-9]{1,2})", t):
        return Decimal(t)
    if not re.fullmatch(r"[+-]?[0-9]{1,10}\.[0-9]{3,}", t):
        return None
    cents = Decimal(t).quantize(Decimal("0.01"))
    return cents if abs(Decimal(t) - cents) < Decimal("1e-6") else None


CENTS = st.integers(min_value=0, max_value=10**9).map(lambda n: n / 100)


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(
        st.one_of(
            # What float arithmetic on cents writes: noise or not.
            st.builds(
                lambda a, q, d: repr(a * q - d),
                CENTS,
                st.integers(1, 9),
                st.sampled_from([0, 0.05]),
            ),
            st.builds(lambda a, b: repr(a + b), CENTS, CENTS),
            # Real extra decimals, exponents, anything.
            st.builds(
                lambda a, tail: f"{a:.2f}{tail}",
                CENTS,
                st.from_regex(r"[0-9]{1,12}", fullmatch=True),
            ),
            st.floats(allow_nan=True, allow_infinity=True).map(repr),
            st.text(alphabet="0123456789.+-e ", max_size=24),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_the_money_rule_property(texts: list[str]) -> None:
    out = _int_check("order_items", "total", texts)
    refused = _money_refused("total", out)
    flag = f"{rules.CLEANED}total"  # only where the batch has a third decimal
    flags = out[flag] if flag in out.columns else pl.repeat(False, out.height, eager=True)
    for text, value, bad, cleaned in zip(texts, out["total"], refused, flags, strict=True):
        expected = _expected_money(text)
        blank = not text.strip()
        assert (None if value is None else Decimal(value)) == expected, text
        assert bad == (expected is None and not blank), text
        assert bool(cleaned) == (expected is not None and text.strip() != value), text


def test_an_integral_decimal_quantity_still_checks_the_discount() -> None:
    got = _reasons("order_items", **(GOOD_ITEM | {"quantity": "2.0", "discount": "21.01"}))
    assert got == ["discount: more than price x quantity"]


def test_every_reason_of_a_row_is_kept() -> None:
    got = _reasons("order_items", **(GOOD_ITEM | {"quantity": "x", "price": "", "order_id": "0"}))
    assert set(got) == {
        "quantity: not a positive integer",
        "price: required",
        "order_id: not a positive integer",
    }


def test_a_missing_discount_is_zero_and_a_wrong_total_is_kept_as_reported() -> None:
    out = rules.check("order_items", _row("order_items", **(GOOD_ITEM | {"discount": None})))
    assert out["discount"][0] == "0" and out["_reasons"][0] is None
    assert rules.reported_total(out)[0] == "20.00"  # 2 x 10.50 - 0 = 21.00
    ok = rules.check("order_items", _row("order_items", **GOOD_ITEM))
    assert rules.reported_total(ok)[0] is None


def test_orders_normalise_enumerations_and_check_lifecycle_dates() -> None:
    base = {
        "order_id": "1",
        "customer_id": "2",
        "order_date": "2024-03-01 10:00:00",
        "status": " in_transit ",
        "payment_method": "APPLE PAY",
        "shipping_country": "us",
        "total_amount": "5.00",
    }
    out = rules.check("orders", _row("orders", **base))
    assert out.select("status", "payment_method", "shipping_country").row(0) == (
        "In Transit",
        "Apple Pay",
        "US",
    )
    assert out["_reasons"][0] is None
    late = base | {"processing_date": "2024-03-02 00:00:00", "shipping_date": "2024-03-01 11:00:00"}
    assert _reasons("orders", **late) == ["shipping_date: before an earlier lifecycle date"]
    assert _reasons("orders", **(base | {"status": "Lost"}))[0].startswith("status: not one of")


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        ("ada@example.com", True),
        (" Ada.Lovelace+x@Example.CO.uk ", True),
        ("ada at example.com", False),
        ("ada@example", False),
        ("ada@@example.com", False),
        ("a b@example.com", False),
    ],
)
def test_email_shape(email: str, ok: bool) -> None:
    got = _reasons("customers", customer_id="1", email=email)
    assert (got == []) is ok, got


@pytest.mark.parametrize(
    ("text", "value"), [("True", "t"), ("false", "f"), ("1", "t"), ("NO", "f")]
)
def test_booleans(text: str, value: str) -> None:
    out = rules.check(
        "products",
        _row(
            "products",
            product_id="1",
            name="n",
            price="1",
            category_id="1",
            sku="s",
            is_active=text,
        ),
    )
    assert out["is_active"][0] == value and out["_reasons"][0] is None


def test_reasons_become_a_postgres_array_literal() -> None:
    joined = rules.SEP.join(['a "quoted" reason', "back\\slash"])
    got = pl.select(rules.pg_array(pl.lit(joined))).item()
    assert got == '{"a \\"quoted\\" reason","back\\\\slash"}'


def test_header_requirements_match_the_row_rules() -> None:
    from etl_toolkit.sales.source import REQUIRED

    for entity, spec in rules.SPEC.items():
        assert {c for c, col in spec.items() if col.required} == REQUIRED[entity], entity
        assert list(spec) == list(COLUMNS[entity]), entity


# Properties of the rules over generated rows ------------------------------------
#
# Rows are drawn valid but spelled the ways real exports spell values (padding,
# case, integral decimals, float noise, `T` timestamps, dates alone), then
# given any subset of independent defects, each with the one reason it must add.

PAD = st.sampled_from(["", " ", "  "])


def _padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda left, v, right: f"{left}{v}{right}", PAD, values, PAD)


def _any_case(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda v, flips: "".join(
            c.upper() if f else c.lower() for c, f in zip(v, flips, strict=False)
        ),
        values,
        st.lists(st.booleans(), min_size=40, max_size=40),
    )


def _integer(low: int, high: int) -> st.SearchStrategy[str]:
    """An integer in [low, high], plain or as an integral decimal (`21.0`, `+21.00`)."""
    return _padded(
        st.builds(
            lambda n, zeros, plus: (
                ("+" if plus else "") + str(n) + ("." + "0" * zeros if zeros else "")
            ),
            st.integers(low, high),
            st.integers(0, 3),
            st.booleans(),
        )
    )


def _money(cents: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    """An amount: two decimals, its shortest float form, or float noise on it."""
    return _padded(
        st.one_of(
            cents.map(lambda n: f"{n / 100:.2f}"),
            cents.map(lambda n: repr(n / 100)),
            # not for zero: 0 + 1e-9 is written 1e-09, an exponent (refused)
            cents.map(lambda n: repr(n / 100 + 1e-9) if n else "0.0"),
        )
    )


CENTS = st.integers(0, 10**8)
STAMPS = st.datetimes(datetime(1971, 1, 1), datetime(2099, 12, 31))
TIMESTAMP = _padded(
    st.builds(
        lambda d, shape: d.strftime(shape),
        STAMPS,
        st.sampled_from(
            ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S.%f"]
        ),
    )
)
ENUM_SEPARATORS = st.sampled_from([" ", "_", "-", "  "])


def _enum(choices: Sequence[str]) -> st.SearchStrategy[str]:
    return _padded(
        _any_case(
            st.builds(lambda v, sep: v.replace(" ", sep), st.sampled_from(choices), ENUM_SEPARATORS)
        )
    )


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
EMAIL = _padded(
    _any_case(
        st.builds(
            lambda u, d, tld: f"{u}@{d}.{tld}", WORD, WORD, st.sampled_from(["com", "org", "co.uk"])
        )
    )
)
COUNTRY = _padded(_any_case(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=2)))
TEXT = _padded(WORD)


@st.composite
def _valid_item(draw: st.DrawFn) -> dict[str, str]:
    quantity = draw(st.integers(1, 50))
    price = draw(CENTS)
    discount = draw(st.integers(0, price * quantity)) // 100 * 100  # whole units: no rounding edge
    return {
        "order_item_id": draw(_integer(1, rules.INT64)),
        "order_id": draw(_integer(1, rules.INT64)),
        "product_id": draw(_integer(1, rules.INT32)),
        "quantity": draw(_integer(quantity, quantity)),
        "price": draw(_money(st.just(price))),
        "discount": draw(_money(st.just(discount))),
        "total": draw(_money(CENTS)),  # a wrong total is a flag, not a reject
    }


@st.composite
def _valid_order(draw: st.DrawFn) -> dict[str, str]:
    return {
        "order_id": draw(_integer(1, rules.INT64)),
        "customer_id": draw(_integer(1, rules.INT64)),
        "order_date": draw(TIMESTAMP),
        "status": draw(_enum(rules.STATUSES)),
        "payment_method": draw(_enum(rules.PAYMENTS)),
        "shipping_city": draw(TEXT),
        "shipping_country": draw(COUNTRY),
        "total_amount": draw(_money(CENTS)),
    }


@st.composite
def _valid_product(draw: st.DrawFn) -> dict[str, str]:
    return {
        "product_id": draw(_integer(1, rules.INT32)),
        "name": draw(TEXT),
        "price": draw(_money(CENTS)),
        "cost": draw(_money(CENTS)),
        "category_id": draw(_integer(1, rules.INT32)),
        "sku": draw(TEXT),
        "inventory_count": draw(_integer(0, rules.INT32)),
        "weight": draw(_padded(st.decimals(0, 10**6, places=3).map(str))),
        "created_at": draw(TIMESTAMP),
        "is_active": draw(_padded(_any_case(st.sampled_from(sorted(rules.BOOLS))))),
    }


@st.composite
def _valid_customer(draw: st.DrawFn) -> dict[str, str]:
    return {
        "customer_id": draw(_integer(1, rules.INT64)),
        "email": draw(EMAIL),
        "first_name": draw(TEXT),
        "country": draw(COUNTRY),
        "registration_date": draw(TIMESTAMP),
    }


VALID = {
    "order_items": _valid_item(),
    "orders": _valid_order(),
    "products": _valid_product(),
    "customers": _valid_customer(),
}
# Per entity: defects that break one rule each, whatever the rest of the row
# holds (a valid row as drawn above), with the reason each must add.
DEFECTS: dict[str, dict[str, tuple[str | None, str]]] = {
    "order_items": {
        "order_item_id": ("x1", "order_item_id: not a positive integer"),
        "order_id": (None, "order_id: required"),
        "product_id": ("0", "product_id: not a positive integer"),
        "quantity": ("2.5", "quantity: not a positive integer"),
        "price": ("10.505", "price: not a number with at most two decimals"),
        "discount": ("-1.00", "discount: negative"),
        "total": ("1e3", "total: not a number with at most two decimals"),
        EXTRA: ("surplus", "row has more fields than the header"),
    },
    "orders": {
        "order_id": ("-5", "order_id: not a positive integer"),
        "customer_id": ("  ", "customer_id: required"),
        "status": ("Lost", f"status: not one of {', '.join(rules.STATUSES)}"),
        "payment_method": ("Cash", f"payment_method: not one of {', '.join(rules.PAYMENTS)}"),
        "shipping_country": ("USA", "shipping_country: not an ISO country code"),
        "total_amount": ("-3.00", "total_amount: negative"),
        "delivery_date": ("1970-06-01", "delivery_date: before an earlier lifecycle date"),
    },
    "products": {
        "product_id": ("0", "product_id: not a positive integer"),
        "name": (None, "name: required"),
        "price": ("-1.00", "price: negative"),
        "cost": ("x", "cost: not a number with at most two decimals"),
        "category_id": ("21.5", "category_id: not a positive integer"),
        "inventory_count": ("-1", "inventory_count: not a non-negative integer"),
        "weight": ("1.2.3", "weight: not a number"),
        "is_active": ("maybe", "is_active: not True/False"),
        "created_at": (
            "2024-02-30",
            "created_at: not a timestamp (YYYY-MM-DD HH:MM:SS, 1970-2100)",
        ),
    },
    "customers": {
        "customer_id": ("abc", "customer_id: not a positive integer"),
        "email": ("ada at example.com", "email: not an email address"),
        "country": ("u1", "country: not an ISO country code"),
        "registration_date": (
            "2101-01-01",
            "registration_date: not a timestamp (YYYY-MM-DD HH:MM:SS, 1970-2100)",
        ),
    },
}


@st.composite
def _rows_with_defects(draw: st.DrawFn) -> tuple[str, list[dict[str, str | None]], list[set[str]]]:
    entity = draw(st.sampled_from(sorted(VALID)))
    rows: list[dict[str, str | None]] = []
    expected: list[set[str]] = []
    for _ in range(draw(st.integers(1, 8))):
        row: dict[str, str | None] = dict(draw(VALID[entity]))
        broken = draw(st.sets(st.sampled_from(sorted(DEFECTS[entity]))))
        for column in broken:
            row[column] = DEFECTS[entity][column][0]
        rows.append(row)
        expected.append({DEFECTS[entity][c][1] for c in broken})
    return entity, rows, expected


def _frame(entity: str, rows: Sequence[dict[str, str | None]]) -> pl.DataFrame:
    return pl.concat([_row(entity, **row) for row in rows])


@settings(max_examples=200, deadline=None)
@given(case=_rows_with_defects())
def test_a_row_is_rejected_iff_a_rule_fails_and_with_every_failing_reason(
    case: tuple[str, list[dict[str, str | None]], list[set[str]]],
) -> None:
    entity, rows, expected = case
    out = rules.check(entity, _frame(entity, rows))
    got = rules.reasons_list(out["_reasons"])
    for row, reasons, want in zip(rows, got, expected, strict=True):
        assert set(reasons) == want, row
        assert len(reasons) == len(want), row  # each reason once
    assert [r is None for r in out["_reasons"]] == [not w for w in expected]


@settings(max_examples=150, deadline=None)
@given(entity=st.sampled_from(sorted(VALID)), data=st.data())
def test_cleaning_is_idempotent(entity: str, data: st.DataObject) -> None:
    """A valid row's clean values, checked again, are valid, the same, and need
    no more cleaning."""
    rows = data.draw(st.lists(VALID[entity], min_size=1, max_size=8))
    once = rules.check(entity, _frame(entity, rows))
    assert once["_reasons"].null_count() == once.height, rows
    columns = list(COLUMNS[entity])
    again = rules.check(entity, _frame(entity, once.select(columns).to_dicts()))
    assert again["_reasons"].null_count() == again.height
    assert again.select(columns).equals(once.select(columns))
    assert rules.cleaned_counts(again) == {}


@settings(max_examples=200, deadline=None)
@given(
    column=st.sampled_from(INTEGER_COLUMNS),
    value=st.integers(0, rules.INT64),
    zeros=st.integers(1, 6),
    plus=st.booleans(),
    pad=PAD,
)
def test_any_integral_decimal_spelling_of_an_integer_is_that_integer(
    column: tuple[str, str, str], value: int, zeros: int, plus: bool, pad: str
) -> None:
    entity, name, kind = column
    low, high = (
        (1 if kind.startswith("id") else 0),
        (rules.INT64 if kind == "id64" else rules.INT32),
    )
    spelled = f"{pad}{'+' if plus else ''}{value}.{'0' * zeros}{pad}"
    out = _int_check(entity, name, [spelled, str(value)])
    if low <= value <= high:
        assert out[name].to_list() == [str(value), str(value)]
        assert _int_reasons(entity, name, out) == [False, False]
        assert out[f"{rules.CLEANED}{name}"].to_list() == [True, False]
    else:  # out of the column's range: refused in either spelling
        assert out[name].to_list() == [None, None]
        assert _int_reasons(entity, name, out) == [True, True]
