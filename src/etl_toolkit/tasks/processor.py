"""Processor layer: what a stateless processor receives and what it reports back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from etl_toolkit.tasks.storage import MediaType, ObjectClass


class ObjectLocation(BaseModel):
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class ProcessorTask(BaseModel):
    """A claimed task: everything a processor needs, and the token its report must carry."""

    task_id: uuid.UUID
    claim_token: uuid.UUID = Field(description="send it back with the result")
    object: ObjectLocation
    uri: str = Field(description="the object as s3://bucket/key")
    media_type: MediaType
    file_name: str
    classes: list[ObjectClass] = Field(description="object classes to anonymise")
    lease_expires_at: datetime = Field(
        description="report before this, or the task goes back to the queue"
    )
    attempt: int = Field(ge=1)

    @classmethod
    def from_claim(cls, row: dict[str, Any]) -> ProcessorTask:
        """From the row the claim statement returns (a storage-layer shape)."""
        location = ObjectLocation(bucket=row["bucket"], key=row["object_key"])
        return cls(
            task_id=row["id"],
            claim_token=row["claim_token"],
            object=location,
            uri=location.uri,
            media_type=row["media_type"],
            file_name=row["file_name"],
            classes=row["object_classes"],
            lease_expires_at=row["lease_expires_at"],
            attempt=row["attempts"],
        )


class ProcessorReport(BaseModel):
    """A processor's result: counts per class and duration, or an error."""

    # The outcome's rules, stated in the API's document (a generated client obeys them):
    # a failure carries an error; a success carries none and is not retryable.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "title": "processed",
                    "properties": {
                        "outcome": {"const": "processed"},
                        "error": {"type": "null"},
                        "retryable": {"const": False},
                    },
                },
                {
                    "title": "failed",
                    "required": ["error"],
                    "properties": {
                        "outcome": {"const": "failed"},
                        "error": {"type": "string", "minLength": 1},
                    },
                },
            ]
        }
    )

    claim_token: uuid.UUID
    outcome: Literal["processed", "failed"]
    anonymised: dict[ObjectClass, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="objects anonymised per class (processed only)"
    )
    duration_ms: int | None = Field(default=None, ge=0, le=7 * 24 * 3600 * 1000)
    error: str | None = Field(default=None, max_length=4000)
    retryable: bool = Field(
        default=False, description="a failure worth another attempt (the task is requeued)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ProcessorReport:
        if self.outcome == "failed" and not self.error:
            raise ValueError("a failed outcome needs an error")
        if self.outcome == "processed" and (self.error or self.retryable):
            raise ValueError("a processed outcome carries no error and is not retryable")
        return self
