"""The refresh stage of `etl sales`: derived tables brought up to date, in one transaction.

After a bulk load everything is rebuilt: from the rows the load streamed, when
this process loaded every order and item (derive.py: computed in Polars and
COPYed into the truncated tables, frozen), else in SQL. Otherwise only the queued orders are
visited: each one's before-image (what the derived tables hold for it) is
subtracted and its current contribution added to the daily product and
category sales; its order_totals row is recomputed, and the customer metrics
and daily totals of the customers and days it touched (before and after).

Given the digest of the queue the checks covered (`checked`), the refresh
publishes exactly that: when the queue has changed since (a load or an API
change after the checks), it does nothing and keeps the queue, and the next
run checks everything pending before it refreshes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from etl_toolkit.db.connect import Database
from etl_toolkit.db.copy import Conn, copy_frame, deferred_indexes, table_ident
from etl_toolkit.db.queries import query
from etl_toolkit.errors import EtlError

if TYPE_CHECKING:  # the API refreshes too (a product's category): no Polars there
    from etl_toolkit.sales.derive import Streamed

DERIVED = (
    "sales.order_totals",
    "sales.customer_metrics",
    "sales.daily_sales",
    "sales.daily_product_sales",
    "sales.monthly_product_sales",
    "sales.daily_category_sales",
    "sales.dim_date",
)
FULL = (
    "rebuild_order_totals",
    "rebuild_customer_metrics",
    "rebuild_daily_sales",
    "rebuild_daily_product_sales",
    "rebuild_monthly_product_sales",
    "rebuild_daily_category_sales",
    "rebuild_dim_date",
)
QUEUED = (
    "queued_after",
    "apply_product_delta",
    "apply_monthly_delta",
    "apply_category_delta",
    "totals_before",
    "refresh_order_totals",
    "refresh_customer_metrics",
    "refresh_daily_sales",
)


@dataclass(frozen=True)
class RefreshResult:
    # full | queued | none | deferred (the queue changed after the checks) |
    # withheld (the checks it waited for failed: nothing published)
    mode: str
    orders: int  # orders visited (queued mode)
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)


# The checks a refresh waits for before it publishes: the digest of the queue
# they covered when they passed, None when they failed.
Gate = Callable[[], "str | None"]


class _Unpublished(EtlError):
    """Raised inside the refresh's transaction to roll it back when its work may
    not be published (the checks failed, or the queue changed after them); the
    refresh returns `mode` as its result. Never leaves `refresh`."""

    def __init__(self, mode: str) -> None:
        super().__init__(f"derived data not published: {mode}")
        self.mode = mode


def refresh(
    db: Database, checked: str | Gate | None = None, streamed: Streamed | None = None
) -> RefreshResult:
    """Bring the derived tables up to date with the base tables. With `checked`
    (CheckResult.queue), only if the queue is still the one the checks saw; as a
    Gate, the work is done while the checks run, and committed only if they pass
    on this very queue. With `streamed` (LoadResult.streamed), a full rebuild
    writes what the load derived."""
    started = time.perf_counter()
    steps: dict[str, float] = {}
    try:
        with db.connect() as conn:
            conn.execute(query("sales", "tune_session"))
            conn.execute(query("sales", "lock_queue"))
            pending = conn.execute(query("sales", "pending_refresh")).fetchone()
            assert pending is not None
            full, queued = bool(pending["full_rebuild"]), int(pending["orders"])  # type: ignore[call-overload]
            if not full and not queued:
                if callable(checked):
                    checked()  # the checks' verdict is the caller's; nothing to publish
                return RefreshResult("none", 0, time.perf_counter() - started)
            now = conn.execute(query("sales", "queue_digest")).fetchone()
            digest = str(now["digest"]) if now else ""
            if isinstance(checked, str) and digest != checked:
                return RefreshResult("deferred", 0, time.perf_counter() - started)
            with ExitStack() as stack:
                if full:  # every derived row is rewritten: build their indexes once, after
                    conn.execute(query("sales", "tune_rebuild"))
                    for table in DERIVED:
                        stack.enter_context(deferred_indexes(conn, table))
                names: tuple[str, ...] = FULL if full else QUEUED
                if full and streamed is not None and streamed.usable:
                    steps.update(_write_streamed(conn, streamed))
                    names = ("rebuild_dim_date",)  # from order_totals, just written
                for name in names:
                    t0 = time.perf_counter()
                    conn.execute(query("sales", name))
                    steps[name] = time.perf_counter() - t0
                t0 = time.perf_counter()
            if full:
                steps["indexes"] = time.perf_counter() - t0
            if callable(checked):
                t0 = time.perf_counter()
                covered = checked()
                steps["waited_for_checks"] = time.perf_counter() - t0
                if covered is None:
                    raise _Unpublished("withheld")
                if covered != digest:
                    raise _Unpublished("deferred")
            conn.execute(query("sales", "clear_queue"))
    except _Unpublished as not_published:  # rolled back: the derived tables as they were
        return RefreshResult(not_published.mode, 0, time.perf_counter() - started, steps)
    if full:
        t0 = time.perf_counter()
        with db.connect(autocommit=True) as conn:
            conn.execute(query("sales", "vacuum_analyze"))
        steps["vacuum"] = time.perf_counter() - t0
    return RefreshResult("full" if full else "queued", queued, time.perf_counter() - started, steps)


def _write_streamed(conn: Conn, streamed: Streamed) -> dict[str, float]:
    """Each derived table truncated and COPYed frozen from the streamed rows."""
    import polars as pl

    steps: dict[str, float] = {}
    rows = conn.execute(query("sales", "product_categories_of_products")).fetchall()
    categories = pl.DataFrame(rows, schema={"product_id": pl.Int32, "category_id": pl.Int32})
    t0 = time.perf_counter()
    for table, part in streamed.tables(categories):
        step = f"derive_{table.removeprefix('sales.')}"
        if step not in steps:  # the first part of the table
            conn.execute(query("sales", "truncate").format(table=table_ident(table)))
        copy_frame(conn, table, part, freeze=True)
        t1 = time.perf_counter()
        steps[step] = steps.get(step, 0.0) + t1 - t0
        t0 = t1
    return steps
