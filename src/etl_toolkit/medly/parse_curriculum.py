"""Curriculum data -> named records, or a Skip with its reason.

A course file's units, topics and lessons; an exams file's paper sets, papers
and questions; a practices file's banks, chunks and questions. A question (a
stem) holds items (its parts); an item appears in papers and practice banks and
links to lessons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple, TypeVar

from etl_toolkit.medly.parse import (
    Cleaned,
    Invalid,
    Skip,
    int_field,
    json_text,
    judged,
    list_field,
    own_key,
    pointer,
    required_int,
    required_str,
    str_field,
)
from etl_toolkit.medly.records import (
    BankChunk,
    Item,
    ItemAppearance,
    ItemLesson,
    Lesson,
    Paper,
    PaperSet,
    PracticeBank,
    Question,
    Subject,
    Topic,
    Unit,
)

T = TypeVar("T")
Build = Callable[[list[str]], T]  # a record's parser: judged(build) calls build(noted)

# ---- course files ----------------------------------------------------------------------------


class CourseRows(NamedTuple):
    units: list[Unit]
    topics: list[Topic]
    lessons: list[Lesson]
    skips: list[Skip]


def _level(
    rec: Any, what: str, fields: tuple[str, str, str], noted: list[str]
) -> tuple[int, list[Any], str]:
    """A unit or a topic: (its index, the list it holds, its title)."""
    index_field, children_field, title_field = fields
    if not isinstance(rec, dict):
        raise Invalid(f"{what} is not an object")
    index = required_int(rec.get(index_field), index_field, noted)
    held = list_field(rec.get(children_field), children_field)
    return index, held, str_field(rec.get(title_field), title_field) or ""


def _unit(subject: str, unit: Any, source_file: str, noted: list[str]) -> tuple[Unit, list[Any]]:
    index, topics, title = _level(unit, "unit", ("unitIndex", "topics", "unitTitle"), noted)
    return Unit(subject, index, title, source_file), topics


def _topic(unit: Unit, topic: Any, source_file: str, noted: list[str]) -> tuple[Topic, list[Any]]:
    fields = ("topicIndex", "lessons", "topicTitle")
    index, lessons, title = _level(topic, "topic", fields, noted)
    return Topic(unit.subject_id, unit.unit_index, index, title, source_file), lessons


def _lesson(topic: Topic, lesson: Any, source_file: str, noted: list[str]) -> Lesson:
    if not isinstance(lesson, dict):
        raise Invalid("lesson is not an object")
    return Lesson(
        lesson_id=required_str(lesson.get("lessonID"), "lessonID"),
        subject_id=topic.subject_id,
        unit_index=topic.unit_index,
        topic_index=topic.topic_index,
        lesson_index=required_int(lesson.get("lessonIndex"), "lessonIndex", noted),
        title=str_field(lesson.get("lessonTitle"), "lessonTitle") or "",
        source_file=source_file,
    )


def course_rows(
    subject: str, units: Any, source_file: str, cleaned: Cleaned | None = None
) -> CourseRows:
    """The units, topics and lessons of one course file's list of units, and the skips."""
    out = CourseRows([], [], [], [])
    counted: Cleaned = Counter() if cleaned is None else cleaned

    def judge(entity: str, rec: Any, at: str, keys: tuple[str, ...], build: Build[T]) -> T | None:
        got = judged(entity, rec, at, keys, counted, build)
        if isinstance(got, Skip):
            out.skips.append(got)
            return None
        return got

    for u, unit in enumerate(units if isinstance(units, list) else []):
        unit_and_topics = judge(
            "units", unit, pointer(u), ("unitIndex",), partial(_unit, subject, unit, source_file)
        )
        if unit_and_topics is None:
            continue
        out.units.append(unit_and_topics[0])
        for t, topic in enumerate(unit_and_topics[1]):
            at = pointer(u, "topics", t)
            build_topic = partial(_topic, unit_and_topics[0], topic, source_file)
            topic_and_lessons = judge("topics", topic, at, ("topicIndex",), build_topic)
            if topic_and_lessons is None:
                continue
            topic_row, lessons = topic_and_lessons
            out.topics.append(topic_row)
            for x, lesson in enumerate(lessons):
                keys = ("lessonID", "lessonIndex")
                build_lesson = partial(_lesson, topic_row, lesson, source_file)
                row = judge("lessons", lesson, f"{at}/lessons/{x}", keys, build_lesson)
                if row is not None:
                    out.lessons.append(row)
    return out


