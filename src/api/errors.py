"""RFC 9457 problem+json for every 4xx/5xx: no HTML error pages, no stack traces.

One hierarchy reaches the client one way: every error raised on purpose is an
EtlError (ApiError is one, for what only the API answers), and `register` turns it
into a problem with its status, title, message and `hint`, the fix the CLI shows too.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from pydantic import BaseModel, Field, ValidationError
from werkzeug.exceptions import HTTPException

from etl_toolkit.errors import EtlError
from etl_toolkit.log import get_logger

log = get_logger("api.errors")
PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(
        description="Dotted path of the offending field ('body' for the whole body)."
    )
    detail: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    hint: str | None = Field(
        default=None,
        description="What would fix it, when the error knows (the hint the CLI shows).",
    )
    instance: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="For 422: every field that failed validation."
    )


class ApiError(EtlError):
    """An error only the API answers (a bad request, a missing token): its status and
    title are its own, not its class's, and it may carry headers (a 401's challenge),
    the fields that failed validation, and extra members of the problem body."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, hint=hint)
        self.http_status, self.title = status, title
        self.headers = headers or {}
        self.errors = errors
        self.extra = extra or {}


def problem(exc: EtlError) -> Response:
    """The problem+json answer to an error of the hierarchy.

    A private error (the database gone, a setting, a migration) is the
    operator's to read, in the log: its message names hosts, sockets and
    settings, and its hint is advice for whoever runs the server. The client
    learns what it can act on."""
    detail, hint = exc.message, exc.hint
    if exc.private:
        detail = f"{exc.title.lower()}: try again shortly" if exc.transient else "internal error"
        hint = None
    body = Problem(
        title=exc.title, status=exc.http_status, detail=detail, hint=hint, instance=request.path
    )
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, ApiError):
        body.errors, headers, extra = exc.errors, exc.headers, exc.extra
    payload = body.model_dump(exclude_none=True) | extra
    resp = Response(json.dumps(payload), status=exc.http_status, mimetype=PROBLEM_MEDIA_TYPE)
    resp.headers.update(headers)
    return resp


def validation_problem(exc: ValidationError, where: str) -> ApiError:
    errors = [
        FieldError(
            field=".".join(str(p) for p in e["loc"]) or where,
            detail=e["msg"],
            type=e["type"],
        )
        for e in exc.errors()
    ]
    return ApiError(422, "Unprocessable Content", f"invalid {where}", errors=errors)


def register(app: Flask) -> None:
    @app.errorhandler(EtlError)
    def _etl_error(exc: EtlError) -> Response:
        if exc.http_status >= 500:
            log.warning("request failed", path=request.path, error=str(exc))
        return problem(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        headers = dict(exc.get_headers()) if exc.code == 405 else {}
        headers.pop("Content-Type", None)
        status = exc.code or 500
        return problem(ApiError(status, exc.name, exc.description or exc.name, headers=headers))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error", path=request.path)
        return problem(ApiError(500, "Internal Server Error", "an unexpected error occurred"))
