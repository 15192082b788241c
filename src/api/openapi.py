"""Endpoints declared with pydantic models; the OpenAPI 3.1 document is built from them.

`ApiBlueprint.operation(...)` wraps a handler: it validates the query string
and JSON body into the declared models (422 problem+json listing every bad
field), hands a pooled connection to a handler that takes `conn`, renders what
the handler returns, and records the operation so that `/openapi.json` is
generated from the same models, never written by hand.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, wraps
from pathlib import Path
from typing import Any, get_args, get_origin
from urllib.parse import urlencode

import pydantic_core
from flask import Blueprint, Flask, Response, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.json_schema import models_json_schema

from api.auth import public as mark_public
from api.db import api_db
from api.errors import PROBLEM_MEDIA_TYPE, ApiError, FieldError, Problem, validation_problem
from api.jsonbody import LIMITS_DOC, read_json_body
from api.types import JSON_VALUE_SCHEMA

REF = "#/components/schemas/{model}"
# One real request and response per operation, keyed by operationId, recorded from
# calls to the API (tests/api/test_openapi_document.py checks they still have
# the shape of what the API answers, and rewrites them with ETL_WRITE_EXAMPLES=1).
EXAMPLES = Path(__file__).with_name("examples.json")
API_DESCRIPTION = (
    "The read and control API of etl-toolkit, over the PostgreSQL its pipelines load: "
    "PDF documents (pages, words with their boxes, full-text search) and their "
    "extraction jobs; the learning platform's users, activity, lessons, papers and "
    "items; media anonymisation tasks for processors; the run ledger and Prometheus "
    "metrics. GraphQL at /graphql serves the sales analytics.\n\n"
    "Authentication: `Authorization: Bearer <JWT>` on every operation but /health, "
    "/openapi.json and /docs. Errors are RFC 9457 problem+json. Lists take `limit` "
    "(1-100, default 20) and `offset` and send `X-Total-Count` and an RFC 8288 `Link` "
    "header; a list inside a resource (a paper's items) takes `<list>_limit` and "
    "`<list>_offset`, and the resource carries `<list>_total`. Every response carries "
    "`X-Request-Id` (the client's, when it sent a printable one of at most 128 "
    "characters), which every log line of the request carries too.\n\n"
)
LIST_HEADERS = {
    "X-Total-Count": {
        "description": "How many items the filtered list holds, over every page.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Link": {
        "description": "RFC 8288 links to the `next`, `prev`, `first` and `last` pages, e.g. "
        '`</runs?limit=20&offset=20>; rel="next"`.',
        "schema": {"type": "string"},
    },
}
REQUEST_ID_HEADER_DOC = {
    "description": "The request's id: the client's X-Request-Id, or one made up.",
    "schema": {"type": "string", "maxLength": 128},
}
_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Content",
    503: "Service Unavailable",
}


class Page(BaseModel):
    """Pagination of every list: `limit` (1-100, default 20) and `offset`.

    Query models forbid unknown parameters: a typo such as `?stauts=failed`
    is a 422, not a silently unfiltered list.
    """

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100, description="Page size, at most 100.")
    offset: int = Field(default=0, ge=0, le=1_000_000_000, description="How many items to skip.")

    def args(self) -> dict[str, Any]:
        """The parameters as keyword arguments of the library's list function: a list's
        query model names its filters as that function does."""
        return dict(self)


def nested_pages(name: str, *lists: str) -> type[BaseModel]:
    """The query model of a resource that carries lists: each list `<list>` takes
    `<list>_limit` (1-100, default 20) and `<list>_offset`, and the body carries
    `<list>_total` (the scheme of every nested list; issue 16 §3)."""
    fields: dict[str, Any] = {}
    for lst in lists:
        fields[f"{lst}_limit"] = (
            int,
            Field(default=20, ge=1, le=100, description=f"Page size of `{lst}`, at most 100."),
        )
        fields[f"{lst}_offset"] = (
            int,
            Field(default=0, ge=0, le=1_000_000_000, description=f"How many `{lst}` to skip."),
        )
    model: type[BaseModel] = create_model(
        name, __config__=ConfigDict(extra="forbid"), __doc__=None, **fields
    )
    return model


def window(query: BaseModel, lst: str) -> tuple[int, int]:
    """(limit, offset) of one nested list, from a `nested_pages` query."""
    return int(getattr(query, f"{lst}_limit")), int(getattr(query, f"{lst}_offset"))


@dataclass
class Reply:
    """A handler's answer when it needs a status or headers besides the body."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def paged(items: Sequence[Any], total: int, page: Page) -> Reply:
    """A list answer with `X-Total-Count` and RFC 8288 `Link` headers (next/prev/first/last).

    `total` is the filtered count on every page, a page past the end included.
    """
    links = []

    def link(offset: int, rel: str) -> None:
        args = {k: v for k, v in request.args.items() if k not in ("limit", "offset")}
        args |= {"limit": str(page.limit), "offset": str(offset)}
        links.append(f'<{request.base_url}?{urlencode(args)}>; rel="{rel}"')

    last = max((total - 1) // page.limit * page.limit, 0)
    if page.offset + page.limit < total:
        link(page.offset + page.limit, "next")
    if page.offset > 0:
        # Past the end, "prev" is the last page that has items, not another empty one.
        link(min(max(page.offset - page.limit, 0), last), "prev")
    link(0, "first")
    link(last, "last")
    return Reply(list(items), 200, {"X-Total-Count": str(total), "Link": ", ".join(links)})


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    public: bool
    errors: tuple[int, ...]
    media_type: str = "application/json"
    empty: dict[int, str] = field(default_factory=dict)
    path_docs: dict[str, str] = field(default_factory=dict)


class ApiBlueprint(Blueprint):
    """A Flask blueprint whose routes are declared with models."""

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        tag: str,
        path_docs: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        """`path_docs`: what each path parameter of the blueprint's routes is."""
        super().__init__(name, import_name, **kwargs)
        self.tag = tag
        self.path_docs = dict(path_docs or {})
        self.operations: list[Operation] = []

    def operation(
        self,
        rule: str,
        method: str = "GET",
        *,
        response: Any = None,
        status: int = 200,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        public: bool = False,
        errors: Sequence[int] = (),
        media_type: str = "application/json",
        empty: dict[int, str] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare an endpoint. `errors`: problem+json statuses it may answer; `empty`:
        other statuses it answers without a body (e.g. {204: "queue empty"}). A handler
        with a `conn` parameter is called with a pooled connection (api.db).

        The handler's docstring documents the operation: its first line is the summary,
        the paragraphs after it the description.
        """

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(fn)
            def view(**path: Any) -> Response:
                kwargs: dict[str, Any] = dict(path)
                if query is not None:
                    raw = {k: v if len(v) > 1 else v[0] for k, v in request.args.lists()}
                    try:
                        kwargs["query"] = query.model_validate(raw)
                    except ValidationError as exc:
                        raise validation_problem(exc, "query") from None
                if body is not None:
                    kwargs["body"] = _parse_body(body)
                if not wants_conn:
                    return render(fn(**kwargs), status)
                # Taken after the input is valid, given back before rendering: a GET
                # reads in autocommit, a write is one transaction (api.db).
                with api_db().connection() as conn:
                    result = fn(conn=conn, **kwargs)
                return render(result, status)

            wants_conn = "conn" in inspect.signature(fn).parameters
            summary, _, description = (inspect.getdoc(fn) or "").partition("\n\n")

            if public:
                mark_public(view)
            self.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
            self.operations.append(
                Operation(
                    rule=rule,
                    method=method.lower(),
                    endpoint=f"{self.name}.{fn.__name__}",
                    summary=" ".join(summary.split()),
                    description=description.strip(),
                    tag=self.tag,
                    body=body,
                    query=query,
                    response=response,
                    status=status,
                    public=public,
                    errors=tuple(errors),
                    media_type=media_type,
                    empty=dict(empty or {}),
                    path_docs=self.path_docs,
                )
            )
            return view

        return decorate


@cache
def body_is_optional(model: type[BaseModel]) -> bool:
    """Its schema accepts `{}` (every field has a default, no `minProperties`): the body
    may be left out, and no body reads as `{}`."""
    extra = model.model_config.get("json_schema_extra")
    if isinstance(extra, dict) and extra.get("minProperties"):
        return False
    return not any(f.is_required() for f in model.model_fields.values())


def _parse_body(model: type[BaseModel]) -> BaseModel:
    data = read_json_body(optional=body_is_optional(model))
    if not isinstance(data, dict):
        raise ApiError(
            422,
            "Unprocessable Content",
            "the request body must be a JSON object",
            errors=[FieldError(field="body", detail="expected a JSON object", type="object_type")],
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc, "body") from None


def render(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    reply = result if isinstance(result, Reply) else Reply(result, status)
    if reply.body is None and reply.status == 204:
        resp = Response(status=204)
        del resp.headers["Content-Type"]  # no body, no media type (not Flask's text/html)
    else:
        resp = Response(
            pydantic_core.to_json(reply.body), status=reply.status, mimetype="application/json"
        )
    resp.headers.update(reply.headers)
    return resp


# ---- the document -------------------------------------------------------------------------


def _models(ops: list[Operation]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [Problem]
    for op in ops:
        for candidate in (op.body, op.response, *get_args(op.response)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found.append(candidate)
    return list(dict.fromkeys(found))


def _schema_ref(tp: Any) -> dict[str, Any]:
    if get_origin(tp) is list:
        return {"type": "array", "items": _schema_ref(get_args(tp)[0])}
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {"$ref": REF.format(model=tp.__name__)}
    if tp is str:
        return {"type": "string"}
    return {}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for conv, name in _PATH_PARAM.findall(op.rule):
        schema = {
            "int": {"type": "integer", "minimum": 0},
            "uuid": {"type": "string", "format": "uuid"},
        }.get(conv, {"type": "string"})
        param: dict[str, Any] = {"name": name, "in": "path", "required": True, "schema": schema}
        if name in op.path_docs:
            param["description"] = op.path_docs[name]
        params.append(param)
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            desc = prop.pop("description", None)
            prop.pop("title", None)
            p: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if desc:
                p["description"] = desc
            params.append(p)
    return params


@cache
def _examples() -> dict[str, dict[str, Any]]:
    if not EXAMPLES.exists():
        return {}
    loaded: dict[str, dict[str, Any]] = json.loads(EXAMPLES.read_text())
    return loaded


def is_list(op: Operation) -> bool:
    """A paged list: an array answer to a query with limit and offset."""
    return get_origin(op.response) is list and op.query is not None and issubclass(op.query, Page)


def _operation_doc(op: Operation) -> dict[str, Any]:
    operation_id = op.endpoint.replace(".", "_")
    example = _examples().get(operation_id, {})
    doc: dict[str, Any] = {
        "operationId": operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": {},
    }
    if op.description:
        doc["description"] = op.description
    if op.body is not None:
        media: dict[str, Any] = {"schema": _schema_ref(op.body)}
        if "request" in example:
            media["example"] = example["request"]
        doc["requestBody"] = {
            "required": not body_is_optional(op.body),
            "content": {"application/json": media},
        }
    ok: dict[str, Any] = {
        "description": _STATUS_TEXT.get(op.status, "OK"),
        "headers": {"X-Request-Id": REQUEST_ID_HEADER_DOC},
    }
    if is_list(op):
        ok["headers"] |= LIST_HEADERS
    if op.response is not None:
        ok["content"] = {op.media_type: {"schema": _schema_ref(op.response)}}
        if "response" in example:
            ok["content"][op.media_type]["example"] = example["response"]
    doc["responses"][str(op.status)] = ok
    for code, text in op.empty.items():
        doc["responses"][str(code)] = {"description": text}
    problem_ref = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}}
    codes = set(op.errors)
    if op.body is not None or op.query is not None:
        codes.add(422)
    if not op.public:
        codes.add(401)
        doc["security"] = [{"bearerAuth": []}]
    else:
        doc["security"] = []
    for code in sorted(codes):
        doc["responses"][str(code)] = {
            "description": _STATUS_TEXT.get(code, "Error"),
            "content": problem_ref,
        }
    return doc


def build_spec(app: Flask, *, title: str, version: str) -> dict[str, Any]:
    ops = [
        op for bp in app.blueprints.values() if isinstance(bp, ApiBlueprint) for op in bp.operations
    ]
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        bp = app.blueprints[op.endpoint.split(".")[0]]
        prefix = bp.url_prefix or ""
        path = _PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", prefix + op.rule)
        paths.setdefault(path, {})[op.method] = _operation_doc(op)
    _, defs = models_json_schema([(m, "validation") for m in _models(ops)], ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": API_DESCRIPTION + LIMITS_DOC},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**defs.get("$defs", {}), "JsonValue": JSON_VALUE_SCHEMA},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
