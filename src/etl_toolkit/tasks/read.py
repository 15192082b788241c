"""Reading the task queue: one task, a page of tasks, a task's history.

What the API and `etl tasks list` serve, as storage records; the queue's
transitions are in tasks/queue.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from etl_toolkit.db.history import History, fetch_models
from etl_toolkit.db.queries import fetch_one
from etl_toolkit.errors import NotFound
from etl_toolkit.ids import parse_uuid
from etl_toolkit.tasks.storage import TaskEventRow, TaskRow, TaskStatus

Conn = psycopg.Connection[Any]


def parse_id(task_id: str | uuid.UUID) -> uuid.UUID:
    return parse_uuid(task_id, "task")


def get_task(conn: Conn, task_id: str | uuid.UUID) -> TaskRow:
    row = fetch_one(conn, "tasks", "get", {"id": parse_id(task_id)})
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return TaskRow.model_validate(row)


def list_tasks(
    conn: Conn, *, status: TaskStatus | None = None, limit: int = 20, offset: int = 0
) -> tuple[list[TaskRow], int]:
    """A page of tasks in creation order, and how many match in all."""
    params = {"status": status, "limit": limit, "offset": offset}
    return fetch_models(conn, "tasks", "list", "count", params, TaskRow)


# A task's history, oldest first: task_events (all of it unless `limit`) and
# task_events_page (a page, and how many events in all); NotFound when there is no such task.
_history = History("tasks", TaskEventRow, lambda conn, task_id: get_task(conn, task_id).id)
task_events = _history.all
task_events_page = _history.page
