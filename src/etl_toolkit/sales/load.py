"""The load stage of `etl sales`: every new file into its table, one transaction per file.

A file's rows stream in batches: read (source.py), validated and cleaned
(rules.py), checked against the file's earlier rows (duplicates: the first
occurrence wins) and against the entities they reference (ids accepted earlier
in this run, kept in memory, else looked up in the database). Valid rows are
COPYed; the others go to sales.rejects with every reason, once per (file
content, line): processing the same content again replaces its verdicts. A
file that cannot be read as the format as a whole (its header, an unterminated
quote, an encoding other than UTF-8) fails instead: its transaction rolls back,
ledger entry included, so every run fails on it again until it is fixed.

A row refused only because a row it references does not exist (yet) is a late
arrival, not a bad row: it is parked in sales.rejects with its raw values.
When a file inserts rows of an entity, the parked rows that may reference them
are validated again in the same transaction, in foreign-key order (parked
orders before parked items, so a whole chain comes back), and those now valid
are merged like a delivery's rows (queued for the refresh) and leave
sales.rejects. A parked row whose id a later file loads or parks again is an
older version of that row: it is superseded (dropped).

Into an empty table the rows are COPYed straight in (the bulk path) and a full
rebuild of the derived tables is requested. The table is truncated first, in
the file's transaction: the rows are written frozen (no VACUUM afterwards), and
without WAL on a server whose wal_level is minimal (the embedded one); orders
go straight into their month partitions. A first load of orders and items also
keeps what the derived tables need (derive.py), for the refresh. Into a table with rows they are
COPYed into a staging table, checked for unique values held by other rows, and
merged: inserted, updated only where a value changed, or counted unchanged;
the orders whose derived data may change are queued for the refresh stage.

The file's rows, its rejects, its ledger entry and its queue entries commit
together: a crash (even kill -9) loses only the file in flight, and the next
run loads it again, exactly once.

This module is the orchestration; its parts have their own modules: load_results
(the reports), writer (the COPY thread), prefetch (the next file's hash and
duplicate pass), references (the id cache), categories (the category tree
rule), rejects (the rejects buffer), merge (conflicts, queue, merge counts),
partitions (orders' months), parked (supersede and re-try late arrivals).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import polars as pl
import psycopg

from etl_toolkit.db.connect import Database
from etl_toolkit.db.copy import (
    Conn,
    copy_frame,
    create_staging,
    deferred_indexes,
    is_empty,
    table_ident,
)
from etl_toolkit.db.queries import query
from etl_toolkit.errors import DatabaseUnavailable, InputError
from etl_toolkit.log import get_logger
from etl_toolkit.progress import Progress, Reporter
from etl_toolkit.sales import rules
from etl_toolkit.sales.categories import resolve_categories
from etl_toolkit.sales.derive import Streamed
from etl_toolkit.sales.encoding import invalid_utf8, not_utf8
from etl_toolkit.sales.load_results import Batch, FileReport, LoadResult, RetryReport
from etl_toolkit.sales.merge import before_merge, merge_counts
from etl_toolkit.sales.parked import retry_dependents, supersede
from etl_toolkit.sales.partitions import KEYS_TABLE, Months
from etl_toolkit.sales.prefetch import Prefetch
from etl_toolkit.sales.references import Known, reference_reasons
from etl_toolkit.sales.rejects import REJECT_BATCH, Rejects, raw_json
from etl_toolkit.sales.source import (
    COLUMNS,
    ENTITIES,
    KEYS,
    TARGET,
    Header,
    SourceFile,
    discover,
    read_batches,
    read_header,
    sha256,
)
from etl_toolkit.sales.writer import Writer

log = get_logger("etl_toolkit.sales")


class Part(NamedTuple):
    """One entity's file of a delivery (a later file of the delivery may depend on it)."""

    delivery: str
    entity: str


PARENTS = {
    "products": ("product_categories",),
    "orders": ("customers",),
    "order_items": ("orders", "products"),
}

# Tables whose indexes a bulk load builds after the COPY (no foreign key
# references their keys).
DEFER_INDEXES = ("customers", "orders", "order_items")

# Tables a bulk load truncates first (all but the categories, whose key a
# foreign key references: they are few).
TRUNCATE = ("products", "customers", "orders", "order_items")


