"""Editing a product (the GraphQL `updateProduct` mutation), keeping derived data right.

Name, description, price and the active flag do not enter derived data (sales
use the price at order time). A new category moves the product's sales from
one category to another in `daily_category_sales`: the orders that have the
product are queued with their before-image, in the same transaction as the
change, and refreshed right away unless another run holds the sales lock,
the queue already held data waiting for a data-quality gate, or a load queued
data after the change (then the next `etl sales` run refreshes them, after
its checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.errors import Conflict
from etl_toolkit.sales.lock import run_lock
from etl_toolkit.sales.refresh import refresh

API_RUN = 0  # run_id recorded for changes made through the API
MAX_NAME = 200
MAX_DESCRIPTION = 10_000


@dataclass(frozen=True)
class ProductChange:
    name: str | None = None
    description: str | None = None
    price: float | None = None
    category_id: int | None = None
    active: bool | None = None


@dataclass
class UpdateResult:
    product: dict[str, Any] | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    derived_refreshed: bool = False


def _validate(change: ProductChange) -> tuple[list[tuple[str, str]], Decimal | None]:
    errors: list[tuple[str, str]] = []
    if change.name is not None and not (0 < len(change.name.strip()) <= MAX_NAME):
        errors.append(("name", f"between 1 and {MAX_NAME} characters, not blank"))
    if change.description is not None and len(change.description) > MAX_DESCRIPTION:
        errors.append(("description", f"at most {MAX_DESCRIPTION} characters"))
    for name, text in (("name", change.name), ("description", change.description)):
        if text is not None and "\x00" in text:
            errors.append((name, "contains a NUL character, which PostgreSQL cannot store"))
    price = None
    if change.price is not None:
        try:
            price = Decimal(repr(change.price))
        except InvalidOperation:
            price = None
        exponent = price.as_tuple().exponent if price is not None else None
        if (
            price is None
            or not price.is_finite()
            or price < 0
            or price >= Decimal("1e10")
            or not isinstance(exponent, int)
            or exponent < -2
        ):
            errors.append(("price", "a non-negative amount with at most two decimals"))
            price = None
    return errors, price


def update_product(db: Database, product_id: int, change: ProductChange) -> UpdateResult:
    errors, price = _validate(change)
    moved = False
    with db.connect() as conn:
        row = conn.execute(query("sales", "lock_product"), {"id": product_id}).fetchone()
        if row is None:
            return UpdateResult(errors=[("id", f"no product {product_id}")])
        if change.category_id is not None and (
            conn.execute(query("sales", "category_exists"), {"id": change.category_id}).fetchone()
            is None
        ):
            errors.append(("categoryId", f"no category {change.category_id}"))
        if errors:
            conn.rollback()
            return UpdateResult(errors=errors)
        pending = conn.execute(query("sales", "pending_refresh")).fetchone()
        was_pending = bool(pending and (pending["full_rebuild"] or pending["orders"]))
        moved = change.category_id is not None and change.category_id != row["category_id"]
        if moved:
            conn.execute(query("sales", "create_affected"))
            conn.execute(query("sales", "affected_by_product"), {"id": product_id})
            conn.execute(query("sales", "queue_before"))
            conn.execute(query("sales", "queue_orders"), {"run_id": API_RUN})
            conn.execute(query("sales", "touch_pending_rebuild"))
        conn.execute(
            query("sales", "update_product"),
            {
                "id": product_id,
                "name": change.name.strip() if change.name is not None else row["name"],
                "description": (
                    change.description if change.description is not None else row["description"]
                ),
                "price": price if price is not None else row["price"],
                "category_id": (
                    change.category_id if change.category_id is not None else row["category_id"]
                ),
                "is_active": change.active if change.active is not None else row["is_active"],
            },
        )
        # The queue as this change leaves it: the refresh below publishes this
        # change, never a load that lands in between.
        mine = conn.execute(query("sales", "queue_digest")).fetchone()
    refreshed = not moved
    if moved and not was_pending and mine is not None:
        try:
            with run_lock(db):
                refreshed = refresh(db, str(mine["digest"])).mode != "deferred"
        except Conflict:
            refreshed = False
    with db.connect() as conn:
        product = conn.execute(query("sales", "products"), {"ids": [product_id]}).fetchone()
    return UpdateResult(product=product, derived_refreshed=refreshed)
