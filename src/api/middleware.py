"""What every response gets, whatever the route: a request id, CORS for the configured
origins, and gzip when the client accepts it (issue 16 §3).

Installed before auth, so a CORS preflight (which carries no token) is answered here.
"""

from __future__ import annotations

import gzip
import os
import re
from collections import OrderedDict

import structlog
from flask import Flask, Response, g, request

from etl_toolkit.config import Settings
from etl_toolkit.errors import ConfigError

REQUEST_ID_HEADER = "X-Request-Id"
# Where the access log (api.serve.AccessLog) finds the id: the WSGI environ, not Flask's g.
REQUEST_ID_ENVIRON = "etl.request_id"
# An incoming id is logged and echoed: printable ASCII, at most 128 characters, or
# it is replaced (a client cannot inject newlines or megabytes into our logs).
_VALID_REQUEST_ID = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,127}")

GZIP_MIN_BYTES = 1024  # below this the gzip header and CPU cost more than they save
_COMPRESSIBLE = {
    "application/json",
    "application/problem+json",
    "application/javascript",
    "text/javascript",
    "image/svg+xml",
}
_STATIC_GZIP: OrderedDict[str, bytes] = OrderedDict()  # compressed docs assets, by ETag
_STATIC_GZIP_MAX = 16

_ORIGIN = re.compile(r"https?://[^/\s,]+")
CORS_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"
CORS_REQUEST_HEADERS = "Authorization, Content-Type, X-Request-Id"
CORS_EXPOSED_HEADERS = "X-Request-Id, X-Total-Count, Link, Location"
CORS_MAX_AGE = "600"


def cors_origins(settings: Settings) -> frozenset[str]:
    """CORS_ORIGINS parsed: exact origins (`scheme://host[:port]`), or `*` for any."""
    origins = set()
    for raw in settings.cors_origins.split(","):
        origin = raw.strip().rstrip("/")
        if not origin:
            continue
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ConfigError(
                f"CORS_ORIGINS: {raw.strip()!r} is not an origin",
                hint="list origins as scheme://host[:port], comma-separated, "
                "e.g. CORS_ORIGINS=https://app.example.com,http://localhost:3000",
            )
        origins.add(origin)
    return frozenset(origins)


def request_id() -> str:
    """The id of the current request (as echoed in X-Request-Id)."""
    return str(g.get("request_id", ""))


def install(app: Flask, settings: Settings) -> None:
    origins = cors_origins(settings)

    @app.before_request
    def _start() -> Response | None:
        incoming = request.headers.get(REQUEST_ID_HEADER)
        if incoming is not None and _VALID_REQUEST_ID.fullmatch(incoming := incoming.strip()):
            rid = incoming
        else:
            rid = os.urandom(16).hex()  # what uuid4().hex looks like, at a third of the cost
        g.request_id = rid
        request.environ[REQUEST_ID_ENVIRON] = rid
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=rid)
        if origins and _is_preflight():
            return _preflight(origins)
        return None

    @app.after_request
    def _finish(response: Response) -> Response:
        rid = g.get("request_id")
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        if origins:
            _cors(response, origins)
        _gzip(response)
        return response

    @app.teardown_request
    def _forget(_exc: BaseException | None) -> None:
        structlog.contextvars.clear_contextvars()


# ---- CORS ----------------------------------------------------------------------------------


def _allowed(origins: frozenset[str]) -> str | None:
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


def _is_preflight() -> bool:
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
        and request.url_rule is not None
    )


def _preflight(origins: frozenset[str]) -> Response | None:
    allowed = _allowed(origins)
    if allowed is None:
        return None  # not ours to allow: the browser gets no CORS headers and stops
    resp = Response(status=204)
    resp.headers["Access-Control-Allow-Origin"] = allowed
    resp.headers["Access-Control-Allow-Methods"] = CORS_METHODS
    resp.headers["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
    resp.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return resp


def _cors(response: Response, origins: frozenset[str]) -> None:
    # The answer depends on Origin whenever CORS is on: caches must key on it.
    response.vary.add("Origin")
    allowed = _allowed(origins)
    if allowed is not None:
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers.setdefault("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS)


# ---- gzip ----------------------------------------------------------------------------------


def _compressible(mimetype: str) -> bool:
    return mimetype.startswith("text/") or mimetype in _COMPRESSIBLE or mimetype.endswith("+json")


def _gzip(response: Response) -> None:
    if not _compressible(response.mimetype or ""):
        return
    # Most answers are a small JSON body: settled without parsing a header (issue 18).
    if "Vary" in response.headers:
        response.vary.add("Accept-Encoding")
    else:
        response.headers["Vary"] = "Accept-Encoding"
    length = response.content_length
    if (
        (length is not None and length < GZIP_MIN_BYTES)
        or response.status_code in (204, 206, 304)
        or "Content-Encoding" in response.headers
        or request.accept_encodings["gzip"] <= 0
        or (response.is_streamed and not response.direct_passthrough)
    ):
        return
    etag, _weak = response.get_etag()
    # send_from_directory streams the file; read it to compress it.
    response.direct_passthrough = False
    data = response.get_data()
    if len(data) < GZIP_MIN_BYTES:
        return
    if etag:
        packed = _STATIC_GZIP.get(etag)
        if packed is None:
            packed = gzip.compress(data, compresslevel=6, mtime=0)
            _STATIC_GZIP[etag] = packed
            while len(_STATIC_GZIP) > _STATIC_GZIP_MAX:
                _STATIC_GZIP.popitem(last=False)
        # Another encoding of the same content: a strong ETag would claim byte equality.
        response.set_etag(etag, weak=True)
    else:
        packed = gzip.compress(data, compresslevel=6, mtime=0)
    response.set_data(packed)
    response.headers["Content-Encoding"] = "gzip"
    response.headers.pop("Accept-Ranges", None)
