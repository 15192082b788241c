"""Reading the sales CSVs: where an unterminated quote opens, where a file stops
being UTF-8."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_toolkit.sales.encoding import invalid_utf8
from etl_toolkit.sales.source import open_quote_line

HEADER = "product_id,name,description\n"


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ('1,a,plain\n2,b,"quoted, with ""inner"" quotes"\n', None),
        ('1,a,"two\nlines"\n2,b,c\n', None),
        ('1,a,"never closed\n2,b,c\n3,d,e\n', 2),
        ('1,a,"ok ""x"""\n2,b,"open\n3,c,"The ""y"" one"\n', 3),
        ('1,Monitor 27" wide,x\n2,b,"open\n3,c,d\n', 3),
        ('1,a,"two\nlines"\n2,b,"open at the end', 4),
    ],
)
def test_the_line_where_a_quote_opens_and_never_closes(
    tmp_path: Path, body: str, line: int | None
) -> None:
    path = tmp_path / "products.csv"
    path.write_text(HEADER + body)
    assert open_quote_line(path) == line


CHUNK = 1 << 20  # invalid_utf8 reads the file in chunks of this size


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"a,b\n1,caf\xc3\xa9\n", None),  # valid, accents included
        (b"a,b\n1,\xef\xbf\xbd\n", None),  # U+FFFD written as such is valid
        (b"a,b\n1,ok\n2,Jos\xe9\n", (3, b"\xe9")),  # Latin-1
        (b"a,b\n1,\x93quoted\x94\n", (2, b"\x93")),  # Windows-1252
        (b"a,b\n1,cut \xc3", (2, b"\xc3")),  # a character cut by the end of the file
        # A valid character across two chunks, the bad byte lines after it.
        (b"x" * (CHUNK - 1) + b"\xc3\xa9\n\n\xff", (3, b"\xff")),
        (b"a\n" * (CHUNK // 2 + 7) + b"\xff", (CHUNK // 2 + 8, b"\xff")),
    ],
)
def test_the_line_and_byte_where_a_file_stops_being_utf8(
    tmp_path: Path, content: bytes, found: tuple[int, bytes] | None
) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    assert invalid_utf8(path) == found
