"""`etl medly generate`: a data dir in the format of docs/formats/medly.md.

Deterministic for a seed. Files are written as streams (one record at a time),
so 100x data needs no more memory than a sample. With `dirty > 0`, about that
share of records carry one realistic defect each: a malformed timestamp, a
missing questionID, a key/questionID mismatch, an unknown questionID, an
unknown lessonID, a missing array, a path of the wrong shape, a wrong type, a
duplicate record.

`dialect="pandas"` writes every integer field as a float (`3.0`), the way
`DataFrame.to_json` writes an integer column that holds a null (issue 13); the
loader reads those as the same integers and reports them as cleaned.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TextIO

from etl_toolkit.medly.generate_records import Dirt, course_units, question_record, rid, sentence

SUBJECTS = [
    ("aqaGCSEBio", "aqa", "GCSE", "Biology"),
    ("aqaGCSEChem", "aqa", "GCSE", "Chemistry"),
    ("edexcelALevelMaths", "edexcel", "A Level", "Mathematics"),
]


@dataclass
class GenerateResult:
    out: Path
    subjects: list[str]
    lessons: int
    exam_items: int
    practice_parts: int
    attempts: int
    users: int
    dirty_records: int
    files: list[str] = field(default_factory=list)


Dialect = Literal["plain", "pandas"]
DIALECTS: tuple[Dialect, ...] = ("plain", "pandas")
# The integer fields of the four sources (docs/formats/medly.md).
INT_FIELDS = frozenset(
    {
        "userMark", "unitIndex", "topicIndex", "lessonIndex", "question_number",
        "question_part", "markmax", "difficulty", "chunk_index", "correct_answer_index",
        "unit_index", "topic_index", "lesson_index",
    }
)  # fmt: skip


def as_floats(value: Any, key: str | None = None) -> Any:
    """The value with every integer of an integer field written as a float."""
    if isinstance(value, dict):
        return {k: as_floats(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [as_floats(v, key) for v in value]
    if key in INT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _as_written(value: Any) -> Any:
    return value


def _write_list(fp: TextIO, items: Iterator[dict[str, Any]], spell: Callable[[Any], Any]) -> None:
    fp.write("[\n")
    for i, item in enumerate(items):
        fp.write(("" if i == 0 else ",\n") + json.dumps(spell(item), ensure_ascii=False))
    fp.write("\n]\n")


def generate(
    out: Path,
    *,
    users: int = 40,
    attempts: int = 1000,
    practice_parts: int = 2000,
    dirty: float = 0.0,
    seed: int = 7,
    subjects: int = 1,
    dialect: Dialect = "plain",
) -> GenerateResult:
    """Write <out>/user_data/user_data.json and <out>/curriculum_data/<subject>_*.json."""
    rng = random.Random(seed)
    dirt = Dirt(rng, dirty)
    spell = as_floats if dialect == "pandas" else _as_written
    (out / "user_data").mkdir(parents=True, exist_ok=True)
    (out / "curriculum_data").mkdir(parents=True, exist_ok=True)
    chosen = SUBJECTS[: max(1, min(subjects, len(SUBJECTS)))]
    per_subject_attempts = attempts // len(chosen)
    uids = [rid(rng, 28) for _ in range(users)]
    result = GenerateResult(out, [s[0] for s in chosen], 0, 0, 0, 0, users, 0)
    base = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)

    with (out / "user_data" / "user_data.json").open("w", encoding="utf-8") as ufp:
        ufp.write('{"targets": {\n')
        first = True
        for subject, board, qual, title in chosen:
            course = course_units(subject, rng, units=6, topics=4, lessons=8)
            lesson_ids = [
                le["lessonID"] for u in course for t in u["topics"] for le in t["lessons"]
            ]
            result.lessons += len(lesson_ids)
            with (out / "curriculum_data" / f"{subject}_course.json").open("w") as fp:
                _write_list(fp, iter(course), spell)

            # Enough papers that every attempt can be a distinct (user, paper, item).
            n_papers = max(2, -(-per_subject_attempts // max(1, users * 24)))
            papers: list[tuple[str, list[dict[str, Any]]]] = []
            sets = []
            for s in range(-(-n_papers // 2)):
                series = f"Mock{s + 1}"
                set_papers = []
                for tier in ("Higher", "Foundation"):
                    if len(papers) >= n_papers:
                        break
                    pid = f"medlymock{subject}_{series}{len(papers) + 1}{tier}"
                    qs = [
                        question_record(rng, subject, q, 3, lesson_ids, False, dirt)
                        for q in range(1, 9)
                    ]
                    papers.append((pid, qs))
                    set_papers.append(
                        {"paper_id": pid, "tier": tier, "paper": str(len(papers)), "questions": qs}
                    )
                sets.append(
                    {
                        "board_title": board,
                        "qualification": qual,
                        "subject_title": title,
                        "subject_id": subject,
                        "type": "Medly",
                        "series": series,
                        "papers": set_papers,
                    }
                )
            result.exam_items += sum(len(q["items"]) for _, qs in papers for q in qs)
            with (out / "curriculum_data" / f"{subject}_exams.json").open("w") as fp:
                _write_list(fp, iter(sets), spell)

            # Practice banks: one per lesson; a few questions reuse an exam item's questionID.
            parts_left = practice_parts // len(chosen)
            exam_refs = [i["questionID"] for _, qs in papers for q in qs for i in q["items"]]

            def banks(
                parts_left: int = parts_left,
                lesson_ids: list[str] = lesson_ids,
                subject: str = subject,
                board: str = board,
                qual: str = qual,
                title: str = title,
                exam_refs: list[str] = exam_refs,
            ) -> Iterator[dict[str, Any]]:
                per_bank = max(1, parts_left // len(lesson_ids))
                for li, lid in enumerate(lesson_ids):
                    u, t, x = (int(v) for v in lid[len(subject) :].split("."))
                    qs, made, qnum = [], 0, 1
                    while made < per_bank:
                        n = min(3, per_bank - made)
                        q = question_record(rng, subject, qnum, n, [lid], True, dirt)
                        if rng.random() < 0.02 and exam_refs:
                            q["items"][0]["questionID"] = rng.choice(exam_refs)
                        qs.append(q)
                        made, qnum = made + n, qnum + 1
                    result.practice_parts += made
                    bank_lesson = lid
                    if dirt.pick(["unknown_bank_lesson"]) == "unknown_bank_lesson":
                        bank_lesson = f"{subject}{u}.{t}.{x + 50}"
                    yield {
                        "exam_board": board,
                        "qualification": qual,
                        "subject": title,
                        "unit_index": u,
                        "unit_title": f"Unit {u}",
                        "topic_index": t,
                        "topic_title": f"Topic {t}",
                        "lesson_index": x,
                        "lessonID": bank_lesson,
                        "original_lessonID": lid,
                        "lesson_title": f"Lesson {li}",
                        "chunks_used": [
                            {"chunk_index": c, "chunk_title": sentence(rng, 3)}
                            for c in range(rng.randint(0, 3))
                        ],
                        "items": qs,
                    }

            with (out / "curriculum_data" / f"{subject}_practices.json").open("w") as fp:
                _write_list(fp, banks(), spell)

            # Attempts: distinct (user, paper, item) triples, spread over users.
            seen: set[tuple[int, int, int]] = set()
            made = 0
            while made < per_subject_attempts:
                ui, pi = rng.randrange(users), rng.randrange(len(papers))
                pid, qs = papers[pi]
                qi = rng.randrange(len(qs))
                ii = rng.randrange(len(qs[qi]["items"]))
                key = (ui, pi, qi * 10 + ii)
                if key in seen:
                    if len(seen) >= users * len(papers) * 24:
                        break
                    continue
                seen.add(key)
                item = qs[qi]["items"][ii]
                qref = item["questionID"]
                created = base + timedelta(
                    minutes=rng.randrange(60 * 24 * 90), microseconds=rng.randrange(10**6)
                )
                marked = rng.random() < 0.8
                rec: dict[str, Any] = {
                    "createdAt": created.isoformat().replace("+00:00", rng.choice(["Z", "+00:00"])),
                    "questionID": qref,
                    "canvas": {
                        "maths": [],
                        "paths": [],
                        "textboxes": (
                            [
                                {
                                    "text": sentence(rng, 4),
                                    "isMath": False,
                                    "color": "#000",
                                    "fontSize": 14,
                                    "x": rng.randint(0, 500),
                                    "y": rng.randint(0, 500),
                                }
                            ]
                            if rng.random() < 0.3
                            else []
                        ),
                    },
                    "isMarked": marked,
                    "userAnswer": sentence(rng, 6),
                    "updatedAt": (created + timedelta(minutes=5))
                    .isoformat()
                    .replace("+00:00", "Z"),
                }
                if marked:
                    rec["userMark"] = rng.randint(
                        0, int(item["markmax"]) if isinstance(item["markmax"], int) else 3
                    )
                    rec["markingTable"] = (
                        "| point | response | mark |\n|---|---|---|\n| a | b | 1 |"
                    )
                    rec["annotatedAnswer"] = rec["userAnswer"]
                if "options" in item:
                    rec["options"] = item["options"]
                if rng.random() < 0.5:
                    rec["userID"] = uids[ui]
                path = f"users/{uids[ui]}/subjectsWeb/{subject}/mocks/{pid}/questions/{qref}"
                dup = False
                match dirt.pick(
                    [
                        "bad_ts",
                        "no_qid",
                        "mismatch",
                        "unknown_qid",
                        "no_canvas",
                        "bad_path",
                        "wrong_type",
                        "duplicate",
                        "no_ts",
                    ]
                ):
                    case "bad_ts":
                        rec["createdAt"] = "31/12/2025 10:00"
                    case "no_ts":
                        rec.pop("createdAt")
                    case "no_qid":
                        rec.pop("questionID")
                    case "mismatch":
                        rec["questionID"] = f"{qref}X"
                    case "unknown_qid":
                        rec["questionID"] = f"{subject}_0_0_{rid(rng, 10)}"
                        path = path.rsplit("/", 1)[0] + "/" + rec["questionID"]
                    case "no_canvas":
                        rec.pop("canvas")
                    case "bad_path":
                        path = f"users/{uids[ui]}/subjects/{subject}/{pid}/{qref}"
                    case "wrong_type":
                        rec["isMarked"] = "yes"
                    case "duplicate":
                        dup = True
                for entry in [rec, {**rec, "updatedAt": rec.get("updatedAt")}] if dup else [rec]:
                    ufp.write(
                        ("" if first else ",\n")
                        + json.dumps(path)
                        + ": "
                        + json.dumps(spell(entry))
                    )
                    first = False
                made += 1
            result.attempts += made
        ufp.write("\n}}\n")
    result.dirty_records = dirt.count
    result.files = sorted(str(p.relative_to(out)) for p in out.rglob("*.json"))
    return result
