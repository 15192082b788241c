"""The learning-platform endpoints: contracts, 404 and 422."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from etl_toolkit.db.connect import Database
from etl_toolkit.medly.load import migrate_medly
from tests.integration.test_medly import UID, P, S, _attempt, _path, _targets, write


@pytest.fixture
def loaded(db: Database, tmp_path: Path) -> None:
    targets = _targets()
    targets[_path(f"{S}_9_9_ZZZ")] = _attempt(f"{S}_9_9_ZZZ", "2025-09-03T10:00:00Z")
    migrate_medly(db, write(tmp_path, targets=targets))


def test_user_profile(client: FlaskClient, loaded: None) -> None:
    r = client.get(f"/users/{UID}")
    assert r.status_code == 200
    body = r.get_json()
    assert (body["uid"], body["name"], body["metadata"], body["attempt_count"]) == (
        UID,
        None,
        {},
        3,
    )
    assert body["subjects"] == [S]
    assert client.get("/users/nobody").status_code == 404


def test_activity_newest_first_with_filters(client: FlaskClient, loaded: None) -> None:
    r = client.get(f"/users/{UID}/activity")
    assert r.status_code == 200
    acts = r.get_json()
    assert [a["question_ref"] for a in acts] == [f"{S}_9_9_ZZZ", f"{S}_1_2_B", f"{S}_1_1_A"]
    assert acts[0]["item_known"] is False
    assert acts[1]["markmax"] == 2
    assert acts[2]["lessons"] == [f"{S}0.0.0"]
    lesson = client.get(f"/users/{UID}/activity?lesson={S}0.0.1").get_json()
    assert [a["question_ref"] for a in lesson] == [f"{S}_1_2_B"]
    page = client.get(f"/users/{UID}/activity?limit=1&offset=1&paper={P}")
    assert page.headers["X-Total-Count"] == "3"
    assert [a["question_ref"] for a in page.get_json()] == [f"{S}_1_2_B"]
    assert client.get(f"/users/{UID}/activity?subject=other").get_json() == []
    assert client.get("/users/nobody/activity").status_code == 404
    assert client.get(f"/users/{UID}/activity?limit=101").status_code == 422


def test_patch_user(client: FlaskClient, loaded: None) -> None:
    r = client.patch(f"/users/{UID}", json={"name": "Ada", "metadata": {"school": "X"}})
    assert r.status_code == 200
    assert (r.get_json()["name"], r.get_json()["metadata"]) == ("Ada", {"school": "X"})
    r = client.patch(f"/users/{UID}", json={"metadata": {"year": 11}})
    assert (r.get_json()["name"], r.get_json()["metadata"]) == ("Ada", {"year": 11})
    assert client.patch("/users/nobody", json={"name": "x"}).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 201},
        {"name": 5},
        {"metadata": [1]},
        {"metadata": None},
        {"metadata": {"blob": "x" * 17_000}},
        {"name": "   "},
    ],
)
def test_patch_user_422(client: FlaskClient, loaded: None, body: dict[str, object]) -> None:
    r = client.patch(f"/users/{UID}", json=body)
    assert r.status_code == 422
    assert r.content_type == "application/problem+json"


def test_lesson_paper_item(client: FlaskClient, loaded: None) -> None:
    lesson = client.get(f"/lessons/{S}0.0.0").get_json()
    assert (lesson["title"], lesson["unit_title"], lesson["topic_title"]) == (
        "Animal cells",
        "Cells",
        "Structure",
    )
    assert {i["question_ref"] for i in lesson["practice_items"]} == {f"{S}_p1_1_C", f"{S}_1_1_A"}
    assert lesson["practice_total"] == 2
    assert [i["question_ref"] for i in lesson["exam_items"]] == [f"{S}_1_1_A"]
    assert len(client.get(f"/lessons/{S}0.0.0?limit=1").get_json()["practice_items"]) == 1
    paper = client.get(f"/papers/{P}").get_json()
    assert [(i["question_number"], i["part"]) for i in paper["items"]] == [(1, 1), (1, 2)]
    assert (paper["series"], paper["tier"]) == ("Sept_Mock", "Higher")
    item = client.get(f"/items/{S}_1_1_A").get_json()
    assert item["stem"] == "Cells"
    assert {(a["source_kind"], a["source_id"]) for a in item["appearances"]} == {
        ("paper", P),
        ("practice", f"{S}0.0.0"),
    }
    assert item["stats"] == {"attempts": 1, "marked": 1, "users": 1, "mean_mark": 1.0}
    for path in (f"/lessons/{S}7.7.7", "/papers/nope", "/items/nope"):
        assert client.get(path).status_code == 404
