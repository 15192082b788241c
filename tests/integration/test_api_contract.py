"""The HTTP contract as a client written from /openapi.json sees it (issue 13 §2):
every list operation found in the document keeps its total past the last page,
and bodies whose fields are all optional may be left out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from etl_toolkit import runs
from etl_toolkit.db.connect import Database
from etl_toolkit.medly.load import migrate_medly
from etl_toolkit.pdf.load import load_pdfs
from etl_toolkit.pdf.synth import text_page, write_pdf
from tests.integration.test_api_tasks import VALID
from tests.integration.test_medly import UID, write

# What a list operation's path and required query parameters are filled with: the
# seeded user, a word the seeded documents hold. A new list operation with a new
# required parameter fails the walk until it is given a value here.
PATH_VALUES = {"uid": UID}
QUERY_VALUES = {"q": "pears"}
LINK = re.compile(r'<([^>]+)>; rel="(\w+)"')


@pytest.fixture
def seeded(client: FlaskClient, db: Database, tmp_path: Path) -> None:
    """At least two rows behind every list operation."""
    load_pdfs(
        db,
        [
            write_pdf(tmp_path / "a.pdf", [text_page(["Pears are fruit."])] * 2),
            write_pdf(tmp_path / "b.pdf", [text_page(["Pears ripen late."])]),
        ],
    )
    migrate_medly(db, write(tmp_path / "medly"))
    for status in ("succeeded", "failed"):
        runs.finish_run(db, runs.start_run(db, "sales", {}).id, status)
    for n in range(2):
        r = client.post("/task", json={**VALID, "file_name": f"f{n}.jpg"})
        assert r.status_code == 201, r.get_json()


def _list_operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """GET operations answering an array and taking limit and offset."""
    found = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None:
            continue
        names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        schema = op["responses"]["200"]["content"].get("application/json", {}).get("schema", {})
        if {"limit", "offset"} <= names and schema.get("type") == "array":
            found.append((path, op))
    return found


def _links(header: str) -> dict[str, int]:
    """rel -> offset of each link."""
    return {
        rel: int(parse_qs(urlsplit(url).query)["offset"][0]) for url, rel in LINK.findall(header)
    }


def test_every_list_keeps_its_total_past_the_last_page(client: FlaskClient, seeded: None) -> None:
    operations = _list_operations(client.get("/openapi.json").get_json())
    paths = {path for path, _ in operations}
    assert {"/documents", "/extraction-jobs", "/runs", "/tasks"} <= paths
    assert {"/documents/search", "/users/{uid}/activity"} <= paths
    for path, op in operations:
        url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
        required = {
            p["name"]: QUERY_VALUES[p["name"]]
            for p in op["parameters"]
            if p["in"] == "query" and p["required"]
        }
        first = client.get(url, query_string={**required, "limit": 1})
        assert first.status_code == 200, (path, first.get_json())
        total = int(first.headers["X-Total-Count"])
        assert total >= 2, path
        last = total - 1
        assert _links(first.headers["Link"]) == {"next": 1, "first": 0, "last": last}, path
        for offset in (total, total + 40):
            past = client.get(url, query_string={**required, "limit": 1, "offset": offset})
            assert past.status_code == 200, path
            assert past.get_json() == [], path
            assert past.headers["X-Total-Count"] == str(total), (path, offset)
            assert _links(past.headers["Link"]) == {"prev": last, "first": 0, "last": last}, path
