"""`etl serve`: the app under gunicorn, with guards against unsafe configurations."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from etl_toolkit.config import Settings, get_settings
from etl_toolkit.db.connect import resolve
from etl_toolkit.errors import ConfigError
from etl_toolkit.log import get_logger

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


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


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from api.app import create_app

        return create_app(self._settings)


class StructuredLogger(GunicornLogger):  # type: ignore[misc]
    """gunicorn's error and access logs through structlog, like every other log line:
    JSON off a TTY. An access line carries the request id the app chose."""

    def _emit(self, level: str, msg: Any, args: tuple[Any, ...], exc_info: Any = None) -> None:
        text = str(msg) % args if args else str(msg)
        method = getattr(get_logger("gunicorn"), level)
        if exc_info:
            method(text, exc_info=exc_info)
        else:
            method(text)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("critical", msg, args, kwargs.get("exc_info"))

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("error", msg, args, kwargs.get("exc_info"))

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("warning", msg, args, kwargs.get("exc_info"))

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("info", msg, args, kwargs.get("exc_info"))

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("debug", msg, args, kwargs.get("exc_info"))

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("error", msg, args, kwargs.get("exc_info", True))

    def log(self, lvl: Any, msg: Any, *args: Any, **kwargs: Any) -> None:
        names = {v: k for k, v in self.LOG_LEVELS.items()}
        level = lvl.lower() if isinstance(lvl, str) else names.get(lvl, "info")
        self._emit(level if level in self.LOG_LEVELS else "info", msg, args, kwargs.get("exc_info"))

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        from api.middleware import REQUEST_ID_ENVIRON

        status = resp.status
        code = int(str(status).split(None, 1)[0]) if status else 0
        elapsed: dt.timedelta = request_time
        get_logger("api.access").info(
            "request",
            method=environ.get("REQUEST_METHOD"),
            path=environ.get("PATH_INFO"),
            query=environ.get("QUERY_STRING") or None,
            status=code,
            duration_ms=round(elapsed.total_seconds() * 1000, 3),
            bytes=getattr(resp, "sent", None),
            remote=environ.get("REMOTE_ADDR"),
            request_id=environ.get(REQUEST_ID_ENVIRON),
            pid=os.getpid(),  # which worker answered
        )


def _child_exit(_server: Any, worker: Any) -> None:
    """A dead worker's live gauges are dropped; its counters and histograms stay summed."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


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
    metrics_dir, owned = _metrics_dir()
    get_logger("api.serve").info("worker metrics shared", directory=metrics_dir)
    try:
        _Gunicorn(
            settings,
            {
                "bind": f"{options.host}:{options.port}",
                "workers": options.workers,
                "accesslog": "-",
                "errorlog": "-",
                "logger_class": StructuredLogger,
                "child_exit": _child_exit,
                "timeout": 60,
                "graceful_timeout": 5,
            },
        ).run()
    finally:
        if owned:
            shutil.rmtree(metrics_dir, ignore_errors=True)
