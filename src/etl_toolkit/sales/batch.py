"""Batched lookups for one API request over the sales reads (a DataLoader, synchronous).

A page's nested fields (its products and their categories, its orders' items, its
products' periods) are fetched for the whole page in one query the first time one
of them is asked for, then kept for the rest of the request: reading a page
announces its ids, and the first lookup fetches every id announced so far.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

import psycopg

from etl_toolkit.sales import read, records
from etl_toolkit.sales.records import Category, Customer, OrderItem, PeriodSales, Product

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Conn = psycopg.Connection[Any]
Connect = Callable[[], AbstractContextManager[Conn]]


class Batch(Generic[K, V]):
    """Values by key, each key fetched at most once, announced keys along with the
    first key asked for."""

    def __init__(self, fetch: Callable[[list[K]], Mapping[K, V]]) -> None:
        self._fetch = fetch
        self._values: dict[K, V] = {}
        self._fetched: set[K] = set()
        self._pending: dict[K, None] = {}  # an ordered set

    def announce(self, keys: Iterable[K]) -> None:
        self._pending.update((k, None) for k in keys if k not in self._fetched)

    def get(self, key: K) -> V | None:
        if key not in self._fetched:
            self.announce([key])
            keys = list(self._pending)
            self._values.update(self._fetch(keys))
            self._fetched.update(keys)
            self._pending.clear()  # after the fetch: a failed one leaves them pending
        return self._values.get(key)


class SalesBatches:
    """The sales reads of one request: the pages, and their nested lookups in batches.
    `connect` lends a connection for one read (the API's pool)."""

    def __init__(self, connect: Connect) -> None:
        self.connect = connect
        self._products: Batch[int, Product] = Batch(self._fetch_products)
        self._items: Batch[int, list[OrderItem]] = Batch(self._fetch_items)
        self._categories: dict[int, Category] | None = None
        # Per date range: the products of its pages, whose periods are fetched together.
        self._sold: dict[read.DateRange, list[int]] = {}
        self._periods: dict[tuple[read.DateRange, str], Batch[int, list[PeriodSales]]] = {}

    def _fetch_products(self, ids: list[int]) -> dict[int, Product]:
        with self.connect() as conn:
            return read.products(conn, sorted(ids))

    def _fetch_items(self, order_ids: list[int]) -> dict[int, list[OrderItem]]:
        with self.connect() as conn:
            items = read.order_items(conn, order_ids)
        self._products.announce(i.product_id for rows in items.values() for i in rows)
        return items

    # Pages ------------------------------------------------------------------------

    def product_sales(
        self,
        dates: read.DateRange,
        f: read.ProductFilter,
        sort: str,
        first: int,
        after: str | None,
    ) -> read.Page[records.ProductSales]:
        with self.connect() as conn:
            page = read.product_sales(conn, dates, f, sort, first, after)
        ids = [s.product_id for s in page.rows]
        self._products.announce(ids)
        self._sold.setdefault(dates, []).extend(ids)
        for (d, _), periods in self._periods.items():
            if d == dates:
                periods.announce(ids)
        return page

    def customer_orders(
        self, customer_id: int, f: read.OrderFilter, first: int, after: str | None
    ) -> read.Page[records.Order]:
        with self.connect() as conn:
            page = read.customer_orders(conn, customer_id, f, first, after)
        self._items.announce(o.order_id for o in page.rows)
        return page

    def top_products(
        self,
        dates: read.DateRange,
        category_id: int | None,
        by: str,
        per_category: int,
        first: int,
        after: str | None,
    ) -> read.Page[records.CategoryRanking]:
        with self.connect() as conn:
            page = read.top_products(conn, dates, category_id, by, per_category, first, after)
        self._products.announce(p.product_id for g in page.rows for p in g.products)
        return page

    def trends(
        self,
        dates: read.DateRange,
        granularity: str,
        category_id: int | None,
        first: int,
        after: str | None,
    ) -> read.Page[records.Trend]:
        with self.connect() as conn:
            return read.trends(conn, dates, granularity, category_id, first, after)

    def customer(self, customer_id: int) -> Customer | None:
        with self.connect() as conn:
            return read.customer(conn, customer_id)

    # Lookups ----------------------------------------------------------------------

    def product(self, product_id: int) -> Product | None:
        return self._products.get(product_id)

    def category(self, category_id: int | None) -> Category | None:
        if category_id is None:
            return None
        if self._categories is None:  # a few hundred rows: all of them, once
            with self.connect() as conn:
                self._categories = read.all_categories(conn)
        return self._categories.get(category_id)

    def items(self, order_id: int) -> list[OrderItem]:
        return self._items.get(order_id) or []

    def periods(self, sales: records.ProductSales, granularity: str) -> list[PeriodSales]:
        key = (sales.dates, granularity)
        if key not in self._periods:
            dates = sales.dates

            def fetch(ids: list[int]) -> dict[int, list[PeriodSales]]:
                with self.connect() as conn:
                    return read.product_periods(conn, ids, dates, granularity)

            self._periods[key] = Batch(fetch)
            self._periods[key].announce(self._sold.get(dates, []))
        return self._periods[key].get(sales.product_id) or []
