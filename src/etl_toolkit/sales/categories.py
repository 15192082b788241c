"""The category rule: categories reference each other (parent_id), so a file's
categories are judged whole."""

from __future__ import annotations

import polars as pl
from psycopg.rows import dict_row

from etl_toolkit.db.copy import Conn
from etl_toolkit.db.queries import query
from etl_toolkit.sales import rules
from etl_toolkit.sales.load_results import Batch
from etl_toolkit.sales.references import unknown


def resolve_categories(conn: Conn, batches: list[Batch]) -> Batch:
    """Categories reference each other: a parent must exist (in the file or the
    database) and be accepted, and no category may be its own ancestor."""
    raw = pl.concat([b.raw for b in batches], how="vertical_relaxed")
    checked = pl.concat([b.checked for b in batches], how="vertical_relaxed")
    with conn.cursor(row_factory=dict_row) as cur:
        in_db: dict[int, int | None] = {
            int(r["category_id"]): r["parent_id"]
            for r in cur.execute(query("sales", "category_parents")).fetchall()
        }
    valid = checked.filter(pl.col("_reasons").is_null())
    mine = {
        int(i): (None if p is None else int(p))
        for i, p in zip(valid["category_id"], valid["parent_id"], strict=True)
    }
    parents = {**in_db, **mine}
    bad: dict[int, str] = {}
    for cid in mine:  # members of a cycle lead back to themselves
        seen: set[int] = set()
        node: int | None = parents.get(cid)
        while node is not None and node != cid and node not in seen:
            seen.add(node)
            node = parents.get(node)
        if node == cid:
            bad[cid] = "parent_id: makes the tree a cycle"
    changed = True
    while changed:  # then every category whose parent is unknown or rejected
        changed = False
        for cid, parent in mine.items():
            if cid not in bad and parent is not None and (parent not in parents or parent in bad):
                bad[cid] = unknown("parent_id", "product_categories")
                changed = True
    if bad:
        ids = pl.Series(list(bad), dtype=pl.Int64)
        reasons = pl.DataFrame({"_cid": ids, "_why": list(bad.values())})
        checked = (
            checked.with_columns(_cid=pl.col("category_id").cast(pl.Int64, strict=False))
            .join(reasons, on="_cid", how="left", maintain_order="left")
            .with_columns(_reasons=rules.joined([pl.col("_reasons"), pl.col("_why")]))
            .drop("_cid", "_why")
        )
    return Batch(raw, checked)
