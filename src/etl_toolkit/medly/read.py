"""Reads behind the learning-platform API: profiles, activity, lessons, papers, items.

Reads only; the API's one write (a user's name and metadata) is write.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict, Field

from etl_toolkit.db.queries import FIRST_PAGE, Window, fetch_all, fetch_one, fetch_page, query
from etl_toolkit.errors import NotFound

Conn = psycopg.Connection[Any]


def _example(example: dict[str, Any]) -> ConfigDict:
    """A model's example, shown in the OpenAPI document."""
    return ConfigDict(json_schema_extra={"examples": [example]})


USER_EXAMPLE = {
    "uid": "ey7gJgfOodjNKao7nIAWLWHlleZg",
    "name": "Ada Lovelace",
    "metadata": {"school": "Hillside"},
    "first_seen_at": "2025-09-01T08:00:00Z",
    "last_seen_at": "2025-11-24T05:00:00Z",
    "attempt_count": 212,
    "subjects": ["aqaGCSEBio"],
}
ACTIVITY_EXAMPLE = {
    "question_ref": "aqaGCSEBio_1_1_1_EBc0BgD11T",
    "paper_id": "medlymockaqaGCSEBio_Sept_Mock1Higher",
    "subject_id": "aqaGCSEBio",
    "created_at": "2025-10-10T02:06:00.894628Z",
    "updated_at": "2025-10-10T02:11:00Z",
    "is_marked": True,
    "user_mark": 2,
    "markmax": 3,
    "question_type": "long_answer",
    "item_known": True,
    "lessons": ["aqaGCSEBio0.0.11"],
}


class UserProfile(BaseModel):
    model_config = _example(USER_EXAMPLE)

    uid: str
    name: str | None
    metadata: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    attempt_count: int
    subjects: list[str]


class Activity(BaseModel):
    model_config = _example(ACTIVITY_EXAMPLE)

    question_ref: str = Field(description="the item's questionID")
    paper_id: str
    subject_id: str
    created_at: datetime
    updated_at: datetime | None
    is_marked: bool
    user_mark: int | None
    markmax: int | None
    question_type: str | None
    item_known: bool = Field(description="false: the questionID matches no known item")
    lessons: list[str]


class ItemSummary(BaseModel):
    question_ref: str
    question_id: str
    part: int | None
    question_type: str | None
    markmax: int | None
    difficulty: int | None
    text: str | None


class PaperItem(ItemSummary):
    question_number: int | None


class Lesson(BaseModel):
    lesson_id: str
    title: str
    lesson_index: int
    subject_id: str
    unit_index: int
    unit_title: str
    topic_index: int
    topic_title: str
    practice_items: list[ItemSummary] = Field(
        description="A page of them: practice_items_limit / practice_items_offset."
    )
    practice_items_total: int = Field(description="How many practice items, in all pages.")
    exam_items: list[ItemSummary] = Field(
        description="A page of them: exam_items_limit / exam_items_offset."
    )
    exam_items_total: int = Field(description="How many exam items, in all pages.")


class Paper(BaseModel):
    paper_id: str
    tier: str | None
    paper_number: str | None
    paper_set_key: str
    subject_id: str
    board: str | None
    qualification: str | None
    subject_title: str | None
    set_type: str | None
    series: str | None
    items: list[PaperItem] = Field(
        description="A page of them, in paper order: items_limit / items_offset."
    )
    items_total: int = Field(description="How many items, in all pages.")


class ItemLesson(BaseModel):
    lesson_ref: str
    resolved: bool
    via: str


class Appearance(BaseModel):
    source_kind: str
    source_id: str
    question_number: int | None
    part: int | None


class AttemptStats(BaseModel):
    attempts: int
    marked: int
    users: int
    mean_mark: float | None


class Item(BaseModel):
    question_ref: str
    question_id: str
    part: int | None
    question_type: str | None
    text: str | None
    stem: str | None
    markmax: int | None
    markscheme: str | None
    difficulty: int | None
    options: list[Any] | None
    correct_answer: Any
    specification_point: str | None
    lessons: list[ItemLesson] = Field(description="A page of them: lessons_limit / lessons_offset.")
    lessons_total: int = Field(description="How many lessons, in all pages.")
    appearances: list[Appearance] = Field(
        description="A page of the papers and practice banks it appears in: "
        "appearances_limit / appearances_offset."
    )
    appearances_total: int = Field(description="How many appearances, in all pages.")
    stats: AttemptStats


