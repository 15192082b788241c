"""The records the parsers make: one named tuple per medly entity.

A record's fields are its staging table's columns, in COPY order: the parsers
build them by name, the stager copies them as they are (a tuple: COPY writes it
with no conversion, which matters at a million attempts). `priority` is staged
as `_priority`, a column the target table does not have (a NamedTuple field
cannot start with an underscore).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

# Fields staged under another name (see the module's docstring).
STAGED_AS = {"priority": "_priority"}


def staged_columns(record: type[tuple[Any, ...]]) -> tuple[str, ...]:
    """The staging columns of a record type, in its fields' order."""
    fields: tuple[str, ...] = record._fields  # type: ignore[attr-defined]
    return tuple(STAGED_AS.get(f, f) for f in fields)


class Subject(NamedTuple):
    subject_id: str
    board: str | None
    qualification: str | None
    title: str | None
    source_file: str
    priority: int  # 0: from an exams file (it wins), 1: from a course file (the id only)


class Unit(NamedTuple):
    subject_id: str
    unit_index: int
    title: str
    source_file: str


class Topic(NamedTuple):
    subject_id: str
    unit_index: int
    topic_index: int
    title: str
    source_file: str


class Lesson(NamedTuple):
    lesson_id: str
    subject_id: str
    unit_index: int
    topic_index: int
    lesson_index: int
    title: str
    source_file: str


class PaperSet(NamedTuple):
    paper_set_key: str
    subject_id: str
    board: Any
    qualification: Any
    subject_title: Any
    set_type: Any
    series: Any
    source_file: str


class Paper(NamedTuple):
    paper_id: str
    paper_set_key: str
    tier: Any
    paper_number: str | None
    source_file: str


class PracticeBank(NamedTuple):
    lesson_id: str
    original_lesson_id: Any
    exam_board: Any
    qualification: Any
    subject: Any
    unit_index: int | None
    unit_title: Any
    topic_index: int | None
    topic_title: Any
    lesson_index: int | None
    lesson_title: Any
    lesson_resolved: bool  # settled in SQL (resolve_bank_lessons)
    source_file: str


class BankChunk(NamedTuple):
    lesson_id: str
    chunk_index: int
    chunk_title: Any
    source_file: str


class Question(NamedTuple):
    question_id: str
    paper_id: str | None
    bank_lesson_id: str | None
    question_number: int | None
    stem: str | None
    stem_diagram: str | None  # JSON text
    validation_comment: str | None
    validation_reason: str | None
    source_file: str


class Item(NamedTuple):
    question_ref: str
    question_id: str
    part: int | None
    question_type: str | None
    text: str | None
    markmax: int | None
    markscheme: str | None
    difficulty: int | None
    options: str | None  # JSON text
    correct_answer: str | None  # JSON text
    specification_point: str | None
    diagram: str | None  # JSON text
    extra: str | None  # JSON text: the fields the format does not name
    source_file: str
    priority: int  # 0: from a paper (the canonical appearance), 1: from a practice bank


class ItemAppearance(NamedTuple):
    question_ref: str
    source_kind: str  # paper | practice
    source_id: str | None
    question_id: str
    question_number: int | None
    part: int | None
    source_file: str


class ItemLesson(NamedTuple):
    question_ref: str
    lesson_ref: str
    via: str  # exam | practice
    source_file: str


class User(NamedTuple):
    uid: str
    source_file: str


class Attempt(NamedTuple):
    uid: str
    paper_id: str
    question_ref: str
    subject_id: str
    created_at: datetime
    updated_at: datetime | None
    is_marked: bool
    user_mark: int | None
    user_answer: str | None
    annotated_answer: str | None
    marking_table: str | None
    options: str | None  # JSON text
    canvas: str | None  # JSON text
    extra: str | None  # JSON text: the fields the format does not name
    source_file: str


class SkippedRecord(NamedTuple):
    """A row of medly.skipped."""

    run_id: int
    source_file: str
    source_sha256: str
    entity: str
    record_key: str | None
    position: str
    reason: str
    raw: str  # JSON text
