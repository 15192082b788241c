"""Sales resolvers: argument parsing and shaping only; the reads are etl_toolkit.sales.read.

Nested lookups are batched per request (`Loaders` in the context): a page's
products are fetched in one query, categories once per request, a page of
orders' items in one query.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ariadne import MutationType, ObjectType, QueryType, ScalarType

from api.db import ApiDatabase, api_db
from etl_toolkit.errors import InputError
from etl_toolkit.sales import read
from etl_toolkit.sales.products import ProductChange, update_product
from graphql import GraphQLResolveInfo

Info = GraphQLResolveInfo[Any]

query = QueryType()
mutation = MutationType()
date_scalar = ScalarType("Date")
datetime_scalar = ScalarType("DateTime")
product_type = ObjectType("Product")
category_type = ObjectType("Category")
product_sales_type = ObjectType("ProductSales")
customer_type = ObjectType("Customer")
order_type = ObjectType("Order")
order_item_type = ObjectType("OrderItem")
ranked_type = ObjectType("RankedProduct")
ranking_type = ObjectType("CategoryRanking")

STATUS_ENUM = {v: k for k, v in read.STATUSES.items()}


@date_scalar.serializer
def serialize_date(value: date) -> str:
    return value.isoformat()


@date_scalar.value_parser
def parse_date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None


@datetime_scalar.serializer
def serialize_datetime(value: datetime) -> str:
    return value.isoformat()


class Loaders:
    """Per-request caches filled in batches."""

    def __init__(self, api: ApiDatabase) -> None:
        self.api = api
        self.connection = api.connection  # pooled, with the API's statement timeout
        self.products: dict[int, dict[str, Any]] = {}
        self.categories: dict[int, dict[str, Any]] | None = None
        self.items: dict[int, list[dict[str, Any]]] = {}

    def prime_products(self, ids: list[int]) -> None:
        missing = sorted({i for i in ids if i not in self.products})
        if missing:
            with self.connection() as conn:
                self.products.update(read.by_ids(conn, "products", missing, "product_id"))

    def product(self, pid: int) -> dict[str, Any] | None:
        self.prime_products([pid])
        return self.products.get(pid)

    def category(self, cid: int | None) -> dict[str, Any] | None:
        if cid is None:
            return None
        if self.categories is None:
            with self.connection() as conn:
                self.categories = read.all_categories(conn)
        return self.categories.get(cid)

    def prime_items(self, order_ids: list[int]) -> None:
        missing = [i for i in order_ids if i not in self.items]
        if missing:
            with self.connection() as conn:
                self.items.update(read.order_items(conn, missing))
            self.prime_products([r["product_id"] for rows in self.items.values() for r in rows])


def loaders(info: Info) -> Loaders:
    ctx = info.context
    if "sales_loaders" not in ctx:
        ctx["sales_loaders"] = Loaders(api_db())
    found: Loaders = ctx["sales_loaders"]
    return found


def _dates(value: dict[str, Any] | None) -> read.DateRange | None:
    return None if value is None else read.DateRange(value["from"], value["to"])


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def _connection(page: read.Page[Any], nodes: list[Any]) -> dict[str, Any]:
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(page.cursors, nodes, strict=True)],
        "pageInfo": {
            "hasNextPage": page.has_next,
            "hasPreviousPage": page.has_previous,
            "startCursor": page.cursors[0] if page.cursors else None,
            "endCursor": page.cursors[-1] if page.cursors else None,
        },
        "totalCount": page.total,
    }


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


# Query -------------------------------------------------------------------------


@query.field("productSales")
def resolve_product_sales(
    _: Any,
    info: Info,
    dates: dict[str, Any],
    sort: str,
    first: int,
    filter: dict[str, Any] | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    f = filter or {}
    price = f.get("price") or {}
    spec = read.ProductFilter(
        category_id=f.get("categoryId"),
        include_subcategories=f.get("includeSubcategories", True),
        product_ids=f.get("productIds"),
        price_min=_money(price.get("min")),
        price_max=_money(price.get("max")),
        active=f.get("active"),
    )
    rng = _dates(dates)
    assert rng is not None
    with loaders(info).connection() as conn:
        page = read.product_sales(conn, rng, spec, sort, first, after)
    loaders(info).prime_products([r["product_id"] for r in page.rows])
    nodes = [r | {"_dates": rng, "_ids": [x["product_id"] for x in page.rows]} for r in page.rows]
    return _connection(page, nodes)


@product_sales_type.field("product")
def resolve_ps_product(obj: dict[str, Any], info: Info) -> dict[str, Any] | None:
    return loaders(info).product(int(obj["product_id"]))


@product_sales_type.field("periods")
def resolve_ps_periods(obj: dict[str, Any], info: Info, granularity: str) -> list[dict[str, Any]]:
    cache = info.context.setdefault("sales_periods", {})
    key = (granularity, obj["_dates"], tuple(obj["_ids"]))
    if key not in cache:  # every product of the page at once
        with loaders(info).connection() as conn:
            cache[key] = read.product_periods(conn, obj["_ids"], obj["_dates"], granularity)
    periods: list[dict[str, Any]] = cache[key].get(int(obj["product_id"]), [])
    return periods


@query.field("product")
def resolve_product(_: Any, info: Info, id: int) -> dict[str, Any] | None:
    return loaders(info).product(id)


@query.field("customer")
def resolve_customer(_: Any, info: Info, id: str) -> dict[str, Any] | None:
    try:
        cid = int(id)
    except ValueError:
        raise InputError(f"id: not a customer id: {id!r}") from None
    with loaders(info).connection() as conn:
        return read.by_ids(conn, "customers", [cid], "customer_id").get(cid)


@customer_type.field("metrics")
def resolve_customer_metrics(obj: dict[str, Any], *_: Any) -> dict[str, Any]:
    return {
        "orderCount": obj["order_count"],
        "lifetimeValue": obj["lifetime_value"],
        "averageOrderValue": obj["avg_order_value"],
        "firstOrderAt": obj["first_order_at"],
        "lastOrderAt": obj["last_order_at"],
    }


@customer_type.field("orders")
def resolve_customer_orders(
    obj: dict[str, Any],
    info: Info,
    first: int,
    filter: dict[str, Any] | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    f = filter or {}
    total = f.get("total") or {}
    spec = read.OrderFilter(
        statuses=f.get("status"),
        dates=_dates(f.get("dates")),
        total_min=_money(total.get("min")),
        total_max=_money(total.get("max")),
    )
    with loaders(info).connection() as conn:
        page = read.customer_orders(conn, int(obj["customer_id"]), spec, first, after)
    info.context["sales_page_orders"] = [int(r["order_id"]) for r in page.rows]
    return _connection(page, page.rows)


@order_type.field("items")
def resolve_order_items(obj: dict[str, Any], info: Info) -> list[dict[str, Any]]:
    ld = loaders(info)
    ld.prime_items(info.context.get("sales_page_orders") or [int(obj["order_id"])])
    ld.prime_items([int(obj["order_id"])])
    return ld.items.get(int(obj["order_id"]), [])


@query.field("topProductsByCategory")
def resolve_top_products(
    _: Any,
    info: Info,
    dates: dict[str, Any],
    by: str,
    perCategory: int,
    first: int,
    categoryId: int | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    rng = _dates(dates)
    assert rng is not None
    with loaders(info).connection() as conn:
        page = read.top_products(conn, rng, categoryId, by, perCategory, first, after)
    loaders(info).prime_products([int(p["product_id"]) for g in page.rows for p in g["products"]])
    return _connection(page, page.rows)


@ranking_type.field("category")
def resolve_ranking_category(obj: dict[str, Any], info: Info) -> Any:
    return loaders(info).category(int(obj["category_id"]))


@ranked_type.field("product")
def resolve_ranked_product(obj: dict[str, Any], info: Info) -> Any:
    return loaders(info).product(int(obj["product_id"]))


@query.field("salesTrends")
def resolve_trends(
    _: Any,
    info: Info,
    dates: dict[str, Any],
    granularity: str,
    first: int,
    categoryId: int | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    rng = _dates(dates)
    assert rng is not None
    with loaders(info).connection() as conn:
        page = read.trends(conn, rng, granularity, categoryId, first, after)

    def change(now: Any, before: Any) -> float | None:
        return None if not before else float((Decimal(now) - Decimal(before)) / Decimal(before))

    nodes = [
        {
            "period": r["period"],
            "revenue": r["revenue"],
            "orders": r["orders"],
            "units": r["units"],
            "averageOrderValue": _num(r["average_order_value"]),
            "revenueChange": change(r["revenue"], r["previous_revenue"]),
            "ordersChange": change(r["orders"], r["previous_orders"]),
        }
        for r in page.rows
    ]
    return _connection(page, nodes)


# Types -------------------------------------------------------------------------


@product_type.field("id")
def resolve_product_id(obj: dict[str, Any], *_: Any) -> int:
    return int(obj["product_id"])


@product_type.field("category")
def resolve_product_category(obj: dict[str, Any], info: Info) -> Any:
    return loaders(info).category(int(obj["category_id"]))


product_type.set_alias("inventoryCount", "inventory_count")
product_type.set_alias("active", "is_active")
product_type.set_alias("createdAt", "created_at")


@category_type.field("id")
def resolve_category_id(obj: dict[str, Any], *_: Any) -> int:
    return int(obj["category_id"])


@category_type.field("parent")
def resolve_category_parent(obj: dict[str, Any], info: Info) -> Any:
    return loaders(info).category(obj["parent_id"])


@category_type.field("root")
def resolve_category_root(obj: dict[str, Any], info: Info) -> Any:
    return loaders(info).category(obj["root_id"])


customer_type.set_alias("id", "customer_id")
customer_type.set_alias("firstName", "first_name")
customer_type.set_alias("lastName", "last_name")
customer_type.set_alias("registeredAt", "registration_date")
customer_type.set_alias("lastLoginAt", "last_login")
order_type.set_alias("id", "order_id")
order_type.set_alias("orderDate", "order_date")
order_type.set_alias("paymentMethod", "payment_method")
order_type.set_alias("totalAmount", "total_amount")
order_type.set_alias("itemCount", "items")


@order_type.field("status")
def resolve_order_status(obj: dict[str, Any], *_: Any) -> str:
    return STATUS_ENUM[obj["status"]]


order_item_type.set_alias("id", "order_item_id")
order_item_type.set_alias("reportedTotal", "reported_total")


@order_item_type.field("product")
def resolve_item_product(obj: dict[str, Any], info: Info) -> Any:
    return loaders(info).product(int(obj["product_id"]))


# Mutation ----------------------------------------------------------------------


@mutation.field("updateProduct")
def resolve_update_product(
    _: Any,
    info: Info,
    id: int,
    input: dict[str, Any],
) -> dict[str, Any]:
    change = ProductChange(
        name=input.get("name"),
        description=input.get("description"),
        price=input.get("price"),
        category_id=input.get("categoryId"),
        active=input.get("active"),
    )
    result = update_product(loaders(info).api.db, id, change)
    return {
        "product": result.product,
        "errors": [{"field": f, "message": m} for f, m in result.errors],
        "derivedRefreshed": result.derived_refreshed,
    }


bindables = [
    query,
    mutation,
    date_scalar,
    datetime_scalar,
    product_type,
    category_type,
    product_sales_type,
    customer_type,
    order_type,
    order_item_type,
    ranked_type,
    ranking_type,
]