# ---- questions and their items (in papers and practice banks) --------------------------------

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
    question: Question
    items: list[Item]
    appearances: list[ItemAppearance]
    lessons: list[ItemLesson]
    skips: list[Skip]


def _answer_index(value: Any, noted: list[str]) -> int | list[int] | None:
    """`correct_answer_index`: an int, or (practice) a list of ints; the integer rule
    applies to each."""
    field = "correct_answer_index"
    try:
        if isinstance(value, list):
            return [required_int(v, field, noted) for v in value]
        return int_field(value, field, noted)
    except Invalid as exc:
        if str(exc).endswith("out of range"):
            raise
        raise Invalid(f"{field} is not an integer or a list of integers") from None


def _question(
    q: Any, paper_id: str | None, bank_lesson: str | None, source_file: str, noted: list[str]
) -> tuple[Question, list[Any]]:
    if not isinstance(q, dict):
        raise Invalid("question is not an object")
    question = Question(
        question_id=required_str(q.get("question_id"), "question_id"),
        paper_id=paper_id,
        bank_lesson_id=bank_lesson if paper_id is None else None,
        question_number=int_field(q.get("question_number"), "question_number", noted),
        stem=str_field(q.get("question_stem"), "question_stem"),
        stem_diagram=json_text(q.get("question_stem_diagram"), "question_stem_diagram"),
        validation_comment=str_field(q.get("validation_comment"), "validation_comment"),
        validation_reason=str_field(q.get("validation_reason"), "validation_reason"),
        source_file=source_file,
    )
    return question, list_field(q.get("items"), "items")


def _item(
    question: Question, part: Any, bank_lesson: str | None, noted: list[str]
) -> tuple[Item, ItemAppearance, list[ItemLesson]]:
    """An item (a part of the question), its appearance here and its lesson links."""
    in_paper = question.paper_id is not None
    if not isinstance(part, dict):
        raise Invalid("item is not an object")
    ref = required_str(part.get("questionID"), "questionID")
    number = int_field(part.get("question_part"), "question_part", noted)
    correct = _answer_index(part.get("correct_answer_index"), noted)
    lesson_refs = list_field(part.get("lessonIDs"), "lessonIDs") if in_paper else [bank_lesson]
    if not all(isinstance(lref, str) and lref for lref in lesson_refs):
        raise Invalid("lessonIDs holds a value that is not a lesson id")
    extra = {k: v for k, v in part.items() if k not in _ITEM_FIELDS}
    item = Item(
        question_ref=ref,
        question_id=question.question_id,
        part=number,
        question_type=str_field(part.get("question_type"), "question_type"),
        text=str_field(part.get("question_text"), "question_text"),
        markmax=int_field(part.get("markmax"), "markmax", noted),
        markscheme=str_field(part.get("markscheme"), "markscheme"),
        difficulty=int_field(part.get("difficulty"), "difficulty", noted),
        options=json_text(list_field(part.get("options"), "options"), "options")
        if "options" in part
        else None,
        correct_answer=json_text(correct, "correct_answer_index"),
        specification_point=str_field(part.get("specification_point"), "specification_point"),
        diagram=json_text(part.get("question_diagram"), "question_diagram"),
        extra=json_text(extra, "extra fields") if extra else None,
        source_file=question.source_file,
        priority=0 if in_paper else 1,
    )
    appearance = ItemAppearance(
        question_ref=ref,
        source_kind="paper" if in_paper else "practice",
        source_id=question.paper_id if in_paper else bank_lesson,
        question_id=question.question_id,
        question_number=question.question_number,
        part=number,
        source_file=question.source_file,
    )
    via = "exam" if in_paper else "practice"
    links = [
        ItemLesson(ref, lref, via, question.source_file) for lref in dict.fromkeys(lesson_refs)
    ]
    return item, appearance, links


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
    cleaned = Counter() if cleaned is None else cleaned
    build = partial(_question, q, paper_id, bank_lesson, source_file)
    head = judged("questions", q, position, ("question_id",), cleaned, build)
    if isinstance(head, Skip):
        return head
    question, parts = head
    out = QuestionRows(question, [], [], [], [])
    for p, part in enumerate(parts):
        build_item = partial(_item, question, part, bank_lesson)
        got = judged("items", part, f"{position}/items/{p}", ("questionID",), cleaned, build_item)
        if isinstance(got, Skip):
            out.skips.append(got)
            continue
        item, appearance, links = got
        out.items.append(item)
        out.appearances.append(appearance)
        out.lessons.extend(links)
    return out


