"""What can be checked of the container setup without a Docker engine."""

from __future__ import annotations

import re
from typing import Any

import typer
import yaml

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _command_exists(words: list[str]) -> bool:
    cmd: Any = typer.main.get_command(app)
    for word in words:
        if word.startswith("-"):
            break
        if not hasattr(cmd, "commands") or word not in cmd.commands:
            return False
        cmd = cmd.commands[word]
    return not hasattr(cmd, "commands")


def test_every_etl_service_runs_an_existing_command() -> None:
    etl_services = {
        name: s
        for name, s in COMPOSE["services"].items()
        if s.get("build") or s.get("image", "").startswith("etl-toolkit")
    }
    assert {"migrate", "api"} <= set(etl_services)
    for name, service in etl_services.items():
        assert _command_exists(service["command"]), (name, service["command"])


def test_environment_variables_are_settings() -> None:
    settings = {f.upper() for f in Settings.model_fields}
    for name, service in COMPOSE["services"].items():
        if name == "db":
            continue
        assert set(service.get("environment", {})) <= settings, name


def test_the_api_waits_for_migrations_and_migrations_for_the_database() -> None:
    services = COMPOSE["services"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["db"]["image"].startswith("postgres:16")


def test_dockerfile_entrypoint_is_the_console_script() -> None:
    assert re.search(r'^ENTRYPOINT \["etl"\]$', DOCKERFILE, re.MULTILINE)
    assert re.search(r"^USER etl$", DOCKERFILE, re.MULTILINE)  # not root
    assert "HEALTHCHECK" in DOCKERFILE
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert cmd is not None
    assert _command_exists(yaml.safe_load(cmd.group(1)))
