"""Status histories: the extraction jobs (docs) and the anonymisation tasks (tasks)
both move through states guarded in SQL, and a trigger appends every change to an
events table. Their histories read the same way: one reader for both.

A domain's queries file names the two queries `events` (a page of one entity's
events, oldest first, with `count(*) OVER () AS total`; a NULL limit reads all)
and `events_count`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from etl_toolkit.db.queries import fetch_page

M = TypeVar("M", bound=BaseModel)


def fetch_models(
    conn: Any,
    domain: str,
    list_query: str,
    count_query: str,
    params: dict[str, Any],
    model: type[M],
) -> tuple[list[M], int]:
    """A page of a list query as models, and how many match in all (see fetch_page)."""
    rows, total = fetch_page(conn, domain, list_query, count_query, params)
    return [model.model_validate(r) for r in rows], total


@dataclass(frozen=True)
class History(Generic[M]):
    """The events of one kind of entity, read from `domain`'s events queries.

    `resolve` turns the id a caller gives into the entity's id, raising NotFound
    when there is no such entity (an empty history is not a missing entity)."""

    domain: str
    model: type[M]
    resolve: Callable[[Any, str | uuid.UUID], uuid.UUID]

    def page(
        self, conn: Any, entity_id: str | uuid.UUID, *, limit: int | None, offset: int
    ) -> tuple[list[M], int]:
        """A page of the entity's events, oldest first, and how many it has in all."""
        params = {"id": self.resolve(conn, entity_id), "limit": limit, "offset": offset}
        return fetch_models(conn, self.domain, "events", "events_count", params, self.model)

    def all(
        self, conn: Any, entity_id: str | uuid.UUID, *, limit: int | None = None, offset: int = 0
    ) -> list[M]:
        """The entity's history, oldest first (all of it unless `limit`)."""
        return self.page(conn, entity_id, limit=limit, offset=offset)[0]
