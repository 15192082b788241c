"""What can be checked of the container setup without a Docker engine."""

from __future__ import annotations

import re
from typing import Any

import typer
import yaml

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from tests.paths import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _command_exists(words: list[str]) -> bool:
    cmd: Any = typer.main.get_command(app)
    for word in words:
        if word.startswith("-") or not hasattr(cmd, "commands"):
            break  # options, or a leaf command's arguments
        if word not in cmd.commands:
            return False
        cmd = cmd.commands[word]
    # A leaf command, or a group that runs without a subcommand (`etl sales`).
    return not hasattr(cmd, "commands") or bool(getattr(cmd, "invoke_without_command", False))


def test_every_etl_service_runs_an_existing_command() -> None:
    etl_services = {
        name: s
        for name, s in COMPOSE["services"].items()
        if s.get("build") or s.get("image", "").startswith("etl-toolkit")
    }
    assert {"migrate", "api", "samples-pdf", "samples-medly", "samples-sales"} <= set(etl_services)
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


def test_the_samples_profile_loads_what_the_image_ships_after_migrations() -> None:
    samples = {n: s for n, s in COMPOSE["services"].items() if "samples" in s.get("profiles", [])}
    assert set(samples) == {"samples-pdf", "samples-medly", "samples-sales"}
    assert "COPY samples /opt/etl/samples" in DOCKERFILE and "WORKDIR /opt/etl" in DOCKERFILE
    for name, service in samples.items():
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        folders = [w for w in service["command"] if w.startswith("samples/")]
        assert folders and all((ROOT / f).is_dir() for f in folders), name
    assert "profiles" not in COMPOSE["services"]["api"]  # plain `up` still serves


def test_the_api_without_auth_is_published_on_the_hosts_loopback_only() -> None:
    """With no .env, auth is off (a local try): `--insecure` is what lets `etl serve` bind
    the container's 0.0.0.0, so the host publishes the port on 127.0.0.1 and nowhere else."""
    api = COMPOSE["services"]["api"]
    default = re.fullmatch(r"\$\{AUTH_DISABLED:-(\w*)\}", api["environment"]["AUTH_DISABLED"])
    assert default is not None and default.group(1) == "1"
    assert "--insecure" in api["command"]
    assert api["ports"] and all(str(p).startswith("127.0.0.1:") for p in api["ports"])
    compose_text = (ROOT / "docker-compose.yaml").read_text()
    assert "AUTH_DISABLED=0" in compose_text  # the comment saying how to turn auth on
