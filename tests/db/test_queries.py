from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl_toolkit.db.connect import redact
from etl_toolkit.db.queries import _load, domain_files, parse_queries, query
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


DOMAINS = {"db", "docs", "jobs", "medly", "runs", "sales", "tasks"}
# query("domain", "name") and fetch_one(conn, "domain", "name") in the code,
# over line breaks too.
CALL = re.compile(r'\b(?:query|fetch_one|fetch_all|fetch_page)\((?:\s*\w+,)?\s*"(\w+)",\s*"(\w+)"')
SRC = Path(__file__).resolve().parents[2] / "src"


def test_every_queries_file_parses() -> None:
    for domain in DOMAINS:
        files = domain_files(domain)
        assert files, domain  # every domain has its file, or its folder of files
        for path in files:
            assert parse_queries(path.read_text()), path


def test_a_domain_folder_is_one_namespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "queries" / "shop"
    folder.mkdir(parents=True)
    (folder / "load.sql").write_text("-- name: a\nSELECT 1\n")
    (folder / "read.sql").write_text("-- name: b\nSELECT 2\n")
    monkeypatch.setattr("etl_toolkit.db.queries.sql_root", lambda: tmp_path)
    _load.cache_clear()
    try:
        assert _load("shop") == {"a": "SELECT 1", "b": "SELECT 2"}
        (folder / "refresh.sql").write_text("-- name: a\nSELECT 3\n")
        _load.cache_clear()
        with pytest.raises(ConfigError, match=r"'a' is defined twice: in load.sql and refresh.sql"):
            _load("shop")
    finally:
        _load.cache_clear()


def test_every_query_the_code_names_exists() -> None:
    calls = {m for f in SRC.rglob("*.py") for m in CALL.findall(f.read_text())}
    assert {domain for domain, _ in calls} == DOMAINS
    assert len(calls) > 90, calls  # the regex still finds the calls
    for domain, name in sorted(calls):
        assert query(domain, name), (domain, name)


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
