"""The load stage of `etl sales`: every new file into its table, one transaction per file.

A file's rows stream in batches: read (source.py), validated and cleaned
(rules.py), checked against the file's earlier rows (duplicates: the first
occurrence wins) and against the entities they reference (ids accepted earlier
in this run, kept in memory, else looked up in the database). Valid rows are
COPYed; the others go to sales.rejects with every reason, once per (file
content, line): processing the same content again replaces its verdicts.

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
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from etl_toolkit.db.connect import Database
from etl_toolkit.db.copy import (
    MergeCounts,
    copy_frame,
    create_staging,
    deferred_indexes,
    is_empty,
    merge,
    table_ident,
)
from etl_toolkit.db.queries import query
from etl_toolkit.errors import DatabaseUnavailable, InputError
from etl_toolkit.log import get_logger
from etl_toolkit.progress import Progress, Reporter
from etl_toolkit.sales import rules
from etl_toolkit.sales.derive import Streamed
from etl_toolkit.sales.source import (
    BATCH_ROWS,
    COLUMNS,
    ENTITIES,
    EXTRA,
    KEYS,
    SHORT,
    Header,
    SourceFile,
    discover,
    duplicate_rows,
    read_batches,
    read_header,
    sha256,
)

log = get_logger("etl_toolkit.sales")
Conn = psycopg.Connection[Any]
PARENTS = {
    "products": ("product_categories",),
    "orders": ("customers",),
    "order_items": ("orders", "products"),
}
REJECT_BATCH = 50_000
# The query that finds the orders a merge into each entity may change.
AFFECTED = {
    "orders": "affected_from_orders",
    "order_items": "affected_from_items",
    "products": "affected_from_products",
}
# Tables whose indexes a bulk load builds after the COPY (no foreign key
# references their keys).
DEFER_INDEXES = ("customers", "orders", "order_items")
# The global order_id -> order_date lookup the loader keeps with sales.orders.
KEYS_TABLE = "sales.order_keys"
# Tables a bulk load truncates first (all but the categories, whose key a
# foreign key references: they are few).
TRUNCATE = ("products", "customers", "orders", "order_items")
NOUN = {
    "product_categories": "category",
    "products": "product",
    "customers": "customer",
    "orders": "order",
}


def _unknown(column: str, parent: str) -> str:
    return f"{column}: unknown {NOUN[parent]} (or rejected)"


# The reasons of a late arrival: a row with these reasons only is parked.
WAITING = sorted({_unknown(c, p) for refs in rules.REFERENCES.values() for c, p in refs.items()})
# Target columns written from a file (order_items.total is generated; the
# file's total is kept as reported_total when it disagrees).
TARGET: dict[str, tuple[str, ...]] = {
    **{e: COLUMNS[e] for e in ENTITIES if e != "order_items"},
    "order_items": (*(c for c in COLUMNS["order_items"] if c != "total"), "reported_total"),
}


@dataclass
class FileReport:
    file: str
    entity: str
    delivery: str
    sha256: str = ""
    status: str = "pending"  # loaded | skipped (already loaded) | failed
    mode: str = ""  # bulk | merge
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    parked: int = 0  # of the rejected: late arrivals, re-tried when what they reference loads
    superseded: int = 0  # parked rows of earlier files replaced by this file's version
    flagged: int = 0  # loaded rows with a flag (an item total that did not match)
    reasons: dict[str, int] = field(default_factory=dict)
    nulls: dict[str, int] = field(default_factory=dict)  # among loaded rows, per column
    cleaned: dict[str, int] = field(default_factory=dict)  # loaded values rewritten, per column
    error: str | None = None
    seconds: float = 0.0

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated

    @property
    def balanced(self) -> bool:
        return self.read == self.loaded + self.unchanged + self.rejected


@dataclass
class RetryReport:
    """Parked rows of one entity validated again during a run (each row once)."""

    entity: str
    retried: int = 0  # distinct parked rows
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # now refused for another reason: no longer parked
    error: str | None = None

    def __post_init__(self) -> None:
        # Not a field: the report stays made of plain types (Flyte passes it between
        # tasks); a row re-tried by two files of one run counts once.
        self._tried: set[int] = set()  # ids in sales.rejects

    def tried(self, ids: list[int]) -> None:
        self._tried.update(ids)
        self.retried = len(self._tried)

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated


@dataclass
class LoadResult:
    run_id: int
    data_dir: str
    incremental: bool
    files: list[FileReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    retries: dict[str, RetryReport] = field(default_factory=dict)
    parked: dict[str, int] = field(default_factory=dict)  # waiting after the run, per entity
    wal_level: str = ""  # the server's: bulk loads skip WAL only where it is `minimal`
    seconds: float = 0.0

    def __post_init__(self) -> None:
        # Not a field (the report stays plain data between orchestrated tasks): the
        # derived tables of a first load, when this process streamed it.
        self.streamed: Streamed | None = None

    @property
    def changed(self) -> bool:
        return any(f.loaded for f in self.files) or any(r.loaded for r in self.retries.values())

    @property
    def processed(self) -> list[FileReport]:
        return [f for f in self.files if f.status != "skipped"]


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
    failed: set[tuple[str, str]] = set()  # (delivery, entity) whose file failed
    with (
        db.connect(autocommit=True) as conn,
        db.connect(autocommit=True) as lookup,
        _Prefetch(found.files, enabled=not incremental) as prefetch,
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
                broken = [p for p in PARENTS.get(f.entity, ()) if (f.delivery, p) in failed]
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


def _fail(rep: FileReport, failed: set[tuple[str, str]], f: SourceFile, error: str) -> None:
    rep.status, rep.error = "failed", error
    rep.read = rep.inserted = rep.updated = rep.unchanged = rep.rejected = rep.flagged = 0
    rep.parked = rep.superseded = 0
    rep.reasons, rep.nulls, rep.cleaned = {}, {}, {}
    failed.add((f.delivery, f.entity))
    log.error("sales file failed", file=f.rel, error=error)


# One file ----------------------------------------------------------------------


def _dup_keys(entity: str) -> dict[str, pl.Expr]:
    key = KEYS[entity]
    keys = {key: rules.integer_value(pl.col(key).str.strip_chars())}
    if entity == "customers":
        keys["email"] = pl.col("email").str.strip_chars().str.to_lowercase()
    if entity == "products":
        keys["sku"] = pl.col("sku").str.strip_chars()
    return keys


def _load_file(
    conn: Conn,
    lookup: Conn,
    f: SourceFile,
    rep: FileReport,
    run_id: int,
    known: dict[str, Known],
    retries: dict[str, RetryReport],
    reporter: Reporter,
    prefetch: _Prefetch,
    streamed: Streamed | None = None,
) -> dict[str, pl.Series]:
    """One file in the caller's transaction on `conn`; `lookup` (autocommit) answers
    which referenced ids exist while `conn` is busy with COPY. Returns the ids
    accepted per entity (the file's, and those of parked rows it let load)."""
    entity, table = f.entity, f"sales.{f.entity}"
    header = read_header(f)
    rep.sha256, dups = prefetch.take(f, rep.sha256)
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
    rejects = _Rejects(run_id, f, rep)
    months = _Months(conn) if entity == "orders" else None
    accepted: list[pl.Series] = []
    batches = _validated(lookup, f, header, dups, known)
    if entity == "product_categories":
        whole = list(batches)
        batches = iter([_resolve_categories(lookup, whole)] if whole else [])
    with ExitStack() as stack:
        if bulk and entity in DEFER_INDEXES:
            stack.enter_context(deferred_indexes(conn, table))
        if bulk and entity == "orders":
            stack.enter_context(deferred_indexes(conn, KEYS_TABLE))
        with _Writer(conn) as writer:
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
        rejects.add_sql(_merge(conn, entity, run_id))
        rep_counts = _merge_counts(conn, entity, table, target)
        rep.inserted, rep.updated, rep.unchanged = (
            rep_counts.inserted,
            rep_counts.updated,
            rep_counts.unchanged,
        )
        rejects.copy_job(conn)()
    ids = pl.concat(accepted) if accepted else pl.Series("id", [], dtype=pl.Int64)
    rep.superseded = _supersede(conn, entity, rep.sha256, pl.concat([ids, *rejects.parked_ids]))
    if entity == "product_categories":
        conn.execute(query("sales", "update_category_tree"))
    out = {entity: ids}
    if rep.inserted:  # new ids: the rows parked for want of them may load now
        more_ids = _retry_dependents(conn, entity, ids, rep.sha256, run_id, known, retries)
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


class _Prefetch:
    """What the next file needs that touches no database (its content hash, its
    duplicate pre-pass over the key columns), started while the server builds
    the current file's indexes: on two cores the client is otherwise idle then.
    Off for incremental runs, whose next file may be skipped unread."""

    def __init__(self, files: list[SourceFile], *, enabled: bool) -> None:
        self.files, self.enabled = files, enabled
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="sales-prefetch")
        self.started: dict[Path, Future[tuple[str, dict[str, pl.Series]]]] = {}

    def __enter__(self) -> _Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def after(self, f: SourceFile) -> None:
        following = self.files[self.files.index(f) + 1 :]
        if self.enabled and following and following[0].path not in self.started:
            nxt = following[0]
            self.started[nxt.path] = self.pool.submit(_scan, nxt, "")

    def take(self, f: SourceFile, content: str) -> tuple[str, dict[str, pl.Series]]:
        """The file's hash (`content`, when known already) and duplicate rows (an
        error of the scan is raised here, in the file's own turn)."""
        started = self.started.pop(f.path, None)
        return started.result() if started is not None else _scan(f, content)


