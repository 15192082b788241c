"""Which database, and how to connect to it.

`DATABASE_URL` when set; otherwise the embedded server under ETL_HOME,
started on demand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from etl_toolkit.config import Settings, get_settings
from etl_toolkit.db import embedded
from etl_toolkit.errors import DatabaseUnavailable


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
            raise DatabaseUnavailable(
                f"cannot connect to {self.redacted_url}: {str(exc).strip()}",
                hint="is the server running? check DATABASE_URL or `etl db status`",
            ) from exc
        with conn:
            yield conn


def redact(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def resolve(settings: Settings | None = None) -> Database:
    """The database to use; the embedded server is started if it is the one and is down."""
    settings = settings or get_settings()
    if settings.database_url:
        return Database(settings.database_url, "external")
    return Database(embedded.start(settings.pgdata), "embedded")
