"""Reads of the sales schema for the GraphQL API and the dashboard.

Every list is a keyset page: a cursor is the last row's sort key and id
(base64 JSON), and the next page starts strictly after it, so page 1,000
costs what page 1 costs. Sort orders come from enums mapped here to
expressions written in code (never from input text).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

import psycopg
from psycopg import sql

from etl_toolkit.db.queries import query
from etl_toolkit.errors import InputError
from etl_toolkit.sales.records import (
    Category,
    CategoryRanking,
    Customer,
    Order,
    OrderItem,
    PeriodSales,
    Product,
    ProductSales,
    RankedProduct,
    Trend,
)

T = TypeVar("T")
Conn = psycopg.Connection[Any]
MAX_PAGE = 100
MAX_DAYS = 3_700
BUCKETS = {"DAY": "day", "WEEK": "week", "MONTH": "month"}
# Sort enum -> (key expression over the aggregate, descending?)
PRODUCT_SORTS = {
    "REVENUE_DESC": ("a.revenue", True),
    "REVENUE_ASC": ("a.revenue", False),
    "UNITS_DESC": ("a.units::numeric", True),
    "UNITS_ASC": ("a.units::numeric", False),
    "ORDERS_DESC": ("a.orders::numeric", True),
    "PRODUCT_ID_ASC": ("a.product_id::numeric", False),
}
RANK_KEYS = {"REVENUE": "revenue", "UNITS": "units"}
# The API's order status names -> the statuses as stored (OrderFilter takes stored ones).
STATUSES = {
    "PROCESSING": "Processing",
    "SHIPPED": "Shipped",
    "IN_TRANSIT": "In Transit",
    "DELIVERED": "Delivered",
    "CANCELLED": "Cancelled",
    "RETURNED": "Returned",
}


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    cursors: list[str]
    has_next: bool
    total: int
    has_previous: bool = False


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date

    @property
    def whole_months(self) -> tuple[date, date]:
        """[first, end) of the calendar months the range covers entirely (empty
        when first >= end): read from the monthly table, the rest from the daily one."""
        first = self.start if self.start.day == 1 else _next_month(self.start)
        after = self.end + timedelta(days=1)
        end = after if after.day == 1 else after.replace(day=1)
        return first, max(first, end)

    def params(self) -> dict[str, date]:
        """Bounds for the named queries: the whole months [full_from, full_to) and
        the days before and after them, [head_from, head_to) and [tail_from, tail_to)."""
        full_from, full_to = self.whole_months
        after = self.end + timedelta(days=1)
        whole = full_from < full_to
        return {
            "date_from": self.start,
            "date_to": self.end,
            "full_from": full_from,
            "full_to": full_to,
            "head_from": self.start,
            "head_to": full_from if whole else after,
            "tail_from": full_to if whole else after,
            "tail_to": after,
        }

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InputError("dates: `to` is before `from`")
        if (self.end - self.start).days > MAX_DAYS:
            raise InputError(f"dates: at most {MAX_DAYS} days")


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


@dataclass(frozen=True)
class ProductFilter:
    category_id: int | None = None
    include_subcategories: bool = True
    product_ids: list[int] | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    active: bool | None = None


@dataclass(frozen=True)
class OrderFilter:
    statuses: list[str] | None = None  # as stored: "In Transit"
    dates: DateRange | None = None
    total_min: Decimal | None = None
    total_max: Decimal | None = None


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([str(v) if isinstance(v, Decimal | date) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise InputError("after: not a cursor this API issued") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InputError("after: not a cursor this API issued")
    return values


def page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise InputError(f"first: between 1 and {MAX_PAGE}")
    return first


def _rows(conn: Conn, stmt: sql.SQL | sql.Composed, params: dict[str, Any]) -> list[dict[str, Any]]:
    return list(conn.execute(stmt, params).fetchall())


def subtree(conn: Conn, category_id: int) -> list[int]:
    row = conn.execute(query("sales", "category_subtree"), {"id": category_id}).fetchone()
    ids = row["ids"] if row else None
    if not ids:
        raise InputError(f"categoryId: no category {category_id}")
    return [int(i) for i in ids]


def _categories(conn: Conn, f: ProductFilter) -> list[int] | None:
    if f.category_id is None:
        return None
    return subtree(conn, f.category_id) if f.include_subcategories else [f.category_id]


def product_sales(
    conn: Conn,
    dates: DateRange,
    f: ProductFilter,
    sort: str,
    first: int,
    after: str | None,
) -> Page[ProductSales]:
    """Units, revenue and orders per product over `dates`, filtered and sorted."""
    key, desc = PRODUCT_SORTS[sort]
    limit = page_size(first)
    params: dict[str, Any] = {
        **dates.params(),
        "products": f.product_ids,
        "price_min": f.price_min,
        "price_max": f.price_max,
        "active": f.active,
        "limit": limit + 1,
    }
    seek: sql.Composable = sql.SQL("true")
    if after:
        k, pid = decode_cursor(after, 2)
        params["k"], params["pid"] = Decimal(str(k)), int(pid)
        seek = sql.SQL(
            "k.sort_key {} %(k)s OR (k.sort_key = %(k)s AND k.product_id > %(pid)s)"
        ).format(sql.SQL("<" if desc else ">"))
    order = sql.SQL("k.sort_key {}, k.product_id").format(sql.SQL("DESC" if desc else "ASC"))
    params["categories"] = _categories(conn, f)
    filtered = any(params[k] is not None for k in ("categories", "price_min", "price_max"))
    join = query("sales", "product_filter") if filtered or f.active is not None else None

    def statement(seek: sql.Composable) -> sql.Composed:
        return query("sales", "product_sales").format(
            key=sql.SQL(key),
            seek=seek,
            order=order,
            product_filter=join or sql.SQL(""),
            period_rows=query("sales", "period_rows"),
        )

    rows = _rows(conn, statement(seek), params)
    total = int(rows[0]["total_count"]) if rows else 0
    if not rows and after:
        # Past the last page the window count has no row to ride on: one row without the
        # seek carries the connection's total (a client's totalCount never drops to 0).
        first_row = _rows(conn, statement(sql.SQL("true")), {**params, "limit": 1})
        total = int(first_row[0]["total_count"]) if first_row else 0
    page = rows[:limit]
    return Page(
        [
            ProductSales(int(r["product_id"]), r["orders"], r["units"], r["revenue"], dates)
            for r in page
        ],
        [encode_cursor(r["sort_key"], r["product_id"]) for r in page],
        len(rows) > limit,
        total,
        after is not None,
    )


def product_periods(
    conn: Conn, ids: list[int], dates: DateRange, granularity: str
) -> dict[int, list[PeriodSales]]:
    """Per product: its sales per day, week or month (one query for all the ids)."""
    stmt = query("sales", "product_periods").format(bucket=sql.Literal(BUCKETS[granularity]))
    out: dict[int, list[PeriodSales]] = {i: [] for i in ids}
    for r in _rows(conn, stmt, {"ids": ids, "date_from": dates.start, "date_to": dates.end}):
        out[int(r["product_id"])].append(
            PeriodSales(r["period"], r["orders"], r["units"], r["revenue"])
        )
    return out


def by_ids(conn: Conn, name: str, ids: list[int], key: str) -> dict[int, dict[str, Any]]:
    """Rows of a named lookup query for many ids at once, by id."""
    if not ids:
        return {}
    return {int(r[key]): r for r in _rows(conn, query("sales", name), {"ids": ids})}


def products(conn: Conn, ids: list[int]) -> dict[int, Product]:
    """The products of these ids (one query), by id; unknown ids are left out."""
    return {i: Product(**r) for i, r in by_ids(conn, "products", ids, "product_id").items()}


def customer(conn: Conn, customer_id: int) -> Customer | None:
    """A customer with its lifetime metrics."""
    row = by_ids(conn, "customers", [customer_id], "customer_id").get(customer_id)
    return None if row is None else Customer.of(row)


def customer_orders(
    conn: Conn, customer_id: int, f: OrderFilter, first: int, after: str | None
) -> Page[Order]:
    limit = page_size(first)
    params: dict[str, Any] = {
        "customer_id": customer_id,
        "statuses": f.statuses or None,
        "date_from": f.dates.start if f.dates else None,
        "date_to": f.dates.end if f.dates else None,
        "total_min": f.total_min,
        "total_max": f.total_max,
        "after_date": None,
        "after_id": None,
        "limit": limit + 1,
    }
    if after:
        params["after_date"], params["after_id"] = decode_cursor(after, 2)
    rows = _rows(conn, query("sales", "customer_orders"), params)
    count = conn.execute(query("sales", "customer_orders_count"), params).fetchone()
    page = rows[:limit]
    return Page(
        [Order.of(r) for r in page],
        [encode_cursor(r["order_date"].isoformat(), r["order_id"]) for r in page],
        len(rows) > limit,
        int(str(count["n"])) if count else 0,
        after is not None,
    )


def order_items(conn: Conn, order_ids: list[int]) -> dict[int, list[OrderItem]]:
    """Per order: its items (one query for all the orders)."""
    out: dict[int, list[OrderItem]] = {i: [] for i in order_ids}
    if order_ids:
        for r in _rows(conn, query("sales", "order_items"), {"ids": order_ids}):
            out[int(r["order_id"])].append(OrderItem(**r))
    return out


def top_products(
    conn: Conn,
    dates: DateRange,
    category_id: int | None,
    by: str,
    per_category: int,
    first: int,
    after: str | None,
) -> Page[CategoryRanking]:
    """Per category (or for one category and its subtree): its best products."""
    if not 1 <= per_category <= MAX_PAGE:
        raise InputError(f"perCategory: between 1 and {MAX_PAGE}")
    limit = page_size(first)
    params: dict[str, Any] = {
        **dates.params(),
        "root": category_id,
        "after_category": int(decode_cursor(after, 1)[0]) if after else None,
        "per_category": per_category,
        "limit": limit + 1,
    }
    rows_sql = query("sales", "period_rows")
    stmt = query("sales", "top_products").format(
        key=sql.Identifier(RANK_KEYS[by]), period_rows=rows_sql
    )
    params["categories"] = subtree(conn, category_id) if category_id is not None else None
    rows = _rows(conn, stmt, params)
    count_sql = query("sales", "top_products_groups").format(period_rows=rows_sql)
    count = conn.execute(count_sql, params).fetchone()
    groups: dict[int, list[RankedProduct]] = {}
    for r in rows:
        ranked = RankedProduct(
            r["rank"], int(r["product_id"]), r["orders"], r["units"], r["revenue"]
        )
        groups.setdefault(int(r["category_id"]), []).append(ranked)
    ids = list(groups)[:limit]
    return Page(
        [CategoryRanking(i, groups[i]) for i in ids],
        [encode_cursor(i) for i in ids],
        len(groups) > limit,
        int(str(count["n"])) if count else 0,
        after is not None,
    )


def change(now: Decimal | int, before: Decimal | int | None) -> float | None:
    """The relative change from `before` to `now` (0.1 = +10%); none from nothing."""
    return None if not before else float((Decimal(now) - Decimal(before)) / Decimal(before))


def trends(
    conn: Conn,
    dates: DateRange,
    granularity: str,
    category_id: int | None,
    first: int,
    after: str | None,
) -> Page[Trend]:
    """Revenue, orders, units and average order value per period, with the change
    from the previous period (the one before the range's first included)."""
    limit = page_size(first)
    params: dict[str, Any] = {
        "date_from": dates.start,
        "date_to": dates.end,
        "category": category_id,
        "after": date.fromisoformat(str(decode_cursor(after, 1)[0])) if after else None,
        "limit": limit + 1,
    }
    stmt = query("sales", "trends").format(bucket=sql.Literal(BUCKETS[granularity]))
    rows = _rows(conn, stmt, params)
    total = int(rows[0]["total_count"]) if rows else 0
    if not rows and after:  # past the last page: the total from the first row
        first_row = _rows(conn, stmt, {**params, "after": None, "limit": 1})
        total = int(first_row[0]["total_count"]) if first_row else 0
    page = rows[:limit]
    return Page(
        [
            Trend(
                r["period"],
                r["revenue"],
                r["orders"],
                r["units"],
                r["average_order_value"],
                change(r["revenue"], r["previous_revenue"]),
                change(r["orders"], r["previous_orders"]),
            )
            for r in page
        ],
        [encode_cursor(r["period"].isoformat()) for r in page],
        len(rows) > limit,
        total,
        after is not None,
    )


def all_categories(conn: Conn) -> dict[int, Category]:
    rows = _rows(conn, query("sales", "all_categories"), {})
    return {int(r["category_id"]): Category(**r) for r in rows}
