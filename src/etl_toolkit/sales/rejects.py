"""Rejected rows of a file, and the raw values and verdicts they are stored with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from etl_toolkit.db.copy import Conn, copy_frame
from etl_toolkit.sales import rules
from etl_toolkit.sales.load_results import FileReport
from etl_toolkit.sales.references import WAITING
from etl_toolkit.sales.source import EXTRA, KEYS, SourceFile

REJECT_BATCH = 50_000


def raw_json(raw: pl.DataFrame) -> pl.Series:
    cols = [c for c in raw.columns if not c.startswith("_")]
    extra = [EXTRA] if EXTRA in raw.columns and raw[EXTRA].null_count() < raw.height else []
    return raw.select(pl.struct(*cols, *extra).struct.json_encode()).to_series()


def waiting(reasons: pl.Series) -> pl.Series:
    """Where every reason is a reference not found: a late arrival, to park."""
    return (
        reasons.str.split(rules.SEP)
        .list.eval(pl.element().is_in(WAITING))
        .list.all()
        .fill_null(False)
        .alias("parked")
    )


class Rejects:
    """Rejected rows of one file, COPYed into sales.rejects in batches."""

    def __init__(self, run_id: int, f: SourceFile, rep: FileReport) -> None:
        self.run_id, self.f, self.rep = run_id, f, rep
        self.frames: list[pl.DataFrame] = []
        self.rows = 0
        self.parked_ids: list[pl.Series] = []  # ids of the rows parked

    def _count(self, reasons: list[str]) -> None:
        for r in reasons:
            self.rep.reasons[r] = self.rep.reasons.get(r, 0) + 1
        self.rep.rejected += 1

    def add(self, raw: pl.DataFrame, checked: pl.DataFrame) -> None:
        if checked.height == 0:
            return
        for reasons in rules.reasons_list(checked["_reasons"]):
            self._count(reasons)
        key = KEYS[self.f.entity]
        parked = waiting(checked["_reasons"])
        self.rep.parked += int(parked.sum())
        self.parked_ids.append(checked[key].cast(pl.Int64, strict=False).filter(parked))
        self.frames.append(
            pl.DataFrame(
                {
                    "line": checked["_line"],
                    "record_key": raw[key],
                    "record_id": checked[key].cast(pl.Int64, strict=False),
                    "parked": parked,
                    "reasons": checked.select(rules.pg_array(pl.col("_reasons"))).to_series(),
                    "raw": raw_json(raw),
                }
            )
        )
        self.rows += checked.height

    def add_sql(self, rows: list[dict[str, Any]]) -> None:
        """Rows refused by a database check (they were counted as staged, not rejected)."""
        if not rows:
            return
        for row in rows:
            self._count([row["reason"]])
        frame = pl.DataFrame(
            rows,
            schema={
                "line": pl.Int64,
                "record_key": pl.String,
                "raw": pl.String,
                "reason": pl.String,
            },
        )
        self.frames.append(
            frame.select(
                "line",
                "record_key",
                record_id=pl.col("record_key").cast(pl.Int64, strict=False),
                parked=pl.lit(False),
                reasons=rules.pg_array(pl.col("reason")),
                raw="raw",
            )
        )

    def copy_job(self, conn: Conn) -> Callable[[], None]:
        """A job that COPYs the rows gathered so far (taken now) into sales.rejects."""
        frames, self.frames, self.rows = self.frames, [], 0

        def job() -> None:
            if not frames:
                return
            frame = pl.concat(frames, how="vertical_relaxed").select(
                run_id=pl.lit(self.run_id, dtype=pl.Int64),
                file=pl.lit(self.f.rel),
                sha256=pl.lit(self.rep.sha256),
                line="line",
                entity=pl.lit(self.f.entity),
                record_key="record_key",
                record_id="record_id",
                parked="parked",
                reasons="reasons",
                raw="raw",
            )
            copy_frame(conn, "sales.rejects", frame)

        return job