def load(
    db: Database,
    data_dir: Path,
    *,
    run_id: int,
    incremental: bool,
    progress: Progress | Reporter | None = None,
) -> LoadResult:
    """Load every file of `data_dir` (with `incremental`, only files whose content
    the ledger has not seen), in delivery and foreign-key order."""
    started = time.perf_counter()
    found = discover(data_dir)
    reporter = progress if isinstance(progress, Reporter) else Reporter(progress, "sales")
    reporter.items(len(found.files))
    result = LoadResult(run_id, str(data_dir), incremental, ignored=found.ignored)
    known = {e: Known(e) for e in ENTITIES}
    failed: set[Part] = set()  # the files that failed
    with (
        db.connect(autocommit=True) as conn,
        db.connect(autocommit=True) as lookup,
        Prefetch(found.files, enabled=not incremental) as prefetch,
    ):
        conn.execute(query("sales", "tune_session"))
        result.wal_level = str(conn.execute(query("sales", "wal_level")).fetchone()["wal_level"])  # type: ignore[index]
        if is_empty(conn, "sales.orders") and is_empty(conn, "sales.order_items"):
            result.streamed = Streamed()
        for f in found.files:
            rep = FileReport(f.rel, f.entity, f.delivery)
            result.files.append(rep)
            t0 = time.perf_counter()
            reporter.start(f.rel, "validate", bytes_total=f.path.stat().st_size)
            try:
                if incremental and _already_loaded(conn, f, rep):
                    rep.status = "skipped"
                    continue
                broken = [p for p in PARENTS.get(f.entity, ()) if Part(f.delivery, p) in failed]
                if broken:
                    raise InputError(
                        f"{f.rel}: not loaded because this delivery's {broken[0]} file failed"
                    )
                with conn.transaction():
                    accepted = _load_file(
                        conn,
                        lookup,
                        f,
                        rep,
                        run_id,
                        known,
                        result.retries,
                        reporter,
                        prefetch,
                        result.streamed,
                    )
                if result.streamed is not None:
                    result.streamed.commit()
                for entity, ids in accepted.items():
                    known[entity].add(ids)
                rep.status = "loaded"
            except InputError as exc:
                _fail(rep, failed, f, str(exc))
            except psycopg.OperationalError as exc:
                raise DatabaseUnavailable(
                    f"lost the database while loading {f.rel}: {exc}"
                ) from exc
            except psycopg.Error as exc:
                _fail(rep, failed, f, f"{f.rel}: {type(exc).__name__}: {str(exc).strip()}")
            finally:
                if result.streamed is not None:
                    result.streamed.rollback()  # a file that failed took its rows with it
                rep.seconds = time.perf_counter() - t0
                reporter.finish(stage=rep.status)
            log.info(
                "sales file",
                file=f.rel,
                status=rep.status,
                mode=rep.mode,
                read=rep.read,
                inserted=rep.inserted,
                updated=rep.updated,
                rejected=rep.rejected,
                seconds=round(rep.seconds, 2),
            )
        result.parked = {
            str(r["entity"]): int(str(r["n"]))
            for r in conn.execute(query("sales", "parked_counts")).fetchall()
        }
    result.seconds = time.perf_counter() - started
    return result


