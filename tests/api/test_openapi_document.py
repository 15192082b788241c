"""/openapi.json as a client reads it (issue 16 §3): every operation described, with an
example recorded from a real call; lists document their paging headers; path
parameters named as the API speaks of them.

The examples (src/api/examples.json) are recorded here, from calls to the API over
seeded data: `ETL_WRITE_EXAMPLES=1 pytest tests/api/test_openapi_document.py`
rewrites them; without it, the test fails when an example no longer has the shape of
what the API answers.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import jsonschema_rs
from flask.testing import FlaskClient

from api.openapi import EXAMPLES
from etl_toolkit.db.connect import Database
from etl_toolkit.medly.pipeline import run_medly
from etl_toolkit.pdf.pipeline import load_pdfs
from etl_toolkit.pdf.synth import text_page, write_pdf
from etl_toolkit.sales.pipeline import run_sales
from tests.medly.test_medly import UID, P, S, write
from tests.sales.test_sales import BASE
from tests.tasks.test_api_tasks import VALID

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _success(op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    code = min(c for c in op["responses"] if c.startswith("2"))
    return code, op["responses"][code]


def test_every_operation_is_described_with_an_example(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert "etl-toolkit" in spec["info"]["description"]
    assert "X-Request-Id" in spec["info"]["description"]
    components = spec["components"]
    operations = _operations(spec)
    assert len(operations) >= 25
    for method, path, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert len(op.get("description", "")) >= 20, f"{where} has no description"
        _, ok = _success(op)
        assert "X-Request-Id" in ok["headers"], where
        for media_type, media in ok.get("content", {}).items():
            assert "example" in media, f"{where} has no {media_type} example"
            if media_type == "application/json":
                validator = jsonschema_rs.validator_for(
                    {**media["schema"], "components": components}
                )
                errors = [e.message for e in validator.iter_errors(media["example"])]
                assert not errors, (where, errors[:3])
        if "requestBody" in op:
            body = op["requestBody"]["content"]["application/json"]
            assert "example" in body, f"{where} has no request example"
            validator = jsonschema_rs.validator_for({**body["schema"], "components": components})
            assert validator.is_valid(body["example"]), where
        for param in op["parameters"]:
            if param["in"] == "path":
                assert param.get("description"), f"{where}: path parameter {param['name']}"


def test_lists_document_their_paging_headers(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    lists = 0
    for method, path, op in _operations(spec):
        _, ok = _success(op)
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("type") != "array":
            continue
        lists += 1
        names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        assert {"limit", "offset"} <= names, f"{method.upper()} {path} is a list without pages"
        assert {"X-Total-Count", "Link"} <= set(ok["headers"]), f"{method.upper()} {path}"
    assert lists >= 8


def test_path_parameters_use_the_names_the_api_speaks(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert "/items/{questionID}" in spec["paths"]
    names = {
        p["name"] for _, _, op in _operations(spec) for p in op["parameters"] if p["in"] == "path"
    }
    assert "question_ref" not in names
    item = spec["paths"]["/items/{questionID}"]["get"]
    assert [p["name"] for p in item["parameters"] if p["in"] == "path"] == ["questionID"]


def test_nested_list_parameters_follow_one_scheme(client: FlaskClient) -> None:
    """`<list>_limit` / `<list>_offset` in the query, `<list>_total` in the body."""
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for path, model, lists in [
        ("/papers/{paper_id}", "Paper", ["items"]),
        ("/lessons/{lesson_id}", "Lesson", ["practice_items", "exam_items"]),
        ("/items/{questionID}", "Item", ["lessons", "appearances"]),
        ("/documents/{document_id}", "DocumentDetail", ["pages"]),
    ]:
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        for name in lists:
            assert params[f"{name}_limit"]["schema"]["maximum"] == 100
            assert params[f"{name}_limit"]["schema"]["default"] == 20
            assert f"{name}_offset" in params
            assert f"{name}_total" in schemas[model]["properties"], (model, name)


# ---- examples recorded from real calls -------------------------------------------------------


def _seed(client: FlaskClient, db: Database, tmp_path: Path) -> dict[str, Any]:
    load_pdfs(
        db,
        [
            write_pdf(tmp_path / "invoice.pdf", [text_page(["Pears are fruit."])] * 2),
            write_pdf(tmp_path / "report.pdf", [text_page(["Pears ripen late."])]),
        ],
    )
    run_medly(db, write(tmp_path / "medly"))
    data = tmp_path / "sales"
    shutil.copytree(BASE, data)
    report = run_sales(db, data)
    document = client.get("/documents?limit=1").get_json()[0]["id"]
    return {"document": document, "run": report.run_id}


def _record(client: FlaskClient, seeds: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """operationId -> the request body sent (if any) and the response received."""
    out: dict[str, dict[str, Any]] = {}

    def call(op_id: str, method: str, url: str, body: Any = None) -> Any:
        r = client.open(url, method=method, json=body)
        assert r.status_code < 300, (op_id, r.status_code, r.get_data(as_text=True))
        response = r.get_json() if r.is_json else r.get_data(as_text=True)
        out[op_id] = {"response": response} | ({"request": body} if body is not None else {})
        return response

    doc = seeds["document"]
    call("health_get_health", "GET", "/health")
    call("health_get_ready", "GET", "/health/ready")
    call("health_get_live", "GET", "/health/live")
    call("documents_list_documents", "GET", "/documents")
    call("documents_search_documents", "GET", "/documents/search?q=pears")
    call("documents_get_document", "GET", f"/documents/{doc}")
    call("documents_get_page", "GET", f"/documents/{doc}/pages/1")
    call("documents_get_page_svg", "GET", f"/documents/{doc}/pages/1.svg")
    job = call(
        "jobs_create_job",
        "POST",
        "/extraction-jobs",
        {"document_id": doc, "priority": 5, "metadata": {"requested_by": "ops"}},
    )
    call("jobs_update_job", "PATCH", f"/extraction-jobs/{job['id']}", {"status": "processing"})
    call("jobs_get_job", "GET", f"/extraction-jobs/{job['id']}")
    call("jobs_list_jobs", "GET", "/extraction-jobs")
    call("jobs_job_events", "GET", f"/extraction-jobs/{job['id']}/events")
    call("medly_get_user", "GET", f"/users/{UID}")
    call("medly_patch_user", "PATCH", f"/users/{UID}", {"name": "Ada Lovelace"})
    call("medly_user_activity", "GET", f"/users/{UID}/activity")
    call("medly_get_lesson", "GET", f"/lessons/{S}0.0.0")
    call("medly_get_paper", "GET", f"/papers/{P}")
    call("medly_get_item", "GET", f"/items/{S}_1_1_A")
    call("runs_list_runs", "GET", "/runs?limit=1")
    call("runs_get_run", "GET", f"/runs/{seeds['run']}")
    created = call("tasks_create_task", "POST", "/task", VALID)
    claimed = call("tasks_claim_task", "POST", "/task/claim", {"processor": "gpu-worker-1"})
    report = {
        "claim_token": claimed["claim_token"],
        "outcome": "processed",
        "anonymised": {"face": 3, "license_plate": 1},
        "duration_ms": 850,
    }
    call("tasks_record_result", "POST", f"/task/{created['id']}/result", report)
    call("tasks_get_task", "GET", f"/task/{created['id']}")
    call("tasks_task_events", "GET", f"/task/{created['id']}/events")
    call("tasks_list_tasks", "GET", "/tasks")
    call("tasks_delete_task", "DELETE", f"/task/{created['id']}")
    metrics = call("runs_metrics", "GET", "/metrics")
    # The whole exposition is long: the example keeps the first line of each sample name.
    kept, seen = [], set()
    for line in metrics.splitlines():
        name = line.split("{")[0].split(" ")[0]
        if line.startswith("#") or name not in seen:
            kept.append(line)
            seen.add(name)
    out["runs_metrics"]["response"] = "\n".join(kept) + "\n"
    return out


def _trim(value: Any) -> Any:
    """Every list cut to its first two entries: an example, not a dump (a sales run's
    report lists dozens of checks)."""
    if isinstance(value, dict):
        return {k: _trim(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trim(v) for v in value[:2]]
    return value


def _shape(value: Any, depth: int = 0) -> Any:
    """The structure of a JSON value, two levels deep (a resource's fields, a listed
    item's fields): free-form objects further down may change without the API
    changing."""
    if isinstance(value, dict):
        return "object" if depth >= 2 else {k: _shape(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0], depth + 1)] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


def test_examples_are_recorded_from_real_calls(
    client: FlaskClient, db: Database, tmp_path: Path
) -> None:
    recorded = _record(client, _seed(client, db, tmp_path))
    spec = client.get("/openapi.json").get_json()
    operation_ids = {op["operationId"] for _, _, op in _operations(spec)}
    assert set(recorded) == operation_ids, "record an example for every operation"
    if os.environ.get("ETL_WRITE_EXAMPLES"):
        short = {k: _trim(v) for k, v in recorded.items()}
        EXAMPLES.write_text(json.dumps(short, indent=1, ensure_ascii=False) + "\n")
    stored = json.loads(EXAMPLES.read_text())
    assert set(stored) == operation_ids
    for op_id, exchange in recorded.items():
        for part in ("request", "response"):
            assert _shape(stored[op_id].get(part)) == _shape(exchange.get(part)), (
                f"{op_id} {part}: the example is stale; rerun with ETL_WRITE_EXAMPLES=1"
            )


def test_the_document_is_served_with_its_examples(client: FlaskClient) -> None:
    stored = json.loads(EXAMPLES.read_text())
    spec = client.get("/openapi.json").get_json()
    get_health = spec["paths"]["/health"]["get"]["responses"]["200"]["content"]
    assert get_health["application/json"]["example"] == stored["health_get_health"]["response"]
