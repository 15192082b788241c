"""What every workflow shares: the database from the CLI's settings, the
execution's name, and retries only for transient errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flytekit import current_context
from flytekit.exceptions.user import FlyteRecoverableException

from etl_toolkit.db.connect import Database, resolve
from etl_toolkit.errors import is_transient

P = ParamSpec("P")
R = TypeVar("R")
RETRIES = 3  # Flyte retries recoverable errors only


def database() -> Database:
    """DATABASE_URL (or the embedded server), exactly as `etl` resolves it."""
    return resolve()


def execution() -> str:
    """This workflow execution's name (stored with the runs it opens)."""
    return str(current_context().execution_id.name)


def retry_transient(fn: Callable[P, R]) -> Callable[P, R]:
    """Connection lost, serialization failure, deadlock: raised as recoverable, so
    Flyte retries the task. Anything else (bad input, a failed gate) is terminal."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if is_transient(exc):
                raise FlyteRecoverableException(str(exc)) from exc
            raise

    return wrapper
