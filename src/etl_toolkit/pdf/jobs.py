"""Extraction jobs: one per document processing, pending -> processing -> completed | failed.

Every status change is appended to docs.extraction_job_events by a trigger.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from etl_toolkit.db.history import History, fetch_models
from etl_toolkit.db.queries import fetch_all, fetch_one
from etl_toolkit.errors import NotFound
from etl_toolkit.ids import parse_uuid

JobStatus = Literal["pending", "processing", "completed", "failed"]
Conn = psycopg.Connection[Any]


class Job(BaseModel):
    id: uuid.UUID = Field(description="uuid4")
    document_id: str
    status: JobStatus
    priority: int = Field(ge=0, le=10)
    metadata: dict[str, Any] | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime


class JobEvent(BaseModel):
    id: int
    job_id: uuid.UUID
    from_status: JobStatus | None = Field(description="null for the job's creation")
    to_status: JobStatus
    error_message: str | None
    created_at: datetime


def parse_id(job_id: str | uuid.UUID) -> uuid.UUID:
    return parse_uuid(job_id, "extraction job")


def _one(conn: Conn, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    return fetch_one(conn, "jobs", name, params)


def create_job(
    conn: Conn, document_id: str, priority: int = 0, metadata: dict[str, Any] | None = None
) -> Job:
    row = _one(
        conn,
        "create",
        {
            "document_id": document_id,
            "priority": priority,
            "metadata": Jsonb(metadata) if metadata is not None else None,
        },
    )
    assert row is not None
    return Job.model_validate(row)


def get_job(conn: Conn, job_id: str | uuid.UUID) -> Job:
    row = _one(conn, "get", {"id": parse_id(job_id)})
    if row is None:
        raise NotFound(f"extraction job {job_id} not found")
    return Job.model_validate(row)


_KEEP = object()


def set_status(
    conn: Conn, job_id: str | uuid.UUID, status: JobStatus, error_message: Any = _KEEP
) -> Job:
    """Move a job to `status`; `error_message` is replaced only when given (None clears it)."""
    row = _one(
        conn,
        "update_status",
        {
            "id": parse_id(job_id),
            "status": status,
            "set_error": error_message is not _KEEP,
            "error_message": None if error_message is _KEEP else error_message,
        },
    )
    if row is None:
        raise NotFound(f"extraction job {job_id} not found")
    return Job.model_validate(row)


def fail_orphaned(conn: Conn) -> list[uuid.UUID]:
    """Fail the jobs whose load-pdf run ended (killed) before they did; their ids."""
    return [r["id"] for r in fetch_all(conn, "jobs", "fail_orphaned", {})]


def list_jobs(
    conn: Conn,
    *,
    document_id: str | None = None,
    status: JobStatus | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Job], int]:
    """A page of jobs in (created_at, id) order, and how many match in all."""
    params = {"document_id": document_id, "status": status, "limit": limit, "offset": offset}
    return fetch_models(conn, "jobs", "list", "count", params, Job)


# A job's history, oldest first: job_events (all of it unless `limit`) and
# job_events_page (a page, and how many events in all); NotFound when there is no such job.
_history = History("jobs", JobEvent, lambda conn, job_id: get_job(conn, job_id).id)
job_events = _history.all
job_events_page = _history.page
