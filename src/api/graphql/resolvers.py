"""Resolvers: thin calls into the library, nothing else."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType, QueryType

from api.db import api_db
from etl_toolkit import __version__, health

query = QueryType()
health_type = ObjectType("Health")


@query.field("health")
def resolve_health(*_: Any) -> dict[str, Any]:
    h = health.check(api_db().db)
    return {
        "status": h.status,
        "version": __version__,
        "databaseReachable": h.reachable,
        "databaseLatencyMs": h.latency_ms,
        "migrationsPending": h.migrations_pending,
    }


bindables = [query, health_type]
