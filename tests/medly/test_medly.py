"""etl medly: idempotence, reconciliation, every edge case with a fixture made for it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl_toolkit import runs
from etl_toolkit.cli import app
from etl_toolkit.clikit import stdout as cli_stdout
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.errors import InputError
from etl_toolkit.medly.pipeline import run_medly
from etl_toolkit.medly.report import MigrationReport
from tests.paths import ROOT

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
    first = run_medly(db, root)
    _balanced(first)
    assert first.entities["attempts"].inserted == 2
    assert first.entities["items"].inserted == 3  # A appears twice but is one item
    assert first.entities["item_appearances"].inserted == 4
    assert first.unresolved == {}
    with db.connect() as conn:
        before = conn.execute("SELECT max(last_seen_at) AS t FROM medly.attempts").fetchone()
    second = run_medly(db, root)
    _balanced(second)
    assert not second.changed
    assert all(e.inserted == 0 and e.updated == 0 for e in second.entities.values())
    with db.connect() as conn:
        after = conn.execute(
            "SELECT max(last_seen_at) AS t, min(first_seen_at) AS f FROM medly.attempts"
        ).fetchone()
    assert before is not None and after is not None
    assert after["t"] > before["t"]  # only last_seen_at moves


def test_the_report_body_is_the_ledger_report_and_names_its_run(
    db: Database, tmp_path: Path
) -> None:
    r = run_medly(db, write(tmp_path))
    assert r.body["run_id"] == r.run_id
    assert r.body is r.body  # computed once: the ledger, --json and --report-file share it
    with db.connect() as conn:
        run = conn.execute(
            "SELECT report FROM etl.runs WHERE id = %(id)s", {"id": r.run_id}
        ).fetchone()
    assert run is not None
    assert run["report"] == json.loads(json.dumps(r.body))


def test_a_changed_record_updates_exactly_that_row(db: Database, tmp_path: Path) -> None:
    run_medly(db, write(tmp_path))
    targets = _targets()
    targets[_path(f"{S}_1_2_B")]["userMark"] = 2
    again = run_medly(db, write(tmp_path, targets=targets))
    assert again.entities["attempts"].updated == 1
    assert again.entities["attempts"].unchanged == 1
    assert sum(e.updated for e in again.entities.values()) == 1


def test_canonical_item_is_the_exam_appearance(db: Database, tmp_path: Path) -> None:
    run_medly(db, write(tmp_path))
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
    r = run_medly(db, write(tmp_path, targets=targets))
    _balanced(r)
    assert _skip_reason(r) == [reason]
    assert r.entities["attempts"].skipped == 1
    assert r.entities["attempts"].inserted == 1
    assert (
        _count(db, f"SELECT count(*) FROM medly.skipped WHERE reason = '{reason.split(': ')[1]}'")
        == 1
    )


def test_both_timestamp_forms_are_valid(db: Database, tmp_path: Path) -> None:
    r = run_medly(db, write(tmp_path))  # one 'Z' attempt, one '+00:00' attempt
    assert r.entities["attempts"].inserted == 2
    assert r.skip_reasons == {}


def test_unknown_question_id_is_kept_unresolved(db: Database, tmp_path: Path) -> None:
    targets = _targets()
    targets[_path(f"{S}_9_9_ZZZ")] = _attempt(f"{S}_9_9_ZZZ")
    r = run_medly(db, write(tmp_path, targets=targets))
    assert r.entities["attempts"].inserted == 3
    assert r.unresolved["attempt questionID"] == {"count": 1, "examples": [f"{S}_9_9_ZZZ"]}
    assert _count(db, "SELECT count(*) FROM medly.attempts WHERE item_ref IS NULL") == 1


def test_unknown_lesson_id_is_kept_as_an_unresolved_link(db: Database, tmp_path: Path) -> None:
    exams = _exams()
    exams[0]["papers"][0]["questions"][0]["items"][1]["lessonIDs"] = [f"{S}9.9.9"]
    practices = _practices()
    practices[0]["lessonID"] = f"{S}8.8.8"
    r = run_medly(db, write(tmp_path, exams=exams, practices=practices))
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
    r = run_medly(db, write(tmp_path, exams=exams, practices=practices, targets=targets))
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
    r = run_medly(db, write(tmp_path, exams=exams))
    _balanced(r)
    assert _skip_reason(r) == ["items: markmax is not an integer"]
    assert r.unresolved["attempt questionID"]["examples"] == [f"{S}_1_2_B"]


def test_duplicate_records_are_deduplicated(db: Database, tmp_path: Path) -> None:
    key = _path(f"{S}_1_1_A")
    first = json.dumps(_attempt(f"{S}_1_1_A", userMark=0))
    later = json.dumps(_attempt(f"{S}_1_1_A", userMark=2))
    raw = '{"targets": {' + f"{json.dumps(key)}: {first}, {json.dumps(key)}: {later}" + "}}"
    r = run_medly(db, write(tmp_path, raw_user_data=raw))
    _balanced(r)
    assert (r.entities["attempts"].inserted, r.entities["attempts"].deduplicated) == (1, 1)
    assert _count(db, "SELECT user_mark FROM medly.attempts") == 2  # the last occurrence wins


def test_a_failed_run_leaves_the_previous_state(db: Database, tmp_path: Path) -> None:
    run_medly(db, write(tmp_path))
    broken = write(tmp_path / "broken", raw_user_data='{"targets": {"a": ')
    with pytest.raises(InputError, match="not valid JSON") as cut:
        run_medly(db, broken)
    # one line that says the file was cut off, not the parser's "(right here) ------^"
    assert str(cut.value).count("\n") == 0 and "right here" not in str(cut.value)
    assert "ends (18 bytes) before its JSON does" in cut.value.message
    assert cut.value.hint is not None and "cut off" in cut.value.hint
    assert _count(db, "SELECT count(*) FROM medly.attempts") == 2
    assert _count(db, "SELECT count(*) FROM etl.runs WHERE status = 'failed'") == 1


def test_missing_files_are_named(db: Database, tmp_path: Path) -> None:
    root = write(tmp_path)
    (root / "curriculum_data" / f"{S}_exams.json").unlink()
    with pytest.raises(InputError, match=f"{S}_exams.json"):
        run_medly(db, root)


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


# ---- integers written as decimals (issue 13, section 1) ---------------------------------------


def _spell(value: Any, numbers: dict[str, str]) -> str:
    """JSON text of `value` with each marker string replaced by a number spelled as given
    (json.dumps cannot write `2.00` or `1e400`)."""
    text = json.dumps(value)
    for marker, spelling in numbers.items():
        text = text.replace(json.dumps(marker), spelling)
    return text


def _write_spelled(root: Path, name: str, value: Any, numbers: dict[str, str]) -> None:
    folder = "user_data" if name == "user_data" else "curriculum_data"
    filename = "user_data.json" if name == "user_data" else f"{S}_{name}.json"
    (root / folder / filename).write_text(_spell(value, numbers))


def test_integral_decimals_load_as_integers_and_are_reported(db: Database, tmp_path: Path) -> None:
    root = write(tmp_path)
    course = _course()
    course[0]["unitIndex"] = "@unit"
    exams = _exams()
    exams[0]["papers"][0]["paper"] = "@paper"
    question = exams[0]["papers"][0]["questions"][0]
    question["question_number"] = "@qnum"
    question["items"][0].update(markmax="@markmax", question_part="@part")
    question["items"][1].update(difficulty="@difficulty", correct_answer_index="@correct")
    practices = _practices()
    practices[0].update(unit_index="@bank_unit")
    practices[0]["chunks_used"][0]["chunk_index"] = "@chunk"
    practices[0]["items"][0]["items"][0]["correct_answer_index"] = ["@c0", 2]
    targets = _targets()
    targets[_path(f"{S}_1_1_A")]["userMark"] = "@mark"
    spellings = {
        "@unit": "0.0",
        "@paper": "1.0",
        "@qnum": "1e0",
        "@markmax": "2.00",
        "@part": "1.0",
        "@difficulty": "20E-1",
        "@correct": "-0.0",
        "@bank_unit": "0.000",
        "@chunk": "0.0",
        "@c0": "1.0",
        "@mark": "1.0",
    }
    _write_spelled(root, "course", course, spellings)
    _write_spelled(root, "exams", exams, spellings)
    _write_spelled(root, "practices", practices, spellings)
    _write_spelled(root, "user_data", {"targets": targets}, spellings)
    r = run_medly(db, root)
    _balanced(r)
    assert r.skip_reasons == {}
    assert {f: dict(c) for f, c in r.cleaned.items() if c} == {
        f"curriculum_data/{S}_course.json": {"unitIndex": 1},
        f"curriculum_data/{S}_exams.json": {
            "correct_answer_index": 1,
            "difficulty": 1,
            "markmax": 1,
            "paper": 1,
            "question_number": 1,
            "question_part": 1,
        },
        f"curriculum_data/{S}_practices.json": {
            "chunk_index": 1,
            "correct_answer_index": 1,
            "unit_index": 1,
        },
        "user_data/user_data.json": {"userMark": 1},
    }
    with db.connect() as conn:
        got = conn.execute(
            "SELECT (SELECT unit_index FROM medly.units) AS unit,"
            " (SELECT paper_number FROM medly.papers) AS paper,"
            f" (SELECT question_number FROM medly.questions WHERE question_id = '{S}_1_stem') AS q,"
            f" (SELECT markmax FROM medly.items WHERE question_ref = '{S}_1_1_A') AS markmax,"
            f" (SELECT part FROM medly.items WHERE question_ref = '{S}_1_1_A') AS part,"
            f" (SELECT difficulty FROM medly.items WHERE question_ref = '{S}_1_2_B') AS difficulty,"
            f" (SELECT correct_answer FROM medly.items WHERE question_ref = '{S}_1_2_B') AS c1,"
            f" (SELECT correct_answer FROM medly.items WHERE question_ref = '{S}_p1_1_C') AS c2,"
            " (SELECT unit_index FROM medly.practice_banks) AS bank_unit,"
            " (SELECT chunk_index FROM medly.bank_chunks) AS chunk,"
            f" (SELECT user_mark FROM medly.attempts WHERE question_ref = '{S}_1_1_A') AS mark"
        ).fetchone()
    assert got == {
        "unit": 0,
        "paper": "1",
        "q": 1,
        "markmax": 2,
        "part": 1,
        "difficulty": 2,
        "c1": 0,
        "c2": [1, 2],
        "bank_unit": 0,
        "chunk": 0,
        "mark": 1,
    }
    # the same input again: nothing changes (3.0 and 3 are the same value)
    assert not run_medly(db, root).changed


def test_cleaned_values_are_in_the_table_and_json_reports(
    settings: Settings, tmp_path: Path
) -> None:
    root = write(tmp_path)
    targets = _targets()
    targets[_path(f"{S}_1_1_A")]["userMark"] = "@mark"
    targets[_path(f"{S}_1_2_B")]["userMark"] = "@mark"
    _write_spelled(root, "user_data", {"targets": targets}, {"@mark": "1.0"})
    runner = CliRunner()
    as_json = runner.invoke(app, ["medly", "--data-dir", str(root), "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["cleaned"] == {"user_data/user_data.json": {"userMark": 2}}
    as_table = runner.invoke(app, ["medly", "--data-dir", str(root), "--report"])
    assert as_table.exit_code == 0, as_table.output
    assert "cleaned values (integral decimals such as 3.0 loaded as integers)" in as_table.stdout
    row = next(line for line in as_table.stdout.splitlines() if "userMark" in line)
    assert [c.strip() for c in row.strip("│ ").split("│")] == [
        "user_data/user_data.json",
        "userMark",
        "2",
    ]


_A = _path(f"{S}_1_1_A")


def _renamed(record: Any, old: str, new: str) -> Any:
    """A copy of a record with every id in it renamed (`0.0.` -> `1.0.`, `_p1_` -> `_p1x_`)."""
    text = json.dumps(record).replace(old, new).replace("_p1", "_p1x").replace("_1_1_A", "_1_1_X")
    return json.loads(text)


@pytest.mark.parametrize(
    ("source", "where", "spelling", "reason"),
    [
        ("user_data", ("userMark",), "3.5", "attempts: userMark is not an integer"),
        ("user_data", ("userMark",), "1e400", "attempts: userMark is out of range"),
        ("user_data", ("userMark",), "-1e999999999", "attempts: userMark is out of range"),
        ("user_data", ("userMark",), "2147483648", "attempts: userMark is out of range"),
        ("user_data", ("userMark",), "true", "attempts: userMark is not an integer"),
        ("user_data", ("userMark",), '"3"', "attempts: userMark is not an integer"),
        ("user_data", ("userMark",), "0.1e1", None),  # integral: accepted
        (
            "user_data",
            ("canvas", "x"),
            "1e400",
            "attempts: canvas holds a number too large to store",
        ),
        ("exams", ("markmax",), "2.5", "items: markmax is not an integer"),
        ("exams", ("difficulty",), "false", "items: difficulty is not an integer"),
        (
            "exams",
            ("correct_answer_index",),
            "true",
            "items: correct_answer_index is not an integer or a list of integers",
        ),
        ("exams", ("question_number",), "1.5", "questions: question_number is not an integer"),
        ("exams", ("paper",), "1.5", "papers: paper is not an integer"),
        ("course", ("unitIndex",), "0.5", "units: unitIndex is not an integer"),
        ("course", ("lessonIndex",), '"0"', "lessons: lessonIndex is not an integer"),
        ("practices", ("unit_index",), "1e10", "practice_banks: unit_index is out of range"),
        ("practices", ("chunk_index",), "true", "bank_chunks: chunk_index is not an integer"),
        (
            "practices",
            ("correct_answer_index",),
            "[1, 2.5]",
            "items: correct_answer_index is not an integer or a list of integers",
        ),
    ],
)
def test_numbers_that_are_not_integers_are_refused_with_a_reason(
    db: Database,
    tmp_path: Path,
    source: str,
    where: tuple[str, ...],
    spelling: str,
    reason: str | None,
) -> None:
    root = write(tmp_path)
    value: Any = {"course": _course, "exams": _exams, "practices": _practices}.get(
        source, lambda: {"targets": _targets()}
    )()
    if source in ("course", "practices"):
        # A second good unit or bank: one bad record among several is skipped, where
        # the only record of a file would fail the run (test_a_file_nearly_all_skipped...).
        value.append(_renamed(value[0], "0.0.", "1.0."))
        if source == "course":
            value[1]["unitIndex"] = 1
    field = where[-1]
    if source == "user_data":
        target = value["targets"][_A]
        if where[0] == "canvas":
            target["canvas"]["textboxes"] = [{"text": "t", "x": "@n", "y": 1}]
        else:
            target[field] = "@n"
    elif source == "course":
        node = value[0] if field == "unitIndex" else value[0]["topics"][0]["lessons"][0]
        node[field] = "@n"
    elif source == "exams":
        paper = value[0]["papers"][0]
        if field == "paper":
            paper["paper"] = "@n"
        elif field == "question_number":
            paper["questions"][0][field] = "@n"
        else:
            paper["questions"][0]["items"][0][field] = "@n"
    else:
        bank = value[0]
        if field == "unit_index":
            bank[field] = "@n"
        elif field == "chunk_index":
            bank["chunks_used"][0][field] = "@n"
        else:
            bank["items"][0]["items"][0][field] = "@n"
    _write_spelled(root, source, value, {"@n": spelling})
    r = run_medly(db, root)
    _balanced(r)
    if reason is None:
        assert r.skip_reasons == {}
        assert r.cleaned["user_data/user_data.json"] == {field: 1}
        return
    assert list(r.skip_reasons) == [reason]
    entity, why = reason.split(": ")
    assert r.entities[entity].skipped == 1
    with db.connect() as conn:
        stored = conn.execute(
            "SELECT entity, reason, raw IS NOT NULL AS has_raw, position FROM medly.skipped"
        ).fetchall()
    assert len(stored) == 1
    assert (stored[0]["entity"], stored[0]["reason"], stored[0]["has_raw"]) == (entity, why, True)
    assert stored[0]["position"].startswith("/")
    assert not any(r.cleaned.values())


def test_a_number_too_large_for_a_float_is_kept_whole_in_the_skipped_record(
    db: Database, tmp_path: Path
) -> None:
    root = write(tmp_path)
    targets = _targets()
    targets[_A]["userMark"] = "@n"
    _write_spelled(root, "user_data", {"targets": targets}, {"@n": "1e400"})
    run_medly(db, root)
    with db.connect() as conn:
        row = conn.execute(
            "SELECT raw ->> 'userMark' AS mark, position FROM medly.skipped"
        ).fetchone()
    assert row == {"mark": "1E+400", "position": "/targets/" + _A.replace("/", "~1")}


def test_nan_is_not_json_and_fails_the_file_leaving_the_database(
    db: Database, tmp_path: Path
) -> None:
    run_medly(db, write(tmp_path))
    before = _medly_state(db)
    targets = _targets()
    targets[_A]["userMark"] = "@n"
    _write_spelled(tmp_path, "user_data", {"targets": targets}, {"@n": "NaN"})
    with pytest.raises(InputError, match=r"user_data\.json: not valid JSON"):
        run_medly(db, tmp_path)
    assert _medly_state(db) == before


# ---- wrong top-level shape (issue 13, section 4) ----------------------------------------------

_TABLES = ["subjects", "units", "lessons", "papers", "items", "attempts", "users", "skipped"]


def _medly_state(db: Database) -> dict[str, Any]:
    """Row counts and the newest last_seen_at of every medly table: what a run would touch."""
    with db.connect() as conn:
        out: dict[str, Any] = {}
        for t in _TABLES:
            out[t] = conn.execute(f"SELECT count(*) AS n FROM medly.{t}").fetchone()
        for t in _TABLES[:-1]:
            out[f"{t} seen"] = conn.execute(
                f"SELECT max(last_seen_at) AS t FROM medly.{t}"
            ).fetchone()
    return out


@pytest.mark.parametrize(
    ("source", "body", "message"),
    [
        (
            "user_data",
            lambda: list(_targets().values()),
            'user_data/user_data.json: top level is an array, expected an object {"targets": '
            "{<document path>: <attempt>, ...}}",
        ),
        (
            "user_data",
            lambda: {"targets": list(_targets().values())},
            'user_data/user_data.json: "targets" is an array, expected an object mapping '
            "document paths to attempts",
        ),
        (
            "user_data",
            lambda: {"users": _targets()},
            'user_data/user_data.json: the top-level object has no key "targets"',
        ),
        (
            "course",
            lambda: {"units": _course()},
            f"{S}_course.json: top level is an object, expected an array of units",
        ),
        (
            "exams",
            lambda: {"paper_sets": _exams()},
            f"{S}_exams.json: top level is an object, expected an array of paper sets",
        ),
        (
            "practices",
            lambda: "banks",
            f"{S}_practices.json: top level is a string, expected an array of practice banks",
        ),
    ],
)
def test_a_file_of_the_wrong_shape_fails_the_run_and_changes_nothing(
    db: Database, tmp_path: Path, source: str, body: Any, message: str
) -> None:
    run_medly(db, write(tmp_path))
    before = _medly_state(db)
    _write_spelled(tmp_path, source, body(), {})
    with pytest.raises(InputError) as info:
        run_medly(db, tmp_path)
    assert message in str(info.value)
    assert str(tmp_path) in str(info.value)  # the path, to find the file
    assert _medly_state(db) == before
    assert _count(db, "SELECT count(*) FROM etl.runs WHERE status = 'failed'") == 1


def test_the_cli_exits_1_on_a_wrong_shape(settings: Settings, tmp_path: Path) -> None:
    root = write(tmp_path, raw_user_data=json.dumps(list(_targets().values())))
    r = CliRunner().invoke(app, ["medly", "--data-dir", str(root)])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1] == (
        f"Error: {root / 'user_data' / 'user_data.json'}: top level is an array, expected an "
        'object {"targets": {<document path>: <attempt>, ...}} '
        "(see docs/formats/medly.md for the shape of each file)"
    )
    # --json and --report-file still answer: the run that failed, and why
    out = tmp_path / "report.json"
    r = CliRunner().invoke(
        app, ["medly", "--data-dir", str(root), "--json", "--report-file", str(out)]
    )
    assert r.exit_code == 1
    body = json.loads(r.stdout)
    assert body == json.loads(out.read_text())
    assert (body["status"], body["hint"]) == (
        "failed",
        "see docs/formats/medly.md for the shape of each file",
    )
    run = runs.get_run(Database(settings.database_url, "external"), body["run_id"])
    assert (run.status, run.error) == ("failed", f"{body['error']} ({body['hint']})")


# ---- skipped records are stored once (issue 13, section 4) ------------------------------------


def test_a_rerun_counts_skips_again_but_stores_them_once(db: Database, tmp_path: Path) -> None:
    targets = _targets()
    targets[_path(f"{S}_1_3_C")] = _attempt(f"{S}_1_3_C")  # stays good: the file is not all bad
    del targets[_A]["createdAt"]
    exams = _exams()
    exams[0]["papers"][0]["questions"][0]["items"][1]["markmax"] = "three"
    root = write(tmp_path, targets=targets, exams=exams)
    first = run_medly(db, root)
    second = run_medly(db, root)
    for r in (first, second):
        assert sorted(r.skip_reasons) == [
            "attempts: createdAt missing",
            "items: markmax is not an integer",
        ]
        assert (r.entities["attempts"].skipped, r.entities["items"].skipped) == (1, 1)
    assert first.skipped_stored == {"stored": 2, "already stored": 0}
    assert second.skipped_stored == {"stored": 0, "already stored": 2}
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT entity, position, run_id, last_run_id FROM medly.skipped ORDER BY entity"
        ).fetchall()
    assert rows == [
        {
            "entity": "attempts",
            "position": "/targets/" + _A.replace("/", "~1"),
            "run_id": first.run_id,
            "last_run_id": second.run_id,
        },
        {
            "entity": "items",
            "position": "/0/papers/0/questions/0/items/1",
            "run_id": first.run_id,
            "last_run_id": second.run_id,
        },
    ]
    # New content is new records: the changed file's skips are stored, the other's are not.
    targets[_path(f"{S}_1_2_B")]["isMarked"] = "no"
    third = run_medly(db, write(tmp_path, targets=targets, exams=exams))
    assert third.skipped_stored == {"stored": 2, "already stored": 1}
    assert _count(db, "SELECT count(*) FROM medly.skipped") == 4


def test_pandas_dialect_loads_the_same_values_and_reports_them_cleaned(
    db: Database, tmp_path: Path
) -> None:
    from etl_toolkit.medly.generate import INT_FIELDS, generate

    sizes = {"users": 5, "attempts": 60, "practice_parts": 60, "seed": 11}
    generate(tmp_path / "plain", **sizes)
    generate(tmp_path / "pandas", dialect="pandas", **sizes)
    sample = (tmp_path / "pandas" / "user_data" / "user_data.json").read_text()
    assert '"userMark": ' in sample and ".0" in sample
    first = run_medly(db, tmp_path / "plain")
    assert first.changed and not any(first.cleaned.values())
    # The same values spelt as floats: the second run changes nothing, and says
    # which integers it rewrote.
    second = run_medly(db, tmp_path / "pandas")
    _balanced(second)
    assert second.skip_reasons == first.skip_reasons == {}
    assert not second.changed
    cleaned = {field for fields in second.cleaned.values() for field in fields}
    assert cleaned and cleaned <= INT_FIELDS
    assert {"userMark", "markmax", "unitIndex"} <= cleaned


# ---- a source that does not state a value keeps it (issue 13, follow-up) ----------------------

_CONTENT = [
    "subjects",
    "units",
    "topics",
    "lessons",
    "paper_sets",
    "papers",
    "practice_banks",
    "bank_chunks",
    "questions",
    "items",
    "item_appearances",
    "item_lessons",
    "users",
    "attempts",
]


def _content(db: Database) -> dict[str, list[Any]]:
    """Every medly row without its last_seen_at (which every run that sees it moves)."""
    with db.connect() as conn:
        return {
            t: [
                r["row"]
                for r in conn.execute(
                    f"SELECT to_jsonb(x) - 'last_seen_at' AS row FROM medly.{t} x ORDER BY 1"
                ).fetchall()
            ]
            for t in _CONTENT
        }


def _subject(db: Database) -> dict[str, Any] | None:
    with db.connect() as conn:
        return conn.execute(
            "SELECT board, qualification, title, source_file FROM medly.subjects"
        ).fetchone()


def test_an_empty_exams_file_keeps_the_subject_and_the_exam_items(
    db: Database, tmp_path: Path
) -> None:
    run_medly(db, write(tmp_path))
    before = _content(db)
    assert _subject(db) == {
        "board": "aqa",
        "qualification": "GCSE",
        "title": "Biology",
        "source_file": f"curriculum_data/{S}_exams.json",
    }
    # The practice bank still lists the exam item A (as its part 2): the exam's
    # values stay, the bank only adds its appearance (already stored).
    r = run_medly(db, write(tmp_path, exams=[]))
    _balanced(r)
    assert (r.entities["subjects"].updated, r.entities["items"].updated) == (0, 0)
    assert not r.changed
    assert _content(db) == before


@pytest.mark.parametrize(
    "empty",
    [
        {"course": []},
        {"exams": []},
        {"practices": []},
        {"targets": {}},
        {"course": [], "exams": [], "practices": [], "targets": {}},
    ],
    ids=["course", "exams", "practices", "targets", "all"],
)
def test_an_empty_source_erases_nothing_other_files_gave(
    db: Database, tmp_path: Path, empty: dict[str, Any]
) -> None:
    run_medly(db, write(tmp_path))
    before = _content(db)
    r = run_medly(db, write(tmp_path, **empty))  # zero records: a valid file, no gate
    _balanced(r)
    assert not r.changed
    assert r.skipped == 0
    assert _content(db) == before


def test_a_stated_subject_value_still_replaces_the_stored_one(db: Database, tmp_path: Path) -> None:
    run_medly(db, write(tmp_path))
    exams = _exams()
    exams[0]["board_title"] = "AQA"
    del exams[0]["subject_title"]  # not stated: kept
    r = run_medly(db, write(tmp_path, exams=exams))
    assert r.entities["subjects"].updated == 1
    assert _subject(db) == {
        "board": "AQA",
        "qualification": "GCSE",
        "title": "Biology",
        "source_file": f"curriculum_data/{S}_exams.json",
    }


def test_a_subject_takes_values_from_any_paper_set_of_the_run(db: Database, tmp_path: Path) -> None:
    exams = _exams()
    second = json.loads(json.dumps(exams[0]).replace("Sept_Mock", "June_Mock"))
    del second["board_title"]  # the later set, which wins, does not state the board
    run_medly(db, write(tmp_path, exams=[*exams, second]))
    assert _subject(db) == {
        "board": "aqa",
        "qualification": "GCSE",
        "title": "Biology",
        "source_file": f"curriculum_data/{S}_exams.json",
    }


# ---- a file whose records are (nearly) all skipped fails the run ------------------------------


def _all_integers_as(value: Any, spelling: str) -> str:
    """JSON text of `value` with every integer written as `spelling` % the integer."""
    if isinstance(value, dict):
        items = (f"{json.dumps(k)}: {_all_integers_as(v, spelling)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_all_integers_as(v, spelling) for v in value) + "]"
    if isinstance(value, int) and not isinstance(value, bool):
        return spelling % value
    return json.dumps(value)


def test_every_integer_as_a_fraction_fails_the_run_and_changes_nothing(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    run_medly(db, write(tmp_path))
    before = _medly_state(db)
    _write_spelled(tmp_path, "user_data", {"targets": _targets()}, {})
    root = tmp_path
    for name, value in (("course", _course()), ("exams", _exams()), ("practices", _practices())):
        (root / "curriculum_data" / f"{S}_{name}.json").write_text(_all_integers_as(value, "%d.5"))
    (root / "user_data" / "user_data.json").write_text(
        _all_integers_as({"targets": _targets()}, "%d.5")
    )
    r = CliRunner().invoke(app, ["medly", "--data-dir", str(root)])
    assert r.exit_code == 1
    error = r.stderr.strip().splitlines()[-1]
    assert error.startswith("Error: ")
    # Each file more than 90% skipped is named with its share and top reasons.
    assert (
        f"{root / 'curriculum_data' / f'{S}_course.json'}: 1 of 1 records skipped (100.0%), "
        "more than 90%: units: unitIndex is not an integer (1)"
    ) in error
    assert (
        f"{root / 'user_data' / 'user_data.json'}: 2 of 2 records skipped (100.0%), "
        "more than 90%: attempts: userMark is not an integer (2)"
    ) in error
    assert f"{S}_practices.json: 1 of 1 records skipped" in error
    assert "nothing was written" in error
    assert _medly_state(db) == before  # one transaction: the skips are not stored either
    with db.connect() as conn:
        run = conn.execute(
            "SELECT status, error, report FROM etl.runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert run is not None
    assert run["status"] == "failed"
    assert "records skipped" in run["error"]
    assert run["report"]["files"]["user_data/user_data.json"] == {"records": 2, "skipped": 2}


def test_a_course_of_strings_fails_the_run(db: Database, tmp_path: Path) -> None:
    run_medly(db, write(tmp_path))
    before = _medly_state(db)
    with pytest.raises(InputError) as info:
        run_medly(db, write(tmp_path, course=["a", "b"]))
    assert str(info.value).startswith(
        f"{tmp_path / 'curriculum_data' / f'{S}_course.json'}: 2 of 2 records skipped (100.0%),"
        " more than 90%: units: unit is not an object (2)"
    )
    assert _medly_state(db) == before


def _attempts(n: int, bad: int) -> dict[str, Any]:
    """n attempts, the first `bad` of them without createdAt."""
    out = {}
    for i in range(n):
        ref = f"{S}_9_{i}_Q"
        rec = _attempt(ref)
        if i < bad:
            del rec["createdAt"]
        out[_path(ref)] = rec
    return out


def test_ninety_percent_skipped_still_loads_more_fails(db: Database, tmp_path: Path) -> None:
    r = run_medly(db, write(tmp_path, targets=_attempts(10, 9)))  # 90%: not more
    assert r.entities["attempts"].inserted == 1
    assert r.files["user_data/user_data.json"].share == 0.9
    with pytest.raises(InputError, match=r"user_data\.json: 10 of 10 records skipped \(100\.0%\)"):
        run_medly(db, write(tmp_path, targets=_attempts(10, 10)))


def test_the_summary_line_says_how_many_records_were_skipped(
    settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    clean = runner.invoke(app, ["medly", "--data-dir", str(write(tmp_path / "clean"))])
    assert clean.exit_code == 0, clean.output
    assert "skipped" not in clean.stdout
    targets = _targets()
    del targets[_A]["createdAt"]
    dirty = runner.invoke(app, ["medly", "--data-dir", str(write(tmp_path, targets=targets))])
    assert dirty.exit_code == 0, dirty.output
    # 16 records: 4 in the course, 5 in the exams, 5 in the practices, 2 attempts.
    assert re.fullmatch(
        r"medly run \d+: nothing changed in \d+\.\d\ds, 1 of 16 records skipped "
        r"\(--report for details\)",
        dirty.stdout.strip(),
    ), dirty.stdout
    as_json = runner.invoke(app, ["medly", "--data-dir", str(tmp_path), "--json"])
    assert json.loads(as_json.stdout)["files"] == {
        f"curriculum_data/{S}_course.json": {"records": 4, "skipped": 0},
        f"curriculum_data/{S}_exams.json": {"records": 5, "skipped": 0},
        f"curriculum_data/{S}_practices.json": {"records": 5, "skipped": 0},
        "user_data/user_data.json": {"records": 2, "skipped": 1},
    }


# ---- the skip report identifies the record --------------------------------------------------


def test_skip_examples_name_the_record_own_key_and_position(
    settings: Settings, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = _course()
    course.append({"unitIndex": 0.5, "unitTitle": "Bad", "topics": []})
    exams = _exams()
    exams[0]["papers"][0]["questions"][0]["items"][1]["markmax"] = "three"
    practices = _practices()
    practices.append({**_renamed(practices[0], "0.0.", "0.0.9"), "unit_index": "x"})
    practices[0]["chunks_used"][0]["chunk_index"] = "y"
    bad_stem = json.loads(json.dumps(exams[0]["papers"][0]["questions"][0]).replace("_1_", "_2_"))
    exams[0]["papers"][0]["questions"].append({**bad_stem, "question_number": "two"})
    r = run_medly(db, write(tmp_path, course=course, exams=exams, practices=practices))
    examples = {k: v["examples"] for k, v in r.skip_reasons.items()}
    ex = f"curriculum_data/{S}_exams.json"
    pr = f"curriculum_data/{S}_practices.json"
    assert examples == {
        "units: unitIndex is not an integer": [
            {"file": f"curriculum_data/{S}_course.json", "key": "unitIndex=0.5", "position": "/1"}
        ],
        "items: markmax is not an integer": [
            {
                "file": ex,
                "key": f"questionID={S}_1_2_B",
                "position": "/0/papers/0/questions/0/items/1",
            }
        ],
        "questions: question_number is not an integer": [
            {"file": ex, "key": f"question_id={S}_2_stem", "position": "/0/papers/0/questions/1"}
        ],
        "practice_banks: unit_index is not an integer": [
            {"file": pr, "key": f"lessonID={S}0.0.90", "position": "/1"}
        ],
        "bank_chunks: chunk_index is not an integer": [
            {"file": pr, "key": "chunk_index=y", "position": "/0/chunks_used/0"}
        ],
    }
    with db.connect() as conn:
        keys = conn.execute(
            "SELECT entity, record_key, position FROM medly.skipped ORDER BY entity"
        ).fetchall()
    assert {k["entity"]: k["record_key"] for k in keys}["items"] == f"questionID={S}_1_2_B"
    monkeypatch.setattr(cli_stdout, "width", 300)  # one table row per line, to find it whole
    table = CliRunner().invoke(app, ["medly", "--data-dir", str(tmp_path), "--report"])
    assert table.exit_code == 0, table.output
    assert f"questionID={S}_1_2_B ({ex}#/0/papers/0/questions/0/items/1)" in table.stdout
    assert "skipped records per file" in table.stdout


# ---- encodings: a UTF-8 byte order mark is accepted ------------------------------------------


_FILES = {
    "course": f"curriculum_data/{S}_course.json",
    "exams": f"curriculum_data/{S}_exams.json",
    "practices": f"curriculum_data/{S}_practices.json",
    "user_data": "user_data/user_data.json",
}


def test_a_utf8_byte_order_mark_is_accepted_in_every_file(db: Database, tmp_path: Path) -> None:
    plain = run_medly(db, write(tmp_path / "plain"))
    root = write(tmp_path / "bom")
    for name in _FILES.values():
        path = root / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    r = run_medly(db, root)
    assert r.skip_reasons == {}
    assert {k: e.read for k, e in r.entities.items()} == {
        k: e.read for k, e in plain.entities.items()
    }
    assert not r.changed  # the same content as the plain files


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (
            "[]".encode("utf-16"),
            "the file is UTF-16 (little-endian) (it starts with a byte order mark), expected UTF-8",
        ),
        (b"\xfe\xff\x00[\x00]", "the file is UTF-16 (big-endian)"),
        (b"\xff\xfe\x00\x00[\x00\x00\x00", "the file is UTF-32 (little-endian)"),
        (
            b"\x89PNG\r\n\x1a\n",
            r"not valid JSON, it starts with b'\x89PNG\r\n\x1a\n' "
            "(lexical error: invalid char in json text.)",
        ),
        (
            b"\xef\xbb\xbf\xef\xbb\xbf[]",
            r"not valid JSON, it starts with b'\xef\xbb\xbf[]' (lexical error",
        ),
        (b"", "not valid JSON, the file is empty (parse error: premature EOF)"),
    ],
    ids=["utf16le", "utf16be", "utf32le", "png", "two-boms", "empty"],
)
@pytest.mark.parametrize("name", list(_FILES))
def test_another_start_is_refused_saying_what_it_found(
    db: Database, tmp_path: Path, name: str, data: bytes, found: str
) -> None:
    root = write(tmp_path)
    (root / _FILES[name]).write_bytes(data)
    with pytest.raises(InputError) as info:
        run_medly(db, root)
    assert f"{root / _FILES[name]}: " in str(info.value)
    assert found in str(info.value)
