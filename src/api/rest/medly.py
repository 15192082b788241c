"""Learning platform: users and their activity, lessons, papers, items."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from api.db import Conn
from api.openapi import ApiBlueprint, Page, Reply, nested_pages, paged, window
from api.types import JSON_OBJECT_SCHEMA, JsonObject, NonBlankText, Text
from etl_toolkit.db.queries import Window
from etl_toolkit.medly import read, write
from etl_toolkit.medly.read import Activity, Item, Lesson, Paper, UserProfile

bp = ApiBlueprint(
    "medly",
    __name__,
    tag="learning platform",
    path_docs={
        "uid": "The user's Firebase uid.",
        "lesson_id": "The lesson's lessonID, e.g. aqaGCSEBio0.0.11.",
        "paper_id": "The paper's paper_id, e.g. medlymockaqaGCSEBio_Sept_Mock1Higher.",
        "questionID": "The item's questionID, as attempts, papers and practice banks "
        "name it (its `question_ref` in bodies).",
    },
)
MAX_METADATA = 16 * 1024


class UserPatch(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Ada Lovelace"},
                {"metadata": {"school": "Hillside", "year": 11}},
            ],
            "minProperties": 1,
        }
    )

    name: NonBlankText | None = Field(default=None, min_length=1, max_length=200)
    # Optional, but not nullable: a user's metadata is an object (send {} to clear it).
    metadata: Annotated[JsonObject | None, WithJsonSchema(JSON_OBJECT_SCHEMA)] = Field(
        default=None, description="a JSON object, <= 16 KB"
    )

    @field_validator("metadata")
    @classmethod
    def _small(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None and len(json.dumps(v, ensure_ascii=False).encode()) > MAX_METADATA:
            raise ValueError("metadata must be at most 16 KB as JSON")
        return v

    @model_validator(mode="after")
    def _something(self) -> UserPatch:
        if not self.model_fields_set & {"name", "metadata"}:
            raise ValueError("give name and/or metadata")
        if "metadata" in self.model_fields_set and self.metadata is None:
            raise ValueError("metadata must be an object")
        return self


class ActivityQuery(Page):
    subject: Text | None = None
    paper: Text | None = None
    lesson: Text | None = None


@bp.operation("/users/<uid>", response=UserProfile, errors=(404,))
def get_user(conn: Conn, uid: str) -> UserProfile:
    """A user's profile

    A user's name, metadata, when they were first and last seen, how many attempts
    they made and in which subjects."""
    return read.user_profile(conn, uid)


@bp.operation("/users/<uid>", "PATCH", body=UserPatch, response=UserProfile, errors=(404,))
def patch_user(conn: Conn, uid: str, body: UserPatch) -> UserProfile:
    """Edit a user's name and/or metadata

    Give `name`, `metadata` or both; what is left out stays. `metadata` replaces
    the whole object (send `{}` to clear it)."""
    changes = {k: getattr(body, k) for k in body.model_fields_set & {"name", "metadata"}}
    return write.update_user(conn, uid, changes)


@bp.operation("/users/<uid>/activity", query=ActivityQuery, response=list[Activity], errors=(404,))
def user_activity(conn: Conn, uid: str, query: ActivityQuery) -> Reply:
    """A user's attempts, newest first

    Every attempt of the user, newest first, with the item's marks and lessons;
    filter by subject, paper or lesson."""
    items, total = read.user_activity(conn, uid, **query.args())
    return paged(items, total, query)


LessonQuery = nested_pages("LessonQuery", "practice_items", "exam_items")
PaperQuery = nested_pages("PaperQuery", "items")
ItemQuery = nested_pages("ItemQuery", "lessons", "appearances")


@bp.operation("/lessons/<lesson_id>", query=LessonQuery, response=Lesson, errors=(404,))
def get_lesson(conn: Conn, lesson_id: str, query: BaseModel) -> Lesson:
    """A lesson, its practice items and exam items

    A lesson of the course with a page of the practice items and a page of the exam
    items that assess it (each list paged on its own: `practice_items_limit` /
    `practice_items_offset`, `exam_items_limit` / `exam_items_offset`; the totals
    `practice_items_total` and `exam_items_total` count every page)."""
    return read.lesson(
        conn,
        lesson_id,
        practice=Window(*window(query, "practice_items")),
        exam=Window(*window(query, "exam_items")),
    )


@bp.operation("/papers/<paper_id>", query=PaperQuery, response=Paper, errors=(404,))
def get_paper(conn: Conn, paper_id: str, query: BaseModel) -> Paper:
    """A paper and its items in order

    An exam paper, its paper set (board, qualification, series) and a page of its
    items in paper order (`items_limit` / `items_offset`; `items_total` counts them all)."""
    return read.paper(conn, paper_id, items=Window(*window(query, "items")))


@bp.operation("/items/<questionID>", query=ItemQuery, response=Item, errors=(404,))
def get_item(conn: Conn, questionID: str, query: BaseModel) -> Item:
    """The canonical item with its lessons and appearances

    `questionID` is the id attempts, papers and practice banks share (the item's
    `question_ref`). With a page of the lessons it assesses and a page of the papers
    and practice banks it appears in (`lessons_limit` / `lessons_offset`,
    `appearances_limit` / `appearances_offset`; `lessons_total` and
    `appearances_total` count every page), and attempt statistics."""
    return read.item(
        conn,
        questionID,
        lessons=Window(*window(query, "lessons")),
        appearances=Window(*window(query, "appearances")),
    )
