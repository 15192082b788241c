"""The HTTP contract as a client written from /openapi.json sees it (issue 13 §2):
every list operation found in the document keeps its total past the last page,
bodies whose fields are all optional may be left out, and JSON that is not
RFC 8259 JSON (or nests past the documented limit) is a 4xx on every body."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema_rs
import pytest
from flask.testing import FlaskClient

from api.jsonbody import MAX_JSON_DEPTH
from etl_toolkit import runs
from etl_toolkit.db.connect import Database
from etl_toolkit.medly.pipeline import run_medly
from etl_toolkit.pdf.pipeline import load_pdfs
from etl_toolkit.pdf.synth import text_page, write_pdf
from tests.medly.test_medly import UID, write
from tests.tasks.test_api_tasks import VALID

# What a list operation's path and required query parameters are filled with: the
# seeded user, a word the seeded documents hold. A new list operation with a new
# required parameter fails the walk until it is given a value here.
PATH_VALUES = {"uid": UID}
QUERY_VALUES = {"q": "pears"}
LINK = re.compile(r'<([^>]+)>; rel="(\w+)"')


@pytest.fixture
def seeded(client: FlaskClient, db: Database, tmp_path: Path) -> dict[str, str]:
    """At least two rows behind every list operation; the ids of the seeded job and
    task (whose histories are lists too)."""
    load_pdfs(
        db,
        [
            write_pdf(tmp_path / "a.pdf", [text_page(["Pears are fruit."])] * 2),
            write_pdf(tmp_path / "b.pdf", [text_page(["Pears ripen late."])]),
        ],
    )
    run_medly(db, write(tmp_path / "medly"))
    for status in ("succeeded", "failed"):
        runs.finish_run(db, runs.start_run(db, "sales", {}).id, status)
    for n in range(2):
        r = client.post("/task", json={**VALID, "file_name": f"f{n}.jpg"})
        assert r.status_code == 201, r.get_json()
    task_id = r.get_json()["id"]
    client.delete(f"/task/{task_id}")  # a second event in its history
    job_id = client.post("/extraction-jobs", json={"document_id": "d"}).get_json()["id"]
    client.patch(f"/extraction-jobs/{job_id}", json={"status": "processing"})
    return {"task_id": task_id, "job_id": job_id}


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


def test_every_list_keeps_its_total_past_the_last_page(
    client: FlaskClient, seeded: dict[str, str]
) -> None:
    operations = _list_operations(client.get("/openapi.json").get_json())
    paths = {path for path, _ in operations}
    assert {"/documents", "/extraction-jobs", "/runs", "/tasks"} <= paths
    assert {"/documents/search", "/users/{uid}/activity"} <= paths
    assert {"/extraction-jobs/{job_id}/events", "/task/{task_id}/events"} <= paths
    values = PATH_VALUES | seeded
    for path, op in operations:
        url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
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


def _url(path: str, op: dict[str, Any]) -> str:
    """The path with every parameter filled: a uuid where the document asks for one."""
    formats = {p["name"]: p["schema"].get("format") for p in op["parameters"] if p["in"] == "path"}

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in PATH_VALUES:
            return PATH_VALUES[name]
        return str(uuid.uuid4()) if formats.get(name) == "uuid" else "1"

    return re.sub(r"\{(\w+)\}", value, path)


def _body_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if "requestBody" in op
    ]


def test_bodies_whose_fields_are_all_optional_may_be_left_out(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    optional = {
        (method, path): op
        for method, path, op in _body_operations(spec)
        if not op["requestBody"]["required"]
    }
    assert set(optional) == {("post", "/task/claim")}
    for (method, path), op in optional.items():
        bare = client.open(_url(path, op), method=method.upper())  # no body, no content type
        assert bare.status_code < 400, (path, bare.get_json())
        empty = client.open(_url(path, op), method=method.upper(), json={})
        assert bare.status_code == empty.status_code, path
    task = client.post("/task", json=VALID).get_json()["id"]
    claimed = client.post("/task/claim")
    assert claimed.status_code == 200, claimed.get_json()
    assert claimed.get_json()["task_id"] == task
    events = client.get(f"/task/{task}/events").get_json()
    assert events[-1]["to_status"] == "processing"
    assert events[-1]["actor"] == "anonymous"


def test_a_required_body_left_out_is_still_422(client: FlaskClient) -> None:
    r = client.post("/task")
    assert r.status_code == 422
    assert r.content_type == "application/problem+json"
    assert client.patch(f"/users/{UID}").status_code == 422  # a PATCH changes something


def _nested(depth: int) -> str:
    """An array `depth` levels deep, as JSON text."""
    return "[" * depth + "]" * depth


NOT_RFC_8259 = {
    "NaN": '{"x": NaN}',
    "Infinity": '{"x": [1, Infinity]}',
    "-Infinity": '{"x": {"y": -Infinity}}',
    "overflow": '{"x": 1e400}',
    "deep": '{"x": ' + _nested(100_000) + "}",
    "just too deep": '{"x": ' + _nested(MAX_JSON_DEPTH) + "}",
}


@pytest.mark.parametrize("case", NOT_RFC_8259)
def test_json_that_python_or_postgresql_cannot_take_is_a_4xx_on_every_body(
    client: FlaskClient, case: str
) -> None:
    spec = client.get("/openapi.json").get_json()
    targets = [(m, _url(p, op)) for m, p, op in _body_operations(spec)]
    assert len(targets) >= 5
    targets.append(("post", "/graphql"))
    for method, url in targets:
        r = client.open(
            url, method=method.upper(), data=NOT_RFC_8259[case], content_type="application/json"
        )
        assert r.status_code in (400, 422), (url, r.status_code)
        assert r.content_type == "application/problem+json", url
        detail = r.get_json()["detail"]
        assert case.split()[-1] in detail or "out of range" in detail, (url, detail)
        if "deep" in case:
            assert str(MAX_JSON_DEPTH) in detail, url
    assert str(MAX_JSON_DEPTH) in spec["info"]["description"]


def test_nesting_up_to_the_limit_is_stored(
    client: FlaskClient, db: Database, tmp_path: Path
) -> None:
    run_medly(db, write(tmp_path / "medly"))
    metadata: Any = {}
    for _ in range(MAX_JSON_DEPTH - 2):  # the body and metadata objects are two levels
        metadata = {"k": metadata}
    r = client.patch(f"/users/{UID}", json={"metadata": metadata})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["metadata"] == metadata


def test_a_nan_in_job_metadata_is_422_not_a_database_error(client: FlaskClient) -> None:
    r = client.post(
        "/extraction-jobs",
        data='{"document_id": "d1", "metadata": {"score": NaN}}',
        content_type="application/json",
    )
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "body"
    assert client.get("/extraction-jobs").headers["X-Total-Count"] == "0"


def test_graphql_variables_with_nan_are_400(client: FlaskClient) -> None:
    r = client.post(
        "/graphql",
        data='{"query": "query($n: Float) { __typename }", "variables": {"n": NaN}}',
        content_type="application/json",
    )
    assert r.status_code == 400
    assert r.content_type == "application/problem+json"
    assert "NaN" in r.get_json()["detail"]


LOCATIONS = {
    "uri": {"uri": "s3://uploads/a.jpg"},
    "bucket and key": {"bucket": "uploads", "key": "a.jpg"},
    "null uri, bucket and key": {"uri": None, "bucket": "uploads", "key": "a.jpg"},
    "uri, null bucket and key": {"uri": "s3://uploads/a.jpg", "bucket": None, "key": None},
    "uri and bucket": {"uri": "s3://uploads/a.jpg", "bucket": "uploads"},
    "uri, bucket and key": {"uri": "s3://uploads/a.jpg", "bucket": "uploads", "key": "a.jpg"},
    "bucket alone": {"bucket": "uploads"},
    "nothing": {},
    "uri without a key": {"uri": "s3://uploads"},
    "uri of another scheme": {"uri": "gs://uploads/a.jpg"},
}


@pytest.mark.parametrize("case", LOCATIONS)
def test_the_task_schema_states_the_either_or_rule_the_server_applies(
    client: FlaskClient, case: str
) -> None:
    """A body valid against /openapi.json is a body the server accepts, and the
    other way round: `uri`, or `bucket` and `key`, never both."""
    spec = client.get("/openapi.json").get_json()
    validator = jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/TaskRequest", "components": spec["components"]}
    )
    body = {k: v for k, v in VALID.items() if k != "uri"} | LOCATIONS[case]
    r = client.post("/task", json=body)
    assert r.status_code in (201, 422), r.get_json()
    assert validator.is_valid(body) == (r.status_code == 201), (case, r.get_json())
    assert "oneOf" in spec["components"]["schemas"]["TaskRequest"]


def test_text_patterns_compile_in_the_validators_clients_use(client: FlaskClient) -> None:
    """A surrogate range made the Rust validator (and schemathesis) drop our patterns."""
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    task = schemas["TaskRequest"]["properties"]
    validator = jsonschema_rs.validator_for(task["file_name"])
    assert not validator.is_valid("")
    assert not validator.is_valid(" \t\x1c\u3000")  # Python's whitespace, not ECMA's \s
    assert not validator.is_valid("a\x00b")
    assert validator.is_valid("street.jpg")
