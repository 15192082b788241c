"""Health, the way load balancers and Kubernetes probe it (issue 18).

- GET /health/live: liveness. The process answers; the database is not touched (a
  database outage must not get every API process restarted).
- GET /health/ready: readiness. A round trip on a pooled connection, waiting at most
  READY_WAIT seconds for one, and the migration state as read at most
  MIGRATIONS_TTL seconds ago: 503 as soon as the database does not answer, 200
  again with the first answer after it is back.
- GET /health: the readiness answer under the name it always had (the Dockerfile's
  HEALTHCHECK and existing monitors call it).
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from api.db import api_db
from api.errors import ApiError
from api.openapi import ApiBlueprint
from etl_toolkit import __version__
from etl_toolkit.db.queries import query
from etl_toolkit.errors import DatabaseUnavailable
from etl_toolkit.log import get_logger

log = get_logger("api.health")

bp = ApiBlueprint("health", __name__, tag="health")
READY_WAIT = 1.0  # seconds to wait for a pooled connection before answering 503


class DatabaseStatus(BaseModel):
    reachable: bool
    kind: str = Field(description="embedded or external")
    latency_ms: float | None = Field(description="One round trip on a pooled connection.")
    server_version: str | None


class MigrationStatus(BaseModel):
    applied: int
    pending: int
    up_to_date: bool


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when migrations are pending")
    version: str
    database: DatabaseStatus
    migrations: MigrationStatus = Field(
        description="As read at most 30 seconds ago (migrations change with deployments)."
    )


class Liveness(BaseModel):
    status: str = Field(description="always ok: an answer at all is the signal")
    version: str


def readiness() -> Health:
    api = api_db()
    try:
        with api.connection(wait=READY_WAIT) as conn:
            started = time.perf_counter()
            conn.execute(query("db", "ping")).fetchone()
            latency = (time.perf_counter() - started) * 1000
            server_version = conn.info.parameter_status("server_version")
        state = api.migrations()
    except DatabaseUnavailable as exc:
        log.warning("database unreachable", error=exc.message)
        raise ApiError(
            503,
            "Service Unavailable",
            "database unreachable",  # the cause (hosts, sockets) is in the log
            extra={"version": __version__, "database": {"reachable": False}},
        ) from None
    return Health(
        status="ok" if state.up_to_date else "degraded",
        version=__version__,
        database=DatabaseStatus(
            reachable=True,
            kind=api.db.kind,
            latency_ms=round(latency, 2),
            server_version=server_version,
        ),
        migrations=MigrationStatus(
            applied=len(state.applied),
            pending=len(state.pending) + len(state.changed),
            up_to_date=state.up_to_date,
        ),
    )


@bp.operation("/health", response=Health, public=True, errors=(503,))
def get_health() -> Health:
    """Service and database health

    The readiness answer (GET /health/ready) under its first name: 200 when the
    database answers a pooled round trip, with the migration state; 503 problem+json
    when it does not."""
    return readiness()


@bp.operation("/health/ready", response=Health, public=True, errors=(503,))
def get_ready() -> Health:
    """Readiness: can this process serve requests?

    200 when the database answers a round trip on a pooled connection (waiting at
    most a second for one), with the migration state read at most 30 s ago; 503
    problem+json when it does not, from the first request after an outage began.
    A load balancer or Kubernetes readinessProbe stops sending traffic on 503."""
    return readiness()


@bp.operation("/health/live", response=Liveness, public=True)
def get_live() -> Liveness:
    """Liveness: is the process answering?

    Always 200 while the process can answer: the database is not touched, so an
    outage of the database does not make an orchestrator restart the API (a
    Kubernetes livenessProbe). Use GET /health/ready for whether to send traffic."""
    return Liveness(status="ok", version=__version__)
