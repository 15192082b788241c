"""docker-compose.yaml's services, run as `docker compose up` with no `.env` would run
them, without a container engine: each service's command after the image's entrypoint,
as a real process, with the service's environment (variables interpolated from an empty
environment, so their defaults apply) and only the database URL swapped for the test
database. The static checks of the same file are in tests/infra/test_containers.py."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from etl_toolkit.db import migrate
from etl_toolkit.db.connect import Database
from tests.paths import ROOT

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# ${NAME}, ${NAME:-default} and ${NAME-default}: the forms compose files use here.
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?-)(?P<default>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation of one value, for the forms VARIABLE knows."""

    def one(m: re.Match[str]) -> str:
        name, op, default = m.group("name"), m.group("op"), m.group("default") or ""
        if op == ":-":
            return env.get(name) or default
        if op == "-":
            return env.get(name, default)
        return env.get(name, "")

    out = VARIABLE.sub(one, value.replace("$$", "\0"))
    assert "$" not in out, f"compose syntax this test does not interpolate: {value}"
    return out.replace("\0", "$")


def entrypoint() -> list[str]:
    m = re.search(r"^ENTRYPOINT (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert m is not None
    words: list[str] = json.loads(m.group(1))
    # The image's console script is this environment's: the same package, installed.
    return [str(Path(sys.executable).with_name(words[0])), *words[1:]]


def service_env(name: str, db: Database, home: Path) -> dict[str, str]:
    """What the container sees: the image's ENV, then the service's environment (defaults,
    as with no `.env`), the database swapped. Nothing else of this process leaks in."""
    service = COMPOSE["services"][name]
    env = {key: interpolate(str(v), {}) for key, v in service.get("environment", {}).items()}
    assert "DATABASE_URL" in env, name
    image = {"PYTHONUNBUFFERED": "1", "ETL_HOME": str(home), "HOME": str(home)}
    return {"PATH": os.environ["PATH"], **image, **env, "DATABASE_URL": db.url}


def run_service(name: str, db: Database, home: Path) -> subprocess.CompletedProcess[str]:
    # The image's WORKDIR holds samples/ as the repository does.
    return subprocess.run(
        [*entrypoint(), *COMPOSE["services"][name]["command"]],
        env=service_env(name, db, home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def count(db: Database, table: str) -> int:
    with db.connect() as conn:
        row = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()
    assert row is not None
    return int(row["n"])  # type: ignore[call-overload]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_interpolation_applies_defaults_as_compose_does() -> None:
    assert interpolate("${A:-x}", {}) == "x"
    assert interpolate("${A:-x}", {"A": ""}) == "x"
    assert interpolate("${A-x}", {"A": ""}) == ""
    assert interpolate("a${A}b$$", {"A": "1"}) == "a1b$"


def test_migrate_migrates_an_empty_database(empty_db: Database, tmp_path: Path) -> None:
    r = run_service("migrate", empty_db, tmp_path)
    assert r.returncode == 0, r.stderr
    state = migrate.state(empty_db)
    assert state.pending == [] and len(state.applied) == len(migrate.discover())
    again = run_service("migrate", empty_db, tmp_path)  # `docker compose up` a second time
    assert again.returncode == 0, again.stderr


SAMPLES = {
    "samples-pdf": ("load-pdf", "docs.words"),
    "samples-medly": ("medly", "medly.items"),
    "samples-sales": ("sales", "sales.order_items"),
}


def test_the_samples_profile_is_the_services_below() -> None:
    profile = {n for n, s in COMPOSE["services"].items() if "samples" in s.get("profiles", [])}
    assert profile == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_samples_service_loads_its_samples(db: Database, tmp_path: Path, name: str) -> None:
    pipeline, table = SAMPLES[name]
    r = run_service(name, db, tmp_path)
    assert r.returncode == 0, r.stderr
    assert count(db, table) > 0
    with db.connect() as conn:
        runs = conn.execute("SELECT pipeline, status FROM etl.runs").fetchall()
    assert runs and {(r["pipeline"], r["status"]) for r in runs} == {(pipeline, "succeeded")}


def test_the_api_service_serves_health_with_no_env(db: Database, tmp_path: Path) -> None:
    """The command as written (0.0.0.0 inside the container, auth as the defaults leave
    it) starts; only the port is a free one, as the container's 8000 may be taken here."""
    command = list(COMPOSE["services"]["api"]["command"])
    port = free_port()
    command[command.index("--port") + 1] = str(port)
    log = (tmp_path / "api.log").open("w+")
    proc = subprocess.Popen(
        [*entrypoint(), *command],
        env=service_env("api", db, tmp_path),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status, body = 0, b""
        deadline = time.monotonic() + 120  # a bound on waiting for startup, not a measure
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                    status, body = r.status, r.read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        log.seek(0)
        assert status == 200, f"exit code {proc.poll()}; output:\n{log.read()}"
        health = json.loads(body)
        assert health["status"] == "ok" and health["migrations"]["up_to_date"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
