"""Storage layer: the task as stored in tasks.tasks (and its detections, its events).

These models mirror the table rows; the REST and processor layers convert to
and from them explicitly and never see them otherwise.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ObjectClass = Literal["face", "person", "license_plate", "vehicle"]
MediaType = Literal["image", "video"]
TaskStatus = Literal["new", "processing", "processed", "failed", "deleted"]
OBJECT_CLASSES: tuple[ObjectClass, ...] = ("face", "person", "license_plate", "vehicle")


class NewTaskRow(BaseModel):
    """What an INSERT needs."""

    bucket: str
    object_key: str
    media_type: MediaType
    file_name: str
    size_bytes: int | None = None
    object_classes: list[ObjectClass] = Field(min_length=1)
    uploaded_at: datetime | None = None


class TaskRow(BaseModel):
    """A row of tasks.tasks, with its detections aggregated."""

    id: uuid.UUID
    bucket: str
    object_key: str
    media_type: MediaType
    file_name: str
    size_bytes: int | None
    object_classes: list[ObjectClass]
    status: TaskStatus
    uploaded_at: datetime
    claimed_by: str | None
    claim_token: uuid.UUID | None
    lease_expires_at: datetime | None
    attempts: int
    processing_started_at: datetime | None
    processing_finished_at: datetime | None
    processing_ms: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    detections: dict[ObjectClass, int] = Field(default_factory=dict)


class TaskEventRow(BaseModel):
    id: int
    task_id: uuid.UUID
    from_status: TaskStatus | None
    to_status: TaskStatus
    actor: str | None
    detail: str | None
    at: datetime
