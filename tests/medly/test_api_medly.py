"""The learning-platform endpoints: contracts, 404 and 422."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from etl_toolkit.db.connect import Database
from etl_toolkit.medly.pipeline import run_medly
from tests.medly.test_medly import UID, P, S, _attempt, _exams, _item, _path, _targets, write


@pytest.fixture
def loaded(db: Database, tmp_path: Path) -> None:
    targets = _targets()
    targets[_path(f"{S}_9_9_ZZZ")] = _attempt(f"{S}_9_9_ZZZ", "2025-09-03T10:00:00Z")
    run_medly(db, write(tmp_path, targets=targets))


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
    assert lesson["practice_items_total"] == 2
    assert [i["question_ref"] for i in lesson["exam_items"]] == [f"{S}_1_1_A"]
    assert lesson["exam_items_total"] == 1
    one = client.get(f"/lessons/{S}0.0.0?practice_items_limit=1").get_json()
    assert (len(one["practice_items"]), one["practice_items_total"]) == (1, 2)
    paper = client.get(f"/papers/{P}").get_json()
    assert [(i["question_number"], i["part"]) for i in paper["items"]] == [(1, 1), (1, 2)]
    assert paper["items_total"] == 2
    assert (paper["series"], paper["tier"]) == ("Sept_Mock", "Higher")
    item = client.get(f"/items/{S}_1_1_A").get_json()
    assert item["stem"] == "Cells"
    assert {(a["source_kind"], a["source_id"]) for a in item["appearances"]} == {
        ("paper", P),
        ("practice", f"{S}0.0.0"),
    }
    assert (item["appearances_total"], item["lessons_total"]) == (2, 2)
    assert item["stats"] == {"attempts": 1, "marked": 1, "users": 1, "mean_mark": 1.0}
    second = client.get(f"/items/{S}_1_1_A?lessons_limit=1&lessons_offset=1").get_json()
    assert second["lessons"] == item["lessons"][1:] and second["lessons_total"] == 2
    for path in (f"/lessons/{S}7.7.7", "/papers/nope", "/items/nope"):
        assert client.get(path).status_code == 404


BIG = 25  # longer than the default page (20)


def _big_exams() -> list[Any]:
    """Paper 0 holds BIG items, all assessing lesson 0.0.0; item 00 appears in BIG papers."""
    exams = _exams()
    template = exams[0]["papers"][0]
    papers = []
    for n in range(BIG):
        refs = [f"{S}_big_{k:02d}" for k in range(BIG)] if n == 0 else [f"{S}_big_00"]
        paper = json.loads(json.dumps(template))
        paper["paper_id"] = f"{P}_{n:02d}"
        paper["questions"][0]["question_id"] = f"{S}_big_stem"
        paper["questions"][0]["items"] = [
            _item(ref, k + 1, lessonIDs=[f"{S}0.0.0"]) for k, ref in enumerate(refs)
        ]
        papers.append(paper)
    exams[0]["papers"] = papers
    return exams


@pytest.fixture
def big(db: Database, tmp_path: Path) -> None:
    run_medly(db, write(tmp_path, exams=_big_exams(), targets={}))


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (f"/papers/{P}_00", "items"),
        (f"/lessons/{S}0.0.0", "exam_items"),
        (f"/items/{S}_big_00", "appearances"),
    ],
)
def test_nested_lists_are_paged_with_totals(
    client: FlaskClient, big: None, path: str, name: str
) -> None:
    first = client.get(path)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert (len(body[name]), body[f"{name}_total"]) == (20, BIG)
    rest = client.get(f"{path}?{name}_offset=20").get_json()
    assert (len(rest[name]), rest[f"{name}_total"]) == (BIG - 20, BIG)
    whole = client.get(f"{path}?{name}_limit=100").get_json()[name]
    assert whole == body[name] + rest[name]
    assert len({json.dumps(x, sort_keys=True) for x in whole}) == BIG
    past = client.get(f"{path}?{name}_offset=1000").get_json()
    assert (past[name], past[f"{name}_total"]) == ([], BIG)
    for bad in (f"{name}_limit=101", f"{name}_limit=0", f"{name}_offset=-1", "limit=5"):
        r = client.get(f"{path}?{bad}")
        assert r.status_code == 422, bad
        assert r.content_type == "application/problem+json"


def test_paper_items_stay_in_paper_order_across_pages(client: FlaskClient, big: None) -> None:
    parts = [
        i["part"]
        for offset in (0, 20)
        for i in client.get(f"/papers/{P}_00?items_offset={offset}").get_json()["items"]
    ]
    assert parts == list(range(1, BIG + 1))
