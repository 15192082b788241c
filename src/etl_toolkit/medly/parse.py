"""Records of the four sources -> row tuples, or a Skip with its reason.

Pure functions (no database): the loader streams records through them. A Skip
names the entity, a reason from a fixed vocabulary (so the report can count
them) and a key to find the record again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_FRACTION = re.compile(r"(\.\d{1,6})\d*")


@dataclass(frozen=True)
class Skip:
    entity: str
    reason: str
    key: str | None
    raw: Any


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


def _int(value: Any, field: str, *, required: bool = False) -> int | None:
    if value is None:
        if required:
            raise Invalid(f"{field} missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise Invalid(f"{field} is not an integer")
    return value


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


def _json(value: Any) -> str | None:
    """For COPY into jsonb (NUL cannot be stored: it becomes U+FFFD)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False).replace("\\u0000", "\\ufffd")


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


def parse_attempt(path: Any, rec: Any, source_file: str) -> tuple[Any, ...] | Skip:
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
        return (
            uid,
            paper,
            qref,
            subject,
            created,
            updated,
            marked,
            _int(rec.get("userMark"), "userMark"),
            _str(rec.get("userAnswer"), "userAnswer"),
            _str(rec.get("annotatedAnswer"), "annotatedAnswer"),
            _str(rec.get("markingTable"), "markingTable"),
            _json(_list(rec.get("options"), "options")) if "options" in rec else None,
            _json(canvas),
            _json(extra) if extra else None,
            source_file,
        )
    except Invalid as exc:
        return Skip("attempts", str(exc), path if isinstance(path, str) else None, rec)


# ---- curriculum ------------------------------------------------------------------------------


def course_rows(
    subject: str, units: Any, source_file: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[Skip]]:
    """(units, topics, lessons, skips) from one course file's list of units."""
    u_rows: list[tuple[Any, ...]] = []
    t_rows: list[tuple[Any, ...]] = []
    l_rows: list[tuple[Any, ...]] = []
    skips: list[Skip] = []
    for unit in _list(units, "units") if isinstance(units, list) else []:
        try:
            if not isinstance(unit, dict):
                raise Invalid("unit is not an object")
            ui = _int(unit.get("unitIndex"), "unitIndex", required=True)
            u_rows.append(
                (subject, ui, _str(unit.get("unitTitle"), "unitTitle") or "", source_file)
            )
        except Invalid as exc:
            skips.append(Skip("units", str(exc), f"{subject}", unit))
            continue
        for topic in _list(unit.get("topics"), "topics"):
            try:
                if not isinstance(topic, dict):
                    raise Invalid("topic is not an object")
                ti = _int(topic.get("topicIndex"), "topicIndex", required=True)
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
                skips.append(Skip("topics", str(exc), f"{subject}{ui}", topic))
                continue
            for lesson in _list(topic.get("lessons"), "lessons"):
                try:
                    if not isinstance(lesson, dict):
                        raise Invalid("lesson is not an object")
                    lid = _str(lesson.get("lessonID"), "lessonID", required=True)
                    li = _int(lesson.get("lessonIndex"), "lessonIndex", required=True)
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
                    skips.append(Skip("lessons", str(exc), f"{subject}{ui}.{ti}", lesson))
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


def question_rows(
    q: Any, *, paper_id: str | None, bank_lesson: str | None, source_file: str
) -> QuestionRows | Skip:
    """A question (stem) with its parts, their appearance here and their lesson links."""
    kind = "paper" if paper_id is not None else "practice"
    source_id = paper_id if paper_id is not None else bank_lesson
    try:
        if not isinstance(q, dict):
            raise Invalid("question is not an object")
        qid = _str(q.get("question_id"), "question_id", required=True)
        assert qid is not None
        qnum = _int(q.get("question_number"), "question_number")
        diagram = q.get("question_stem_diagram")
        question = (
            qid,
            paper_id,
            bank_lesson if paper_id is None else None,
            qnum,
            _str(q.get("question_stem"), "question_stem"),
            _json(diagram),
            _str(q.get("validation_comment"), "validation_comment"),
            _str(q.get("validation_reason"), "validation_reason"),
            source_file,
        )
        parts = _list(q.get("items"), "items")
    except Invalid as exc:
        return Skip("questions", str(exc), source_id, q)
    out = QuestionRows(question, [], [], [], [])
    for part in parts:
        try:
            if not isinstance(part, dict):
                raise Invalid("item is not an object")
            ref = _str(part.get("questionID"), "questionID", required=True)
            number = _int(part.get("question_part"), "question_part")
            correct = part.get("correct_answer_index")
            if correct is not None and not (
                isinstance(correct, int)
                or (isinstance(correct, list) and all(isinstance(c, int) for c in correct))
            ):
                raise Invalid("correct_answer_index is not an integer or a list of integers")
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
                    _int(part.get("markmax"), "markmax"),
                    _str(part.get("markscheme"), "markscheme"),
                    _int(part.get("difficulty"), "difficulty"),
                    _json(_list(part.get("options"), "options")) if "options" in part else None,
                    _json(correct),
                    _str(part.get("specification_point"), "specification_point"),
                    _json(part.get("question_diagram")),
                    _json(extra) if extra else None,
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
            out.skips.append(Skip("items", str(exc), f"{qid}", part))
    return out
