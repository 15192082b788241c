"""/task: the two original endpoints with every 4xx, the queue endpoints, illegal transitions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

VALID = {
    "uri": "s3://uploads/2025/street.jpg",
    "media_type": "image",
    "file_name": "street.jpg",
    "classes": ["face", "license_plate"],
}


def _create(client: FlaskClient, **overrides: Any) -> str:
    r = client.post("/task", json={**VALID, **overrides})
    assert r.status_code == 201, r.get_json()
    task_id: str = r.get_json()["id"]
    return task_id


def _claim(client: FlaskClient, **body: Any) -> dict[str, Any]:
    r = client.post("/task/claim", json={"processor": "p1", **body})
    assert r.status_code == 200, r.get_data(as_text=True)
    claimed: dict[str, Any] = r.get_json()
    return claimed


def test_post_task_returns_201_with_id_and_location(client: FlaskClient) -> None:
    r = client.post(
        "/task", json={**VALID, "size_bytes": 1234, "uploaded_at": "2025-03-01T10:00:00+01:00"}
    )
    assert r.status_code == 201
    task_id = r.get_json()["id"]
    assert set(r.get_json()) == {"id"}
    assert r.headers["Location"].endswith(f"/task/{task_id}")
    task = client.get(f"/task/{task_id}").get_json()
    assert task["status"] == "new"
    assert task["object"] == {
        "bucket": "uploads",
        "key": "2025/street.jpg",
        "uri": "s3://uploads/2025/street.jpg",
    }
    assert (task["media_type"], task["file_name"], task["size_bytes"]) == (
        "image",
        "street.jpg",
        1234,
    )
    assert task["classes"] == ["face", "license_plate"]
    assert task["uploaded_at"] == "2025-03-01T09:00:00Z"
    assert task["processing"] == {
        "started_at": None,
        "finished_at": None,
        "duration_ms": None,
        "attempts": 0,
    }
    assert task["anonymised"] == {}


def test_bucket_and_key_work_as_location(client: FlaskClient) -> None:
    task_id = _create(client, uri=None, bucket="b", key="videos/a.mp4", media_type="video")
    assert client.get(f"/task/{task_id}").get_json()["object"]["uri"] == "s3://b/videos/a.mp4"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"classes": []}, "classes"),
        ({"classes": ["face", "cat"]}, "classes"),
        ({"media_type": "audio"}, "media_type"),
        ({"uri": None}, "body"),
        ({"uri": "https://example.com/a.jpg"}, "body"),
        ({"uri": "s3://bucket-only"}, "body"),
        ({"bucket": "b", "key": "k"}, "body"),
        ({"file_name": ""}, "file_name"),
        ({"size_bytes": -1}, "size_bytes"),
        ({"uploaded_at": "2025-03-01T10:00:00"}, "uploaded_at"),
    ],
)
def test_post_task_422(client: FlaskClient, change: dict[str, Any], field: str) -> None:
    body = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    r = client.post("/task", json=body)
    assert r.status_code == 422, r.get_json()
    assert r.content_type == "application/problem+json"
    fields = {e["field"] for e in r.get_json()["errors"]}
    assert any(f.startswith(field) for f in fields), fields


def test_missing_fields_are_all_listed(client: FlaskClient) -> None:
    r = client.post("/task", json={})
    fields = {e["field"] for e in r.get_json()["errors"]}
    assert {"media_type", "file_name", "classes"} <= fields


def test_get_task_404_for_unknown_and_malformed_ids(client: FlaskClient) -> None:
    for unknown in (str(uuid.uuid4()), "nope", "1"):
        r = client.get(f"/task/{unknown}")
        assert r.status_code == 404
        assert r.content_type == "application/problem+json"


def test_claim_process_and_report(client: FlaskClient) -> None:
    first, second = _create(client), _create(client, classes=["person"])
    claimed = _claim(client)
    assert claimed["task_id"] == first
    assert claimed["classes"] == ["face", "license_plate"]
    assert claimed["uri"] == "s3://uploads/2025/street.jpg"
    assert claimed["attempt"] == 1
    assert client.get(f"/task/{first}").get_json()["status"] == "processing"
    r = client.post(
        f"/task/{first}/result",
        json={
            "claim_token": claimed["claim_token"],
            "outcome": "processed",
            "anonymised": {"face": 3, "license_plate": 1},
            "duration_ms": 850,
        },
    )
    assert r.status_code == 200
    task = r.get_json()
    assert task["status"] == "processed"
    assert task["anonymised"] == {"face": 3, "license_plate": 1}
    assert task["processing"]["duration_ms"] == 850
    assert task["processing"]["finished_at"] >= task["processing"]["started_at"]
    assert _claim(client)["task_id"] == second
    empty = client.post("/task/claim", json={})
    assert empty.status_code == 204
    assert "Content-Type" not in empty.headers and empty.data == b""


def test_failure_report_and_retryable_requeue(client: FlaskClient) -> None:
    task_id = _create(client)
    claimed = _claim(client)
    r = client.post(
        f"/task/{task_id}/result",
        json={
            "claim_token": claimed["claim_token"],
            "outcome": "failed",
            "error": "decoder crashed",
            "retryable": True,
        },
    )
    assert r.get_json()["status"] == "new"
    again = _claim(client)
    assert (again["task_id"], again["attempt"]) == (task_id, 2)
    r = client.post(
        f"/task/{task_id}/result",
        json={"claim_token": again["claim_token"], "outcome": "failed", "error": "corrupt file"},
    )
    assert (r.get_json()["status"], r.get_json()["error"]) == ("failed", "corrupt file")
    events = client.get(f"/task/{task_id}/events").get_json()
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "new"),
        ("new", "processing"),
        ("processing", "new"),
        ("new", "processing"),
        ("processing", "failed"),
    ]
    page = client.get(f"/task/{task_id}/events?limit=2&offset=2")
    assert page.headers["X-Total-Count"] == "5"
    assert [e["to_status"] for e in page.get_json()] == ["new", "processing"]
    assert 'rel="next"' in page.headers["Link"] and 'rel="prev"' in page.headers["Link"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "failed"}, "body"),
        ({"outcome": "processed", "anonymised": {"face": -1}}, "anonymised.face"),
        ({"outcome": "processed", "anonymised": {"cat": 1}}, "anonymised.cat"),
        ({"outcome": "done"}, "outcome"),
    ],
)
def test_bad_reports_are_422(client: FlaskClient, body: dict[str, Any], field: str) -> None:
    task_id = _create(client)
    claimed = _claim(client)
    r = client.post(f"/task/{task_id}/result", json={"claim_token": claimed["claim_token"], **body})
    assert r.status_code == 422
    fields = {e["field"] for e in r.get_json().get("errors") or [{"field": "body"}]}
    assert any(f.startswith(field) for f in fields), fields
    assert client.get(f"/task/{task_id}").get_json()["status"] == "processing"


def test_counts_for_unrequested_classes_are_422(client: FlaskClient) -> None:
    task_id = _create(client, classes=["face"])
    claimed = _claim(client)
    r = client.post(
        f"/task/{task_id}/result",
        json={
            "claim_token": claimed["claim_token"],
            "outcome": "processed",
            "anonymised": {"vehicle": 2},
        },
    )
    assert r.status_code == 422
    assert "vehicle" in r.get_json()["detail"]


def _state(client: FlaskClient, task_id: str) -> dict[str, Any]:
    task: dict[str, Any] = client.get(f"/task/{task_id}").get_json()
    return task


def test_illegal_transitions_are_409_and_change_nothing(client: FlaskClient) -> None:
    task_id = _create(client)
    claimed = _claim(client)
    done = {
        "claim_token": claimed["claim_token"],
        "outcome": "processed",
        "anonymised": {"face": 1},
    }
    assert client.post(f"/task/{task_id}/result", json=done).status_code == 200
    before = _state(client, task_id)
    # processed -> processing (a second report, or a stale claimer)
    r = client.post(f"/task/{task_id}/result", json=done)
    assert r.status_code == 409
    assert r.content_type == "application/problem+json"
    assert "is processed" in r.get_json()["detail"]
    assert _state(client, task_id) == before
    # processed tasks are not claimable again
    empty = client.post("/task/claim", json={})
    assert empty.status_code == 204
    assert "Content-Type" not in empty.headers and empty.data == b""
    # anything out of deleted
    assert client.delete(f"/task/{task_id}").get_json()["status"] == "deleted"
    deleted = _state(client, task_id)
    assert client.delete(f"/task/{task_id}").status_code == 409
    assert client.post(f"/task/{task_id}/result", json=done).status_code == 409
    assert _state(client, task_id) == deleted


def test_report_with_a_stale_token_is_409(client: FlaskClient) -> None:
    task_id = _create(client)
    _claim(client)
    r = client.post(
        f"/task/{task_id}/result", json={"claim_token": str(uuid.uuid4()), "outcome": "processed"}
    )
    assert r.status_code == 409
    assert "the token does not match task" in r.get_json()["detail"]
    assert _state(client, task_id)["status"] == "processing"


def test_deleting_a_processing_task_voids_its_claim(client: FlaskClient) -> None:
    task_id = _create(client)
    claimed = _claim(client)
    assert client.delete(f"/task/{task_id}").status_code == 200
    r = client.post(
        f"/task/{task_id}/result",
        json={"claim_token": claimed["claim_token"], "outcome": "processed"},
    )
    assert r.status_code == 409
    assert "is deleted" in r.get_json()["detail"]


def test_unknown_task_result_and_delete_are_404(client: FlaskClient) -> None:
    body = {"claim_token": str(uuid.uuid4()), "outcome": "processed"}
    assert client.post(f"/task/{uuid.uuid4()}/result", json=body).status_code == 404
    assert client.delete(f"/task/{uuid.uuid4()}").status_code == 404
    assert client.delete("/task/not-an-id").status_code == 404


def test_list_tasks_by_status_paginated(client: FlaskClient) -> None:
    ids = [_create(client) for _ in range(5)]
    _claim(client)
    r = client.get("/tasks?status=new&limit=2")
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "4"
    assert [t["id"] for t in r.get_json()] == ids[1:3]
    assert [t["id"] for t in client.get("/tasks?status=processing").get_json()] == ids[:1]
    assert client.get("/tasks?status=bogus").status_code == 422


def test_a_new_task_was_created_and_updated_at_the_same_instant(client: FlaskClient) -> None:
    for _ in range(20):
        task = client.get(f"/task/{_create(client)}").get_json()
        assert task["created_at"] == task["updated_at"]
