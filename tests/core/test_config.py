"""Settings from the environment: a bad value is named as the variable a user set,
with what is wrong and the fix, never as pydantic's field of a class."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import get_settings


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _error_lines(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = CliRunner().invoke(app, ["db", "status"])
    assert out.exit_code == 1, out.output
    return [line for line in out.output.splitlines() if line.startswith("Error:")]


def test_a_bad_number_names_its_variable_and_the_fix(
    fresh_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    (line,) = _error_lines(monkeypatch, STATEMENT_TIMEOUT_MS="abc")
    assert line.startswith("Error: bad environment variable STATEMENT_TIMEOUT_MS='abc': ")
    assert "valid integer" in line and "default 30000" in line
    assert "Correct or unset it in the environment or .env" in line
    assert "ValidationError" not in line and "pydantic.dev" not in line


def test_an_unknown_log_level_is_refused_with_the_levels(
    fresh_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    (line,) = _error_lines(monkeypatch, LOG_LEVEL="bogus")
    assert "LOG_LEVEL='bogus'" in line
    assert "'DEBUG', 'INFO', 'WARNING' or 'ERROR'" in line


def test_every_bad_variable_is_named_at_once(
    fresh_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    (line,) = _error_lines(monkeypatch, STATEMENT_TIMEOUT_MS="-1", AUTH_DISABLED="maybe")
    assert "STATEMENT_TIMEOUT_MS='-1': Input should be greater than or equal to 0" in line
    assert "AUTH_DISABLED='maybe'" in line


def test_a_log_level_in_any_case_is_accepted(
    fresh_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_LEVEL", " warning ")
    assert get_settings().log_level == "WARNING"
