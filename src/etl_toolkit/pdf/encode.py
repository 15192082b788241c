"""Pages as COPY text, built in the worker processes so the loader only forwards bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from etl_toolkit.pdf.extract import PageResult

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def clean_text(text: str) -> str:
    """PostgreSQL text holds no NUL and no lone surrogate: such glyphs become U+FFFD."""
    return _BAD_TEXT.sub("\ufffd", text)


def copy_field(text: str) -> str:
    """A text value for COPY's text format (tab-separated, backslash escapes)."""
    return clean_text(text).translate(_ESCAPES)


@dataclass
class EncodedPage:
    """A page ready to load: its row values and its words as COPY text."""

    number: int
    width: float
    height: float
    rotation: int
    text: str
    word_count: int
    error: str | None
    words_copy: bytes  # rows of (document_id, page_number, word_index, text, x0, top, x1, bottom)


def encode_page(document_id: str, page: PageResult) -> EncodedPage:
    # repr() of a float is its shortest exact form, so boxes round-trip bit for bit.
    prefix = f"{document_id}\t{page.number}\t"
    lines = [
        f"{prefix}{i}\t{copy_field(w[0])}\t{w[1]!r}\t{w[2]!r}\t{w[3]!r}\t{w[4]!r}\n"
        for i, w in enumerate(page.words)
    ]
    return EncodedPage(
        page.number,
        page.width,
        page.height,
        page.rotation,
        clean_text(page.text),
        len(page.words),
        page.error,
        "".join(lines).encode(),
    )