def _scan(f: SourceFile, content: str) -> tuple[str, dict[str, pl.Series]]:
    dups = duplicate_rows(f, read_header(f), _dup_keys(f.entity))
    return content or sha256(f.path), dups


class _Writer:
    """Runs a file's database work on its connection in a background thread, in
    submission order, so that Polars prepares the next batch while PostgreSQL
    ingests the previous one (on two cores: one validates, one is the server's
    COPY). Nothing else may use the connection until the block ends; the first
    error is raised there."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sales-writer", daemon=True)

    def __enter__(self) -> _Writer:
        self.thread.start()
        return self

    def submit(self, job: Callable[[], None]) -> None:
        if self.error is not None:
            raise self.error
        self.jobs.put(job)

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            if self.error is None:
                try:
                    job()
                except BaseException as exc:  # handed to the submitting thread
                    self.error = exc

    def __exit__(self, *exc: object) -> None:
        self.jobs.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


def _copy_batch(
    writer: _Writer,
    f: SourceFile,
    rep: FileReport,
    run_id: int,
    target: str,
    raw: pl.DataFrame,
    checked: pl.DataFrame,
    rejects: _Rejects,
    months: _Months | None,
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
        frame = frame.with_columns(_raw=_raw_json(raw.filter(~bad)))
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
            copy_frame(writer.conn, f"sales.{_Months.name(str(month))}", part, freeze=True)
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
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """(raw batch, checked batch with every reason) for each batch of the file."""
    for raw in read_batches(f, header):
        checked = rules.check(f.entity, raw)
        for name, rows in dups.items():
            checked = rules.add_reasons(
                checked,
                pl.col("_row").is_in(rows.implode()),
                f"{name}: duplicate (an earlier row of this file has it)",
            )
        yield raw, _reference_reasons(conn, f.entity, checked, known)


def _reference_reasons(
    conn: Conn, entity: str, checked: pl.DataFrame, known: dict[str, Known]
) -> pl.DataFrame:
    for col, parent in rules.REFERENCES.get(entity, {}).items():
        if parent == entity:
            continue  # self-references are resolved on the whole file
        ok = known[parent].contains(conn, checked[col].cast(pl.Int64, strict=False))
        checked = rules.add_reasons(checked, ~ok, _unknown(col, parent))
    return checked


def _resolve_categories(
    conn: Conn, batches: list[tuple[pl.DataFrame, pl.DataFrame]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Categories reference each other: a parent must exist (in the file or the
    database) and be accepted, and no category may be its own ancestor."""
    raw = pl.concat([r for r, _ in batches], how="vertical_relaxed")
    checked = pl.concat([c for _, c in batches], how="vertical_relaxed")
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
                bad[cid] = _unknown("parent_id", "product_categories")
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
    return raw, checked


