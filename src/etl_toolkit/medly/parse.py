"""Records of the four sources -> row tuples, or a Skip with its reason.

Pure functions (no database): the loader streams records through them. A Skip
names the entity, a reason from a fixed vocabulary (so the report can count
them), a key to find the record again and its position in the file (a JSON
Pointer, RFC 6901), which with the file's content identifies the record.

Numbers arrive as the parser reads them: int for an integer spelling, Decimal
for any other (`3.0`, `3.5`, `1e400`), so the integer rule below sees exactly
what the file says and no number is lost to float overflow.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_FRACTION = re.compile(r"(\.\d{1,6})\d*")
# Every integer the sources carry lands in an `integer` column.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

# Integral decimals (`3.0`) loaded as integers: how many per field. The report
# shows them per file, because a user must see that their values were rewritten.
Cleaned = Counter[str]


@dataclass(frozen=True)
class Skip:
    entity: str
    reason: str
    key: str | None
    raw: Any
    position: str = ""


def pointer(*parts: str | int) -> str:
    """A JSON Pointer (RFC 6901): `/0/papers/2` for the third paper of the first set."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def own_key(rec: Any, *fields: str) -> str | None:
    """What a user can search their file for: the record's own key fields as
    `field=value` (`questionID=aqa_1_1_A`, `unitIndex=3.5`), None when it has none
    (the position still finds it)."""
    if not isinstance(rec, dict):
        return None
    found = []
    for f in fields:
        value = rec.get(f)
        if value is not None:
            text = value if isinstance(value, str) else raw_json(value)
            found.append(f"{f}={text[:100]}")
    return " ".join(found) or None


class Invalid(Exception):
    """A record-level defect; the message is the reason."""


def parse_ts(value: Any, field: str) -> datetime:
    """ISO 8601 with `Z` or an offset, fraction of any length; naive means UTC."""
    if value is None:
        raise Invalid(f"{field} missing")
    if not isinstance(value, str):
        raise Invalid(f"{field} is not a string")
    text = _FRACTION.sub(r"\1", value.strip())  # Python keeps microseconds at most
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{field} malformed") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _opt_ts(value: Any, field: str) -> datetime | None:
    return None if value is None else parse_ts(value, field)


def json_int(value: Any, field: str) -> tuple[int, bool]:
    """An integer read from JSON: (the integer, whether it was written as a decimal).

    JSON has one number type, so `3.0`, `3.00` and `3e0` are the integer 3
    (issue 13, section 1). Refused with a reason: a fraction (`3.5`), a value an
    integer column cannot hold (`1e400`, 2**31), a boolean (Python's bool is
    an int, JSON's `true` is not a number) and a string (`"3"`: the format
    says int, and every other field of the spec is typed the same way).
    """
    if isinstance(value, bool):
        raise Invalid(f"{field} is not an integer")
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise Invalid(f"{field} is out of range")
        return value, False
    if isinstance(value, Decimal | float):
        if value != value:  # NaN: not JSON, yet no parser's quirk should load it
            raise Invalid(f"{field} is not an integer")
        # The range first: int() of a huge exponent (`1e999999999`) would build it digit by digit.
        if not INT_MIN <= value <= INT_MAX:
            raise Invalid(f"{field} is out of range")
        if value != int(value):
            raise Invalid(f"{field} is not an integer")
        return int(value), True
    raise Invalid(f"{field} is not an integer")


def _int(value: Any, field: str, noted: list[str], *, required: bool = False) -> int | None:
    """json_int for one field of a record; a normalised field is noted in `noted`
    (the caller counts it in its Cleaned once the whole record is accepted)."""
    if value is None:
        if required:
            raise Invalid(f"{field} missing")
        return None
    n, normalised = json_int(value, field)
    if normalised:
        noted.append(field)
    return n


