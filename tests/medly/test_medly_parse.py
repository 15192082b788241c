"""The integer rule of etl medly (issue 13, section 1), as properties over numbers
spelled the ways JSON allows and read by the parser the loader uses."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ijson
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from etl_toolkit.medly.generate import INT_FIELDS as GENERATED_INT_FIELDS
from etl_toolkit.medly.generate import as_floats
from etl_toolkit.medly.generate_records import Dirt, course_units, question_record
from etl_toolkit.medly.parse import INT_MAX, INT_MIN, Invalid, Skip, json_int, own_key, raw_json
from etl_toolkit.medly.parse_curriculum import (
    BANK_INTS,
    bank_row,
    chunk_row,
    course_rows,
    paper_row,
    paper_set_rows,
    question_rows,
)
from etl_toolkit.medly.parse_user import parse_attempt

in_range = st.integers(min_value=INT_MIN, max_value=INT_MAX)


def read(text: str) -> Any:
    """One JSON number as the loader's parser (ijson, without use_float) returns it."""
    return next(ijson.items(io.BytesIO(f"[{text}]".encode()), "item"))


@st.composite
def integral_spellings(draw: st.DrawFn) -> tuple[int, str]:
    """An integer and one of its decimal spellings: 3.0, 3.000, 3e0, 30e-1, 0.3E+1."""
    n = draw(in_range)
    zeros = draw(st.integers(min_value=1, max_value=6))
    shift = draw(st.integers(min_value=1, max_value=6))
    form = draw(st.sampled_from(["fraction", "exponent", "scaled_down", "scaled_up"]))
    if form == "fraction":
        text = f"{n}.{'0' * zeros}"
    elif form == "exponent":
        text = f"{n}{draw(st.sampled_from(['e0', 'E0', 'e+0', 'E-0']))}"
    elif form == "scaled_down":
        text = f"{n * 10**shift}e-{shift}"
    else:
        sign, digits = ("-" if n < 0 else ""), str(abs(n))
        text = f"{sign}0.{digits}e{len(digits)}"
    return n, text


@given(in_range)
def test_an_integer_is_itself_and_not_cleaned(n: int) -> None:
    assert json_int(read(str(n)), "f") == (n, False)


@given(integral_spellings())
def test_an_integral_decimal_is_the_integer_and_cleaned(case: tuple[int, str]) -> None:
    n, text = case
    assert json_int(read(text), "f") == (n, True)


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: d != d.to_integral_value()
    )
)
def test_a_fraction_is_refused(d: Decimal) -> None:
    value = read(str(d))
    with pytest.raises(Invalid, match=r"^f is (not an integer|out of range)$"):
        json_int(value, "f")


@given(
    st.one_of(
        st.integers(min_value=INT_MAX + 1),
        st.integers(max_value=INT_MIN - 1),
    ),
    st.sampled_from(["{}", "{}.0", "{}e0"]),
)
def test_beyond_an_integer_column_is_out_of_range(n: int, form: str) -> None:
    with pytest.raises(Invalid, match=r"^f is out of range$"):
        json_int(read(form.format(n)), "f")


@given(st.integers(min_value=309, max_value=10**9), st.booleans())
def test_huge_exponents_are_out_of_range_without_building_the_number(
    exponent: int, negative: bool
) -> None:
    with pytest.raises(Invalid, match=r"^f is out of range$"):
        json_int(read(f"{'-' if negative else ''}1e{exponent}"), "f")


@given(
    st.one_of(
        st.booleans(),
        st.text(),
        st.none(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(), st.integers(), max_size=2),
    )
)
def test_what_is_not_a_number_is_not_an_integer(value: Any) -> None:
    with pytest.raises(Invalid, match=r"^f is not an integer$"):
        json_int(read(json.dumps(value)), "f")


def test_nan_is_refused_even_if_a_parser_let_it_through() -> None:
    for nan in (float("nan"), Decimal("NaN")):
        with pytest.raises(Invalid, match=r"^f is not an integer$"):
            json_int(nan, "f")


PATH = "users/u1/subjectsWeb/s/mocks/p/questions/q1"


def _attempt_text(mark: str) -> str:
    return (
        '{"createdAt": "2025-09-01T10:00:00Z", "questionID": "q1", "isMarked": true, '
        '"canvas": {"maths": [], "paths": [], "textboxes": [{"x": 1.5, "y": 2}]}, '
        f'"userMark": {mark}}}'
    )


