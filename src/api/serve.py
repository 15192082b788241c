"""`etl serve`: the app under gunicorn, with guards against unsafe configurations."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

from etl_toolkit.config import Settings, get_settings
from etl_toolkit.db.connect import resolve
from etl_toolkit.errors import ConfigError


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


def serve(options: ServeOptions, settings: Settings | None = None) -> None:
    settings = check(options, settings or get_settings())
    # Start the embedded server (if that is the database) once, before workers fork;
    # each worker then joins the running server.
    resolve(settings)
    _Gunicorn(
        settings,
        {
            "bind": f"{options.host}:{options.port}",
            "workers": options.workers,
            "accesslog": "-",
            "errorlog": "-",
            "timeout": 60,
            "graceful_timeout": 5,
        },
    ).run()
