"""Settings, read from environment variables (and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
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

    @property
    def pgdata(self) -> Path:
        return self.etl_home / "pgdata"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
