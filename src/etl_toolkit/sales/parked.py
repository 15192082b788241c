"""Parked rows (late arrivals): superseded by a newer version, or re-tried when
what they reference loads."""

from __future__ import annotations

import polars as pl
import psycopg
from psycopg import sql

from etl_toolkit.db.copy import Conn, copy_frame, create_staging
from etl_toolkit.db.queries import query
from etl_toolkit.log import get_logger
from etl_toolkit.sales import rules
from etl_toolkit.sales.categories import resolve_categories
from etl_toolkit.sales.load_results import Batch, RetryReport
from etl_toolkit.sales.merge import before_merge, merge_counts
from etl_toolkit.sales.partitions import Months
from etl_toolkit.sales.references import Known, reference_reasons
from etl_toolkit.sales.rejects import raw_json, waiting
from etl_toolkit.sales.source import BATCH_ROWS, COLUMNS, ENTITIES, EXTRA, KEYS, SHORT, TARGET

log = get_logger("etl_toolkit.sales")


def supersede(conn: Conn, entity: str, sha: str, ids: pl.Series) -> int:
    """Drop the parked rows of other files whose id is among `ids` (this file's
    rows, loaded or parked): this file's version is the newer one. Matched here
    rather than in SQL: parked rows are few, and a bulk-loaded table has no
    statistics yet (nor, for orders, an index on order_id alone)."""
    rows = conn.execute(
        query("sales", "parked_elsewhere"), {"entity": entity, "sha256": sha}
    ).fetchall()
    if not rows:
        return 0
    parked = pl.DataFrame(rows, schema={"id": pl.Int64, "record_id": pl.Int64})
    gone = parked.filter(pl.col("record_id").is_in(ids.implode()))["id"]
    if gone.len():
        conn.execute(query("sales", "forget_parked"), {"ids": gone.to_list()})
    return gone.len()


def retry_dependents(
    conn: Conn,
    entity: str,
    ids: pl.Series,
    sha: str,
    run_id: int,
    known: dict[str, Known],
    retries: dict[str, RetryReport],
) -> dict[str, pl.Series]:
    """After a file wrote `ids` of `entity`: re-try the parked rows that reference
    one of them, in foreign-key order, the ids each re-try merged widening the
    wave. A parked row can only load once its last missing reference arrives,
    and that arrival is such a wave: the rows referencing none of its ids are
    not read again. Rows the file `sha` parked itself were just validated."""
    fresh, out = {entity: ids}, {}
    for child in ENTITIES:
        wanted = {
            col: fresh[parent]
            for col, parent in rules.REFERENCES.get(child, {}).items()
            if parent in fresh
        }
        if not wanted:
            continue
        present = conn.execute(query("sales", "parked_exists"), {"entity": child}).fetchone()
        if not (present and present["present"]):
            continue
        report = retries.setdefault(child, RetryReport(child))
        # The category tree is re-tried whole: a parked parent comes back with its child.
        only = None if child == "product_categories" else wanted
        try:
            with conn.transaction():  # a savepoint: a failed re-try leaves the rows parked
                merged = _retry(conn, child, only, sha, run_id, known, report)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            report.error = f"{type(exc).__name__}: {str(exc).strip()}"
            log.error("sales re-try failed", entity=child, error=report.error)
            continue
        if merged.len():  # the tree's re-try adds to the categories the file wrote
            out[child] = merged
            fresh[child] = pl.concat([fresh[child], merged]) if child in fresh else merged
    return out


