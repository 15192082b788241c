"""References between entities: the ids a run knows (accepted in this run, or
in the database), and the reasons of a row whose reference is unknown (a late
arrival, parked while it waits)."""

from __future__ import annotations

import polars as pl

from etl_toolkit.db.copy import Conn
from etl_toolkit.db.queries import query
from etl_toolkit.sales import rules

NOUN = {
    "product_categories": "category",
    "products": "product",
    "customers": "customer",
    "orders": "order",
}


def unknown(column: str, parent: str) -> str:
    return f"{column}: unknown {NOUN[parent]} (or rejected)"


# The reasons of a late arrival: a row with these reasons only is parked.
WAITING = sorted({unknown(c, p) for refs in rules.REFERENCES.values() for c, p in refs.items()})


class Known:
    """Ids of one entity accepted in this run (sorted, in memory) or in the database."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self._ids = pl.Series("id", [], dtype=pl.Int64)
        self._parts: list[pl.Series] = []

    def add(self, ids: pl.Series) -> None:
        self._parts.append(ids.cast(pl.Int64))

    def contains(self, conn: Conn, ids: pl.Series) -> pl.Series:
        """True where the id is known; nulls are reported as known (another rule
        says they are missing)."""
        if self._parts:
            self._ids = pl.concat([self._ids, *self._parts]).unique().sort()
            self._parts = []
        ids = ids.cast(pl.Int64)
        n = self._ids.len()
        if n:
            pos = self._ids.search_sorted(ids.fill_null(0)).clip(upper_bound=n - 1)
            found = (self._ids.gather(pos) == ids).fill_null(False)
        else:
            found = pl.Series([False] * ids.len())
        rest = ids.filter(~found & ids.is_not_null()).unique()
        if rest.len():
            with conn.cursor() as cur:
                rows = cur.execute(
                    query("sales", f"known_{self.entity}"), {"ids": rest.to_list()}
                ).fetchall()
            in_db = pl.Series([r["id"] for r in rows], dtype=pl.Int64)
            found = found | ids.is_in(in_db.implode()).fill_null(False)
        return found | ids.is_null()


def reference_reasons(
    conn: Conn, entity: str, checked: pl.DataFrame, known: dict[str, Known]
) -> pl.DataFrame:
    for col, parent in rules.REFERENCES.get(entity, {}).items():
        if parent == entity:
            continue  # self-references are resolved on the whole file
        ok = known[parent].contains(conn, checked[col].cast(pl.Int64, strict=False))
        checked = rules.add_reasons(checked, ~ok, unknown(col, parent))
    return checked