def _one(conn: Conn, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    return fetch_one(conn, "medly", name, params)


def _all(conn: Conn, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return fetch_all(conn, "medly", name, params)


def user_profile(conn: Conn, uid: str) -> UserProfile:
    row = _one(conn, "user_profile", {"uid": uid})
    if row is None:
        raise NotFound(f"user {uid!r} not found")
    return UserProfile.model_validate(row)


def user_activity(
    conn: Conn,
    uid: str,
    *,
    subject: str | None = None,
    paper: str | None = None,
    lesson: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Activity], int]:
    rows, total = fetch_page(
        conn,
        "medly",
        "user_activity",
        "user_activity_count",
        {
            "uid": uid,
            "subject": subject,
            "paper": paper,
            "lesson": lesson,
            "limit": limit,
            "offset": offset,
        },
    )
    if total == 0 and _one(conn, "user_exists", {"uid": uid}) is None:
        raise NotFound(f"user {uid!r} not found")
    return [Activity.model_validate(r) for r in rows], total


def _count(conn: Conn, name: str, params: dict[str, Any]) -> int:
    row = _one(conn, name, params)
    return int(row["total"]) if row else 0


def lesson(
    conn: Conn, lesson_id: str, *, practice: Window = FIRST_PAGE, exam: Window = FIRST_PAGE
) -> Lesson:
    """A lesson with a page of its practice items and a page of its exam items."""
    row = _one(conn, "lesson", {"lesson_id": lesson_id})
    if row is None:
        raise NotFound(f"lesson {lesson_id!r} not found")
    lists: dict[str, Any] = {}
    for via, window in (("practice", practice), ("exam", exam)):
        params = {"lesson_id": lesson_id, "via": via}
        lists[f"{via}_items"] = _all(conn, "lesson_items", {**params, **window._asdict()})
        lists[f"{via}_items_total"] = _count(conn, "lesson_items_count", params)
    return Lesson.model_validate({**row, **lists})


def paper(conn: Conn, paper_id: str, *, items: Window = FIRST_PAGE) -> Paper:
    """A paper with a page of its items in paper order."""
    row = _one(conn, "paper", {"paper_id": paper_id})
    if row is None:
        raise NotFound(f"paper {paper_id!r} not found")
    params = {"paper_id": paper_id}
    return Paper.model_validate(
        {
            **row,
            "items": _all(conn, "paper_items", {**params, **items._asdict()}),
            "items_total": _count(conn, "paper_items_count", params),
        }
    )


def item(
    conn: Conn,
    question_ref: str,
    *,
    lessons: Window = FIRST_PAGE,
    appearances: Window = FIRST_PAGE,
) -> Item:
    """An item with a page of its lessons and a page of its appearances; the totals
    come with the item's row."""
    params = {"question_ref": question_ref}
    # The three reads in one round trip (pipeline mode): this was the API's
    # slowest single lookup (issue 18).
    with (
        conn.pipeline(),
        conn.cursor(row_factory=dict_row) as head,
        conn.cursor(row_factory=dict_row) as in_lessons,
        conn.cursor(row_factory=dict_row) as in_bank,
    ):
        head.execute(query("medly", "item"), params)
        in_lessons.execute(query("medly", "item_lessons"), {**params, **lessons._asdict()})
        in_bank.execute(query("medly", "item_appearances"), {**params, **appearances._asdict()})
        row = head.fetchone()
        lesson_rows, appearance_rows = in_lessons.fetchall(), in_bank.fetchall()
    if row is None:
        raise NotFound(f"item {question_ref!r} not found")
    stats = {k: row.pop(k) for k in ("attempts", "marked", "users", "mean_mark")}
    return Item.model_validate(
        {**row, "lessons": lesson_rows, "appearances": appearance_rows, "stats": stats}
    )
