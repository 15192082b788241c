"""RFC 9457 problem+json for every 4xx/5xx: no HTML error pages, no stack traces."""

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
    instance: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="For 422: every field that failed validation."
    )


class ApiError(Exception):
    """An error an endpoint raises to answer with a specific problem."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}
        self.errors = errors
        self.extra = extra or {}


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body = Problem(title=title, status=status, detail=detail, instance=request.path, errors=errors)
    payload = body.model_dump(exclude_none=True) | (extra or {})
    resp = Response(json.dumps(payload), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
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
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            headers=exc.headers,
            errors=exc.errors,
            extra=exc.extra,
        )

    @app.errorhandler(EtlError)
    def _etl_error(exc: EtlError) -> Response:
        if exc.http_status >= 500:
            log.warning("request failed", path=request.path, error=str(exc))
        return problem(exc.http_status, exc.title, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        headers = dict(exc.get_headers()) if exc.code == 405 else {}
        headers.pop("Content-Type", None)
        return problem(exc.code or 500, exc.name, exc.description, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error", path=request.path)
        return problem(500, "Internal Server Error", "an unexpected error occurred")
