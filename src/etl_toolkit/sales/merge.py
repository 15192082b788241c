"""The merge of a staged file (or of re-tried parked rows) into its table."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.rows import dict_row

from etl_toolkit.db.copy import Conn, MergeCounts, merge
from etl_toolkit.db.queries import query
from etl_toolkit.sales.source import KEYS, TARGET

# The query that finds the orders a merge into each entity may change.
AFFECTED = {
    "orders": "affected_from_orders",
    "order_items": "affected_from_items",
    "products": "affected_from_products",
}


def before_merge(conn: Conn, entity: str, run_id: int) -> list[dict[str, Any]]:
    """Before the merge: refuse unique values held by other rows (returned, as
    line, record_key, raw, reason), queue the orders whose derived data may change."""
    conflicts: list[dict[str, Any]] = []
    conn.execute(query("sales", "analyze_stage").format(stage=sql.Identifier(f"stage_{entity}")))
    if entity in ("customers", "products"):
        with conn.cursor(row_factory=dict_row) as cur:
            conflicts = cur.execute(query("sales", f"conflicts_{entity}")).fetchall()
    if entity in AFFECTED:
        conn.execute(query("sales", "create_affected"))
        conn.execute(query("sales", AFFECTED[entity]))
        conn.execute(query("sales", "queue_before"))
        conn.execute(query("sales", "queue_orders"), {"run_id": run_id})
        conn.execute(query("sales", "touch_pending_rebuild"))
    return conflicts


def merge_counts(conn: Conn, entity: str, table: str, stage: str) -> MergeCounts:
    key = KEYS[entity]
    columns = [*TARGET[entity], "run_id"]
    compare = [c for c in TARGET[entity] if c != key]
    if entity != "orders":
        return merge(conn, target=table, source=stage, key=[key], columns=columns, compare=compare)
    # Partitioned: order_id alone is no constraint; rows are found through order_keys.
    n = conn.execute(query("sales", "stage_count").format(stage=sql.Identifier(stage))).fetchone()
    updated = conn.execute(query("sales", "merge_orders_update")).rowcount
    inserted = conn.execute(query("sales", "merge_orders_insert")).rowcount
    conn.execute(query("sales", "merge_order_keys"))
    total = int(n["n"]) if n else 0
    return MergeCounts(inserted, updated, total - inserted - updated)
