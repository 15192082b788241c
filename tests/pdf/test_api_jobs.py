"""The /extraction-jobs contract, to the letter."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.jwks import IdentityProvider

JOB_FIELDS = {
    "id",
    "document_id",
    "status",
    "priority",
    "metadata",
    "error_message",
    "created_at",
    "updated_at",
}


def _create(client: FlaskClient, **body: Any) -> dict[str, Any]:
    r = client.post("/extraction-jobs", json={"document_id": "doc-1", **body})
    assert r.status_code == 201, r.get_json()
    data: dict[str, Any] = r.get_json()
    return data


def _ts(value: str) -> datetime:
    assert value.endswith("Z") or value.endswith("+00:00")
    return datetime.fromisoformat(value)


def test_create_returns_the_job(client: FlaskClient) -> None:
    r = client.post(
        "/extraction-jobs",
        json={"document_id": "doc-1", "priority": 7, "metadata": {"source": "upload"}},
    )
    assert r.status_code == 201
    job = r.get_json()
    assert set(job) == JOB_FIELDS
    assert uuid.UUID(job["id"]).version == 4
    assert (
        job["document_id"],
        job["status"],
        job["priority"],
        job["metadata"],
        job["error_message"],
    ) == ("doc-1", "pending", 7, {"source": "upload"}, None)
    assert _ts(job["created_at"]) == _ts(job["updated_at"])
    assert r.headers["Location"].endswith(f"/extraction-jobs/{job['id']}")


def test_create_defaults(client: FlaskClient) -> None:
    job = _create(client)
    assert (job["priority"], job["metadata"]) == (0, None)


def test_a_new_job_was_created_and_updated_at_the_same_instant(client: FlaskClient) -> None:
    # A regression: two clock readings once differed by a microsecond.
    for _ in range(50):
        job = _create(client)
        assert job["created_at"] == job["updated_at"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "document_id"),
        ({"document_id": ""}, "document_id"),
        ({"document_id": "   "}, "document_id"),
        ({"document_id": 42}, "document_id"),
        ({"document_id": "d", "priority": 11}, "priority"),
        ({"document_id": "d", "priority": -1}, "priority"),
        ({"document_id": "d", "priority": "5"}, "priority"),
        ({"document_id": "d", "priority": 2.5}, "priority"),
        ({"document_id": "d", "priority": True}, "priority"),
        ({"document_id": "d", "metadata": [1, 2]}, "metadata"),
    ],
)
def test_create_rejects_bad_bodies(client: FlaskClient, body: dict[str, Any], field: str) -> None:
    r = client.post("/extraction-jobs", json=body)
    assert r.status_code == 422
    assert r.content_type == "application/problem+json"
    assert field in {e["field"] for e in r.get_json()["errors"]}


@pytest.mark.parametrize("raw", ["[]", '"doc"', "null", "{not json", ""])
def test_create_rejects_a_body_that_is_not_an_object(client: FlaskClient, raw: str) -> None:
    r = client.post("/extraction-jobs", data=raw, content_type="application/json")
    assert r.status_code == 422


def test_get_and_404s(client: FlaskClient) -> None:
    job = _create(client)
    r = client.get(f"/extraction-jobs/{job['id']}")
    assert (r.status_code, r.get_json()) == (200, job)
    for unknown in (str(uuid.uuid4()), "not-a-uuid", "123"):
        r = client.get(f"/extraction-jobs/{unknown}")
        assert r.status_code == 404
        assert r.content_type == "application/problem+json"


def test_patch_moves_status_and_updated_at(client: FlaskClient) -> None:
    job = _create(client)
    r = client.patch(f"/extraction-jobs/{job['id']}", json={"status": "processing"})
    assert r.status_code == 200
    processing = r.get_json()
    assert processing["status"] == "processing"
    assert _ts(processing["updated_at"]) > _ts(job["updated_at"])
    assert processing["created_at"] == job["created_at"]
    r = client.patch(
        f"/extraction-jobs/{job['id']}",
        json={"status": "failed", "error_message": "page 3 unreadable"},
    )
    failed = r.get_json()
    assert (failed["status"], failed["error_message"]) == ("failed", "page 3 unreadable")
    assert _ts(failed["updated_at"]) > _ts(processing["updated_at"])
    r = client.patch(
        f"/extraction-jobs/{job['id']}", json={"status": "pending", "error_message": None}
    )
    assert r.get_json()["error_message"] is None


@pytest.mark.parametrize("body", [{"status": "done"}, {"status": None}, {}, {"status": 1}])
def test_patch_rejects_bad_status(client: FlaskClient, body: dict[str, Any]) -> None:
    job = _create(client)
    r = client.patch(f"/extraction-jobs/{job['id']}", json=body)
    assert r.status_code == 422
    assert client.get(f"/extraction-jobs/{job['id']}").get_json()["status"] == "pending"


def test_patch_unknown_job_is_404(client: FlaskClient) -> None:
    for unknown in (str(uuid.uuid4()), "nope"):
        r = client.patch(f"/extraction-jobs/{unknown}", json={"status": "completed"})
        assert r.status_code == 404


def test_list_filters_combine_and_paginate_in_a_stable_order(client: FlaskClient) -> None:
    created = [_create(client, document_id=f"doc-{i % 3}") for i in range(9)]
    for job in created[:4]:
        client.patch(f"/extraction-jobs/{job['id']}", json={"status": "completed"})
    r = client.get("/extraction-jobs")
    assert r.status_code == 200
    assert [j["id"] for j in r.get_json()] == [j["id"] for j in created]
    assert r.headers["X-Total-Count"] == "9"
    r = client.get("/extraction-jobs?document_id=doc-1&status=completed")
    expected = [j["id"] for j in created[:4] if j["document_id"] == "doc-1"]
    assert [j["id"] for j in r.get_json()] == expected
    pages = [client.get(f"/extraction-jobs?limit=4&offset={o}").get_json() for o in (0, 4, 8, 12)]
    assert [len(p) for p in pages] == [4, 4, 1, 0]
    assert [j["id"] for p in pages for j in p] == [j["id"] for j in created]
    empty = client.get("/extraction-jobs?limit=4&offset=12")
    assert empty.headers["X-Total-Count"] == "9"
    pending = client.get("/extraction-jobs?status=pending&limit=2&offset=2").get_json()
    assert [j["id"] for j in pending] == [j["id"] for j in created[6:8]]


@pytest.mark.parametrize("qs", ["status=done", "limit=0", "limit=101", "offset=-1", "limit=x"])
def test_list_rejects_bad_parameters(client: FlaskClient, qs: str) -> None:
    assert client.get(f"/extraction-jobs?{qs}").status_code == 422


def test_events_record_every_status_change(client: FlaskClient) -> None:
    job = _create(client)
    for status in ("processing", "processing", "completed"):
        client.patch(f"/extraction-jobs/{job['id']}", json={"status": status})
    events = client.get(f"/extraction-jobs/{job['id']}/events").get_json()
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "pending"),
        ("pending", "processing"),
        ("processing", "completed"),
    ]
    assert client.get(f"/extraction-jobs/{uuid.uuid4()}/events").status_code == 404


def test_a_long_history_is_paged(client: FlaskClient) -> None:
    job = _create(client)
    for n in range(24):
        status = "processing" if n % 2 == 0 else "pending"
        assert (
            client.patch(f"/extraction-jobs/{job['id']}", json={"status": status}).status_code
            == 200
        )
    r = client.get(f"/extraction-jobs/{job['id']}/events")
    assert r.headers["X-Total-Count"] == "25"
    assert 'rel="next"' in r.headers["Link"]
    first = r.get_json()
    assert len(first) == 20 and first[0]["from_status"] is None
    rest = client.get(f"/extraction-jobs/{job['id']}/events?offset=20").get_json()
    assert len(rest) == 5 and rest[-1]["to_status"] == "pending"
    assert client.get(f"/extraction-jobs/{job['id']}/events?limit=101").status_code == 422


def test_jobs_need_a_token_when_auth_is_on(secure_app: Flask, idp: IdentityProvider) -> None:
    c = secure_app.test_client()
    assert c.get("/extraction-jobs").status_code == 401
    assert c.post("/extraction-jobs", json={"document_id": "d"}).status_code == 401
    ok = c.get("/extraction-jobs", headers={"Authorization": f"Bearer {idp.token()}"})
    assert ok.status_code == 200


def test_an_integral_number_is_an_integer_priority(client: FlaskClient) -> None:
    # JSON has one number type: 4.0 is the integer 4 (JSON Schema agrees); 2.5 is not.
    assert _create(client, priority=4.0)["priority"] == 4


@pytest.mark.parametrize(
    "body",
    [
        {"document_id": "a\u0000b"},
        {"document_id": "\ud800"},
        {"document_id": "d", "metadata": {"k": "v\u0000"}},
        {"document_id": "d", "metadata": {"\u0000": 1}},
        {"document_id": "d", "metadata": {"deep": [{"x": "\udfff"}]}},
        {"document_id": "d", "metadata": {"blob": "x" * 70_000}},
    ],
)
def test_unstorable_text_and_oversized_metadata_are_422(
    client: FlaskClient, body: dict[str, Any]
) -> None:
    r = client.post("/extraction-jobs", json=body)
    assert r.status_code == 422
    assert r.content_type == "application/problem+json"
