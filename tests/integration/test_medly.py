"""etl medly: idempotence, reconciliation, every edge case with a fixture made for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.errors import InputError
from etl_toolkit.medly.load import MigrationReport, migrate_medly
from tests.conftest import ROOT

S = "aqaGCSEBio"
P = f"medlymock{S}_Sept_Mock1Higher"
UID = "u1AAAAAAAAAAAAAAAAAAAAAAAAAA"


def _course() -> list[Any]:
    return [
        {
            "unitIndex": 0,
            "unitTitle": "Cells",
            "topics": [
                {
                    "topicIndex": 0,
                    "topicTitle": "Structure",
                    "lessons": [
                        {"lessonIndex": 0, "lessonID": f"{S}0.0.0", "lessonTitle": "Animal cells"},
                        {"lessonIndex": 1, "lessonID": f"{S}0.0.1", "lessonTitle": "Plant cells"},
                    ],
                }
            ],
        }
    ]


def _item(ref: str, part: int, **extra: Any) -> dict[str, Any]:
    return {
        "question_part": part,
        "question_type": "short_answer",
        "question_text": f"Part {part}",
        "markmax": 2,
        "markscheme": "ms",
        "difficulty": 2,
        "questionID": ref,
        **extra,
    }


def _exams() -> list[Any]:
    return [
        {
            "board_title": "aqa",
            "qualification": "GCSE",
            "subject_title": "Biology",
            "subject_id": S,
            "type": "Medly",
            "series": "Sept_Mock",
            "papers": [
                {
                    "paper_id": P,
                    "tier": "Higher",
                    "paper": "1",
                    "questions": [
                        {
                            "question_number": 1,
                            "question_id": f"{S}_1_stem",
                            "question_stem": "Cells",
                            "question_stem_diagram": None,
                            "validation_comment": "PASS",
                            "validation_reason": "ok",
                            "items": [
                                _item(f"{S}_1_1_A", 1, lessonIDs=[f"{S}0.0.0"]),
                                _item(f"{S}_1_2_B", 2, lessonIDs=[f"{S}0.0.1"]),
                            ],
                        }
                    ],
                }
            ],
        }
    ]


def _practices() -> list[Any]:
    return [
        {
            "exam_board": "aqa",
            "qualification": "GCSE",
            "subject": "Biology",
            "unit_index": 0,
            "unit_title": "Cells",
            "topic_index": 0,
            "topic_title": "Structure",
            "lesson_index": 0,
            "lessonID": f"{S}0.0.0",
            "original_lessonID": f"{S}0.0.0",
            "lesson_title": "Animal cells",
            "chunks_used": [{"chunk_index": 0, "chunk_title": "Intro"}],
            "items": [
                {
                    "question_number": 1,
                    "question_id": f"{S}_p1_stem",
                    "question_stem": "Practice",
                    "items": [
                        _item(f"{S}_p1_1_C", 1, specification_point="4.1.1"),
                        # the exam item again: one item, two appearances
                        _item(f"{S}_1_1_A", 2, specification_point="4.1.1"),
                    ],
                }
            ],
        }
    ]


def _attempt(ref: str, ts: str = "2025-09-01T10:00:00.123456Z", **extra: Any) -> dict[str, Any]:
    return {
        "createdAt": ts,
        "questionID": ref,
        "isMarked": True,
        "userMark": 1,
        "canvas": {"maths": [], "paths": [], "textboxes": []},
        "userAnswer": "a",
        **extra,
    }


def _path(ref: str, uid: str = UID, paper: str = P) -> str:
    return f"users/{uid}/subjectsWeb/{S}/mocks/{paper}/questions/{ref}"


def _targets() -> dict[str, Any]:
    return {
        _path(f"{S}_1_1_A"): _attempt(f"{S}_1_1_A"),
        _path(f"{S}_1_2_B"): _attempt(f"{S}_1_2_B", "2025-09-02T10:00:00+00:00"),
    }


def write(
    root: Path,
    *,
    course: Any = None,
    exams: Any = None,
    practices: Any = None,
    targets: Any = None,
    raw_user_data: str | None = None,
) -> Path:
    (root / "user_data").mkdir(parents=True, exist_ok=True)
    (root / "curriculum_data").mkdir(parents=True, exist_ok=True)
    for name, value in (("course", course), ("exams", exams), ("practices", practices)):
        default = {"course": _course, "exams": _exams, "practices": _practices}[name]()
        (root / "curriculum_data" / f"{S}_{name}.json").write_text(
            json.dumps(default if value is None else value)
        )
    body = raw_user_data or json.dumps({"targets": _targets() if targets is None else targets})
    (root / "user_data" / "user_data.json").write_text(body)
    return root


def _balanced(r: MigrationReport) -> None:
    for name, e in r.entities.items():
        assert e.balanced, (name, e)


def _count(db: Database, sql: str) -> int:
    with db.connect() as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(next(iter(row.values())))


def test_clean_load_then_idempotent(db: Database, tmp_path: Path) -> None:
    root = write(tmp_path)
    first = migrate_medly(db, root)
    _balanced(first)
    assert first.entities["attempts"].inserted == 2
    assert first.entities["items"].inserted == 3  # A appears twice but is one item
    assert first.entities["item_appearances"].inserted == 4
    assert first.unresolved == {}
    with db.connect() as conn:
        before = conn.execute("SELECT max(last_seen_at) AS t FROM medly.attempts").fetchone()
    second = migrate_medly(db, root)
    _balanced(second)
    assert not second.changed
    assert all(e.inserted == 0 and e.updated == 0 for e in second.entities.values())
    with db.connect() as conn:
        after = conn.execute(
            "SELECT max(last_seen_at) AS t, min(first_seen_at) AS f FROM medly.attempts"
        ).fetchone()
    assert before is not None and after is not None
    assert after["t"] > before["t"]  # only last_seen_at moves


def test_a_changed_record_updates_exactly_that_row(db: Database, tmp_path: Path) -> None:
    migrate_medly(db, write(tmp_path))
    targets = _targets()
    targets[_path(f"{S}_1_2_B")]["userMark"] = 2
    again = migrate_medly(db, write(tmp_path, targets=targets))
    assert again.entities["attempts"].updated == 1
    assert again.entities["attempts"].unchanged == 1
    assert sum(e.updated for e in again.entities.values()) == 1


def test_canonical_item_is_the_exam_appearance(db: Database, tmp_path: Path) -> None:
    migrate_medly(db, write(tmp_path))
    with db.connect() as conn:
        item = conn.execute(
            f"SELECT question_id, part FROM medly.items WHERE question_ref = '{S}_1_1_A'"
        ).fetchone()
        links = conn.execute(
            "SELECT lesson_ref, via FROM medly.item_lessons "
            f"WHERE question_ref = '{S}_1_1_A' ORDER BY 1, 2"
        ).fetchall()
    assert item == {"question_id": f"{S}_1_stem", "part": 1}
    # assessed by the exam, practised in the lesson's bank: two links
    assert links == [
        {"lesson_ref": f"{S}0.0.0", "via": "exam"},
        {"lesson_ref": f"{S}0.0.0", "via": "practice"},
    ]


def _skip_reason(r: MigrationReport) -> list[str]:
    return sorted(r.skip_reasons)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("malformed_timestamp", "attempts: createdAt malformed"),
        ("missing_timestamp", "attempts: createdAt missing"),
        ("missing_question_id", "attempts: questionID missing"),
        ("key_mismatch", "attempts: questionID does not match the path"),
        ("wrong_path_shape", "attempts: path has the wrong shape"),
        ("wrong_type", "attempts: isMarked is not a boolean"),
        ("missing_canvas", "attempts: canvas missing"),
        ("user_mismatch", "attempts: userID does not match the path"),
        ("not_an_object", "attempts: record is not an object"),
    ],
)
def test_bad_attempts_are_skipped_with_a_reason(
    db: Database, tmp_path: Path, case: str, reason: str
) -> None:
    targets = _targets()
    bad_key = _path(f"{S}_1_1_A")
    rec = targets[bad_key]
    if case == "malformed_timestamp":
        rec["createdAt"] = "31/12/2025 10:00"
    elif case == "missing_timestamp":
        del rec["createdAt"]
    elif case == "missing_question_id":
        del rec["questionID"]
    elif case == "key_mismatch":
        rec["questionID"] = f"{S}_1_2_B"
    elif case == "wrong_path_shape":
        targets[f"users/{UID}/subjects/{S}/{P}/{S}_1_1_A"] = targets.pop(bad_key)
    elif case == "wrong_type":
        rec["isMarked"] = "yes"
    elif case == "missing_canvas":
        del rec["canvas"]
    elif case == "user_mismatch":
        rec["userID"] = "someone-else"
    elif case == "not_an_object":
        targets[bad_key] = ["not", "an", "object"]
    r = migrate_medly(db, write(tmp_path, targets=targets))
    _balanced(r)
    assert _skip_reason(r) == [reason]
    assert r.entities["attempts"].skipped == 1
    assert r.entities["attempts"].inserted == 1
    assert (
        _count(db, f"SELECT count(*) FROM medly.skipped WHERE reason = '{reason.split(': ')[1]}'")
        == 1
    )


def test_both_timestamp_forms_are_valid(db: Database, tmp_path: Path) -> None:
    r = migrate_medly(db, write(tmp_path))  # one 'Z' attempt, one '+00:00' attempt
    assert r.entities["attempts"].inserted == 2
    assert r.skip_reasons == {}


def test_unknown_question_id_is_kept_unresolved(db: Database, tmp_path: Path) -> None:
    targets = _targets()
    targets[_path(f"{S}_9_9_ZZZ")] = _attempt(f"{S}_9_9_ZZZ")
    r = migrate_medly(db, write(tmp_path, targets=targets))
    assert r.entities["attempts"].inserted == 3
    assert r.unresolved["attempt questionID"] == {"count": 1, "examples": [f"{S}_9_9_ZZZ"]}
    assert _count(db, "SELECT count(*) FROM medly.attempts WHERE item_ref IS NULL") == 1


def test_unknown_lesson_id_is_kept_as_an_unresolved_link(db: Database, tmp_path: Path) -> None:
    exams = _exams()
    exams[0]["papers"][0]["questions"][0]["items"][1]["lessonIDs"] = [f"{S}9.9.9"]
    practices = _practices()
    practices[0]["lessonID"] = f"{S}8.8.8"
    r = migrate_medly(db, write(tmp_path, exams=exams, practices=practices))
    assert r.unresolved["item lessonID"]["count"] == 3  # the exam link and both bank items
    assert r.unresolved["practice bank lessonID"] == {"count": 1, "examples": [f"{S}8.8.8"]}
    assert _count(db, "SELECT count(*) FROM medly.item_lessons WHERE lesson_id IS NULL") == 3


def test_empty_or_missing_arrays(db: Database, tmp_path: Path) -> None:
    exams = _exams()
    del exams[0]["papers"][0]["questions"][0]["items"][0]["lessonIDs"]
    practices = _practices()
    practices[0]["chunks_used"] = []
    targets = _targets()
    rec = targets[_path(f"{S}_1_1_A")]
    rec["canvas"] = {"textboxes": []}  # maths and paths missing: empty
    rec["options"] = []
    r = migrate_medly(db, write(tmp_path, exams=exams, practices=practices, targets=targets))
    assert r.skip_reasons == {}
    assert r.entities["attempts"].inserted == 2
    with db.connect() as conn:
        canvas = conn.execute(
            f"SELECT canvas FROM medly.attempts WHERE question_ref = '{S}_1_1_A'"
        ).fetchone()
    assert canvas == {"canvas": {"maths": [], "paths": [], "textboxes": []}}


def test_wrong_types_in_items_are_skipped(db: Database, tmp_path: Path) -> None:
    exams = _exams()
    exams[0]["papers"][0]["questions"][0]["items"][1]["markmax"] = "three"
    r = migrate_medly(db, write(tmp_path, exams=exams))
    _balanced(r)
    assert _skip_reason(r) == ["items: markmax is not an integer"]
    assert r.unresolved["attempt questionID"]["examples"] == [f"{S}_1_2_B"]


def test_duplicate_records_are_deduplicated(db: Database, tmp_path: Path) -> None:
    key = _path(f"{S}_1_1_A")
    first = json.dumps(_attempt(f"{S}_1_1_A", userMark=0))
    later = json.dumps(_attempt(f"{S}_1_1_A", userMark=2))
    raw = '{"targets": {' + f"{json.dumps(key)}: {first}, {json.dumps(key)}: {later}" + "}}"
    r = migrate_medly(db, write(tmp_path, raw_user_data=raw))
    _balanced(r)
    assert (r.entities["attempts"].inserted, r.entities["attempts"].deduplicated) == (1, 1)
    assert _count(db, "SELECT user_mark FROM medly.attempts") == 2  # the last occurrence wins


def test_a_failed_run_leaves_the_previous_state(db: Database, tmp_path: Path) -> None:
    migrate_medly(db, write(tmp_path))
    broken = write(tmp_path / "broken", raw_user_data='{"targets": {"a": ')
    with pytest.raises(InputError, match="not valid JSON"):
        migrate_medly(db, broken)
    assert _count(db, "SELECT count(*) FROM medly.attempts") == 2
    assert _count(db, "SELECT count(*) FROM etl.runs WHERE status = 'failed'") == 1


def test_missing_files_are_named(db: Database, tmp_path: Path) -> None:
    root = write(tmp_path)
    (root / "curriculum_data" / f"{S}_exams.json").unlink()
    with pytest.raises(InputError, match=f"{S}_exams.json"):
        migrate_medly(db, root)


def test_cli_report_on_samples_balances_and_second_run_is_unchanged(
    settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "report.json"
    first = runner.invoke(
        app,
        [
            "medly",
            "--data-dir",
            str(ROOT / "samples" / "medly"),
            "--json",
            "--report-file",
            str(out),
        ],
    )
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert json.loads(out.read_text()) == body
    assert all(e["balanced"] for e in body["entities"].values())
    assert body["skip_reasons"]  # the samples carry edge cases
    second = runner.invoke(
        app, ["medly", "--data-dir", str(ROOT / "samples" / "medly"), "--report"]
    )
    assert second.exit_code == 0
    assert "nothing changed" in second.stdout


def test_generator_is_deterministic(tmp_path: Path) -> None:
    from etl_toolkit.medly.generate import generate

    a = generate(tmp_path / "a", users=5, attempts=50, practice_parts=60, dirty=0.1, seed=3)
    b = generate(tmp_path / "b", users=5, attempts=50, practice_parts=60, dirty=0.1, seed=3)
    assert a.files == b.files
    for f in a.files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
