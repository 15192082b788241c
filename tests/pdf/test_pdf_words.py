"""Word grouping (pdfplumber's rules), dates, COPY text escaping."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from etl_toolkit.pdf.encode import EncodedPage, clean_text, copy_field, encode_page
from etl_toolkit.pdf.extract import Char, PageResult, group_words, pdf_date


def _line(text: str, x: float = 10.0, top: float = 100.0, w: float = 5.0) -> list[Char]:
    return [(c, x + i * w, top, x + (i + 1) * w, top + 10.0, True) for i, c in enumerate(text)]


def test_whitespace_splits_and_is_dropped() -> None:
    words = group_words(_line("ab cd"))
    assert [w[0] for w in words] == ["ab", "cd"]
    assert words[0][1:] == (10.0, 100.0, 20.0, 110.0)


def test_gap_over_three_points_splits_a_word() -> None:
    chars = _line("ab") + _line("cd", x=20.0 + 3.01)
    assert [w[0] for w in group_words(chars)] == ["ab", "cd"]
    chars = _line("ab") + _line("cd", x=20.0 + 3.0)
    assert [w[0] for w in group_words(chars)] == ["abcd"]


def test_lines_cluster_within_three_points_and_read_top_down() -> None:
    chars = _line("low", top=200.0) + _line("hi", top=100.0) + _line("x", x=100.0, top=102.5)
    assert [w[0] for w in group_words(chars)] == ["hi", "x", "low"]


def test_chars_are_sorted_along_the_line() -> None:
    chars = list(reversed(_line("abc")))
    assert [w[0] for w in group_words(chars)] == ["abc"]


def test_ligatures_are_expanded() -> None:
    assert group_words(_line("\ufb02ow"))[0][0] == "flow"


def test_rotated_text_reads_top_to_bottom_in_columns() -> None:
    col = [(c, 50.0, 10.0 + 6 * i, 60.0, 16.0 + 6 * i, False) for i, c in enumerate("down")]
    col2 = [(c, 20.0, 10.0 + 6 * i, 30.0, 16.0 + 6 * i, False) for i, c in enumerate("up")]
    assert [w[0] for w in group_words(col + col2)] == ["up", "down"]


@given(st.lists(st.text(alphabet="abcxyz ", min_size=1, max_size=12), min_size=1, max_size=8))
def test_words_on_one_line_are_the_whitespace_split(tokens: list[str]) -> None:
    text = " ".join(tokens)
    assert [w[0] for w in group_words(_line(text))] == text.split()


@given(st.text(max_size=40))
def test_copy_field_escapes_round_trip(text: str) -> None:
    field = copy_field(text)
    assert "\t" not in field and "\n" not in field and "\r" not in field
    unescaped = field.replace("\\\\", "\x00").replace("\\t", "\t").replace("\\n", "\n")
    unescaped = unescaped.replace("\\r", "\r").replace("\x00", "\\")
    assert unescaped == clean_text(text)


def test_nul_and_lone_surrogates_become_replacement_chars() -> None:
    assert clean_text("a\x00b\ud800c") == "a\ufffdb\ufffdc"


def test_encoded_page_carries_exact_floats() -> None:
    page = PageResult(3, 612.0, 792.0, 0, [("a\tb", 0.1 + 0.2, 1 / 3, 2.5, 1e-7)])
    enc = encode_page("doc", page)
    assert isinstance(enc, EncodedPage)
    assert (
        enc.words_copy == b"doc\t3\t0\ta\\tb\t0.30000000000000004\t0.3333333333333333\t2.5\t1e-07\n"
    )
    assert enc.text == "a b"


def test_page_text_has_no_line_breaks() -> None:
    page = PageResult(
        1, 1, 1, 0, [("one", 0, 0, 1, 1), ("two\nlines", 0, 0, 1, 1), ("  ", 0, 0, 1, 1)]
    )
    assert page.text == "one two lines"


def test_pdf_dates() -> None:
    assert pdf_date("D:20250102030405+01'00'") == "2025-01-02T03:04:05+01:00"
    assert pdf_date("D:20250102030405Z") == "2025-01-02T03:04:05+00:00"
    assert pdf_date("D:2025") == "2025-01-01T00:00:00+00:00"
    assert pdf_date("D:20251399") is None
    assert pdf_date("yesterday") is None
