"""`etl medly`: the four JSON sources into schema medly, idempotently.

One transaction for the whole migration (a failed run leaves the previous state
intact). Files are parsed as streams (ijson): records go through parse.py into
staging temp tables by COPY in batches, skipped records into medly.skipped with
their reason. Then, entity by entity in foreign-key order: deduplicate in SQL
(the last occurrence wins; for items, the exam appearance is canonical),
resolve references (lessons, items), merge (`INSERT ... ON CONFLICT DO UPDATE
... WHERE IS DISTINCT FROM`: unchanged rows are not rewritten) and move
`last_seen_at` on every row seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ijson
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from etl_toolkit.db.connect import Database
from etl_toolkit.db.copy import copy_rows, create_staging, dedupe, merge, touch
from etl_toolkit.db.queries import query
from etl_toolkit.errors import InputError
from etl_toolkit.log import get_logger
from etl_toolkit.medly.parse import (
    ATTEMPT_COLUMNS,
    ITEM_COLUMNS,
    Skip,
    course_rows,
    parse_attempt,
    question_rows,
)
from etl_toolkit.runs import track_run

log = get_logger("etl_toolkit.medly")
BATCH = 20_000
EXAMPLES = 3


@dataclass(frozen=True)
class Entity:
    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]  # as staged (a leading subset of the target's, plus extras)
    order: str = "_ord DESC"  # which duplicate wins (first in this order)

    @property
    def table(self) -> str:
        return f"medly.{self.name}"


_PROV = ("source_file",)
ENTITIES = [
    # Subjects come from course files (id only) and exams files (board, title...):
    # the exams row (priority 0) wins.
    Entity(
        "subjects",
        ("subject_id",),
        ("subject_id", "board", "qualification", "title", *_PROV, "_priority"),
        order="_priority, _ord DESC",
    ),
    Entity("units", ("subject_id", "unit_index"), ("subject_id", "unit_index", "title", *_PROV)),
    Entity(
        "topics",
        ("subject_id", "unit_index", "topic_index"),
        ("subject_id", "unit_index", "topic_index", "title", *_PROV),
    ),
    Entity(
        "lessons",
        ("lesson_id",),
        ("lesson_id", "subject_id", "unit_index", "topic_index", "lesson_index", "title", *_PROV),
    ),
    Entity(
        "paper_sets",
        ("paper_set_key",),
        (
            "paper_set_key",
            "subject_id",
            "board",
            "qualification",
            "subject_title",
            "set_type",
            "series",
            *_PROV,
        ),
    ),
    Entity("papers", ("paper_id",), ("paper_id", "paper_set_key", "tier", "paper_number", *_PROV)),
    Entity(
        "practice_banks",
        ("lesson_id",),
        (
            "lesson_id",
            "original_lesson_id",
            "exam_board",
            "qualification",
            "subject",
            "unit_index",
            "unit_title",
            "topic_index",
            "topic_title",
            "lesson_index",
            "lesson_title",
            "lesson_resolved",
            *_PROV,
        ),
    ),
    Entity(
        "bank_chunks",
        ("lesson_id", "chunk_index"),
        ("lesson_id", "chunk_index", "chunk_title", *_PROV),
    ),
    Entity(
        "questions",
        ("question_id",),
        (
            "question_id",
            "paper_id",
            "bank_lesson_id",
            "question_number",
            "stem",
            "stem_diagram",
            "validation_comment",
            "validation_reason",
            *_PROV,
        ),
    ),
    Entity("items", ("question_ref",), tuple(ITEM_COLUMNS), order="_priority, _ord"),
    Entity(
        "item_appearances",
        ("question_ref", "source_kind", "source_id"),
        (
            "question_ref",
            "source_kind",
            "source_id",
            "question_id",
            "question_number",
            "part",
            *_PROV,
        ),
    ),
    Entity(
        "item_lessons",
        ("question_ref", "lesson_ref", "via"),
        ("question_ref", "lesson_ref", "via", *_PROV),
        order="_ord",
    ),
    Entity("users", ("uid",), ("uid", *_PROV)),
    Entity("attempts", ("uid", "paper_id", "question_ref"), tuple(ATTEMPT_COLUMNS)),
]
BY_NAME = {e.name: e for e in ENTITIES}
# Columns a merge writes but staging rows do not carry (filled by resolution queries).
RESOLVED = {"item_lessons": ("lesson_id",), "attempts": ("item_ref",)}


@dataclass
class EntityReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deduplicated: int = 0
    skipped: int = 0

    @property
    def balanced(self) -> bool:
        return self.read == (
            self.inserted + self.updated + self.unchanged + self.deduplicated + self.skipped
        )


@dataclass
class MigrationReport:
    data_dir: str
    entities: dict[str, EntityReport] = field(default_factory=dict)
    skip_reasons: dict[str, dict[str, Any]] = field(default_factory=dict)
    unresolved: dict[str, dict[str, Any]] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    run_id: int | None = None

    @property
    def changed(self) -> bool:
        return any(e.inserted or e.updated for e in self.entities.values())


@dataclass
class DataDir:
    root: Path
    user_data: Path
    subjects: list[str]

    def course(self, s: str) -> Path:
        return self.root / "curriculum_data" / f"{s}_course.json"

    def exams(self, s: str) -> Path:
        return self.root / "curriculum_data" / f"{s}_exams.json"

    def practices(self, s: str) -> Path:
        return self.root / "curriculum_data" / f"{s}_practices.json"


def discover(root: Path) -> DataDir:
    """The layout of shared/formats/medly.md; every missing file is named."""
    curriculum = root / "curriculum_data"
    user_data = root / "user_data" / "user_data.json"
    subjects = sorted(p.name[: -len("_course.json")] for p in curriculum.glob("*_course.json"))
    missing = [str(user_data)] if not user_data.is_file() else []
    if not subjects:
        missing.append(str(curriculum / "<subject>_course.json"))
    for s in subjects:
        for suffix in ("exams", "practices"):
            path = curriculum / f"{s}_{suffix}.json"
            if not path.is_file():
                missing.append(str(path))
    if missing:
        raise InputError(
            f"data dir {root} is incomplete: missing {', '.join(missing)}",
            hint="see shared/formats/medly.md for the layout, or pass --data-dir",
        )
    return DataDir(root, user_data, subjects)


class _Stager:
    """One staging temp table per entity, fed by COPY in batches."""

    def __init__(self, conn: psycopg.Connection[Any], entity: Entity) -> None:
        self.conn, self.entity = conn, entity
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0
        self.stage = f"stg_{entity.name}"
        cols = [c for c in entity.columns if not c.startswith("_")]
        extra = {"_ord": "bigint GENERATED ALWAYS AS IDENTITY"}
        if "_priority" in entity.columns or "_priority" in entity.order:
            extra["_priority"] = "smallint NOT NULL DEFAULT 0"
        create_staging(
            conn, entity.table, self.stage, [*cols, *RESOLVED.get(entity.name, ())], extra=extra
        )
        self.copy_columns = list(entity.columns)

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            copy_rows(self.conn, self.stage, self.copy_columns, self.rows)
            self.rows.clear()

    def finish(self, resolve: Callable[[], None] | None = None) -> EntityReport:
        self.flush()
        e = self.entity
        deduped = f"{self.stage}_d"
        dropped = dedupe(self.conn, source=self.stage, into=deduped, key=e.key, order_by=e.order)
        if resolve is not None:
            resolve()
        columns = [c for c in (*e.columns, *RESOLVED.get(e.name, ())) if not c.startswith("_")]
        counts = merge(self.conn, target=e.table, source=deduped, key=e.key, columns=columns)
        touch(self.conn, target=e.table, source=deduped, key=e.key)
        return EntityReport(
            read=self.count,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
            deduplicated=dropped,
        )


class _Skips:
    def __init__(self, conn: psycopg.Connection[Any], run_id: int, report: MigrationReport) -> None:
        self.conn, self.run_id, self.report = conn, run_id, report
        self.rows: list[tuple[Any, ...]] = []
        self.by_entity: dict[str, int] = {}

    def add(self, skip: Skip, source_file: str) -> None:
        self.by_entity[skip.entity] = self.by_entity.get(skip.entity, 0) + 1
        bucket = self.report.skip_reasons.setdefault(
            f"{skip.entity}: {skip.reason}", {"count": 0, "examples": []}
        )
        bucket["count"] += 1
        if len(bucket["examples"]) < EXAMPLES:
            bucket["examples"].append({"file": source_file, "key": skip.key})
        self.rows.append(
            (self.run_id, source_file, skip.entity, skip.key, skip.reason, Jsonb(skip.raw))
        )
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            copy_rows(
                self.conn,
                "medly.skipped",
                ["run_id", "source_file", "entity", "record_key", "reason", "raw"],
                self.rows,
            )
            self.rows.clear()


def _items(path: Path, prefix: str = "item") -> Iterator[Any]:
    with path.open("rb") as fp:
        try:
            yield from ijson.items(fp, prefix, use_float=True)
        except ijson.JSONError as exc:
            raise InputError(f"{path}: not valid JSON ({exc})") from None


def _targets(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open("rb") as fp:
        try:
            yield from ijson.kvitems(fp, "targets", use_float=True)
        except ijson.JSONError as exc:
            raise InputError(f"{path}: not valid JSON ({exc})") from None


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def migrate_medly(db: Database, data_dir: Path) -> MigrationReport:
    """Run the whole migration in one transaction; returns the report (stored with the run)."""
    started = time.perf_counter()
    dd = discover(data_dir)
    report = MigrationReport(str(data_dir))
    with track_run(db, "medly", {"data_dir": str(data_dir)}) as run:
        report.run_id = run.id
        with db.connect() as conn:
            conn.execute(query("medly", "tune_session"))
            stagers = {e.name: _Stager(conn, e) for e in ENTITIES}
            skips = _Skips(conn, run.id, report)
            t0 = time.perf_counter()
            _read_curriculum(dd, stagers, skips)
            report.stages["read curriculum"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            _read_user_data(dd, stagers, skips)
            skips.flush()
            report.stages["read user data"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            for e in ENTITIES:
                report.entities[e.name] = stagers[e.name].finish(_resolver(conn, e.name))
            for name, n in skips.by_entity.items():
                report.entities.setdefault(name, EntityReport()).skipped += n
                report.entities[name].read += n
            with conn.cursor(row_factory=dict_row) as cur:
                for row in cur.execute(query("medly", "unresolved")).fetchall():
                    if row["n"]:
                        report.unresolved[row["reference"]] = {
                            "count": int(row["n"]),
                            "examples": list(row["examples"] or []),
                        }
            report.stages["merge"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with db.connect(autocommit=True) as conn:
            conn.execute(query("medly", "vacuum"))
        report.stages["vacuum"] = time.perf_counter() - t0
        report.seconds = time.perf_counter() - started
        run.counts = {name: vars(e) for name, e in report.entities.items()}
        run.report = report_dict(report)
    log.info("medly migrated", seconds=round(report.seconds, 2), changed=report.changed)
    return report


def _resolver(conn: psycopg.Connection[Any], name: str) -> Callable[[], None] | None:
    names = {
        "practice_banks": "resolve_bank_lessons",
        "item_lessons": "resolve_item_lessons",
        "attempts": "resolve_attempt_items",
    }
    if name not in names:
        return None

    def run() -> None:
        conn.execute(query("medly", names[name]))

    return run


def _read_curriculum(dd: DataDir, st: dict[str, _Stager], skips: _Skips) -> None:
    for subject in dd.subjects:
        path = dd.course(subject)
        src = _rel(path, dd.root)
        st["subjects"].add((subject, None, None, None, src, 1))
        units, topics, lessons, bad = course_rows(subject, list(_items(path)), src)
        for row in units:
            st["units"].add(row)
        for row in topics:
            st["topics"].add(row)
        for row in lessons:
            st["lessons"].add(row)
        for s in bad:
            skips.add(s, src)
        _read_exams(dd, subject, st, skips)
        _read_practices(dd, subject, st, skips)


def _add_question(
    q: Any,
    st: dict[str, _Stager],
    skips: _Skips,
    src: str,
    *,
    paper_id: str | None = None,
    bank_lesson: str | None = None,
) -> None:
    parsed = question_rows(q, paper_id=paper_id, bank_lesson=bank_lesson, source_file=src)
    if isinstance(parsed, Skip):
        skips.add(parsed, src)
        return
    st["questions"].add(parsed.question)
    for row in parsed.items:
        st["items"].add(row)
    for row in parsed.appearances:
        st["item_appearances"].add(row)
    for row in parsed.lessons:
        st["item_lessons"].add(row)
    for s in parsed.skips:
        skips.add(s, src)


def _read_exams(dd: DataDir, subject: str, st: dict[str, _Stager], skips: _Skips) -> None:
    path = dd.exams(subject)
    src = _rel(path, dd.root)
    for ps in _items(path):
        if not isinstance(ps, dict) or not isinstance(ps.get("papers"), list):
            skips.add(
                Skip("paper_sets", "paper set is not an object with papers", subject, ps), src
            )
            continue
        sid = ps.get("subject_id") or subject
        key = f"{sid}/{ps.get('type')}/{ps.get('series')}"
        st["subjects"].add(
            (sid, ps.get("board_title"), ps.get("qualification"), ps.get("subject_title"), src, 0)
        )
        st["paper_sets"].add(
            (
                key,
                sid,
                ps.get("board_title"),
                ps.get("qualification"),
                ps.get("subject_title"),
                ps.get("type"),
                ps.get("series"),
                src,
            )
        )
        for paper in ps["papers"]:
            pid = paper.get("paper_id") if isinstance(paper, dict) else None
            if not isinstance(pid, str) or not pid:
                skips.add(Skip("papers", "paper_id missing", key, paper), src)
                continue
            st["papers"].add(
                (
                    pid,
                    key,
                    paper.get("tier"),
                    None if paper.get("paper") is None else str(paper.get("paper")),
                    src,
                )
            )
            questions = paper.get("questions")
            for q in questions if isinstance(questions, list) else []:
                _add_question(q, st, skips, src, paper_id=pid)


def _read_practices(dd: DataDir, subject: str, st: dict[str, _Stager], skips: _Skips) -> None:
    path = dd.practices(subject)
    src = _rel(path, dd.root)
    for bank in _items(path):
        lid = bank.get("lessonID") if isinstance(bank, dict) else None
        if not isinstance(lid, str) or not lid:
            skips.add(Skip("practice_banks", "lessonID missing", subject, bank), src)
            continue
        ints = {
            k: bank.get(k) if isinstance(bank.get(k), int) else None
            for k in ("unit_index", "topic_index", "lesson_index")
        }
        st["practice_banks"].add(
            (
                lid,
                bank.get("original_lessonID"),
                bank.get("exam_board"),
                bank.get("qualification"),
                bank.get("subject"),
                ints["unit_index"],
                bank.get("unit_title"),
                ints["topic_index"],
                bank.get("topic_title"),
                ints["lesson_index"],
                bank.get("lesson_title"),
                False,
                src,
            )
        )
        chunks = bank.get("chunks_used")
        for chunk in chunks if isinstance(chunks, list) else []:
            if isinstance(chunk, dict) and isinstance(chunk.get("chunk_index"), int):
                st["bank_chunks"].add((lid, chunk["chunk_index"], chunk.get("chunk_title"), src))
            else:
                skips.add(
                    Skip("bank_chunks", "chunk without an integer chunk_index", lid, chunk), src
                )
        questions = bank.get("items")
        for q in questions if isinstance(questions, list) else []:
            _add_question(q, st, skips, src, bank_lesson=lid)


def _read_user_data(dd: DataDir, st: dict[str, _Stager], skips: _Skips) -> None:
    src = _rel(dd.user_data, dd.root)
    for path, rec in _targets(dd.user_data):
        row = parse_attempt(path, rec, src)
        if isinstance(row, Skip):
            skips.add(row, src)
            continue
        st["attempts"].add(row)
        st["users"].add((row[0], src))


def report_dict(r: MigrationReport) -> dict[str, Any]:
    return {
        "data_dir": r.data_dir,
        "entities": {k: {**vars(v), "balanced": v.balanced} for k, v in r.entities.items()},
        "skip_reasons": r.skip_reasons,
        "unresolved": r.unresolved,
        "stages_seconds": {k: round(v, 3) for k, v in r.stages.items()},
        "seconds": round(r.seconds, 3),
        "changed": r.changed,
    }
