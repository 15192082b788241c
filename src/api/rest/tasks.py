"""/task: media anonymisation tasks. REST models here, converted to and from the storage
layer's (fields of the same name carry over, the renamed and regrouped ones are spelled
out); processors get the processor layer's models."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import url_for
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, model_validator

from api.db import Conn
from api.openapi import ApiBlueprint, Page, Reply, paged
from api.types import NonBlankText, Text
from etl_toolkit.tasks import queue, read
from etl_toolkit.tasks.processor import ProcessorReport, ProcessorTask
from etl_toolkit.tasks.storage import (
    MediaType,
    NewTaskRow,
    ObjectClass,
    TaskEventRow,
    TaskRow,
    TaskStatus,
)

bp = ApiBlueprint(
    "tasks",
    __name__,
    tag="anonymisation tasks",
    path_docs={"task_id": "The task's id (a UUID, as POST /task answered)."},
)
S3_URI_PATTERN = r"^s3://[^/\u0000]+/[^\u0000]+$"

# ---- REST models ----------------------------------------------------------------------------


# The object's location is `uri`, or `bucket` and `key`, never both: stated in the
# document (oneOf), so a client generated from it builds a body we accept.
_LOCATION_ONE_OF: list[JsonValue] = [
    {
        "title": "by uri",
        "required": ["uri"],
        "properties": {
            "uri": {"type": "string"},
            "bucket": {"type": "null"},
            "key": {"type": "null"},
        },
    },
    {
        "title": "by bucket and key",
        "required": ["bucket", "key"],
        "properties": {
            "uri": {"type": "null"},
            "bucket": {"type": "string"},
            "key": {"type": "string"},
        },
    },
]


class TaskRequest(BaseModel):
    """Processing information for one uploaded object: where it is and what to anonymise."""

    model_config = ConfigDict(json_schema_extra={"oneOf": _LOCATION_ONE_OF})

    uri: Text | None = Field(
        default=None,
        description="s3://bucket/key (or give bucket and key)",
        examples=["s3://uploads/2025/03/street.jpg"],
        json_schema_extra={"pattern": S3_URI_PATTERN},
    )
    bucket: NonBlankText | None = Field(default=None, max_length=255)
    key: NonBlankText | None = Field(default=None, max_length=1024)
    media_type: MediaType
    file_name: NonBlankText = Field(max_length=1024)
    classes: list[ObjectClass] = Field(min_length=1, description="object classes to anonymise")
    size_bytes: int | None = Field(default=None, ge=0, le=2**62)
    uploaded_at: AwareDatetime | None = Field(default=None, description="default: now")

    @model_validator(mode="after")
    def _location(self) -> TaskRequest:
        if self.uri is not None:
            if self.bucket is not None or self.key is not None:
                raise ValueError("give either uri or bucket and key, not both")
            scheme, sep, rest = self.uri.partition("://")
            bucket, slash, key = rest.partition("/")
            if scheme != "s3" or not sep or not bucket or not slash or not key:
                raise ValueError("uri must look like s3://bucket/key")
            self.bucket, self.key = bucket, key
        elif self.bucket is None or self.key is None:
            raise ValueError("the object location is missing: give uri, or bucket and key")
        return self

    def to_storage(self) -> NewTaskRow:
        # Fields of the same name carry over (the storage model ignores uri); two
        # are named otherwise in storage.
        assert self.bucket is not None and self.key is not None
        return NewTaskRow.model_validate(
            dict(self) | {"object_key": self.key, "object_classes": self.classes}
        )


class TaskCreated(BaseModel):
    id: uuid.UUID


class Location(BaseModel):
    bucket: str
    key: str
    uri: str


class Processing(BaseModel):
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None = Field(description="as reported by the processor")
    attempts: int


class TaskView(BaseModel):
    """The processing information of a task."""

    id: uuid.UUID
    status: TaskStatus
    object: Location
    media_type: MediaType
    file_name: str
    size_bytes: int | None
    classes: list[ObjectClass]
    uploaded_at: datetime
    processing: Processing
    anonymised: dict[ObjectClass, int] = Field(description="objects anonymised per class")
    error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_storage(cls, row: TaskRow) -> TaskView:
        # Fields of the same name carry over (the claim's own fields stay behind); the
        # object's location and the processing figures are grouped, two renamed.
        location = f"s3://{row.bucket}/{row.object_key}"
        processing = Processing(
            started_at=row.processing_started_at,
            finished_at=row.processing_finished_at,
            duration_ms=row.processing_ms,
            attempts=row.attempts,
        )
        return cls.model_validate(
            dict(row)
            | {
                "object": Location(bucket=row.bucket, key=row.object_key, uri=location),
                "classes": row.object_classes,
                "processing": processing,
                "anonymised": row.detections,
            }
        )


class TaskEvent(BaseModel):
    from_status: TaskStatus | None
    to_status: TaskStatus
    actor: str | None
    detail: str | None
    at: datetime

    @classmethod
    def from_storage(cls, row: TaskEventRow) -> TaskEvent:
        return cls.model_validate(dict(row))  # the same names, less the ids


class ClaimRequest(BaseModel):
    processor: NonBlankText = Field(
        default="anonymous", max_length=200, description="who claims (for the history)"
    )
    lease_seconds: int = Field(default=queue.DEFAULT_LEASE_SECONDS, ge=10, le=86_400)


class TaskQuery(Page):
    status: TaskStatus | None = None


# ---- endpoints -------------------------------------------------------------------------------


@bp.operation("/task", "POST", body=TaskRequest, response=TaskCreated, status=201)
def create_task(conn: Conn, body: TaskRequest) -> Reply:
    """Register an uploaded object for anonymisation

    The task starts `new`, queued for a processor; `Location` points at it."""
    row = queue.create_task(conn, body.to_storage())
    return Reply(
        TaskCreated(id=row.id), 201, {"Location": url_for("tasks.get_task", task_id=str(row.id))}
    )


@bp.operation("/task/<uuid:task_id>", response=TaskView, errors=(404,))
def get_task(conn: Conn, task_id: uuid.UUID) -> TaskView:
    """A task's processing information

    Where the object is, what to anonymise, the task's status and, once processed,
    how long it took and how many objects of each class were anonymised."""
    return TaskView.from_storage(read.get_task(conn, task_id))


@bp.operation(
    "/task/claim",
    "POST",
    body=ClaimRequest,
    response=ProcessorTask,
    empty={204: "The queue is empty."},
)
def claim_task(conn: Conn, body: ClaimRequest) -> Reply:
    """Claim the oldest new task (processors)

    200 with the task and its claim token; 204 when the queue is empty.

    A claim is a lease: report before `lease_expires_at`, or the task goes back to
    the queue (after too many expired leases it fails).
    """
    claimed = queue.claim_task(conn, body.processor, lease_seconds=body.lease_seconds)
    return Reply(claimed, 200) if claimed else Reply(None, 204)


@bp.operation(
    "/task/<uuid:task_id>/result",
    "POST",
    body=ProcessorReport,
    response=TaskView,
    errors=(404, 409),
)
def record_result(conn: Conn, task_id: uuid.UUID, body: ProcessorReport) -> TaskView:
    """Record a processor's report

    `processed` stores counts and times; `failed` stores the error (requeued if
    `retryable` and attempts remain). 409 unless the task is processing under this claim."""
    return TaskView.from_storage(queue.record_result(conn, task_id, body))


@bp.operation("/task/<uuid:task_id>", "DELETE", response=TaskView, errors=(404, 409))
def delete_task(conn: Conn, task_id: uuid.UUID) -> TaskView:
    """Mark a task deleted

    The task is kept, marked `deleted`: it leaves the queue, and a processor that
    holds it can no longer report. 409 when it is deleted already."""
    return TaskView.from_storage(queue.delete_task(conn, task_id))


@bp.operation("/task/<uuid:task_id>/events", query=Page, response=list[TaskEvent], errors=(404,))
def task_events(conn: Conn, task_id: uuid.UUID, query: Page) -> Reply:
    """A task's status history

    Every status change of the task, oldest first, with who made it (the
    processor that claimed or reported) and why."""
    events, total = read.task_events_page(conn, task_id, **query.args())
    return paged([TaskEvent.from_storage(e) for e in events], total, query)


@bp.operation("/tasks", query=TaskQuery, response=list[TaskView])
def list_tasks(conn: Conn, query: TaskQuery) -> Reply:
    """List tasks (operators)

    Every task, filtered by status, in creation order."""
    rows, total = read.list_tasks(conn, **query.args())
    return paged([TaskView.from_storage(r) for r in rows], total, query)
