"""`etl serve`: the app under granian, with guards against unsafe configurations."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.middleware import REQUEST_ID_ENVIRON
from etl_toolkit.config import Settings, get_settings
from etl_toolkit.db.connect import resolve
from etl_toolkit.errors import ConfigError
from etl_toolkit.log import get_logger

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
WSGIApp = Callable[[dict[str, Any], Any], Any]
StartResponse = Callable[..., Any]
# Threads per worker running the app. One, as gunicorn's sync workers had: measured
# against 2 and 4 (issue 18) it answers most (7.6k against 6.4-7.0k req/s) with the
# shortest tail, as threads of one worker only take turns on its GIL. Concurrency
# comes from --workers, as before; the HTTP side (keep-alive, reading requests,
# queueing) runs in granian's Rust threads and holds no worker.
BLOCKING_THREADS = 1
BACKPRESSURE = 16  # requests a worker accepts at once; more wait in the listen backlog
GRACEFUL_SECONDS = 5  # what a stopping worker gets to finish its requests
WORKER_LIFETIME_SECONDS = 6 * 3600
WORKER_MAX_RSS_MB = 1024
# granian's own lines (start, workers, signals) as structlog lines, like every other.
GRANIAN_LOGGING: dict[str, Any] = {
    "handlers": {"structlog": {"()": "etl_toolkit.log.StructlogHandler"}},
    "loggers": {
        "_granian": {"handlers": ["structlog"], "level": "INFO", "propagate": False},
        "granian.access": {"handlers": ["structlog"], "level": "INFO", "propagate": False},
    },
}

# How every server runs, whatever its address, port and number of workers.
GRANIAN_SETTINGS: dict[str, Any] = {
    "blocking_threads": BLOCKING_THREADS,
    "backpressure": BACKPRESSURE,
    "respawn_failed_workers": True,
    "workers_lifetime": WORKER_LIFETIME_SECONDS,
    "workers_max_rss": WORKER_MAX_RSS_MB,
    "workers_kill_timeout": GRACEFUL_SECONDS,
    "log_dictconfig": GRANIAN_LOGGING,
    "log_access": False,  # AccessLog writes the lines, with the request id
}


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    no_auth: bool = False
    insecure: bool = False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(options: ServeOptions, settings: Settings) -> Settings:
    """The settings to serve with, or a ConfigError naming what to change."""
    from api.auth import AuthConfig

    disabled = options.no_auth or settings.auth_disabled
    if disabled and not is_loopback(options.host) and not options.insecure:
        raise ConfigError(
            f"refusing to serve without authentication on {options.host}",
            hint="bind 127.0.0.1, configure auth, or pass --insecure if you really mean it",
        )
    if not disabled:
        AuthConfig.from_settings(settings)  # raises with what to set
    return settings.model_copy(update={"auth_disabled": disabled})


class AccessLog:
    """One JSON line per request, with the request id the app chose (the server's own
    access log knows nothing of it). Wraps the app under `etl serve` only: on Lambda,
    API Gateway logs the requests."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.log = get_logger("api.access")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        started = time.perf_counter()
        answer: list[Any] = []

        def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body = self.app(environ, recording)
        status, headers = answer or ("0", [])
        length = next((v for k, v in headers if k.lower() == "content-length"), None)
        self.log.info(
            "request",
            method=environ.get("REQUEST_METHOD"),
            path=environ.get("PATH_INFO"),
            query=environ.get("QUERY_STRING") or None,
            status=int(status.split(None, 1)[0]),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            bytes=int(length) if length is not None else None,
            remote=environ.get("REMOTE_ADDR"),
            request_id=environ.get(REQUEST_ID_ENVIRON),
            pid=os.getpid(),  # which worker answered
        )
        return body


def refuse_taken_port(host: str, port: int) -> None:
    """A ConfigError when something already listens on host:port.

    granian binds with SO_REUSEPORT, so the kernel would let it share a port another
    server holds and split the requests between the two. A probe bound without
    SO_REUSEPORT fails on any listener there (SO_REUSEADDR still lets it past
    connections of a server that just stopped, in TIME_WAIT). A server that takes the
    port between this probe and granian's bind is not caught.
    """
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"port {port} on {host} is already in use ({exc.strerror})",
                hint=f"stop the other server on port {port}, or choose another --port",
            ) from None


def _metrics_dir() -> tuple[str, bool]:
    """The directory the workers share their metrics through, and whether it is ours to
    remove. A PROMETHEUS_MULTIPROC_DIR the operator set is used as it is."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        return given, False
    path = tempfile.mkdtemp(prefix="etl-metrics-")
    os.environ[MULTIPROC_ENV] = path
    # prometheus_client picks its value class when first imported: if anything
    # imported it before the variable was set, pick again (before any metric exists).
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    return path, True


def serve(options: ServeOptions, settings: Settings | None = None) -> None:
    settings = check(options, settings or get_settings())
    # Start the embedded server (if that is the database) once, before workers fork;
    # each worker then joins the running server.
    resolve(settings)

    def load() -> WSGIApp:
        from api.app import create_app

        return create_app(settings)

    run_server(load, options)


def run_server(load: Callable[[], WSGIApp], options: ServeOptions) -> None:
    """The WSGI app `load` returns, served the way `etl serve` serves the API (bench/api
    serves its bare route through this too, so both run on the same stack).

    granian, chosen by measurement over gunicorn sync and gthread (issue 18): worker
    processes forked from this one, each loading the app once. SIGTERM or SIGINT
    stops gracefully (a worker gets GRACEFUL_SECONDS to finish); SIGHUP replaces the
    workers (a graceful restart); a worker is recycled after WORKER_LIFETIME_SECONDS,
    or sooner when its memory passes WORKER_MAX_RSS_MB; one that dies is replaced.
    """
    from granian import Granian
    from granian.constants import Interfaces

    refuse_taken_port(options.host, options.port)
    metrics_dir, owned = _metrics_dir()
    get_logger("api.serve").info("worker metrics shared", directory=metrics_dir)

    def load_app(_target: str) -> WSGIApp:
        return AccessLog(load())

    try:
        Granian(
            "etl-toolkit-api",  # a name only: load_app builds the app
            address=options.host,
            port=options.port,
            interface=Interfaces.WSGI,
            workers=options.workers,
            **GRANIAN_SETTINGS,
        ).serve(target_loader=load_app)
    finally:
        if owned:
            shutil.rmtree(metrics_dir, ignore_errors=True)
