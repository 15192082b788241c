"""AWS Lambda entry point: the Flask app behind API Gateway (HTTP API, payload 2.0).

HTTP events go through apig-wsgi to the same app `etl serve` runs. Migrations
are not applied on cold starts: a one-off invocation with the event
`{"action": "migrate"}` applies them (see the README's serverless section).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apig_wsgi import make_lambda_handler

from etl_toolkit.db.admin import run_migrations
from etl_toolkit.jsonable import jsonable

_http: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None


def _http_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The app is built once per container (at the first HTTP event), then reused."""
    global _http
    if _http is None:
        from api.app import create_app

        _http = make_lambda_handler(create_app(), binary_support=True)
    return _http


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("action") == "migrate":
        result: dict[str, Any] = jsonable(run_migrations())
        return result
    return _http_handler()(event, context)
