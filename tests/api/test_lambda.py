"""The Lambda handler, invoked in process with API Gateway (HTTP API v2) events, answers
exactly what the Flask test client answers; `{"action": "migrate"}` applies migrations."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from api import lambda_handler
from api.app import create_app
from etl_toolkit.config import Settings, get_settings
from etl_toolkit.db import migrate
from etl_toolkit.db.connect import Database


def event(method: str, path: str, query: str = "", body: Any = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "host": "api.example.com",
            "content-type": "application/json",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "test",
            },
            "domainName": "api.example.com",
            "requestId": "r1",
            "stage": "$default",
        },
        "isBase64Encoded": False,
        "body": None if body is None else json.dumps(body),
    }


def _body(resp: dict[str, Any]) -> Any:
    raw = resp["body"]
    if resp.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    return json.loads(raw)


@pytest.fixture
def lam(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(lambda_handler, "_http", None)
    yield lambda_handler.handler
    monkeypatch.setattr(lambda_handler, "_http", None)


def test_same_answers_as_the_flask_test_client(lam: Any, db: Database) -> None:
    client = create_app(Settings(auth_disabled=True), db).test_client()
    created = lam(
        event("POST", "/extraction-jobs", body={"document_id": "d1", "priority": 3}), None
    )
    assert created["statusCode"] == 201
    job = _body(created)
    for method, path, query in [
        ("GET", "/extraction-jobs", "document_id=d1"),
        ("GET", f"/extraction-jobs/{job['id']}", ""),
        ("GET", "/extraction-jobs/nope", ""),
        ("GET", "/tasks", "status=bogus"),
    ]:
        via_lambda = lam(event(method, path, query), None)
        via_flask = client.open(f"{path}?{query}" if query else path, method=method)
        assert via_lambda["statusCode"] == via_flask.status_code, path
        assert _body(via_lambda) == via_flask.get_json(), path
        headers = {k.lower(): v for k, v in via_lambda["headers"].items()}
        assert headers["content-type"] == via_flask.content_type
    health = lam(event("GET", "/health"), None)
    assert (health["statusCode"], _body(health)["status"]) == (200, "ok")


def test_migrate_action_applies_migrations_once(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db.url)
    get_settings.cache_clear()
    first = lambda_handler.handler({"action": "migrate"}, None)
    assert first["applied"] == [m.filename for m in migrate.discover()]
    again = lambda_handler.handler({"action": "migrate"}, None)
    assert again == {"applied": [], "already_applied": len(first["applied"])}
    get_settings.cache_clear()
