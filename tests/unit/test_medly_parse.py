"""The integer rule of etl medly (issue 13, section 1), as properties over numbers
spelled the ways JSON allows and read by the parser the loader uses."""

from __future__ import annotations

import io
import json
from collections import Counter
from decimal import Decimal
from typing import Any

import ijson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl_toolkit.medly.parse import INT_MAX, INT_MIN, Invalid, Skip, json_int, own_key
from etl_toolkit.medly.parse_curriculum import course_rows, question_rows
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
