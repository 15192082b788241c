"""Every line the toolkit writes to stderr has one format: a library's stdlib log
record (psycopg_pool's warnings, pdfminer's) comes out as a structlog line too."""

from __future__ import annotations

import json
import logging

import pytest

from etl_toolkit.log import configure_logging


def test_stdlib_warnings_are_json_lines_and_info_stays_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json=True)
    configure_logging("INFO", json=True)  # configured twice: still one line a record
    pool = logging.getLogger("psycopg.pool")
    pool.info("pool started")  # below WARNING: as quiet as Python's default
    pool.warning("discarding closed connection: password=%s", "s3cret")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["logger"] == "psycopg.pool" and line["level"] == "warning"
    assert line["event"] == "discarding closed connection: password=***"
