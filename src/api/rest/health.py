"""GET /health: is the service able to answer?"""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.db import api_db
from api.errors import ApiError
from api.openapi import ApiBlueprint
from etl_toolkit import __version__, health

bp = ApiBlueprint("health", __name__, tag="health")


class DatabaseStatus(BaseModel):
    reachable: bool
    kind: str = Field(description="embedded or external")
    latency_ms: float | None
    server_version: str | None


class MigrationStatus(BaseModel):
    applied: int
    pending: int
    up_to_date: bool


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when migrations are pending")
    version: str
    database: DatabaseStatus
    migrations: MigrationStatus


@bp.operation(
    "/health", summary="Service and database health", response=Health, public=True, errors=(503,)
)
def get_health() -> Health:
    """200 when the database answers; 503 problem+json when it does not."""
    h = health.check(api_db().db)
    if not h.reachable:
        raise ApiError(
            503,
            "Service Unavailable",
            f"database unreachable: {h.error}",
            extra={"version": __version__, "database": {"reachable": False}},
        )
    return Health(
        status="ok" if h.up_to_date else "degraded",
        version=__version__,
        database=DatabaseStatus(
            reachable=True, kind=h.kind, latency_ms=h.latency_ms, server_version=h.server_version
        ),
        migrations=MigrationStatus(
            applied=h.migrations_applied, pending=h.migrations_pending, up_to_date=h.up_to_date
        ),
    )
