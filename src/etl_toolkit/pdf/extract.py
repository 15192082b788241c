"""Words with boxes from one PDF, in the frame and grouping of pdfplumber's `extract_words()`.

pdfminer.six interprets each page; a minimal device records every glyph as a
tuple (text, x0, top, x1, bottom, upright) instead of building LTChar objects,
and skips paths and images entirely. The box arithmetic is LTChar's, and the
flip to a top-left origin is pdfplumber's (MediaBox based, /Rotate applied),
so stored boxes can be cross-checked against pdfplumber. Words are grouped the
way pdfplumber's defaults do: runs of equal uprightness, lines clustered
within 3 pt, chars sorted along the line, a new word at whitespace, at a
backward step, at a gap over 3 pt or a line shift over 3 pt; ligatures expanded.
pdfminer's layout analysis is not used (it goes quadratic on rotated pages).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from itertools import groupby
from typing import Any, BinaryIO

from pdfminer.converter import PDFTextDevice  # type: ignore[attr-defined]
from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
from pdfminer.pdffont import PDFUnicodeNotDefined
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.psparser import PSLiteral
from pdfminer.utils import apply_matrix_rect

from etl_toolkit.errors import InputError

TOLERANCE = 3.0  # pdfplumber's default x_tolerance and y_tolerance, in points
LIGATURES = {"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl", "ﬆ": "st", "ﬅ": "st"}

# (text, x0, top, x1, bottom, upright)
Char = tuple[str, float, float, float, float, bool]
# (text, x0, top, x1, bottom)
Word = tuple[str, float, float, float, float]


class PdfError(InputError):
    """A file-level failure: the whole document is unusable (not a PDF, encrypted, ...).

    Terminal: the file is at fault, a retry reads the same bytes."""


@dataclass
class PageResult:
    number: int
    width: float
    height: float
    rotation: int
    words: list[Word] = field(default_factory=list)
    error: str | None = None

    @property
    def text(self) -> str:
        """The page's text in reading order with line breaks removed (words joined by spaces)."""
        return " ".join(" ".join(w[0].split()) for w in self.words if w[0].strip())


@dataclass
class DocumentInfo:
    page_count: int
    metadata: dict[str, Any]


class _CharDevice(PDFTextDevice):
    """Records glyphs as tuples; nothing else (no LTChar, paths or images)."""

    def __init__(self, rsrcmgr: PDFResourceManager) -> None:
        super().__init__(rsrcmgr)
        self.chars: list[tuple[str, float, float, float, float, bool]] = []

    def begin_page(self, page: PDFPage, ctm: Any) -> None:
        self.chars = []
        self.ctm = ctm

    def render_char(
        self,
        matrix: Any,
        font: Any,
        fontsize: float,
        scaling: float,
        rise: float,
        cid: int,
        ncs: Any,
        graphicstate: Any,
    ) -> float:
        try:
            text = font.to_unichr(cid)
        except PDFUnicodeNotDefined:
            text = f"(cid:{cid})"
        adv: float = font.char_width(cid) * fontsize * scaling
        if font.is_vertical():
            vx, vy = font.char_disp(cid)
            vx = fontsize * 0.5 if vx is None else vx * fontsize * 0.001
            vy = (1000 - vy) * fontsize * 0.001
            box = (-vx, vy + rise + adv, -vx + fontsize, vy + rise)
        else:
            descent = font.get_descent() * fontsize
            box = (0, descent + rise, adv, descent + rise + fontsize)
        a, b, c, d, _e, _f = matrix
        upright = a * d * scaling > 0 and b * c <= 0
        x0, y0, x1, y1 = apply_matrix_rect(matrix, box)
        if x1 < x0:
            x0, x1 = x1, x0
        if y1 < y0:
            y0, y1 = y1, y0
        self.chars.append((text, x0, y0, x1, y1, upright))
        return adv


@dataclass(frozen=True)
class Frame:
    """pdfplumber's page frame: MediaBox based, /Rotate applied, origin at the top left."""

    width: float
    height: float
    x0: float  # the MediaBox's left edge
    top: float  # the MediaBox's top edge after flipping: -y0
    rotation: int


def page_frame(page: PDFPage) -> Frame:
    rotation = int(page.rotate) % 360
    bx0, by0, bx1, by1 = page.mediabox
    x0, x1 = sorted((bx0, bx1))
    y0, y1 = sorted((by0, by1))
    if rotation in (90, 270):
        x0, y0, x1, y1 = y0, x0, y1, x1
    return Frame(x1 - x0, y1 - y0, x0, -y0, rotation)


def to_chars(raw: list[tuple[str, float, float, float, float, bool]], f: Frame) -> list[Char]:
    """pdfminer boxes (origin bottom-left) to pdfplumber's top-left frame."""
    h, dx, top = f.height, f.x0, f.top
    return [
        (t, x0 + dx, (h - y1) + top, x1 + dx, (h - y0) + top, up) for t, x0, y0, x1, y1, up in raw
    ]


def _cluster_ids(values: list[float], tolerance: float) -> dict[float, int]:
    ids: dict[float, int] = {}
    cluster, last = -1, None
    for v in sorted(set(values)):
        if last is None or v > last + tolerance:
            cluster += 1
        ids[v] = cluster
        last = v
    return ids


