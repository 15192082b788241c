"""Reading the sales CSVs: where an unterminated quote opens."""

from __future__ import annotations

from pathlib import Path

import pytest

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