def _retry(
    conn: Conn,
    entity: str,
    wanted: dict[str, pl.Series] | None,
    sha: str,
    run_id: int,
    known: dict[str, Known],
    report: RetryReport,
) -> pl.Series:
    """Validate the parked rows of `entity` again (their raw values, every rule and
    reference, on `conn`, which sees this transaction's rows) and merge those now
    valid; the others get their new verdict (still parked, or a plain reject).
    With `wanted` (column -> ids), only the rows referencing one of those ids, and
    rows parked before migration 0008 (their references may have loaded since).
    Returns the ids merged."""
    table, key = f"sales.{entity}", KEYS[entity]
    stage_name = f"stage_{entity}"
    stage = sql.Identifier(stage_name)
    conn.execute(query("sales", "drop_stage").format(stage=stage))  # the file's, if it was one
    create_staging(
        conn,
        table,
        stage_name,
        [*TARGET[entity], "run_id"],
        extra={"_line": "bigint", "_raw": "text"},
    )
    months = Months(conn) if entity == "orders" else None
    limit = None if wanted is None else BATCH_ROWS
    shape = pl.Struct([pl.Field(c, pl.String) for c in COLUMNS[entity]])
    accepted: list[pl.Series] = []
    after = 0
    while rows := conn.execute(
        query("sales", "parked_rows"),
        {"entity": entity, "after": after, "limit": limit, "sha256": sha, "sep": rules.SEP},
    ).fetchall():
        after = int(rows[-1]["id"])
        raw = (
            pl.DataFrame(
                rows,
                schema={
                    "id": pl.Int64,
                    "raw": pl.String,
                    "legacy": pl.Boolean,
                    "reasons": pl.String,
                },
            )
            .select(
                pl.col("raw").str.json_decode(shape).struct.unnest(),
                _row=pl.int_range(pl.len(), dtype=pl.Int64),
                _line="id",
                _legacy="legacy",
                _was="reasons",
            )
            # Only rows whose sole faults were missing references are parked:
            # none had a field too many or too few.
            .with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in (EXTRA, SHORT))
        )
        checked = rules.check(entity, raw)
        if wanted is not None:
            hit = pl.col("_legacy")
            for col, ids in wanted.items():
                hit = hit | pl.col(col).cast(pl.Int64, strict=False).is_in(ids.implode())
            mask = checked.select(hit.fill_null(False)).to_series()
            raw, checked = raw.filter(mask), checked.filter(mask)
            if checked.height == 0:
                continue
        report.tried(checked["_line"].to_list())
        for name, expr in rules.duplicate_keys(entity).items():  # a sku held by two parked products
            dup = raw.select(expr.is_not_null() & ~expr.is_first_distinct()).to_series()
            checked = rules.add_reasons(
                checked, dup, f"{name}: duplicate (an earlier parked row has it)"
            )
        checked = reference_reasons(conn, entity, checked, known)
        if entity == "product_categories":
            raw, checked = resolve_categories(conn, [Batch(raw, checked)])
        bad = checked["_reasons"].is_not_null()
        good = checked.filter(~bad)
        if good.height:
            if entity == "order_items":
                good = good.with_columns(reported_total=rules.reported_total(good))
            if months is not None:
                months.ensure(good["order_date"])
            frame = good.select(
                *TARGET[entity], "_line", run_id=pl.lit(run_id, dtype=pl.Int64)
            ).with_columns(_raw=raw_json(raw.filter(~bad)))
            copy_frame(conn, stage_name, frame)
            accepted.append(good[key].cast(pl.Int64))
        judged = checked.filter(bad)
        parked = waiting(judged["_reasons"])
        report.rejected += int((~parked).sum())
        changed = judged.with_columns(parked).filter(
            ~pl.col("parked") | (pl.col("_reasons") != pl.col("_was"))
        )
        _judge(
            conn,
            changed["_line"].to_list(),
            changed["_reasons"].to_list(),
            changed["parked"].to_list(),
        )
    conflicts = before_merge(conn, entity, run_id)
    if conflicts:  # a unique value held by another row: a plain reject now
        report.rejected += len(conflicts)
        _judge(
            conn,
            [int(c["line"]) for c in conflicts],
            [str(c["reason"]) for c in conflicts],
            [False] * len(conflicts),
        )
    counts = merge_counts(conn, entity, table, stage_name)
    report.inserted += counts.inserted
    report.updated += counts.updated
    report.unchanged += counts.unchanged
    conn.execute(query("sales", "forget_retried").format(stage=stage))
    if entity == "product_categories" and counts.inserted + counts.updated:
        conn.execute(query("sales", "update_category_tree"))
    log.info(
        "sales re-try",
        entity=entity,
        retried=report.retried,
        inserted=counts.inserted,
        updated=counts.updated,
    )
    return pl.concat(accepted) if accepted else pl.Series("id", [], dtype=pl.Int64)


def _judge(conn: Conn, ids: list[int], reasons: list[str], parked: list[bool]) -> None:
    if ids:
        conn.execute(
            query("sales", "judge_parked"),
            {"ids": ids, "reasons": reasons, "parked": parked, "sep": rules.SEP},
        )
