"""User data: one attempt per document path of `targets` -> an Attempt, or a Skip."""

from __future__ import annotations

from typing import Any, NamedTuple

from etl_toolkit.medly.parse import (
    Cleaned,
    Invalid,
    Skip,
    int_field,
    json_text,
    list_field,
    opt_ts,
    parse_ts,
    pointer,
    str_field,
)
from etl_toolkit.medly.records import Attempt

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


class DocumentPath(NamedTuple):
    uid: str
    subject_id: str
    paper_id: str
    question_ref: str


def parse_path(path: str) -> DocumentPath:
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
    return DocumentPath(parts[1], parts[3], parts[5], parts[7])


def parse_attempt(
    path: Any, rec: Any, source_file: str, cleaned: Cleaned | None = None
) -> Attempt | Skip:
    noted: list[str] = []
    try:
        if not isinstance(path, str):
            raise Invalid("path has the wrong shape")
        where = parse_path(path)
        if not isinstance(rec, dict):
            raise Invalid("record is not an object")
        qref = rec.get("questionID")
        if qref is None or qref == "":
            raise Invalid("questionID missing")
        if not isinstance(qref, str):
            raise Invalid("questionID is not a string")
        if qref != where.question_ref:
            raise Invalid("questionID does not match the path")
        user_id = rec.get("userID")
        if user_id is not None and user_id != where.uid:
            raise Invalid("userID does not match the path")
        created = parse_ts(rec.get("createdAt"), "createdAt")
        updated = opt_ts(rec.get("updatedAt"), "updatedAt")
        canvas = rec.get("canvas")
        if canvas is None:
            raise Invalid("canvas missing")
        if not isinstance(canvas, dict):
            raise Invalid("canvas is not an object")
        canvas = {
            **canvas,
            **{
                k: list_field(canvas.get(k), f"canvas.{k}") for k in ("maths", "paths", "textboxes")
            },
        }
        marked = rec.get("isMarked")
        if not isinstance(marked, bool):
            raise Invalid("isMarked missing" if marked is None else "isMarked is not a boolean")
        extra = {k: v for k, v in rec.items() if k not in _ATTEMPT_FIELDS}
        row = Attempt(
            uid=where.uid,
            paper_id=where.paper_id,
            question_ref=qref,
            subject_id=where.subject_id,
            created_at=created,
            updated_at=updated,
            is_marked=marked,
            user_mark=int_field(rec.get("userMark"), "userMark", noted),
            user_answer=str_field(rec.get("userAnswer"), "userAnswer"),
            annotated_answer=str_field(rec.get("annotatedAnswer"), "annotatedAnswer"),
            marking_table=str_field(rec.get("markingTable"), "markingTable"),
            options=json_text(list_field(rec.get("options"), "options"), "options")
            if "options" in rec
            else None,
            canvas=json_text(canvas, "canvas"),
            extra=json_text(extra, "extra fields") if extra else None,
            source_file=source_file,
        )
    except Invalid as exc:
        key = path if isinstance(path, str) else None
        return Skip("attempts", str(exc), key, rec, pointer("targets", str(path)))
    if cleaned is not None:
        cleaned.update(noted)
    return row
