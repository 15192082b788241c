"""/extraction-jobs: each document's extraction job, pending -> processing -> completed | failed."""

from __future__ import annotations

from flask import url_for
from pydantic import BaseModel, Field

from api.db import Conn
from api.openapi import ApiBlueprint, Page, Reply, paged
from api.types import JsonInt, JsonObject, NonBlankText, Text
from etl_toolkit.pdf import jobs
from etl_toolkit.pdf.jobs import Job, JobEvent, JobStatus

bp = ApiBlueprint(
    "jobs",
    __name__,
    tag="extraction jobs",
    path_docs={"job_id": "The job's id (a UUID, as POST /extraction-jobs answered)."},
)


class JobCreate(BaseModel):
    document_id: NonBlankText = Field(
        min_length=1, max_length=500, examples=["6f1d1c8e-5c3a-4d4b-9b1e-2f7a9c0e8d31"]
    )
    priority: JsonInt = Field(default=0, ge=0, le=10, description="0 (default) to 10")
    metadata: JsonObject | None = Field(default=None, description="any JSON object, <= 64 KB")


class JobUpdate(BaseModel):
    status: JobStatus
    error_message: Text | None = Field(
        default=None, description="replaces the message when present (null clears it)"
    )


class JobQuery(Page):
    document_id: Text | None = None
    status: JobStatus | None = None


@bp.operation("/extraction-jobs", "POST", body=JobCreate, response=Job, status=201)
def create_job(conn: Conn, body: JobCreate) -> Reply:
    """Create an extraction job

    The job starts `pending`; its creation is the first entry of its history."""
    job = jobs.create_job(conn, body.document_id, body.priority, body.metadata)
    return Reply(job, 201, {"Location": url_for("jobs.get_job", job_id=str(job.id))})


@bp.operation("/extraction-jobs", query=JobQuery, response=list[Job])
def list_jobs(conn: Conn, query: JobQuery) -> Reply:
    """List extraction jobs

    Filters combine; pages are in (created_at, id) order."""
    items, total = jobs.list_jobs(conn, **query.args())
    return paged(items, total, query)


@bp.operation("/extraction-jobs/<job_id>", response=Job, errors=(404,))
def get_job(conn: Conn, job_id: str) -> Job:
    """Get an extraction job

    A job: its document, status, priority, metadata and last error."""
    return jobs.get_job(conn, job_id)


@bp.operation("/extraction-jobs/<job_id>", "PATCH", body=JobUpdate, response=Job, errors=(404,))
def update_job(conn: Conn, job_id: str, body: JobUpdate) -> Job:
    """Change a job's status

    `updated_at` moves forward; a status change is appended to the job's history."""
    if "error_message" in body.model_fields_set:
        return jobs.set_status(conn, job_id, body.status, body.error_message)
    return jobs.set_status(conn, job_id, body.status)


@bp.operation(
    "/extraction-jobs/<job_id>/events", query=Page, response=list[JobEvent], errors=(404,)
)
def job_events(conn: Conn, job_id: str, query: Page) -> Reply:
    """A job's status history

    Every status change of the job, oldest first: its creation, then each move
    between pending, processing, completed and failed, with the error message."""
    events, total = jobs.job_events_page(conn, job_id, **query.args())
    return paged(events, total, query)
