"""What the sales dashboard shows, relative to the newest day with sales: the same
reads the GraphQL API serves (trends, product sales, products), and two of its own
(top categories, recent orders)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import psycopg

from etl_toolkit.db.queries import query
from etl_toolkit.sales import read
from etl_toolkit.sales.records import RecentOrder, TopCategory, TopProduct, Trend

Conn = psycopg.Connection[Any]
TOP_PRODUCTS = 10  # of the last 30 days
TOP_CATEGORIES = 8  # of the last 90 days
RECENT_ORDERS = 10


@dataclass(frozen=True)
class Dashboard:
    first_day: date | None
    last_day: date | None
    trend: list[Trend]  # per month over the whole range
    top_categories: list[TopCategory]  # last 90 days of data
    top_products: list[TopProduct]  # last 30 days of data
    recent_orders: list[RecentOrder]


def dashboard(conn: Conn) -> Dashboard:
    span = conn.execute(query("sales", "data_range")).fetchone()
    first: date | None = span["first_day"] if span else None
    last: date | None = span["last_day"] if span else None
    if first is None or last is None:
        return Dashboard(None, None, [], [], [], [])
    whole = read.DateRange(first, last)
    month = read.DateRange(max(first, last - timedelta(days=29)), last)
    quarter = read.DateRange(max(first, last - timedelta(days=89)), last)
    trend = read.trends(conn, whole, "MONTH", None, read.MAX_PAGE, None).rows
    top = read.product_sales(
        conn, month, read.ProductFilter(), "REVENUE_DESC", TOP_PRODUCTS, None
    ).rows
    names = read.products(conn, [s.product_id for s in top])
    products = [
        TopProduct(
            s.product_id,
            names[s.product_id].name if s.product_id in names else "?",
            s.orders,
            s.units,
            s.revenue,
        )
        for s in top
    ]
    cats = conn.execute(
        query("sales", "top_categories"),
        {"date_from": quarter.start, "date_to": quarter.end, "limit": TOP_CATEGORIES},
    ).fetchall()
    recent = conn.execute(query("sales", "recent_orders"), {"limit": RECENT_ORDERS}).fetchall()
    return Dashboard(
        first,
        last,
        trend,
        [TopCategory(**r) for r in cats],
        products,
        [RecentOrder(**r) for r in recent],
    )
