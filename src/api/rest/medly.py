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

from api.db import api_db
from api.openapi import ApiBlueprint, Page, Reply, paged
from api.types import JSON_OBJECT_SCHEMA, JsonObject, NonBlankText, Text
from etl_toolkit.medly import read
from etl_toolkit.medly.read import Activity, Item, Lesson, Paper, UserProfile

bp = ApiBlueprint("medly", __name__, tag="learning platform")
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


@bp.operation("/users/<uid>", summary="A user's profile", response=UserProfile, errors=(404,))
def get_user(uid: str) -> UserProfile:
    """`uid` is the Firebase uid."""
    with api_db().connection() as conn:
        return read.user_profile(conn, uid)


@bp.operation(
    "/users/<uid>",
    "PATCH",
    summary="Edit a user's name and/or metadata",
    body=UserPatch,
    response=UserProfile,
    errors=(404,),
)
def patch_user(uid: str, body: UserPatch) -> UserProfile:
    changes = {k: getattr(body, k) for k in body.model_fields_set & {"name", "metadata"}}
    with api_db().connection() as conn:
        return read.update_user(conn, uid, changes)


@bp.operation(
    "/users/<uid>/activity",
    summary="A user's attempts, newest first",
    query=ActivityQuery,
    response=list[Activity],
    errors=(404,),
)
def user_activity(uid: str, query: ActivityQuery) -> Reply:
    with api_db().connection() as conn:
        items, total = read.user_activity(
            conn,
            uid,
            subject=query.subject,
            paper=query.paper,
            lesson=query.lesson,
            limit=query.limit,
            offset=query.offset,
        )
    return paged(items, total, query)


@bp.operation(
    "/lessons/<lesson_id>",
    summary="A lesson, its practice items and exam items",
    query=Page,
    response=Lesson,
    errors=(404,),
)
def get_lesson(lesson_id: str, query: Page) -> Lesson:
    """Practice items are paginated with limit/offset; `practice_total` counts them all."""
    with api_db().connection() as conn:
        return read.lesson(conn, lesson_id, limit=query.limit, offset=query.offset)


@bp.operation(
    "/papers/<paper_id>", summary="A paper and its items in order", response=Paper, errors=(404,)
)
def get_paper(paper_id: str) -> Paper:
    with api_db().connection() as conn:
        return read.paper(conn, paper_id)


@bp.operation(
    "/items/<question_ref>",
    summary="The canonical item with its appearances",
    response=Item,
    errors=(404,),
)
def get_item(question_ref: str) -> Item:
    """`question_ref` is the questionID shared by attempts, papers and practice banks."""
    with api_db().connection() as conn:
        return read.item(conn, question_ref)