def group_words(chars: list[Char], tolerance: float = TOLERANCE) -> list[Word]:
    """Group characters into words the way pdfplumber's `extract_words()` defaults do."""
    words: list[Word] = []
    for upright, run_iter in groupby(chars, key=lambda ch: ch[5]):
        run = list(run_iter)
        # Upright text: lines by top, chars left to right. Rotated text: lines by x0,
        # chars top to bottom.
        line_of: Callable[[Char], float] = (lambda ch: ch[2]) if upright else (lambda ch: ch[1])
        ids = _cluster_ids([line_of(ch) for ch in run], tolerance)
        run.sort(key=lambda ch: ids[line_of(ch)])
        for _, line_iter in groupby(run, key=lambda ch: ids[line_of(ch)]):
            if upright:
                line = sorted(line_iter, key=lambda ch: ch[1])
            else:
                line = sorted(line_iter, key=lambda ch: (ch[2], ch[4]))
            _split_line(line, upright, tolerance, words)
    return words


def _split_line(line: list[Char], upright: bool, tol: float, out: list[Word]) -> None:
    current: list[Char] = []
    for ch in line:
        if ch[0].isspace():
            _emit(current, out)
            current = []
            continue
        if current:
            prev = current[-1]
            if upright:  # along x, the line is at top
                new = ch[1] < prev[1] or ch[1] > prev[3] + tol or abs(ch[2] - prev[2]) > tol
            else:  # along top, the line is at x0
                new = ch[2] < prev[2] or ch[2] > prev[4] + tol or abs(ch[1] - prev[1]) > tol
            if new:
                _emit(current, out)
                current = []
        current.append(ch)
    _emit(current, out)


def _emit(chars: list[Char], out: list[Word]) -> None:
    if chars:
        out.append(
            (
                "".join(LIGATURES.get(c[0], c[0]) for c in chars),
                min(c[1] for c in chars),
                min(c[2] for c in chars),
                max(c[3] for c in chars),
                max(c[4] for c in chars),
            )
        )


# ---- documents -----------------------------------------------------------------------------


def open_document(fp: BinaryIO, password: str | None) -> PDFDocument:
    """A parsed document, or PdfError with a reason a person understands."""
    try:
        return PDFDocument(PDFParser(fp), password=password or "")
    except PDFPasswordIncorrect:
        if not password:
            raise PdfError("encrypted PDF: a password is required (--password)") from None
    except Exception as exc:  # pdfminer raises a zoo of types on malformed input
        raise PdfError(f"malformed PDF: {_describe(exc)}") from None
    # One --password serves a whole batch; a file with only an owner password (an
    # empty user password) opens without it and must not fail for being given one.
    try:
        fp.seek(0)
        return PDFDocument(PDFParser(fp), password="")
    except PDFPasswordIncorrect:
        raise PdfError("encrypted PDF: the password given is wrong") from None
    except Exception as exc:
        raise PdfError(f"malformed PDF: {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def iter_pages(doc: PDFDocument) -> Iterator[PDFPage]:
    try:
        yield from PDFPage.create_pages(doc)
    except Exception as exc:
        raise PdfError(f"malformed page tree: {_describe(exc)}") from None


def extract_pages(doc: PDFDocument, start: int, stop: int) -> Iterator[PageResult]:
    """Pages start..stop-1 (0-based); a page that fails is returned with its error, no words."""
    rsrc = PDFResourceManager(caching=True)
    device = _CharDevice(rsrc)
    interpreter = PDFPageInterpreter(rsrc, device)
    for index, page in enumerate(iter_pages(doc)):
        if index < start:
            continue
        if index >= stop:
            break
        frame = page_frame(page)
        result = PageResult(index + 1, frame.width, frame.height, frame.rotation)
        try:
            interpreter.process_page(page)
            result.words = group_words(to_chars(device.chars, frame))
        except Exception as exc:
            result.error = _describe(exc)
        device.chars = []
        yield result


def count_pages(doc: PDFDocument) -> int:
    return sum(1 for _ in iter_pages(doc))


def read_info(doc: PDFDocument, page_count: int) -> DocumentInfo:
    return DocumentInfo(page_count, metadata(doc))


# ---- metadata ------------------------------------------------------------------------------

_DATE = re.compile(
    r"^D?:?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:([Zz+\-])(\d{2})?'?(\d{2})?'?)?"
)


def pdf_date(value: str) -> str | None:
    """A PDF date (D:YYYYMMDDHHmmSSOHH'mm') as ISO 8601, or None when unparseable."""
    m = _DATE.match(value.strip())
    if not m:
        return None
    year, mon, day, hh, mm, ss, sign, tzh, tzm = m.groups()
    try:
        tz: timezone = UTC
        if sign in ("+", "-"):
            delta = timedelta(hours=int(tzh or 0), minutes=int(tzm or 0))
            tz = timezone(delta if sign == "+" else -delta)
        dt = datetime(
            int(year),
            int(mon or 1),
            int(day or 1),
            int(hh or 0),
            int(mm or 0),
            int(ss or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return dt.isoformat()


def _decode(value: Any) -> Any:
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    value = resolve1(value)
    if isinstance(value, bytes):
        if value.startswith((b"\xfe\xff", b"\xff\xfe")):
            return value.decode("utf-16", errors="replace")
        return decode_text(value)
    if isinstance(value, PSLiteral):
        return str(value.name)
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def metadata(doc: PDFDocument) -> dict[str, Any]:
    """The document information dictionary, decoded; dates also as ISO 8601."""
    out: dict[str, Any] = {}
    for info in doc.info or []:
        for key, raw in info.items():
            name = key if isinstance(key, str) else str(key)
            try:
                value = _decode(raw)
            except Exception:  # a broken entry must not sink the document
                continue
            if isinstance(value, str):
                value = value.replace("\x00", "")
            out[name] = value
            if name in ("CreationDate", "ModDate") and isinstance(value, str):
                iso = pdf_date(value)
                if iso:
                    out[f"{name}_iso"] = iso
    return out
