"""Sales resolvers: argument parsing only. The reads, and what they compute, are
etl_toolkit.sales.read; the resolvers return its typed records as they are (the
schema's camelCase names are aliases of the records' fields).

Nested lookups are batched per request by one etl_toolkit.sales.batch.SalesBatches
in the context: a page's products in one query, categories once per request, a
page of orders' items in one query, a page's periods in one query.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ariadne import EnumType, MutationType, ObjectType, QueryType, ScalarType

from api.db import api_db
from etl_toolkit.errors import InputError
from etl_toolkit.sales import read, records
from etl_toolkit.sales.batch import SalesBatches
from etl_toolkit.sales.products import ProductChange, update_product
from graphql import GraphQLResolveInfo

Info = GraphQLResolveInfo[Any]

query = QueryType()
mutation = MutationType()
date_scalar = ScalarType("Date")
datetime_scalar = ScalarType("DateTime")
# The API's names of the statuses as stored, both ways (in filters, out of orders).
order_status = EnumType("OrderStatus", read.STATUSES)
product_type = ObjectType("Product")
category_type = ObjectType("Category")
product_sales_type = ObjectType("ProductSales")
customer_type = ObjectType("Customer")
metrics_type = ObjectType("CustomerMetrics")
order_type = ObjectType("Order")
order_item_type = ObjectType("OrderItem")
ranked_type = ObjectType("RankedProduct")
ranking_type = ObjectType("CategoryRanking")
trend_type = ObjectType("Trend")


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


def batches(info: Info) -> SalesBatches:
    """The request's sales reads, made on first use."""
    found = info.context.get("sales")
    if not isinstance(found, SalesBatches):
        found = info.context["sales"] = SalesBatches(api_db().connection)
    return found


# Arguments ---------------------------------------------------------------------


def _dates(value: dict[str, Any]) -> read.DateRange:
    return read.DateRange(value["from"], value["to"])


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def _product_filter(f: dict[str, Any]) -> read.ProductFilter:
    price = f.get("price") or {}
    return read.ProductFilter(
        category_id=f.get("categoryId"),
        include_subcategories=f.get("includeSubcategories", True),
        product_ids=f.get("productIds"),
        price_min=_money(price.get("min")),
        price_max=_money(price.get("max")),
        active=f.get("active"),
    )


def _order_filter(f: dict[str, Any]) -> read.OrderFilter:
    total = f.get("total") or {}
    dates = f.get("dates")
    return read.OrderFilter(
        statuses=f.get("status"),  # stored values already (order_status)
        dates=None if dates is None else _dates(dates),
        total_min=_money(total.get("min")),
        total_max=_money(total.get("max")),
    )


def _connection(page: read.Page[Any]) -> dict[str, Any]:
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(page.cursors, page.rows, strict=True)],
        "pageInfo": {
            "hasNextPage": page.has_next,
            "hasPreviousPage": page.has_previous,
            "startCursor": page.cursors[0] if page.cursors else None,
            "endCursor": page.cursors[-1] if page.cursors else None,
        },
        "totalCount": page.total,
    }


# Query -------------------------------------------------------------------------


# The connections' resolvers take their arguments as GraphQL passes them (`args`: the
# field's arguments by schema name, defaults applied; optional ones may be absent).


@query.field("productSales")
def resolve_product_sales(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    dates, spec = _dates(args["dates"]), _product_filter(args.get("filter") or {})
    page = batches(info).product_sales(dates, spec, args["sort"], args["first"], args.get("after"))
    return _connection(page)


@query.field("product")
def resolve_product(_: Any, info: Info, id: int) -> records.Product | None:
    return batches(info).product(id)


@query.field("customer")
def resolve_customer(_: Any, info: Info, id: str) -> records.Customer | None:
    try:
        cid = int(id)
    except ValueError:
        raise InputError(f"id: not a customer id: {id!r}") from None
    return batches(info).customer(cid)


@query.field("topProductsByCategory")
def resolve_top_products(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    dates, category, per = _dates(args["dates"]), args.get("categoryId"), args["perCategory"]
    page = batches(info).top_products(
        dates, category, args["by"], per, args["first"], args.get("after")
    )
    return _connection(page)


@query.field("salesTrends")
def resolve_trends(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    dates, category = _dates(args["dates"]), args.get("categoryId")
    page = batches(info).trends(
        dates, args["granularity"], category, args["first"], args.get("after")
    )
    return _connection(page)


# Types -------------------------------------------------------------------------


@product_sales_type.field("periods")
def resolve_ps_periods(
    obj: records.ProductSales, info: Info, granularity: str
) -> list[records.PeriodSales]:
    return batches(info).periods(obj, granularity)


@customer_type.field("orders")
def resolve_customer_orders(obj: records.Customer, info: Info, **args: Any) -> dict[str, Any]:
    spec = _order_filter(args.get("filter") or {})
    page = batches(info).customer_orders(obj.customer_id, spec, args["first"], args.get("after"))
    return _connection(page)


@order_type.field("items")
def resolve_order_items(obj: records.Order, info: Info) -> list[records.OrderItem]:
    return batches(info).items(obj.order_id)


# Nested objects: looked up by the record's id fields in the request's batches.
for bindable in (product_sales_type, ranked_type, order_item_type):
    bindable.set_field("product", lambda obj, info: batches(info).product(obj.product_id))
for bindable in (product_type, ranking_type):
    bindable.set_field("category", lambda obj, info: batches(info).category(obj.category_id))
category_type.set_field("parent", lambda obj, info: batches(info).category(obj.parent_id))
category_type.set_field("root", lambda obj, info: batches(info).category(obj.root_id))

ALIASES = {
    product_type: {
        "id": "product_id",
        "inventoryCount": "inventory_count",
        "active": "is_active",
        "createdAt": "created_at",
    },
    category_type: {"id": "category_id"},
    customer_type: {
        "id": "customer_id",
        "firstName": "first_name",
        "lastName": "last_name",
        "registeredAt": "registration_date",
        "lastLoginAt": "last_login",
    },
    metrics_type: {
        "orderCount": "order_count",
        "lifetimeValue": "lifetime_value",
        "averageOrderValue": "average_order_value",
        "firstOrderAt": "first_order_at",
        "lastOrderAt": "last_order_at",
    },
    order_type: {
        "id": "order_id",
        "orderDate": "order_date",
        "paymentMethod": "payment_method",
        "totalAmount": "total_amount",
        "itemCount": "item_count",
    },
    order_item_type: {"id": "order_item_id", "reportedTotal": "reported_total"},
    trend_type: {
        "averageOrderValue": "average_order_value",
        "revenueChange": "revenue_change",
        "ordersChange": "orders_change",
    },
}
for bindable, aliases in ALIASES.items():
    for name, field in aliases.items():
        bindable.set_alias(name, field)


# Mutation ----------------------------------------------------------------------


@mutation.field("updateProduct")
def resolve_update_product(
    _: Any,
    __: Info,
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
    result = update_product(api_db().db, id, change)
    return {
        # The same row as read.products' (sales.products' `products` query): its record.
        "product": None if result.product is None else records.Product(**result.product),
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
    metrics_type,
    order_type,
    order_item_type,
    order_status,
    ranked_type,
    ranking_type,
    trend_type,
]
