"""One exception hierarchy for the whole toolkit.

Edges translate it once: the CLI into `Error: ...` and exit 1, the API into
problem+json. `transient` tells an orchestrator whether a retry can succeed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    import psycopg


class EtlError(Exception):
    """Base of every error the toolkit raises on purpose."""

    transient: bool = False
    http_status: int = 500
    title: str = "Internal error"
    run_id: int | None = None  # the run it ended, when one was open (runs.track_run sets it)
    # The message and hint are the operator's (hosts, sockets, settings, files): the
    # API answers with the title and logs the rest.
    private: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        # Every edge shows these messages (CLI, problem+json, the run ledger): no
        # password may ride along, whatever was interpolated into them.
        from etl_toolkit.redact import redact

        message = redact(message)
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(EtlError):
    """A setting is missing or contradictory."""

    private = True
    title = "Configuration error"


class DatabaseUnavailable(EtlError):
    """The database cannot be reached right now."""

    private = True
    transient = True
    http_status = 503
    title = "Database unavailable"


class MigrationError(EtlError):
    """A migration file is invalid, changed after being applied, or failed."""

    private = True
    title = "Migration error"


class InputError(EtlError):
    """The input (a file, an argument) is unusable; retrying will not help."""

    http_status = 422
    title = "Invalid input"


class NotFound(EtlError):
    http_status = 404
    title = "Not found"


class Conflict(EtlError):
    http_status = 409
    title = "Conflict"


def is_transient(exc: BaseException) -> bool:
    """Whether retrying may succeed: the database went away, or a transaction lost
    a serialization or deadlock conflict. Bad input and failed gates are terminal."""
    import psycopg

    if isinstance(exc, EtlError):
        return exc.transient
    return isinstance(
        exc,
        psycopg.OperationalError
        | psycopg.errors.SerializationFailure
        | psycopg.errors.DeadlockDetected,
    )


# The server ended the session: admin shutdown, crash shutdown, cannot connect now.
_SERVER_GONE = frozenset({"57P01", "57P02", "57P03"})


def connection_lost(exc: BaseException) -> TypeGuard[psycopg.OperationalError]:
    """Whether the database went away under the work, as opposed to a statement
    that failed on a live connection (a timeout, a deadlock, a full disk): no
    SQLSTATE (the socket closed), a connection exception (class 08), or the
    server ending the session."""
    import psycopg

    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in _SERVER_GONE