@given(integral_spellings())
def test_an_attempt_loads_the_same_row_whichever_spelling_of_its_mark(
    case: tuple[int, str],
) -> None:
    n, text = case
    plain, spelled = Counter[str](), Counter[str]()
    expected = parse_attempt(PATH, read(_attempt_text(str(n))), "f.json", plain)
    got = parse_attempt(PATH, read(_attempt_text(text)), "f.json", spelled)
    assert not isinstance(got, Skip)
    assert got == expected
    assert (plain, spelled) == (Counter(), Counter({"userMark": 1}))


@given(
    st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: d != d.to_integral_value())
)
def test_an_attempt_with_a_fractional_mark_is_one_skip_and_counts_nothing(d: Decimal) -> None:
    cleaned = Counter[str]()
    got = parse_attempt(PATH, read(_attempt_text(str(d))), "f.json", cleaned)
    assert isinstance(got, Skip)
    assert got.reason in {"userMark is not an integer", "userMark is out of range"}
    assert got.position == "/targets/" + PATH.replace("/", "~1")
    assert cleaned == Counter()


# ---- a skip names the record as the user can find it in the file ---------------------------


@pytest.mark.parametrize(
    ("rec", "fields", "key"),
    [
        ({"questionID": "q_1_A", "markmax": 2}, ("questionID",), "questionID=q_1_A"),
        ({"unitIndex": Decimal("3.5")}, ("unitIndex",), "unitIndex=3.5"),
        ({"unitIndex": None}, ("unitIndex",), None),
        ("not an object", ("unitIndex",), None),
        (
            {"type": "Medly", "series": "June"},
            ("subject_id", "type", "series"),
            "type=Medly series=June",
        ),
        ({"lessonID": "x" * 500}, ("lessonID",), "lessonID=" + "x" * 100),
    ],
)
def test_own_key(rec: Any, fields: tuple[str, ...], key: str | None) -> None:
    assert own_key(rec, *fields) == key


def test_a_skipped_part_is_named_by_its_question_id_not_its_stem() -> None:
    q = {
        "question_id": "stem_1",
        "items": [{"questionID": "part_1_A", "markmax": Decimal("2.5")}],
    }
    got = question_rows(q, paper_id="p1", bank_lesson=None, source_file="f", position="/0")
    assert not isinstance(got, Skip)
    [skip] = got.skips
    assert (skip.key, skip.position) == ("questionID=part_1_A", "/0/items/0")
    bad_stem = question_rows(
        {**q, "question_number": "one"},
        paper_id="p1",
        bank_lesson=None,
        source_file="f",
        position="/0/papers/0/questions/3",
    )
    assert isinstance(bad_stem, Skip)
    assert (bad_stem.key, bad_stem.position) == ("question_id=stem_1", "/0/papers/0/questions/3")


def test_a_skipped_unit_or_lesson_is_named_by_its_own_key() -> None:
    units = [
        {"unitIndex": Decimal("0.5")},
        {"unitIndex": 1, "topics": [{"topicIndex": 0, "lessons": [{"lessonID": "L1"}]}]},
    ]
    _, _, _, skips = course_rows("subj", units, "f")
    assert [(s.entity, s.key, s.position) for s in skips] == [
        ("units", "unitIndex=0.5", "/0"),
        ("lessons", "lessonID=L1", "/1/topics/0/lessons/0"),
    ]


# ---- properties of every parser: integral decimals, missing fields, any JSON, round trips ----

PAPER = "medlymockS_Mock1Higher"


def _course_with(field: str, value: Any) -> list[Any]:
    lesson = {"lessonIndex": 0, "lessonID": "S0.0.0", "lessonTitle": "L"}
    topic = {"topicIndex": 0, "topicTitle": "T", "lessons": [lesson]}
    unit = {"unitIndex": 0, "unitTitle": "U", "topics": [topic]}
    {"unitIndex": unit, "topicIndex": topic, "lessonIndex": lesson}[field][field] = value
    return [unit]


def _question_with(field: str, value: Any) -> dict[str, Any]:
    item = {"questionID": "S_1_1_A", "question_part": 1, "markmax": 2, "difficulty": 3}
    item["correct_answer_index"] = 1
    question = {"question_id": "S_1", "question_number": 1, "items": [item]}
    (question if field == "question_number" else item)[field] = value
    return question


