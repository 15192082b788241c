"""structlog configuration: JSON lines on stderr, readable output on a TTY."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

_configured = False


class _StderrLogger:
    """Writes to whatever sys.stderr is now (test runners and daemons swap it)."""

    def msg(self, message: str) -> None:
        # One write per line: gunicorn workers share stderr, and print()'s separate
        # write of the newline let two workers' lines run together.
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_factory(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


class _ToStructlog(logging.Handler):
    """Records of the standard library's loggers (psycopg_pool, pdfminer...) as
    structlog lines, so every line on stderr has one format (JSON off a TTY)."""

    def emit(self, record: logging.LogRecord) -> None:
        log = structlog.get_logger(record.name)
        log.log(record.levelno, record.getMessage(), logger=record.name)


StructlogHandler = _ToStructlog  # for logging.config (granian's lines under `etl serve`)


def _redact_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    """No password in a log line (an error logged with a connection string in it)."""
    from etl_toolkit.redact import redact

    return {k: redact(v) if isinstance(v, str) else v for k, v in event.items()}


def configure_logging(level: str = "INFO", *, json: bool | None = None) -> None:
    """Configure structlog once per process; later calls only change the level."""
    global _configured
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    use_json = (not sys.stderr.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_stderr_factory,
        cache_logger_on_first_use=False,
    )
    # What Python's last-resort handler printed before (warnings and worse), as our lines.
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, _ToStructlog)]
    root.addHandler(_ToStructlog(logging.WARNING))
    _configured = True


def get_logger(name: str) -> Any:
    # structlog's unconfigured default prints to stdout, which belongs to results:
    # a library user who configured nothing gets warnings only, on stderr.
    if not _configured:
        configure_logging("WARNING")
    return structlog.get_logger(name)
