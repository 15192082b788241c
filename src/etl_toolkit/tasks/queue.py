"""The task queue's transitions: create, claim (FOR UPDATE SKIP LOCKED, with leases),
record a result, delete. Reads are in tasks/read.py.

Transitions are guarded in SQL (`WHERE status = ...`): an illegal one matches
no row, changes nothing, and is reported as Conflict (409) naming the state.

    new --claim--> processing --result ok--> processed
                   processing --result failed--> failed  (or back to new if retryable)
                   processing --lease expired--> processing (reclaimed) / failed (attempts used)
    new | processing | processed | failed --delete--> deleted    (nothing leaves deleted)
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from etl_toolkit.db.queries import fetch_one, query
from etl_toolkit.errors import Conflict, InputError, NotFound
from etl_toolkit.tasks.processor import ProcessorReport, ProcessorTask
from etl_toolkit.tasks.read import get_task, parse_id
from etl_toolkit.tasks.storage import NewTaskRow, TaskRow

Conn = psycopg.Connection[Any]
DEFAULT_LEASE_SECONDS = 300
MAX_ATTEMPTS = 3


def _fetch(conn: Conn, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    return fetch_one(conn, "tasks", name, params)


def create_task(conn: Conn, new: NewTaskRow) -> TaskRow:
    params = new.model_dump()
    params["object_classes"] = list(dict.fromkeys(new.object_classes))
    row = _fetch(conn, "insert", params)
    assert row is not None
    return get_task(conn, row["id"])


def _refuse(conn: Conn, task_id: uuid.UUID, action: str) -> Conflict:
    """Why an UPDATE matched nothing: unknown task (404), or its state forbids it (409)."""
    row = _fetch(conn, "status_of", {"id": task_id})
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return Conflict(f"cannot {action}: task {task_id} is {row['status']}")


def claim_task(
    conn: Conn,
    processor: str,
    *,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
) -> ProcessorTask | None:
    """Atomically take the oldest available task (None when the queue is empty)."""
    with conn.transaction():
        _fetch(conn, "expire_exhausted", {"max_attempts": max_attempts})
        row = _fetch(
            conn,
            "claim",
            {"processor": processor, "lease_seconds": lease_seconds, "max_attempts": max_attempts},
        )
    return ProcessorTask.from_claim(row) if row else None


def record_result(
    conn: Conn,
    task_id: str | uuid.UUID,
    report: ProcessorReport,
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> TaskRow:
    """Apply a processor's report; only the current claim's token is accepted."""
    tid = parse_id(task_id)
    with conn.transaction():
        current = get_task(conn, tid)
        extra = set(report.anonymised) - set(current.object_classes)
        if extra:
            raise InputError(
                f"counts for classes that were not requested: {', '.join(sorted(extra))}"
            )
        params = {
            "id": tid,
            "claim_token": report.claim_token,
            "error": report.error,
            "processing_ms": report.duration_ms,
            "max_attempts": max_attempts,
        }
        if report.outcome == "failed" and report.retryable:
            done = _fetch(conn, "requeue", params)
            if (
                done is None
                and current.status == "processing"
                and current.claim_token == report.claim_token
            ):
                done = _fetch(conn, "finish", {**params, "status": "failed"})  # attempts used up
        else:
            done = _fetch(conn, "finish", {**params, "status": report.outcome})
        if done is None:
            if current.status == "processing":
                # Only the current token is stored: a wrong token and one of a claim
                # whose lease expired look alike, so say no more than that.
                raise Conflict(
                    f"cannot record a result: the token does not match task {tid}'s current claim",
                    hint="send the claim token of the current claim; a claim ends "
                    "when its lease expires",
                )
            raise _refuse(conn, tid, "record a result")
        if report.outcome == "processed":
            conn.execute(query("tasks", "clear_detections"), {"id": tid})
            conn.execute(
                query("tasks", "insert_detections"),
                {
                    "id": tid,
                    "classes": list(report.anonymised),
                    "counts": list(report.anonymised.values()),
                },
            )
    return get_task(conn, tid)


def delete_task(conn: Conn, task_id: str | uuid.UUID) -> TaskRow:
    tid = parse_id(task_id)
    with conn.transaction():
        if _fetch(conn, "delete", {"id": tid}) is None:
            raise _refuse(conn, tid, "delete")
    return get_task(conn, tid)