def _parsed(field: str, value: Any, cleaned: Counter[str]) -> Any:
    """The records one parser makes of a record whose `field` holds `value`."""
    if field in ("unitIndex", "topicIndex", "lessonIndex"):
        return course_rows("S", _course_with(field, value), "f", cleaned)
    if field in ("question_number", "question_part", "markmax", "difficulty"):
        return question_rows(
            _question_with(field, value), paper_id=PAPER, bank_lesson=None, source_file="f",
            cleaned=cleaned,
        )  # fmt: skip
    if field == "correct_answer_index":  # a practice part may hold a list of them
        q = _question_with(field, [value, 2])
        return question_rows(
            q, paper_id=None, bank_lesson="S0.0.0", source_file="f", cleaned=cleaned
        )
    if field in BANK_INTS:
        bank = {"lessonID": "S0.0.0", "unit_index": 0, "topic_index": 0, "lesson_index": 0}
        return bank_row({**bank, field: value}, "f", "/0", cleaned)
    if field == "chunk_index":
        return chunk_row({"chunk_index": value, "chunk_title": "C"}, "S0.0.0", "f", "/0", cleaned)
    assert field == "paper"  # a string in the format; a number there is read as an integer
    return paper_row({"paper_id": PAPER, "paper": value}, "S/Medly/Mock1", "f", "/0", cleaned)


INT_FIELDS = [
    "unitIndex", "topicIndex", "lessonIndex", "question_number", "question_part", "markmax",
    "difficulty", "correct_answer_index", *BANK_INTS, "chunk_index", "paper",
]  # fmt: skip


@given(st.sampled_from(INT_FIELDS), integral_spellings())
def test_every_integer_field_reads_an_integral_decimal_as_its_integer_and_counts_it(
    field: str, case: tuple[int, str]
) -> None:
    n, text = case
    plain, spelled = Counter[str](), Counter[str]()
    expected = _parsed(field, n, plain)
    got = _parsed(field, read(text), spelled)
    assert got == expected
    assert not isinstance(got, Skip)
    assert not getattr(got, "skips", None)  # the record itself, with nothing skipped in it
    assert (plain, spelled) == (Counter(), Counter({field: 1}))


REQUIRED = {
    "units": ("unitIndex",),
    "topics": ("topicIndex",),
    "lessons": ("lessonID", "lessonIndex"),
    "questions": ("question_id",),
    "items": ("questionID",),
    "bank_chunks": ("chunk_index",),
    "attempts": ("questionID", "createdAt", "canvas", "isMarked"),
}


DELETE = object()  # the field is not in the record at all
STRING_IDS = {"lessonID", "question_id", "questionID"}


def _without(entity: str, field: str, absent: object) -> list[Any]:
    """What the parser of `entity` makes of a good record whose `field` is absent."""

    def put(rec: dict[str, Any]) -> None:
        if absent is DELETE:
            del rec[field]
        else:
            rec[field] = absent

    cleaned = Counter[str]()
    if entity == "attempts":
        rec = json.loads(_attempt_text("2"))
        put(rec)
        return [parse_attempt(PATH, rec, "f", cleaned)]
    if entity in ("questions", "items"):
        q = _question_with("markmax", 2)
        put(q if entity == "questions" else q["items"][0])
        got = question_rows(q, paper_id=PAPER, bank_lesson=None, source_file="f", cleaned=cleaned)
        return [got] if isinstance(got, Skip) else [*got.skips, *got.items]
    if entity == "bank_chunks":
        chunk = {"chunk_index": 0, "chunk_title": "C"}
        put(chunk)
        return [chunk_row(chunk, "S0.0.0", "f", "/0", cleaned)]
    course = _course_with("unitIndex", 0)
    unit = course[0]
    put(
        {"units": unit, "topics": unit["topics"][0], "lessons": unit["topics"][0]["lessons"][0]}[
            entity
        ]
    )
    parsed = course_rows("S", course, "f", cleaned)
    return [*parsed.skips, *getattr(parsed, entity)]


@given(
    st.sampled_from([(entity, field) for entity, fields in REQUIRED.items() for field in fields]),
    st.sampled_from([DELETE, None, ""]),
)
def test_a_record_missing_a_required_field_is_skipped_with_a_reason(
    case: tuple[str, str], absent: object
) -> None:
    entity, field = case
    assume(absent != "" or field in STRING_IDS)  # "" is a value of another type elsewhere
    [skip] = _without(entity, field, absent)  # the record is skipped, nothing else made
    assert isinstance(skip, Skip)
    assert (skip.entity, skip.reason) == (entity, f"{field} missing")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELD_NAMES = [
    *INT_FIELDS, "lessonID", "topics", "lessons", "question_id", "items", "questionID",
    "lessonIDs", "options", "question_diagram", "question_stem_diagram", "question_type",
    "paper_id", "createdAt", "updatedAt", "canvas", "isMarked", "userMark", "userID",
]  # fmt: skip
# Records with the format's field names (so the parsers look past the first check), holding
# any JSON value, or anything else JSON can be.
records = st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=8) | json_values


