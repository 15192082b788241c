"""The medly sources into staging tables, then merged entity by entity (see pipeline.py)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import ijson
import psycopg
from psycopg.rows import dict_row

from etl_toolkit.db.copy import copy_rows, create_staging, dedupe, merge, touch
from etl_toolkit.db.queries import query
from etl_toolkit.errors import InputError
from etl_toolkit.medly.parse import (
    ATTEMPT_COLUMNS,
    ITEM_COLUMNS,
    Cleaned,
    Skip,
    bank_row,
    chunk_row,
    course_rows,
    own_key,
    paper_row,
    parse_attempt,
    pointer,
    question_rows,
    raw_json,
)
from etl_toolkit.medly.report import EntityReport, FileCounts, MigrationReport
from etl_toolkit.progress import Reporter

T = TypeVar("T")
BATCH = 20_000
# Records between two progress reports of a file (a report costs a tell()).
PROGRESS_EVERY = 5_000
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
    """The layout of docs/formats/medly.md; every missing file is named."""
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
            hint="see docs/formats/medly.md for the layout, or pass --data-dir",
        )
    return DataDir(root, user_data, subjects)


class Stager:
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


SKIP_COLUMNS = [
    "run_id",
    "source_file",
    "source_sha256",
    "entity",
    "record_key",
    "position",
    "reason",
    "raw",
]


class Skips:
    """Skipped records: counted in the report, staged, then stored once per record."""

    def __init__(
        self, conn: psycopg.Connection[Any], run_id: int, report: MigrationReport, root: Path
    ) -> None:
        self.conn, self.run_id, self.report, self.root = conn, run_id, report, root
        self.rows: list[tuple[Any, ...]] = []
        self.by_entity: dict[str, int] = {}
        self.sha: dict[str, str] = {}
        extra = {"_ord": "bigint GENERATED ALWAYS AS IDENTITY"}
        create_staging(conn, "medly.skipped", "stg_skipped", SKIP_COLUMNS, extra=extra)

    def cleaned(self, source_file: str) -> Cleaned:
        """The counter of normalised integers for this file (the parsers add to it)."""
        return self.report.cleaned.setdefault(source_file, Counter())

    def accepted(self, source_file: str, n: int = 1) -> None:
        """Records of the file that passed (0: the file is known, even when empty)."""
        self.report.files.setdefault(source_file, FileCounts()).records += n

    def _sha(self, source_file: str) -> str:
        if source_file not in self.sha:
            with (self.root / source_file).open("rb") as fp:
                self.sha[source_file] = hashlib.file_digest(fp, "sha256").hexdigest()
        return self.sha[source_file]

    def add(self, skip: Skip, source_file: str) -> None:
        self.by_entity[skip.entity] = self.by_entity.get(skip.entity, 0) + 1
        reason = f"{skip.entity}: {skip.reason}"
        counts = self.report.files.setdefault(source_file, FileCounts())
        counts.records += 1
        counts.skipped += 1
        counts.reasons[reason] += 1
        bucket = self.report.skip_reasons.setdefault(reason, {"count": 0, "examples": []})
        bucket["count"] += 1
        if len(bucket["examples"]) < EXAMPLES:
            # The record's own key and its JSON Pointer: what finds it in the file.
            bucket["examples"].append(
                {"file": source_file, "key": skip.key, "position": skip.position}
            )
        self.rows.append(
            (
                self.run_id,
                source_file,
                self._sha(source_file),
                skip.entity,
                skip.key,
                skip.position,
                skip.reason,
                raw_json(skip.raw),
            )
        )
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            copy_rows(self.conn, "stg_skipped", SKIP_COLUMNS, self.rows)
            self.rows.clear()

    def store(self) -> dict[str, int]:
        self.flush()
        with self.conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(query("medly", "store_skipped")).fetchone()
        assert row is not None
        return {"stored": int(row["stored"]), "already stored": int(row["known"])}


UTF8_BOM = b"\xef\xbb\xbf"
# Longest first: a UTF-32 little-endian mark starts with the UTF-16 one.
_OTHER_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32 (little-endian)",
    b"\x00\x00\xfe\xff": "UTF-32 (big-endian)",
    b"\xff\xfe": "UTF-16 (little-endian)",
    b"\xfe\xff": "UTF-16 (big-endian)",
}
HEAD = 16


@contextmanager
def open_json(path: Path) -> Iterator[BinaryIO]:
    """The file for ijson, past a leading UTF-8 byte order mark (Windows tools write
    one; JSON parsers refuse it, the sales CSVs accept it). A UTF-16 or UTF-32 file
    is refused naming its encoding: JSON files are UTF-8 (RFC 8259)."""
    with path.open("rb") as fp:
        head = fp.read(4)
        for bom, encoding in _OTHER_BOMS.items():
            if head.startswith(bom):
                raise InputError(
                    f"{path}: the file is {encoding} (it starts with a byte order mark), "
                    "expected UTF-8",
                    hint="save it as UTF-8 (with or without a byte order mark)",
                )
        fp.seek(len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0)
        yield fp


def _not_json(path: Path, exc: Exception, fp: BinaryIO | None = None) -> InputError:
    """`not valid JSON`; when the very start is wrong, what the file starts with
    (bytes as Python writes them: b'\\x89PNG...'), so an undecodable start says what it is."""
    if fp is not None:
        fp.seek(0)
        fp.seek(len(UTF8_BOM) if fp.read(3) == UTF8_BOM else 0)
        start = fp.read(HEAD)
        found = f"it starts with {start!r}" if start else "the file is empty"
        # The parser's own message quotes the start across several lines; its first line
        # says what is wrong, the bytes above show what was found.
        said = exc.args[0] if exc.args else exc
        said = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
        return InputError(
            f"{path}: not valid JSON, {found} ({(said.strip().splitlines() or ['?'])[0]})",
            hint="the file must be JSON in UTF-8: see docs/formats/medly.md",
        )
    return InputError(f"{path}: not valid JSON ({exc})")


# Numbers are read as the parser gives them without use_float: int, or Decimal for
# any other spelling. parse.json_int then sees `3.0` as written, and `1e400`
# (which overflows a float and made the C parser fail the whole file) is one
# record refused with its reason.
def _items(path: Path, prefix: str = "item", reporter: Reporter | None = None) -> Iterator[Any]:
    with open_json(path) as fp:
        try:
            yield from _reported(ijson.items(fp, prefix), fp, reporter)
        except ijson.JSONError as exc:
            raise _not_json(path, exc) from None


def _targets(path: Path, reporter: Reporter | None = None) -> Iterator[tuple[str, Any]]:
    with open_json(path) as fp:
        try:
            yield from _reported(ijson.kvitems(fp, "targets"), fp, reporter)
        except ijson.JSONError as exc:
            raise _not_json(path, exc) from None


def _reported(records: Iterator[T], fp: BinaryIO, reporter: Reporter | None) -> Iterator[T]:
    """The records, with the records done and the file's position reported every
    PROGRESS_EVERY records (the parser reads ahead by its buffer: about right)."""
    if reporter is None or reporter.progress is None:
        yield from records
        return
    n = 0
    for record in records:
        yield record
        n += 1
        if n == PROGRESS_EVERY:
            reporter.advance(n, bytes_done=fp.tell())
            n = 0
    reporter.advance(n, bytes_done=fp.tell())


_KINDS = {
    "start_map": "an object",
    "start_array": "an array",
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}
USER_DATA_SHAPE = 'an object {"targets": {<document path>: <attempt>, ...}}'


def _shape_error(path: Path, where: str, event: str, expected: str) -> InputError:
    return InputError(
        f"{path}: {where} is {_KINDS.get(event, event)}, expected {expected}",
        hint="see docs/formats/medly.md for the shape of each file",
    )


def check_shape(path: Path, expected: str) -> None:
    """Refuse a file whose top level is not what the format says, before anything
    is written (issue 13, section 4: an array of users read as 0 users and
    "nothing changed"). Streams: it reads the first event, and for user data
    only as far as the `targets` key."""
    with open_json(path) as fp:
        try:
            events = ijson.parse(fp)
            try:
                _, event, _ = next(events)
            except ijson.JSONError as exc:
                raise _not_json(path, exc, fp) from None
            if expected != "targets":
                if event != "start_array":
                    raise _shape_error(path, "top level", event, f"an array of {expected}")
                return
            if event != "start_map":
                raise _shape_error(path, "top level", event, USER_DATA_SHAPE)
            for prefix, event, value in events:
                if prefix == "" and event == "map_key" and value == "targets":
                    _, event, _ = next(events)
                    if event != "start_map":
                        raise _shape_error(
                            path, '"targets"', event, "an object mapping document paths to attempts"
                        )
                    return
            raise InputError(
                f'{path}: the top-level object has no key "targets", expected {USER_DATA_SHAPE}',
                hint="see docs/formats/medly.md for the shape of each file",
            )
        except ijson.JSONError as exc:
            raise _not_json(path, exc) from None
        except StopIteration:
            raise InputError(f"{path}: not valid JSON (it ends too early)") from None


def check_shapes(dd: DataDir) -> None:
    check_shape(dd.user_data, "targets")
    for subject in dd.subjects:
        check_shape(dd.course(subject), "units")
        check_shape(dd.exams(subject), "paper sets")
        check_shape(dd.practices(subject), "practice banks")


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def unresolved(conn: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
    """References this run kept without a target: how many, a few examples each."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query("medly", "unresolved")).fetchall()
    return {
        row["reference"]: {"count": int(row["n"]), "examples": list(row["examples"] or [])}
        for row in rows
        if row["n"]
    }


