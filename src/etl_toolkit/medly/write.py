"""The learning-platform API's one write: a user's name and metadata."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from etl_toolkit.db.queries import fetch_one
from etl_toolkit.errors import NotFound
from etl_toolkit.medly.read import Conn, UserProfile, user_profile


def update_user(conn: Conn, uid: str, changes: dict[str, Any]) -> UserProfile:
    """Apply `name` and/or `metadata` when present in `changes`."""
    done = fetch_one(
        conn,
        "medly",
        "update_user",
        {
            "uid": uid,
            "set_name": "name" in changes,
            "name": changes.get("name"),
            "set_metadata": "metadata" in changes,
            "metadata": Jsonb(changes["metadata"]) if "metadata" in changes else None,
        },
    )
    if done is None:
        raise NotFound(f"user {uid!r} not found")
    return user_profile(conn, uid)