@given(records, st.text(max_size=60) | st.just(PATH))
def test_no_record_makes_a_parser_raise(rec: Any, path: str) -> None:
    """Each parser makes its records or a Skip with a reason, whatever the record holds."""
    cleaned = Counter[str]()
    outcomes: list[Any] = [
        parse_attempt(path, rec, "f", cleaned),
        bank_row(rec, "f", "/0", cleaned),
        chunk_row(rec, "S0.0.0", "f", "/0", cleaned),
        paper_row(rec, "S/Medly/Mock1", "f", "/0", cleaned),
        paper_set_rows(rec, "S", "f", "/0"),
    ]
    for paper_id, bank in ((PAPER, None), (None, "S0.0.0")):
        got = question_rows(rec, paper_id=paper_id, bank_lesson=bank, source_file="f")
        outcomes.extend([got] if isinstance(got, Skip) else [got.question, *got.skips])
    outcomes.extend(course_rows("S", [rec], "f").skips)
    for got in outcomes:
        if isinstance(got, Skip):
            assert got.reason and got.entity
            raw_json(got.raw)  # and the skipped record can be stored as it came


@given(st.integers(min_value=0, max_value=2**32), st.sampled_from(["plain", "pandas"]))
def test_a_generated_course_and_its_questions_parse_back_to_what_was_generated(
    seed: int, dialect: str
) -> None:
    """The generator's records through JSON and the loader's parser: the same values;
    in the pandas dialect every integer is counted as cleaned, and nothing is skipped."""
    rng = random.Random(seed)
    course = course_units("S", rng, units=2, topics=2, lessons=2)
    lesson_ids = [x["lessonID"] for u in course for t in u["topics"] for x in t["lessons"]]
    questions = [
        question_record(rng, "S", q, 3, lesson_ids, practice, Dirt(rng, 0))
        for q, practice in ((1, False), (2, True))
    ]
    spell = as_floats if dialect == "pandas" else _as_written
    cleaned = Counter[str]()
    units, topics, lessons, skips = course_rows("S", read(json.dumps(spell(course))), "f", cleaned)
    assert skips == []
    assert [(u.unit_index, u.title) for u in units] == [
        (u["unitIndex"], u["unitTitle"]) for u in course
    ]
    assert len(topics) == 4
    assert [(x.lesson_id, x.lesson_index, x.title) for x in lessons] == [
        (x["lessonID"], x["lessonIndex"], x["lessonTitle"])
        for u in course
        for t in u["topics"]
        for x in t["lessons"]
    ]
    for q in questions:
        practice = "specification_point" in q["items"][0]
        got = question_rows(
            read(json.dumps(spell(q))),
            paper_id=None if practice else PAPER,
            bank_lesson="S0.0.0" if practice else None,
            source_file="f",
            cleaned=cleaned,
        )
        assert not isinstance(got, Skip)
        assert got.skips == []
        assert (got.question.question_id, got.question.question_number) == (
            q["question_id"],
            q["question_number"],
        )
        assert [
            (i.question_ref, i.part, i.question_type, i.text, i.markmax, i.difficulty)
            for i in got.items
        ] == [
            (p["questionID"], p["question_part"], p["question_type"], p["question_text"],
             p["markmax"], p["difficulty"])
            for p in q["items"]
        ]  # fmt: skip
        for i, p in zip(got.items, q["items"], strict=True):
            assert i.correct_answer == (
                json.dumps(p["correct_answer_index"]) if "correct_answer_index" in p else None
            )
        links = {(x.question_ref, x.lesson_ref) for x in got.lessons}
        assert links == {
            (p["questionID"], lesson)
            for p in q["items"]
            for lesson in (["S0.0.0"] if practice else p["lessonIDs"])
        }
    ints = sum(1 for value in (course, questions) for _ in _int_values(value))
    assert sum(cleaned.values()) == (ints if dialect == "pandas" else 0)


def _as_written(value: Any) -> Any:
    return value


def _int_values(value: Any, key: str | None = None) -> Iterator[int]:
    """The integers of the format's integer fields in a generated value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _int_values(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _int_values(v, key)
    elif key in GENERATED_INT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        yield value