# ---- the containers: paper sets, papers, practice banks, their chunks ------------------------


class PaperSetRows(NamedTuple):
    subject: Subject
    paper_set: PaperSet
    papers: list[Any]


def paper_set_rows(ps: Any, subject: str, source_file: str, position: str) -> PaperSetRows | Skip:
    """A paper set and the subject it states (board, qualification, title: the
    exams file's values win over the course file's id-only row)."""
    if not isinstance(ps, dict) or not isinstance(ps.get("papers"), list):
        key = own_key(ps, "subject_id", "type", "series")
        return Skip("paper_sets", "paper set is not an object with papers", key, ps, position)
    sid = ps.get("subject_id") or subject
    board, qualification, title = (
        ps.get("board_title"),
        ps.get("qualification"),
        ps.get("subject_title"),
    )
    paper_set = PaperSet(
        paper_set_key=f"{sid}/{ps.get('type')}/{ps.get('series')}",
        subject_id=sid,
        board=board,
        qualification=qualification,
        subject_title=title,
        set_type=ps.get("type"),
        series=ps.get("series"),
        source_file=source_file,
    )
    stated = Subject(sid, board, qualification, title, source_file, priority=0)
    return PaperSetRows(stated, paper_set, ps["papers"])


def _paper(paper: Any, set_key: str, source_file: str, noted: list[str]) -> Paper:
    if not isinstance(paper, dict):
        raise Invalid("paper is not an object")
    pid = paper.get("paper_id")
    if not isinstance(pid, str) or not pid:
        raise Invalid("paper_id missing")
    number = paper.get("paper")
    if number is not None and not isinstance(number, str):
        number = str(required_int(number, "paper", noted))
    return Paper(pid, set_key, paper.get("tier"), number, source_file)


def paper_row(
    paper: Any, set_key: str, source_file: str, position: str, cleaned: Cleaned
) -> Paper | Skip:
    """The paper number is a string in the format; a number there is read by the integer rule."""
    build = partial(_paper, paper, set_key, source_file)
    return judged("papers", paper, position, ("paper_id",), cleaned, build)


BANK_INTS = ("unit_index", "topic_index", "lesson_index")


def _bank(bank: Any, source_file: str, noted: list[str]) -> PracticeBank:
    if not isinstance(bank, dict):
        raise Invalid("practice bank is not an object")
    lid = bank.get("lessonID")
    if not isinstance(lid, str) or not lid:
        raise Invalid("lessonID missing")
    ints = {k: int_field(bank.get(k), k, noted) for k in BANK_INTS}
    return PracticeBank(
        lesson_id=lid,
        original_lesson_id=bank.get("original_lessonID"),
        exam_board=bank.get("exam_board"),
        qualification=bank.get("qualification"),
        subject=bank.get("subject"),
        unit_index=ints["unit_index"],
        unit_title=bank.get("unit_title"),
        topic_index=ints["topic_index"],
        topic_title=bank.get("topic_title"),
        lesson_index=ints["lesson_index"],
        lesson_title=bank.get("lesson_title"),
        lesson_resolved=False,
        source_file=source_file,
    )


def bank_row(bank: Any, source_file: str, position: str, cleaned: Cleaned) -> PracticeBank | Skip:
    """A practice bank's row (lesson_resolved is settled later, in SQL)."""
    build = partial(_bank, bank, source_file)
    return judged("practice_banks", bank, position, ("lessonID",), cleaned, build)


def _chunk(chunk: Any, lesson_id: str, source_file: str, noted: list[str]) -> BankChunk:
    if not isinstance(chunk, dict):
        raise Invalid("chunk is not an object")
    index = required_int(chunk.get("chunk_index"), "chunk_index", noted)
    return BankChunk(lesson_id, index, chunk.get("chunk_title"), source_file)


def chunk_row(
    chunk: Any, lesson_id: str, source_file: str, position: str, cleaned: Cleaned
) -> BankChunk | Skip:
    build = partial(_chunk, chunk, lesson_id, source_file)
    return judged("bank_chunks", chunk, position, ("chunk_index",), cleaned, build)
