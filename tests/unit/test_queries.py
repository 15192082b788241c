from __future__ import annotations

import pytest

from etl_toolkit.db.connect import redact
from etl_toolkit.db.queries import parse_queries, query, sql_root
from etl_toolkit.errors import ConfigError


def test_parse_queries_splits_on_name_markers() -> None:
    text = "-- header\n-- name: one\nSELECT 1\n\n-- name: two\nSELECT 2;\nSELECT 3;\n"
    assert parse_queries(text) == {"one": "SELECT 1", "two": "SELECT 2;\nSELECT 3;"}


def test_duplicate_query_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="twice"):
        parse_queries("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")


def test_unknown_query_and_domain_are_errors() -> None:
    with pytest.raises(ConfigError, match="no query 'nope'"):
        query("db", "nope")
    with pytest.raises(ConfigError, match="no queries file"):
        query("no_such_domain", "x")


def test_every_queries_file_parses() -> None:
    for path in (sql_root() / "queries").glob("*.sql"):
        assert parse_queries(path.read_text()), path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://postgres:@/etl?host=/tmp/x", "postgresql://postgres:@/etl?host=/tmp/x"),
    ],
)
def test_redact(url: str, expected: str) -> None:
    assert redact(url) == expected