def _str(value: Any, field: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise Invalid(f"{field} missing")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{field} is not a string")
    return value.replace("\x00", "")


def _list(value: Any, field: str) -> list[Any]:
    """Missing arrays are empty arrays; anything else that is not a list is a defect."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(f"{field} is not a list")
    return value


def _decimal_as_float(value: Any) -> float:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(value: Any, field: str) -> str | None:
    """For COPY into jsonb (NUL cannot be stored: it becomes U+FFFD). Decimals go
    back to floats, as before; one too large for a float (`1e400`) refuses the
    record instead of failing the whole COPY."""
    if value is None:
        return None
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_decimal_as_float)
    except ValueError:
        raise Invalid(f"{field} holds a number too large to store") from None
    return text.replace("\\u0000", "\\ufffd")


def _raw_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        as_float = float(value)
        # A number a float cannot hold is kept as its text: the raw record stays whole.
        return as_float if as_float not in (float("inf"), float("-inf")) else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def raw_json(value: Any) -> str:
    """A skipped record as stored in medly.skipped.raw: always storable."""
    text = json.dumps(value, ensure_ascii=False, default=_raw_number)
    return text.replace("\\u0000", "\\ufffd")


# ---- user data -------------------------------------------------------------------------------

ATTEMPT_COLUMNS = [
    "uid",
    "paper_id",
    "question_ref",
    "subject_id",
    "created_at",
    "updated_at",
    "is_marked",
    "user_mark",
    "user_answer",
    "annotated_answer",
    "marking_table",
    "options",
    "canvas",
    "extra",
    "source_file",
]
_ATTEMPT_FIELDS = {
    "createdAt",
    "questionID",
    "canvas",
    "isMarked",
    "userMark",
    "userAnswer",
    "annotatedAnswer",
    "markingTable",
    "options",
    "updatedAt",
    "userID",
}


def parse_path(path: str) -> tuple[str, str, str, str]:
    """users/<uid>/subjectsWeb/<subject>/mocks/<paper>/questions/<questionID>."""
    parts = path.split("/")
    if (
        len(parts) != 8
        or parts[0] != "users"
        or parts[2] != "subjectsWeb"
        or parts[4] != "mocks"
        or parts[6] != "questions"
        or not all(parts)
    ):
        raise Invalid("path has the wrong shape")
    return parts[1], parts[3], parts[5], parts[7]


def parse_attempt(
    path: Any, rec: Any, source_file: str, cleaned: Cleaned | None = None
) -> tuple[Any, ...] | Skip:
    noted: list[str] = []
    try:
        if not isinstance(path, str):
            raise Invalid("path has the wrong shape")
        uid, subject, paper, qref_path = parse_path(path)
        if not isinstance(rec, dict):
            raise Invalid("record is not an object")
        qref = rec.get("questionID")
        if qref is None or qref == "":
            raise Invalid("questionID missing")
        if not isinstance(qref, str):
            raise Invalid("questionID is not a string")
        if qref != qref_path:
            raise Invalid("questionID does not match the path")
        user_id = rec.get("userID")
        if user_id is not None and user_id != uid:
            raise Invalid("userID does not match the path")
        created = parse_ts(rec.get("createdAt"), "createdAt")
        updated = _opt_ts(rec.get("updatedAt"), "updatedAt")
        canvas = rec.get("canvas")
        if canvas is None:
            raise Invalid("canvas missing")
        if not isinstance(canvas, dict):
            raise Invalid("canvas is not an object")
        canvas = {
            **canvas,
            **{k: _list(canvas.get(k), f"canvas.{k}") for k in ("maths", "paths", "textboxes")},
        }
        marked = rec.get("isMarked")
        if not isinstance(marked, bool):
            raise Invalid("isMarked missing" if marked is None else "isMarked is not a boolean")
        extra = {k: v for k, v in rec.items() if k not in _ATTEMPT_FIELDS}
        row = (
            uid,
            paper,
            qref,
            subject,
            created,
            updated,
            marked,
            _int(rec.get("userMark"), "userMark", noted),
            _str(rec.get("userAnswer"), "userAnswer"),
            _str(rec.get("annotatedAnswer"), "annotatedAnswer"),
            _str(rec.get("markingTable"), "markingTable"),
            _json(_list(rec.get("options"), "options"), "options") if "options" in rec else None,
            _json(canvas, "canvas"),
            _json(extra, "extra fields") if extra else None,
            source_file,
        )
    except Invalid as exc:
        key = path if isinstance(path, str) else None
        return Skip("attempts", str(exc), key, rec, pointer("targets", str(path)))
    if cleaned is not None:
        cleaned.update(noted)
    return row


# ---- curriculum ------------------------------------------------------------------------------


def course_rows(
    subject: str, units: Any, source_file: str, cleaned: Cleaned | None = None
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[Skip]]:
    """(units, topics, lessons, skips) from one course file's list of units."""
    u_rows: list[tuple[Any, ...]] = []
    t_rows: list[tuple[Any, ...]] = []
    l_rows: list[tuple[Any, ...]] = []
    skips: list[Skip] = []
    cleaned = Counter() if cleaned is None else cleaned
    for u, unit in enumerate(units if isinstance(units, list) else []):
        noted: list[str] = []
        try:
            if not isinstance(unit, dict):
                raise Invalid("unit is not an object")
            ui = _int(unit.get("unitIndex"), "unitIndex", noted, required=True)
            topics = _list(unit.get("topics"), "topics")
            u_rows.append(
                (subject, ui, _str(unit.get("unitTitle"), "unitTitle") or "", source_file)
            )
        except Invalid as exc:
            skips.append(Skip("units", str(exc), own_key(unit, "unitIndex"), unit, pointer(u)))
            continue
        cleaned.update(noted)
        for t, topic in enumerate(topics):
            noted = []
            try:
                if not isinstance(topic, dict):
                    raise Invalid("topic is not an object")
                ti = _int(topic.get("topicIndex"), "topicIndex", noted, required=True)
                lessons = _list(topic.get("lessons"), "lessons")
                t_rows.append(
                    (
                        subject,
                        ui,
                        ti,
                        _str(topic.get("topicTitle"), "topicTitle") or "",
                        source_file,
                    )
                )
            except Invalid as exc:
                at = pointer(u, "topics", t)
                skips.append(Skip("topics", str(exc), own_key(topic, "topicIndex"), topic, at))
                continue
            cleaned.update(noted)
            for x, lesson in enumerate(lessons):
                noted = []
                try:
                    if not isinstance(lesson, dict):
                        raise Invalid("lesson is not an object")
                    lid = _str(lesson.get("lessonID"), "lessonID", required=True)
                    li = _int(lesson.get("lessonIndex"), "lessonIndex", noted, required=True)
                    l_rows.append(
                        (
                            lid,
                            subject,
                            ui,
                            ti,
                            li,
                            _str(lesson.get("lessonTitle"), "lessonTitle") or "",
                            source_file,
                        )
                    )
                except Invalid as exc:
                    at = pointer(u, "topics", t, "lessons", x)
                    key = own_key(lesson, "lessonID") or own_key(lesson, "lessonIndex")
                    skips.append(Skip("lessons", str(exc), key, lesson, at))
                    continue
                cleaned.update(noted)
    return u_rows, t_rows, l_rows, skips


ITEM_COLUMNS = [
    "question_ref",
    "question_id",
    "part",
    "question_type",
    "text",
    "markmax",
    "markscheme",
    "difficulty",
    "options",
    "correct_answer",
    "specification_point",
    "diagram",
    "extra",
    "source_file",
    "_priority",
]
_ITEM_FIELDS = {
    "question_part",
    "question_type",
    "question_text",
    "markmax",
    "markscheme",
    "difficulty",
    "lessonIDs",
    "options",
    "correct_answer_index",
    "questionID",
    "specification_point",
    "question_diagram",
}


@dataclass
class QuestionRows:
    question: tuple[Any, ...]
    items: list[tuple[Any, ...]]
    appearances: list[tuple[Any, ...]]
    lessons: list[tuple[Any, ...]]
    skips: list[Skip]


def _answer_index(value: Any, noted: list[str]) -> int | list[int] | None:
    """`correct_answer_index`: an int, or (practice) a list of ints; the integer rule
    applies to each."""
    field = "correct_answer_index"
    try:
        if isinstance(value, list):
            return [
                n for n in (_int(v, field, noted, required=True) for v in value) if n is not None
            ]
        return _int(value, field, noted)
    except Invalid as exc:
        if str(exc).endswith("out of range"):
            raise
        raise Invalid(f"{field} is not an integer or a list of integers") from None


def question_rows(
    q: Any,
    *,
    paper_id: str | None,
    bank_lesson: str | None,
    source_file: str,
    position: str = "",
    cleaned: Cleaned | None = None,
) -> QuestionRows | Skip:
    """A question (stem) with its parts, their appearance here and their lesson links."""
    kind = "paper" if paper_id is not None else "practice"
    source_id = paper_id if paper_id is not None else bank_lesson
    cleaned = Counter() if cleaned is None else cleaned
    noted: list[str] = []
    try:
        if not isinstance(q, dict):
            raise Invalid("question is not an object")
        qid = _str(q.get("question_id"), "question_id", required=True)
        assert qid is not None
        qnum = _int(q.get("question_number"), "question_number", noted)
        diagram = q.get("question_stem_diagram")
        question = (
            qid,
            paper_id,
            bank_lesson if paper_id is None else None,
            qnum,
            _str(q.get("question_stem"), "question_stem"),
            _json(diagram, "question_stem_diagram"),
            _str(q.get("validation_comment"), "validation_comment"),
            _str(q.get("validation_reason"), "validation_reason"),
            source_file,
        )
        parts = _list(q.get("items"), "items")
    except Invalid as exc:
        return Skip("questions", str(exc), own_key(q, "question_id"), q, position)
    cleaned.update(noted)
    out = QuestionRows(question, [], [], [], [])
    for p, part in enumerate(parts):
        noted = []
        try:
            if not isinstance(part, dict):
                raise Invalid("item is not an object")
            ref = _str(part.get("questionID"), "questionID", required=True)
            number = _int(part.get("question_part"), "question_part", noted)
            correct = _answer_index(part.get("correct_answer_index"), noted)
            lesson_refs = (
                _list(part.get("lessonIDs"), "lessonIDs") if kind == "paper" else [bank_lesson]
            )
            if not all(isinstance(lref, str) and lref for lref in lesson_refs):
                raise Invalid("lessonIDs holds a value that is not a lesson id")
            extra = {k: v for k, v in part.items() if k not in _ITEM_FIELDS}
            out.items.append(
                (
                    ref,
                    qid,
                    number,
                    _str(part.get("question_type"), "question_type"),
                    _str(part.get("question_text"), "question_text"),
                    _int(part.get("markmax"), "markmax", noted),
                    _str(part.get("markscheme"), "markscheme"),
                    _int(part.get("difficulty"), "difficulty", noted),
                    _json(_list(part.get("options"), "options"), "options")
                    if "options" in part
                    else None,
                    _json(correct, "correct_answer_index"),
                    _str(part.get("specification_point"), "specification_point"),
                    _json(part.get("question_diagram"), "question_diagram"),
                    _json(extra, "extra fields") if extra else None,
                    source_file,
                    0 if kind == "paper" else 1,
                )
            )
            out.appearances.append((ref, kind, source_id, qid, qnum, number, source_file))
            for lref in dict.fromkeys(lesson_refs):
                out.lessons.append(
                    (ref, lref, "exam" if kind == "paper" else "practice", source_file)
                )
        except Invalid as exc:
            at = f"{position}/items/{p}"
            out.skips.append(Skip("items", str(exc), own_key(part, "questionID"), part, at))
            continue
        cleaned.update(noted)
    return out


# ---- the containers: paper sets, papers, practice banks, their chunks ------------------------


def paper_row(
    paper: Any, set_key: str, source_file: str, position: str, cleaned: Cleaned
) -> tuple[Any, ...] | Skip:
    """(paper_id, paper_set_key, tier, paper_number, source_file). The paper number
    is a string in the format; a number there is read by the integer rule."""
    noted: list[str] = []
    try:
        if not isinstance(paper, dict):
            raise Invalid("paper is not an object")
        pid = paper.get("paper_id")
        if not isinstance(pid, str) or not pid:
            raise Invalid("paper_id missing")
        number = paper.get("paper")
        if number is not None and not isinstance(number, str):
            number = str(_int(number, "paper", noted))
        row = (pid, set_key, paper.get("tier"), number, source_file)
    except Invalid as exc:
        return Skip("papers", str(exc), own_key(paper, "paper_id"), paper, position)
    cleaned.update(noted)
    return row


BANK_INTS = ("unit_index", "topic_index", "lesson_index")


def bank_row(
    bank: Any, subject: str, source_file: str, position: str, cleaned: Cleaned
) -> tuple[Any, ...] | Skip:
    """A practice bank's row (lesson_resolved is settled later, in SQL)."""
    noted: list[str] = []
    try:
        if not isinstance(bank, dict):
            raise Invalid("practice bank is not an object")
        lid = bank.get("lessonID")
        if not isinstance(lid, str) or not lid:
            raise Invalid("lessonID missing")
        ints = {k: _int(bank.get(k), k, noted) for k in BANK_INTS}
        row = (
            lid,
            bank.get("original_lessonID"),
            bank.get("exam_board"),
            bank.get("qualification"),
            bank.get("subject"),
            ints["unit_index"],
            bank.get("unit_title"),
            ints["topic_index"],
            bank.get("topic_title"),
            ints["lesson_index"],
            bank.get("lesson_title"),
            False,
            source_file,
        )
    except Invalid as exc:
        return Skip("practice_banks", str(exc), own_key(bank, "lessonID"), bank, position)
    cleaned.update(noted)
    return row


def chunk_row(
    chunk: Any, lesson_id: str, source_file: str, position: str, cleaned: Cleaned
) -> tuple[Any, ...] | Skip:
    noted: list[str] = []
    try:
        if not isinstance(chunk, dict):
            raise Invalid("chunk is not an object")
        index = _int(chunk.get("chunk_index"), "chunk_index", noted, required=True)
        row = (lesson_id, index, chunk.get("chunk_title"), source_file)
    except Invalid as exc:
        return Skip("bank_chunks", str(exc), own_key(chunk, "chunk_index"), chunk, position)
    cleaned.update(noted)
    return row
