"""Monthly partitions of sales.orders (created as the data needs them), and the
order_id -> order_date lookup kept with them."""

from __future__ import annotations

from datetime import date

import polars as pl
from psycopg import sql
from psycopg.rows import dict_row

from etl_toolkit.db.copy import Conn
from etl_toolkit.db.queries import query

# The global order_id -> order_date lookup the loader keeps with sales.orders.
KEYS_TABLE = "sales.order_keys"


class Months:
    """Monthly partitions of sales.orders, created as the data needs them."""

    @staticmethod
    def name(month: str) -> str:
        """The partition of a `YYYY-MM` month."""
        return f"orders_{month.replace('-', '_')}"

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query("sales", "order_partitions")).fetchall()
        self.existing = {str(r["name"]) for r in rows}

    def ensure(self, order_dates: pl.Series) -> None:
        months = order_dates.str.slice(0, 7).unique().drop_nulls().to_list()
        for month in sorted(months):
            name = self.name(month)
            if name in self.existing:
                continue
            year, mon = int(month[:4]), int(month[5:7])
            lo = date(year, mon, 1)
            hi = date(year + mon // 12, mon % 12 + 1, 1)
            bounds = {"lo": f"{lo} 00:00:00+00", "hi": f"{hi} 00:00:00+00"}
            with self.conn.cursor(row_factory=dict_row) as cur:
                row = cur.execute(query("sales", "default_rows_in_range"), bounds).fetchone()
            template = (
                "split_default_partition" if row and row["present"] else "create_month_partition"
            )
            self.conn.execute(
                query("sales", template).format(
                    part=sql.Identifier(name),
                    lo=sql.Literal(bounds["lo"]),
                    hi=sql.Literal(bounds["hi"]),
                )
            )
            self.existing.add(name)
