"""Reads behind the learning-platform API: profiles, activity, lessons, papers, items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field

from etl_toolkit.db.queries import fetch_all, fetch_one, fetch_page
from etl_toolkit.errors import NotFound

Conn = psycopg.Connection[Any]


class UserProfile(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "uid": "ey7gJgfOodjNKao7nIAWLWHlleZg",
                    "name": "Ada Lovelace",
                    "metadata": {"school": "Hillside"},
                    "first_seen_at": "2025-09-01T08:00:00Z",
                    "last_seen_at": "2025-11-24T05:00:00Z",
                    "attempt_count": 212,
                    "subjects": ["aqaGCSEBio"],
                }
            ]
        }
    )

    uid: str
    name: str | None
    metadata: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    attempt_count: int
    subjects: list[str]


class Activity(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
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
            ]
        }
    )

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
    practice_items: list[ItemSummary]
    practice_total: int
    exam_items: list[ItemSummary]


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
    items: list[PaperItem]


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
    lessons: list[ItemLesson]
    appearances: list[Appearance]
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


def update_user(conn: Conn, uid: str, changes: dict[str, Any]) -> UserProfile:
    """Apply `name` and/or `metadata` when present in `changes`."""
    done = _one(
        conn,
        "update_user",
        {
            "uid": uid,
            "set_name": "name" in changes,
            "name": changes.get("name"),
            "set_metadata": "metadata" in changes,
            "metadata": Jsonb(changes["metadata"]) if "metadata" in changes else None,
        },
    )
    if done is None:
        raise NotFound(f"user {uid!r} not found")
    return user_profile(conn, uid)


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


def lesson(conn: Conn, lesson_id: str, *, limit: int = 20, offset: int = 0) -> Lesson:
    row = _one(conn, "lesson", {"lesson_id": lesson_id})
    if row is None:
        raise NotFound(f"lesson {lesson_id!r} not found")
    practice = _all(
        conn,
        "lesson_items",
        {"lesson_id": lesson_id, "via": "practice", "limit": limit, "offset": offset},
    )
    total = _one(conn, "lesson_items_count", {"lesson_id": lesson_id, "via": "practice"})
    exam = _all(
        conn, "lesson_items", {"lesson_id": lesson_id, "via": "exam", "limit": 1000, "offset": 0}
    )
    return Lesson.model_validate(
        {
            **row,
            "practice_items": practice,
            "exam_items": exam,
            "practice_total": int(total["total"]) if total else 0,
        }
    )


def paper(conn: Conn, paper_id: str) -> Paper:
    row = _one(conn, "paper", {"paper_id": paper_id})
    if row is None:
        raise NotFound(f"paper {paper_id!r} not found")
    return Paper.model_validate({**row, "items": _all(conn, "paper_items", {"paper_id": paper_id})})


def item(conn: Conn, question_ref: str) -> Item:
    row = _one(conn, "item", {"question_ref": question_ref})
    if row is None:
        raise NotFound(f"item {question_ref!r} not found")
    stats = {k: row.pop(k) for k in ("attempts", "marked", "users", "mean_mark")}
    return Item.model_validate({**row, "stats": stats})
