"""Settings, read from environment variables (and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from etl_toolkit.errors import ConfigError

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("etl-toolkit", appauthor=False))


class Settings(BaseSettings):
    """Every setting the toolkit reads; the env var is the field name upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means the embedded server."
    )
    etl_home: Path = Field(
        default_factory=_default_home,
        description="Where the embedded server keeps its data directory.",
    )
    log_level: LogLevel = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    statement_timeout_ms: int = Field(
        default=30_000, ge=0, description="statement_timeout for API reads (0 = none)."
    )
    cors_origins: str = Field(
        default="",
        description="Origins a browser may call the API from, comma-separated "
        "(scheme://host[:port], or *); empty: none.",
    )
    auth_disabled: bool = Field(default=False, description="1 turns bearer-token checks off.")
    auth0_domain: str | None = Field(default=None, description="Auth0 tenant domain.")
    auth0_audience: str | None = Field(default=None, description="Auth0 API audience.")
    jwt_issuer: str | None = Field(default=None, description="Expected `iss` of tokens.")
    jwt_audience: str | None = Field(default=None, description="Expected `aud` of tokens.")
    jwks_url: str | None = Field(default=None, description="Where the signing keys are served.")
    jwks_cache_seconds: int = Field(default=600, ge=0, description="How long JWKS are cached.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        # An unknown level stays as given, so the error shows what the user wrote.
        if isinstance(value, str) and value.strip().upper() in get_args(LogLevel):
            return value.strip().upper()
        return value

    @property
    def pgdata(self) -> Path:
        return self.etl_home / "pgdata"


def config_error(exc: ValidationError) -> ConfigError:
    """The settings' validation error said as the variables a user sets: pydantic's
    text names a field of a class (`statement_timeout_ms`), not STATEMENT_TIMEOUT_MS."""
    problems = []
    hints = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = field.upper() or "a setting"
        value = error.get("input")
        shown = f"={value!r}" if isinstance(value, str) else ""
        problems.append(f"{variable}{shown}: {error['msg']}")
        info = Settings.model_fields.get(field)
        if info is not None:
            meaning = (info.description or "").rstrip(".")
            default = "" if info.default_factory else f"; default {info.default}"
            hints.append(f"{variable}: {meaning}{default}")
    return ConfigError(
        "bad environment variable " + "; ".join(problems),
        hint=". ".join([*hints, "Correct or unset it in the environment or .env"]),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise config_error(exc) from None
