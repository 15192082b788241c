"""Which database, and how to connect to it.

`DATABASE_URL` when set; otherwise the embedded server under ETL_HOME,
started on demand. `resolve` is the one door every command that needs the
schema goes through: it applies pending migrations to the embedded server
(first command on a fresh machine), and refuses an external database that is
behind with the command that fixes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import psycopg
from psycopg.rows import dict_row

from etl_toolkit import redact as _redact
from etl_toolkit.config import Settings, get_settings
from etl_toolkit.db import embedded
from etl_toolkit.errors import ConfigError, DatabaseUnavailable

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
URL_HINT = (
    "DATABASE_URL takes a postgresql://user@host:5432/dbname URL (the password after "
    "`user:`) or host=... dbname=... keywords; unset it for the embedded server"
)


@dataclass(frozen=True)
class Database:
    """A resolved database: its URL and whether it is the embedded server."""

    url: str
    kind: Literal["embedded", "external"]

    @property
    def redacted_url(self) -> str:
        return redact(self.url)

    @contextmanager
    def connect(
        self, *, autocommit: bool = False
    ) -> Iterator[psycopg.Connection[dict[str, object]]]:
        """A connection with dict rows; committed on success, rolled back on error."""
        try:
            conn = psycopg.connect(
                self.url, autocommit=autocommit, row_factory=dict_row, connect_timeout=10
            )
        except psycopg.OperationalError as exc:
            # Not chained: psycopg's messages may echo the connection string, and a
            # --debug traceback prints the cause.
            raise DatabaseUnavailable(
                f"cannot connect to {self.redacted_url}: {self._redact(str(exc).strip())}",
                hint="is the server running? check DATABASE_URL or `etl db status`",
            ) from None
        except psycopg.ProgrammingError as exc:  # libpq could not parse the string
            raise ConfigError(
                f"DATABASE_URL {self.redacted_url} is not a PostgreSQL connection string: "
                f"{self._redact(str(exc).strip())}",
                hint=URL_HINT,
            ) from None
        with conn:
            yield conn

    def _redact(self, text: str) -> str:
        return _redact.redact(text, url=self.url)


def redact(url: str) -> str:
    """The URL (or keyword DSN) with its password replaced by ***."""
    return _redact.redact(url, url=url)


def check_url(url: str) -> str:
    """A URL of another database (mysql://...) is refused before any connection."""
    m = _SCHEME.match(url.strip())
    if m and m[1].lower() not in ("postgresql", "postgres"):
        raise ConfigError(
            f"DATABASE_URL {redact(url)} is not a PostgreSQL URL (scheme {m[1]!r})",
            hint=URL_HINT,
        )
    return url


def resolve(settings: Settings | None = None, *, schema: bool = True) -> Database:
    """The database to use; the embedded server is started if it is the one and is down.

    With `schema` (every command that reads or writes the toolkit's tables),
    the schema is made current first: see `migrate.ensure_schema`. `etl db`
    commands, and the API (whose /health reports pending migrations), pass False.
    """
    settings = settings or get_settings()
    if settings.database_url:
        db = Database(check_url(settings.database_url), "external")
    else:
        db = Database(embedded.start(settings.pgdata), "embedded")
    if schema:
        from etl_toolkit.db.migrate import ensure_schema  # migrate imports this module

        ensure_schema(db)
    return db