def resolver(conn: psycopg.Connection[Any], name: str) -> Callable[[], None] | None:
    names = {
        "subjects": "keep_subject_attributes",
        "items": "keep_exam_items",
        "practice_banks": "resolve_bank_lessons",
        "item_lessons": "resolve_item_lessons",
        "attempts": "resolve_attempt_items",
    }
    if name not in names:
        return None

    def run() -> None:
        conn.execute(query("medly", names[name]))

    return run


def _start(reporter: Reporter, path: Path, src: str) -> None:
    if reporter.progress is not None:
        reporter.start(src, "read", bytes_total=path.stat().st_size)


def read_curriculum(dd: DataDir, st: dict[str, Stager], skips: Skips, reporter: Reporter) -> None:
    for subject in dd.subjects:
        path = dd.course(subject)
        src = _rel(path, dd.root)
        _start(reporter, path, src)
        st["subjects"].add((subject, None, None, None, src, 1))
        units, topics, lessons, bad = course_rows(
            subject, list(_items(path, reporter=reporter)), src, skips.cleaned(src)
        )
        skips.accepted(src, len(units) + len(topics) + len(lessons))
        for row in units:
            st["units"].add(row)
        for row in topics:
            st["topics"].add(row)
        for row in lessons:
            st["lessons"].add(row)
        for s in bad:
            skips.add(s, src)
        reporter.finish()
        read_exams(dd, subject, st, skips, reporter)
        read_practices(dd, subject, st, skips, reporter)


