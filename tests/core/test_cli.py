from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db import migrate

runner = CliRunner()


def _all_commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        out.append(path)
        if hasattr(cmd, "commands"):
            out.extend(_all_commands(cmd, path))
    return out


COMMANDS = _all_commands(typer.main.get_command(app))


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    r = runner.invoke(app, [*path, "--help"])
    assert r.exit_code == 0
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    if not hasattr(cmd, "commands"):
        assert "Example" in (cmd.help or ""), f"etl {' '.join(path)} has no example"


def test_db_status_json(settings: Settings) -> None:
    r = runner.invoke(app, ["db", "status", "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["kind"] == "external"
    assert body["applied"] == [m.filename for m in migrate.discover()]
    assert body["pending"] == [] and body["up_to_date"] is True
    assert body["server_version"]


def test_db_migrate_when_up_to_date(settings: Settings) -> None:
    r = runner.invoke(app, ["db", "migrate"])
    assert r.exit_code == 0
    assert r.stdout == f"nothing to apply ({len(migrate.discover())} already applied)\n"


def test_db_url_prints_the_url(settings: Settings) -> None:
    r = runner.invoke(app, ["db", "url"])
    assert r.stdout.strip() == settings.database_url


def test_db_stop_refuses_an_external_server(settings: Settings) -> None:
    r = runner.invoke(app, ["db", "stop"])
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: DATABASE_URL points at an external server")


def test_runs_lists_json(settings: Settings) -> None:
    from etl_toolkit.db.connect import resolve
    from etl_toolkit.runs import track_run

    with track_run(resolve(settings), "demo", {"x": 1}) as run:
        run.counts = {"read": 2}
    r = runner.invoke(app, ["runs", "--json", "--pipeline", "demo"])
    assert r.exit_code == 0
    runs = json.loads(r.stdout)["runs"]
    assert [(x["pipeline"], x["status"], x["counts"]) for x in runs] == [
        ("demo", "succeeded", {"read": 2})
    ]
    table = runner.invoke(app, ["runs"])
    assert "demo" in table.stdout and "succeeded" in table.stdout


def test_unreachable_database_is_one_line_exit_1(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from etl_toolkit.config import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/none")
    get_settings.cache_clear()
    r = runner.invoke(app, ["db", "status"])
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: cannot connect to postgresql://nobody:***@127.0.0.1:1/none")
    assert "secret" not in r.stderr
    r = runner.invoke(app, ["--debug", "db", "status"])
    assert r.exit_code == 1 and r.exception is not None


def test_usage_error_exits_2(settings: Settings) -> None:
    r = runner.invoke(app, ["runs", "--limit", "0"])
    assert r.exit_code == 2


def test_erd_check_and_lint_pass_on_the_repository(settings: Settings) -> None:
    from tests.paths import ROOT

    r = runner.invoke(app, ["db", "erd", "--check", "--out", str(ROOT / "docs" / "erd.md")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["db", "lint"])
    assert r.exit_code == 0
    assert r.stdout == "lint: no findings\n"


def test_erd_outside_the_repository_names_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no docs/ here
    r = runner.invoke(app, ["db", "erd", "--check"])
    assert r.exit_code == 1
    assert f"{tmp_path / 'docs' / 'erd.md'} does not exist" in r.stderr
    r = runner.invoke(app, ["db", "erd"])
    assert r.exit_code == 1 and f"folder {tmp_path / 'docs'} does not exist" in r.stderr
    assert not (tmp_path / "docs").exists()  # no folder made behind the user's back
    r = runner.invoke(app, ["db", "erd", "--out", "erd.md"])
    assert r.exit_code == 0 and (tmp_path / "erd.md").read_text().startswith("#")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--no-auth", "--host", "0.0.0.0"], "refusing to serve without authentication on 0.0.0.0"),
        ([], "authentication is on but not configured"),
    ],
)
def test_serve_refuses_unsafe_configurations(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    from etl_toolkit.config import get_settings

    monkeypatch.delenv("AUTH_DISABLED")
    get_settings.cache_clear()
    r = runner.invoke(app, ["serve", *argv])
    assert r.exit_code == 1
    assert message in r.stderr


@pytest.mark.parametrize("command", ["medly", "sales"])
def test_a_data_dir_that_does_not_exist_is_named_where_it_was_looked_for(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The default data dirs are relative (samples/...): run from another folder, the
    error says which absolute folder was missing, and that the path is relative."""
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, [command])
    assert r.exit_code == 1
    assert f"data dir {tmp_path / 'samples' / command} does not exist" in r.stderr
    assert "a relative path starts at the current folder" in r.stderr
