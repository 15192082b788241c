"""bench/graphql: the sales GraphQL queries at full scale (prints, asserts nothing).

For each query, with a typical argument set: p50/p95 latency through the API
(Flask test client, in process, auth off) and of the same reads called directly
(the library functions the resolvers wrap: the same named SQL through psycopg),
the floor. Goals: every p95 < 200 ms; the API's overhead over direct SQL < 25%.

The database `etl_bench_graphql` (or BENCH_GRAPHQL_DATABASE_URL) is loaded with
bench/data/sales-full once (about 4 minutes) and kept for later runs.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from etl_toolkit.config import Settings  # noqa: E402
from etl_toolkit.db import migrate  # noqa: E402
from etl_toolkit.db.connect import Database, resolve  # noqa: E402
from etl_toolkit.sales import read  # noqa: E402
from etl_toolkit.sales.generate import generate  # noqa: E402
from etl_toolkit.sales.pipeline import run_sales  # noqa: E402

DATA = ROOT / "bench" / "data" / "sales-full"
N = int(os.environ.get("GRAPHQL_BENCH_CALLS", "40"))
MONTH = read.DateRange(date(2024, 3, 1), date(2024, 3, 31))
YEARS = read.DateRange(date(2023, 1, 1), date(2024, 12, 31))


def database() -> Database:
    url = os.environ.get("BENCH_GRAPHQL_DATABASE_URL")
    if url is None:
        admin = resolve().url
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = 'etl_bench_graphql'"
            ).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE etl_bench_graphql"))
        url = psycopg.conninfo.make_conninfo(admin, dbname="etl_bench_graphql")
    db = Database(url, "external")
    migrate.migrate(db)
    with db.connect() as conn:
        loaded = conn.execute("SELECT EXISTS (SELECT 1 FROM sales.order_totals) AS x").fetchone()
    if not (loaded and loaded["x"]):
        if not (DATA / "order_items.csv").exists():
            generate(DATA, scale="full", seed=42, dirty=0.001)
        t0 = time.perf_counter()
        r = run_sales(db, DATA)
        print(f"loaded {DATA} in {time.perf_counter() - t0:.0f}s ({r.status})")
    return db


def timed(fn: Callable[[], Any], n: int = N) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(0.95 * n) - 1)]


def main() -> None:
    from api.app import create_app

    db = database()
    app = create_app(Settings(auth_disabled=True, database_url=db.url), db)
    client = app.test_client()
    rng = random.Random(7)
    # The floor's reads share one connection, as the API's pool does.
    stack = ExitStack()
    conn = stack.enter_context(db.connect(autocommit=True))
    customers = [
        int(r["customer_id"])
        for r in conn.execute(
            "SELECT customer_id FROM sales.customer_metrics TABLESAMPLE SYSTEM (1) LIMIT 500"
        )
    ]

    def gql(q: str, v: dict[str, Any]) -> Callable[[], Any]:
        def call() -> Any:
            r = client.post("/graphql", json={"query": q, "variables": v})
            body = r.get_json()
            assert r.status_code == 200 and "errors" not in body, body
            return body

        return call

    month = {"from": "2024-03-01", "to": "2024-03-31"}
    years = {"from": "2023-01-01", "to": "2024-12-31"}
    ps_q = """query($d: DateRangeInput!, $after: String) { productSales(dates: $d, first: 20,
      after: $after) { totalCount pageInfo { endCursor } edges { node { units revenue orders
      product { id name category { name } } } } } }"""
    cursor = read.product_sales(conn, MONTH, read.ProductFilter(), "REVENUE_DESC", 100, None)
    deep_cursor = cursor.cursors[-1]
    cust_q = """query($id: ID!) { customer(id: $id) { email metrics { orderCount lifetimeValue }
      orders(first: 20) { totalCount edges { node { id orderDate status revenue
      items { quantity total product { name } } } } } } }"""
    top_q = """query($d: DateRangeInput!, $c: Int) { topProductsByCategory(dates: $d,
      categoryId: $c, perCategory: 5, first: 20) { totalCount edges { node { category { name }
      products { rank revenue product { name } } } } } }"""
    trend_q = """query($d: DateRangeInput!, $g: Granularity!, $c: Int) { salesTrends(dates: $d,
      granularity: $g, categoryId: $c) { edges { node { period revenue orders
      averageOrderValue revenueChange } } } }"""

    def customer_direct() -> Any:
        cid = rng.choice(customers)
        read.by_ids(conn, "customers", [cid], "customer_id")
        page = read.customer_orders(conn, cid, read.OrderFilter(), 20, None)
        items = read.order_items(conn, [r.order_id for r in page.rows])
        ids = sorted({i.product_id for rows in items.values() for i in rows})
        return read.by_ids(conn, "products", ids, "product_id")

    def customer_api() -> Any:
        return gql(cust_q, {"id": str(rng.choice(customers))})()

    def product_sales_direct(after: str | None) -> Callable[[], Any]:
        def call() -> Any:
            page = read.product_sales(conn, MONTH, read.ProductFilter(), "REVENUE_DESC", 20, after)
            return read.by_ids(conn, "products", [r.product_id for r in page.rows], "product_id")

        return call

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "productSales, a month, page 1",
            gql(ps_q, {"d": month}),
            product_sales_direct(None),
        ),
        (
            "productSales, a month, page 6 (cursor)",
            gql(ps_q, {"d": month, "after": deep_cursor}),
            product_sales_direct(deep_cursor),
        ),
        ("customer + 20 orders + items", customer_api, customer_direct),
        (
            "topProductsByCategory, a month, 20 categories",
            gql(top_q, {"d": month}),
            lambda: read.top_products(conn, MONTH, None, "REVENUE", 5, 20, None),
        ),
        (
            "topProductsByCategory, one root subtree",
            gql(top_q, {"d": month, "c": 1}),
            lambda: read.top_products(conn, MONTH, 1, "REVENUE", 5, 20, None),
        ),
        (
            "salesTrends, 2 years by month",
            gql(trend_q, {"d": years, "g": "MONTH"}),
            lambda: read.trends(conn, YEARS, "MONTH", None, 100, None),
        ),
        (
            "salesTrends, a category by week",
            gql(trend_q, {"d": years, "g": "WEEK", "c": 3}),
            lambda: read.trends(conn, YEARS, "WEEK", 3, 100, None),
        ),
    ]
    print(f"bench/graphql: {N} calls each, full-scale data, p50 / p95 in ms")
    print(f"{'query':48} {'API p50':>8} {'p95':>8} {'SQL p50':>8} {'p95':>8} {'overhead':>9}")
    for name, api, direct in cases:
        a50, a95 = timed(api)
        d50, d95 = timed(direct)
        print(f"{name:48} {a50:8.1f} {a95:8.1f} {d50:8.1f} {d95:8.1f} {(a50 - d50) / d50:8.0%}")
    app.extensions["etl_db"].close()
    stack.close()


if __name__ == "__main__":
    main()