def _add_question(
    q: Any,
    st: dict[str, Stager],
    skips: Skips,
    src: str,
    position: str,
    *,
    paper_id: str | None = None,
    bank_lesson: str | None = None,
) -> None:
    parsed = question_rows(
        q,
        paper_id=paper_id,
        bank_lesson=bank_lesson,
        source_file=src,
        position=position,
        cleaned=skips.cleaned(src),
    )
    if isinstance(parsed, Skip):
        skips.add(parsed, src)
        return
    skips.accepted(src, 1 + len(parsed.items))
    st["questions"].add(parsed.question)
    for row in parsed.items:
        st["items"].add(row)
    for row in parsed.appearances:
        st["item_appearances"].add(row)
    for row in parsed.lessons:
        st["item_lessons"].add(row)
    for s in parsed.skips:
        skips.add(s, src)


def read_exams(
    dd: DataDir, subject: str, st: dict[str, Stager], skips: Skips, reporter: Reporter
) -> None:
    path = dd.exams(subject)
    src = _rel(path, dd.root)
    _start(reporter, path, src)
    cleaned = skips.cleaned(src)
    skips.accepted(src, 0)
    for i, ps in enumerate(_items(path, reporter=reporter)):
        if not isinstance(ps, dict) or not isinstance(ps.get("papers"), list):
            key = own_key(ps, "subject_id", "type", "series")
            why = "paper set is not an object with papers"
            skips.add(Skip("paper_sets", why, key, ps, pointer(i)), src)
            continue
        skips.accepted(src)
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
        for j, paper in enumerate(ps["papers"]):
            at = pointer(i, "papers", j)
            row = paper_row(paper, key, src, at, cleaned)
            if isinstance(row, Skip):
                skips.add(row, src)
                continue
            skips.accepted(src)
            st["papers"].add(row)
            questions = paper.get("questions")
            for k, q in enumerate(questions if isinstance(questions, list) else []):
                _add_question(q, st, skips, src, f"{at}/questions/{k}", paper_id=row[0])
    reporter.finish()


def read_practices(
    dd: DataDir, subject: str, st: dict[str, Stager], skips: Skips, reporter: Reporter
) -> None:
    path = dd.practices(subject)
    src = _rel(path, dd.root)
    _start(reporter, path, src)
    cleaned = skips.cleaned(src)
    skips.accepted(src, 0)
    for i, bank in enumerate(_items(path, reporter=reporter)):
        row = bank_row(bank, subject, src, pointer(i), cleaned)
        if isinstance(row, Skip):
            skips.add(row, src)
            continue
        skips.accepted(src)
        lid = row[0]
        st["practice_banks"].add(row)
        chunks = bank.get("chunks_used")
        for c, chunk in enumerate(chunks if isinstance(chunks, list) else []):
            chunk_or_skip = chunk_row(chunk, lid, src, pointer(i, "chunks_used", c), cleaned)
            if isinstance(chunk_or_skip, Skip):
                skips.add(chunk_or_skip, src)
            else:
                skips.accepted(src)
                st["bank_chunks"].add(chunk_or_skip)
        questions = bank.get("items")
        for k, q in enumerate(questions if isinstance(questions, list) else []):
            _add_question(q, st, skips, src, pointer(i, "items", k), bank_lesson=lid)
    reporter.finish()


def read_user_data(dd: DataDir, st: dict[str, Stager], skips: Skips, reporter: Reporter) -> None:
    src = _rel(dd.user_data, dd.root)
    _start(reporter, dd.user_data, src)
    cleaned = skips.cleaned(src)
    skips.accepted(src, 0)
    for path, rec in _targets(dd.user_data, reporter):
        row = parse_attempt(path, rec, src, cleaned)
        if isinstance(row, Skip):
            skips.add(row, src)
            continue
        skips.accepted(src)
        st["attempts"].add(row)
        st["users"].add((row[0], src))
    reporter.finish()
