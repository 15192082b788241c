"""Ids in URLs and arguments: anything that is not a UUID is simply unknown."""

from __future__ import annotations

import uuid

from etl_toolkit.errors import NotFound


def parse_uuid(value: str | uuid.UUID, what: str) -> uuid.UUID:
    """`value` as a UUID, or NotFound("<what> '<value>' not found")."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"{what} {value!r} not found") from None
