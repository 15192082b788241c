"""The typed records the sales reads return (etl_toolkit.sales.read): what the GraphQL
API and the dashboard show, one record per row, named fields, computed values included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from etl_toolkit.sales.read import DateRange


@dataclass(frozen=True)
class Category:
    category_id: int
    name: str
    description: str | None
    parent_id: int | None
    root_id: int | None
    depth: int | None


@dataclass(frozen=True)
class Product:
    product_id: int
    name: str
    description: str | None
    price: Decimal
    cost: Decimal | None
    category_id: int
    sku: str
    inventory_count: int | None
    weight: Decimal | None
    created_at: datetime | None
    is_active: bool


@dataclass(frozen=True)
class PeriodSales:
    period: date
    orders: int
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class ProductSales:
    product_id: int
    orders: int
    units: int
    revenue: Decimal
    dates: DateRange  # the range these figures sum up (its periods split the same range)


@dataclass(frozen=True)
class CustomerMetrics:
    order_count: int
    lifetime_value: Decimal
    average_order_value: Decimal
    first_order_at: datetime | None
    last_order_at: datetime | None


@dataclass(frozen=True)
class Customer:
    customer_id: int
    email: str
    first_name: str | None
    last_name: str | None
    city: str | None
    state: str | None
    country: str | None
    registration_date: datetime | None
    last_login: datetime | None
    metrics: CustomerMetrics

    @classmethod
    def of(cls, row: dict[str, Any]) -> Customer:
        """From a `customers` row: the customer's columns and its metrics' columns."""
        metrics = CustomerMetrics(
            row["order_count"],
            row["lifetime_value"],
            row["avg_order_value"],
            row["first_order_at"],
            row["last_order_at"],
        )
        return cls(**{f: row[f] for f in _CUSTOMER_COLUMNS}, metrics=metrics)


_CUSTOMER_COLUMNS = (
    "customer_id",
    "email",
    "first_name",
    "last_name",
    "city",
    "state",
    "country",
    "registration_date",
    "last_login",
)


@dataclass(frozen=True)
class Order:
    order_id: int
    customer_id: int
    order_date: datetime
    status: str  # as stored: "In Transit" (read.STATUSES maps the API's names to these)
    payment_method: str | None
    total_amount: Decimal
    shipping_city: str | None
    shipping_state: str | None
    processing_date: datetime | None
    shipping_date: datetime | None
    delivery_date: datetime | None
    revenue: Decimal | None  # null until the derived data is refreshed
    item_count: int | None
    units: int | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> Order:
        """From a `customer_orders` row (its `items` column is the count of items)."""
        fields = {k: v for k, v in row.items() if k != "items"}
        return cls(**fields, item_count=row["items"])


@dataclass(frozen=True)
class OrderItem:
    order_item_id: int
    order_id: int
    product_id: int
    quantity: int
    price: Decimal
    discount: Decimal
    total: Decimal
    reported_total: Decimal | None


@dataclass(frozen=True)
class RankedProduct:
    rank: int
    product_id: int
    orders: int
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class CategoryRanking:
    category_id: int  # with a category asked for: that one, its subtree included
    products: list[RankedProduct]


@dataclass(frozen=True)
class Trend:
    period: date
    revenue: Decimal
    orders: int
    units: int
    average_order_value: Decimal | None
    revenue_change: float | None  # relative to the previous period: 0.1 = +10%
    orders_change: float | None


@dataclass(frozen=True)
class TopCategory:
    category_id: int
    name: str
    revenue: Decimal
    units: int


@dataclass(frozen=True)
class TopProduct:
    product_id: int
    name: str
    orders: int
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class RecentOrder:
    order_id: int
    customer_id: int
    order_date: datetime
    status: str
    total_amount: Decimal
    revenue: Decimal | None