def _merge(conn: Conn, entity: str, run_id: int) -> list[dict[str, Any]]:
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


def _merge_counts(conn: Conn, entity: str, table: str, stage: str) -> MergeCounts:
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


# Parked rows ---------------------------------------------------------------------


def _supersede(conn: Conn, entity: str, sha: str, ids: pl.Series) -> int:
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


def _retry_dependents(
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
    months = _Months(conn) if entity == "orders" else None
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
        for name, expr in _dup_keys(entity).items():  # a sku held by two parked products
            dup = raw.select(expr.is_not_null() & ~expr.is_first_distinct()).to_series()
            checked = rules.add_reasons(
                checked, dup, f"{name}: duplicate (an earlier parked row has it)"
            )
        checked = _reference_reasons(conn, entity, checked, known)
        if entity == "product_categories":
            raw, checked = _resolve_categories(conn, [(raw, checked)])
        bad = checked["_reasons"].is_not_null()
        good = checked.filter(~bad)
        if good.height:
            if entity == "order_items":
                good = good.with_columns(reported_total=rules.reported_total(good))
            if months is not None:
                months.ensure(good["order_date"])
            frame = good.select(
                *TARGET[entity], "_line", run_id=pl.lit(run_id, dtype=pl.Int64)
            ).with_columns(_raw=_raw_json(raw.filter(~bad)))
            copy_frame(conn, stage_name, frame)
            accepted.append(good[key].cast(pl.Int64))
        judged = checked.filter(bad)
        parked = _waiting(judged["_reasons"])
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
    conflicts = _merge(conn, entity, run_id)
    if conflicts:  # a unique value held by another row: a plain reject now
        report.rejected += len(conflicts)
        _judge(
            conn,
            [int(c["line"]) for c in conflicts],
            [str(c["reason"]) for c in conflicts],
            [False] * len(conflicts),
        )
    counts = _merge_counts(conn, entity, table, stage_name)
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


def _raw_json(raw: pl.DataFrame) -> pl.Series:
    cols = [c for c in raw.columns if not c.startswith("_")]
    extra = [EXTRA] if EXTRA in raw.columns and raw[EXTRA].null_count() < raw.height else []
    return raw.select(pl.struct(*cols, *extra).struct.json_encode()).to_series()


def _waiting(reasons: pl.Series) -> pl.Series:
    """Where every reason is a reference not found: a late arrival, to park."""
    return (
        reasons.str.split(rules.SEP)
        .list.eval(pl.element().is_in(WAITING))
        .list.all()
        .fill_null(False)
        .alias("parked")
    )


class _Rejects:
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
        parked = _waiting(checked["_reasons"])
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
                    "raw": _raw_json(raw),
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


class _Months:
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