def _already_loaded(conn: Conn, f: SourceFile, rep: FileReport) -> bool:
    """Whether the ledger holds this content. A file seen before at the same
    absolute path with the same size and mtime is not hashed again."""
    st = f.path.stat()
    seen = conn.execute(
        query("sales", "file_seen"),
        {"abs_path": str(f.path.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns},
    ).fetchone()
    if seen:
        rep.sha256 = str(seen["sha256"])
        return True
    rep.sha256 = sha256(f.path)
    return (
        conn.execute(query("sales", "file_loaded"), {"sha256": rep.sha256}).fetchone() is not None
    )


def _fail(rep: FileReport, failed: set[Part], f: SourceFile, error: str) -> None:
    rep.status, rep.error = "failed", error
    rep.read = rep.inserted = rep.updated = rep.unchanged = rep.rejected = rep.flagged = 0
    rep.parked = rep.superseded = 0
    rep.reasons, rep.nulls, rep.cleaned = {}, {}, {}
    failed.add(Part(f.delivery, f.entity))
    log.error("sales file failed", file=f.rel, error=error)


# One file ----------------------------------------------------------------------


def _load_file(
    conn: Conn,
    lookup: Conn,
    f: SourceFile,
    rep: FileReport,
    run_id: int,
    known: dict[str, Known],
    retries: dict[str, RetryReport],
    reporter: Reporter,
    prefetch: Prefetch,
    streamed: Streamed | None = None,
) -> dict[str, pl.Series]:
    """One file in the caller's transaction on `conn`; `lookup` (autocommit) answers
    which referenced ids exist while `conn` is busy with COPY. Returns the ids
    accepted per entity (the file's, and those of parked rows it let load)."""
    entity, table = f.entity, f"sales.{f.entity}"
    header = read_header(f)
    scan = prefetch.take(f, rep.sha256)
    rep.sha256, dups = scan.sha256, scan.duplicates
    conn.execute(query("sales", "forget_rejects"), {"sha256": rep.sha256})
    bulk = is_empty(conn, table)
    rep.mode = "bulk" if bulk else "merge"
    target = table
    if bulk and entity in TRUNCATE:
        # Empty already: truncated for a new file in this transaction, which COPY
        # FREEZE needs (and WAL skipping, under wal_level minimal). Bulk orders
        # write their keys alongside (order_keys: empty with sales.orders).
        for t in (table, KEYS_TABLE) if entity == "orders" else (table,):
            conn.execute(query("sales", "truncate").format(table=table_ident(t)))
    if streamed is not None and not bulk and entity in ("orders", "order_items"):
        streamed.invalidate(f"{f.rel} was merged into {table}")
    if not bulk:
        target = create_staging(
            conn,
            table,
            f"stage_{entity}",
            [*TARGET[entity], "run_id"],
            extra={"_line": "bigint", "_raw": "text"},
        )
    rejects = Rejects(run_id, f, rep)
    months = Months(conn) if entity == "orders" else None
    accepted: list[pl.Series] = []
    batches = _validated(lookup, f, header, dups, known)
    if entity == "product_categories":
        whole = list(batches)
        batches = iter([resolve_categories(lookup, whole)] if whole else [])
    with ExitStack() as stack:
        if bulk and entity in DEFER_INDEXES:
            stack.enter_context(deferred_indexes(conn, table))
        if bulk and entity == "orders":
            stack.enter_context(deferred_indexes(conn, KEYS_TABLE))
        with Writer(conn) as writer:
            reporter.stage("copy")
            read = 0
            for raw, checked in batches:
                good = _copy_batch(
                    writer, f, rep, run_id, target, raw, checked, rejects, months, bulk=bulk
                )
                if good is not None and bulk and streamed is not None:
                    streamed.add(entity, good)
                if reporter.progress is not None:
                    read += _batch_bytes(raw, entity)
                    reporter.advance(raw.height, bytes_done=read)
                if good is not None:
                    accepted.append(good[KEYS[entity]].cast(pl.Int64))
                if rejects.rows >= REJECT_BATCH:
                    writer.submit(rejects.copy_job(conn))
            writer.submit(rejects.copy_job(conn))
            reporter.stage("index" if bulk and entity in DEFER_INDEXES else "merge")
            prefetch.after(f)  # while the server builds this file's indexes
    if bulk:
        rep.inserted = rep.read - rep.rejected
        if entity in ("orders", "order_items"):
            conn.execute(query("sales", "request_full_rebuild"), {"run_id": run_id})
    else:
        rejects.add_sql(before_merge(conn, entity, run_id))
        rep_counts = merge_counts(conn, entity, table, target)
        rep.inserted, rep.updated, rep.unchanged = (
            rep_counts.inserted,
            rep_counts.updated,
            rep_counts.unchanged,
        )
        rejects.copy_job(conn)()
    ids = pl.concat(accepted) if accepted else pl.Series("id", [], dtype=pl.Int64)
    rep.superseded = supersede(conn, entity, rep.sha256, pl.concat([ids, *rejects.parked_ids]))
    if entity == "product_categories":
        conn.execute(query("sales", "update_category_tree"))
    out = {entity: ids}
    if rep.inserted:  # new ids: the rows parked for want of them may load now
        more_ids = retry_dependents(conn, entity, ids, rep.sha256, run_id, known, retries)
        merged = sorted({"orders", "order_items"} & set(more_ids))
        if streamed is not None and merged:
            streamed.invalidate(f"parked {merged[0]} re-tried into the table")
        for e, more in more_ids.items():
            out[e] = pl.concat([out[e], more]) if e in out else more
    st = f.path.stat()
    conn.execute(
        query("sales", "record_file"),
        {
            "sha256": rep.sha256,
            "entity": entity,
            "path": f.rel,
            "abs_path": str(f.path.resolve()),
            "bytes": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "rows_read": rep.read,
            "run_id": run_id,
        },
    )
    return out


def _copy_batch(
    writer: Writer,
    f: SourceFile,
    rep: FileReport,
    run_id: int,
    target: str,
    raw: pl.DataFrame,
    checked: pl.DataFrame,
    rejects: Rejects,
    months: Months | None,
    *,
    bulk: bool,
) -> pl.DataFrame | None:
    """Reject the batch's bad rows and COPY its good ones; returns the good rows."""
    rep.read += checked.height
    bad = checked["_reasons"].is_not_null()
    rejects.add(raw.filter(bad), checked.filter(bad))
    good = checked.filter(~bad)
    if good.height == 0:
        return None
    if f.entity == "order_items":
        good = good.with_columns(reported_total=rules.reported_total(good))
        rep.flagged += int(good["reported_total"].is_not_null().sum())
    columns = [*TARGET[f.entity]] + ([] if bulk else ["_line"])
    frame = good.select(*columns, run_id=pl.lit(run_id, dtype=pl.Int64))
    if not bulk:
        frame = frame.with_columns(_raw=raw_json(raw.filter(~bad)))
    for c in TARGET[f.entity]:
        rep.nulls[c] = rep.nulls.get(c, 0) + frame[c].null_count()
    for c, n in rules.cleaned_counts(good).items():
        rep.cleaned[c] = rep.cleaned.get(c, 0) + n
    dates = good["order_date"] if months is not None else None

    def job() -> None:
        if months is None or dates is None:
            copy_frame(writer.conn, target, frame, freeze=bulk and f.entity in TRUNCATE)
            return
        months.ensure(dates)  # the month partitions exist before the rows arrive
        if not bulk:
            copy_frame(writer.conn, target, frame)
            return
        # COPY FREEZE takes no partitioned table: each month into its partition
        # (created, or truncated with the parent, in this transaction).
        for (month,), part in frame.group_by(dates.str.slice(0, 7).alias("_month")):
            copy_frame(writer.conn, f"sales.{Months.name(str(month))}", part, freeze=True)
        copy_frame(writer.conn, KEYS_TABLE, frame.select("order_id", "order_date"), freeze=True)

    writer.submit(job)
    return good


def _batch_bytes(raw: pl.DataFrame, entity: str) -> int:
    """About the bytes of the file the batch's rows came from (quotes not counted):
    the reader does not say where it is in the file."""
    lengths = raw.select(
        pl.sum_horizontal(pl.col(c).str.len_bytes().fill_null(0) for c in COLUMNS[entity])
    ).to_series()
    return int(lengths.sum()) + raw.height * len(COLUMNS[entity])


def _validated(
    conn: Conn,
    f: SourceFile,
    header: Header,
    dups: dict[str, pl.Series],
    known: dict[str, Known],
) -> Iterator[Batch]:
    """(raw batch, checked batch with every reason) for each batch of the file."""
    for raw in read_batches(f, header):
        checked = rules.check(f.entity, raw)
        reasons = checked["_reasons"]  # null_count is free: a clean batch is not scanned
        if (
            reasons.null_count() < reasons.len()
            and reasons.str.contains(rules.NOT_UTF8, literal=True).any()
        ):
            # An encoding is the file's, not a row's: a file that is not UTF-8 fails
            # as a whole (its transaction, ledger entry included, rolls back), and
            # again on every run until it is converted.
            where = invalid_utf8(f.path)
            if where is not None:
                raise not_utf8(f.rel, f.path, *where)
        for name, rows in dups.items():
            checked = rules.add_reasons(
                checked,
                pl.col("_row").is_in(rows.implode()),
                f"{name}: duplicate (an earlier row of this file has it)",
            )
        yield Batch(raw, reference_reasons(conn, f.entity, checked, known))
