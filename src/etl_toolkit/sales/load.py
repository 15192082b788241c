"""The load stage of `etl sales`: every new file into its table, one transaction per file.

A file's rows stream in batches: read (source.py), validated and cleaned
(rules.py), checked against the file's earlier rows (duplicates: the first
occurrence wins) and against the entities they reference (ids accepted earlier
in this run, kept in memory, else looked up in the database). Valid rows are
COPYed; the others go to sales.rejects with every reason.

Into an empty table the rows are COPYed straight in (the bulk path) and a full
rebuild of the derived tables is requested. Into a table with rows they are
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
    copy_frame,
    create_staging,
    deferred_indexes,
    is_empty,
    merge,
    upsert,
)
from etl_toolkit.db.queries import query
from etl_toolkit.errors import DatabaseUnavailable, InputError
from etl_toolkit.log import get_logger
from etl_toolkit.sales import rules
from etl_toolkit.sales.source import (
    COLUMNS,
    ENTITIES,
    EXTRA,
    KEYS,
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
NOUN = {
    "product_categories": "category",
    "products": "product",
    "customers": "customer",
    "orders": "order",
}
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
class LoadResult:
    run_id: int
    data_dir: str
    incremental: bool
    files: list[FileReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(f.loaded for f in self.files)

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


def load(db: Database, data_dir: Path, *, run_id: int, incremental: bool) -> LoadResult:
    """Load every file of `data_dir` (with `incremental`, only files whose content
    the ledger has not seen), in delivery and foreign-key order."""
    started = time.perf_counter()
    found = discover(data_dir)
    result = LoadResult(run_id, str(data_dir), incremental, ignored=found.ignored)
    known = {e: Known(e) for e in ENTITIES}
    failed: set[tuple[str, str]] = set()  # (delivery, entity) whose file failed
    with db.connect(autocommit=True) as conn, db.connect(autocommit=True) as lookup:
        conn.execute(query("sales", "tune_session"))
        for f in found.files:
            rep = FileReport(f.rel, f.entity, f.delivery)
            result.files.append(rep)
            t0 = time.perf_counter()
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
                    accepted = _load_file(conn, lookup, f, rep, run_id, known)
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
                rep.seconds = time.perf_counter() - t0
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
) -> dict[str, pl.Series]:
    """One file in the caller's transaction on `conn`; `lookup` (autocommit) answers
    which referenced ids exist while `conn` is busy with COPY."""
    entity, table = f.entity, f"sales.{f.entity}"
    header = read_header(f)
    if not rep.sha256:
        rep.sha256 = sha256(f.path)
    dups = duplicate_rows(f, header, _dup_keys(entity))
    bulk = is_empty(conn, table)
    rep.mode = "bulk" if bulk else "merge"
    target = table
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
        with _Writer(conn) as writer:
            for raw, checked in batches:
                good = _copy_batch(
                    writer, f, rep, run_id, target, raw, checked, rejects, months, bulk=bulk
                )
                if good is not None:
                    accepted.append(good[KEYS[entity]].cast(pl.Int64))
                if rejects.rows >= REJECT_BATCH:
                    writer.submit(rejects.copy_job(conn))
            writer.submit(rejects.copy_job(conn))
    if bulk:
        rep.inserted = rep.read - rep.rejected
        if entity in ("orders", "order_items"):
            conn.execute(query("sales", "request_full_rebuild"), {"run_id": run_id})
    else:
        _merge(conn, entity, run_id, rejects)
        rep_counts = _merge_counts(conn, entity, table, target)
        rep.inserted, rep.updated, rep.unchanged = (
            rep_counts.inserted,
            rep_counts.updated,
            rep_counts.unchanged,
        )
        rejects.copy_job(conn)()
    if entity == "product_categories":
        conn.execute(query("sales", "update_category_tree"))
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
    ids = pl.concat(accepted) if accepted else pl.Series("id", [], dtype=pl.Int64)
    return {entity: ids}


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
        if months is not None and dates is not None:
            months.ensure(dates)  # the month partitions exist before the rows arrive
        copy_frame(writer.conn, target, frame)

    writer.submit(job)
    return good


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
        for col, parent in rules.REFERENCES.get(f.entity, {}).items():
            if parent == f.entity:
                continue  # self-references are resolved on the whole file
            ok = known[parent].contains(conn, checked[col].cast(pl.Int64, strict=False))
            checked = rules.add_reasons(
                checked, ~ok, f"{col}: unknown {NOUN[parent]} (or rejected)"
            )
        yield raw, checked


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
                bad[cid] = "parent_id: unknown category (or rejected)"
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


def _merge(conn: Conn, entity: str, run_id: int, rejects: _Rejects) -> None:
    """Before the merge: refuse unique values held by other rows, queue the
    orders whose derived data may change."""
    if entity in ("customers", "products"):
        with conn.cursor(row_factory=dict_row) as cur:
            rejects.add_sql(cur.execute(query("sales", f"conflicts_{entity}")).fetchall())
    if entity in AFFECTED:
        conn.execute(query("sales", "create_affected"))
        conn.execute(query("sales", AFFECTED[entity]))
        conn.execute(query("sales", "queue_before"))
        conn.execute(query("sales", "queue_orders"), {"run_id": run_id})


def _merge_counts(conn: Conn, entity: str, table: str, stage: str) -> Any:
    key = KEYS[entity]
    columns = [*TARGET[entity], "run_id"]
    compare = [c for c in TARGET[entity] if c != key]
    if entity == "orders":  # partitioned: order_id alone is not a constraint
        return upsert(conn, target=table, source=stage, key=[key], columns=columns, compare=compare)
    return merge(conn, target=table, source=stage, key=[key], columns=columns, compare=compare)


def _raw_json(raw: pl.DataFrame) -> pl.Series:
    cols = [c for c in raw.columns if not c.startswith("_")]
    extra = [EXTRA] if EXTRA in raw.columns and raw[EXTRA].null_count() < raw.height else []
    return raw.select(pl.struct(*cols, *extra).struct.json_encode()).to_series()


class _Rejects:
    """Rejected rows of one file, COPYed into sales.rejects in batches."""

    COLUMNS = ("run_id", "file", "line", "entity", "record_key", "reasons", "raw")

    def __init__(self, run_id: int, f: SourceFile, rep: FileReport) -> None:
        self.run_id, self.f, self.rep = run_id, f, rep
        self.frames: list[pl.DataFrame] = []
        self.rows = 0

    def _count(self, reasons: list[str]) -> None:
        for r in reasons:
            self.rep.reasons[r] = self.rep.reasons.get(r, 0) + 1
        self.rep.rejected += 1

    def add(self, raw: pl.DataFrame, checked: pl.DataFrame) -> None:
        if checked.height == 0:
            return
        for reasons in rules.reasons_list(checked["_reasons"]):
            self._count(reasons)
        self.frames.append(
            pl.DataFrame(
                {
                    "line": checked["_line"],
                    "record_key": raw[KEYS[self.f.entity]],
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
            frame.select("line", "record_key", reasons=rules.pg_array(pl.col("reason")), raw="raw")
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
                line="line",
                entity=pl.lit(self.f.entity),
                record_key="record_key",
                reasons="reasons",
                raw="raw",
            )
            copy_frame(conn, "sales.rejects", frame)

        return job


class _Months:
    """Monthly partitions of sales.orders, created as the data needs them."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query("sales", "order_partitions")).fetchall()
        self.existing = {str(r["name"]) for r in rows}

    def ensure(self, order_dates: pl.Series) -> None:
        months = order_dates.str.slice(0, 7).unique().drop_nulls().to_list()
        for month in sorted(months):
            name = f"orders_{month.replace('-', '_')}"
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
