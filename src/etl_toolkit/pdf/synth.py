"""A small, deterministic PDF writer: samples/pdf, test fixtures, long files for benchmarks.

Text is set in the standard Helvetica font (no embedding needed), ASCII only.
`python -m etl_toolkit.pdf.synth OUT_DIR` writes the sample set.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# (x from the left, y from the top, font size, text)
Line = tuple[float, float, float, str]


@dataclass
class SynthPage:
    lines: list[Line] = field(default_factory=list)
    width: float = 612.0
    height: float = 792.0
    rotate: int = 0
    # A chain of this many nested form XObjects: deep enough to exhaust the
    # parser's recursion limit, i.e. a page that fails while its neighbours load.
    nesting: int = 0


def _escape(text: str) -> bytes:
    raw = text.encode("latin-1", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(data), extra, data)


def pdf_bytes(
    pages: Sequence[SynthPage], *, title: str | None = None, author: str | None = None
) -> bytes:
    """A complete PDF file with an xref table and an /Info dictionary."""
    objs: list[bytes] = [
        b"",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for page in pages:
        ops = []
        for x, y, size, text in page.lines:
            ops.append(
                b"BT /F1 %.2f Tf %.2f %.2f Td (%s) Tj ET"
                % (size, x, page.height - y - size * 0.8, _escape(text))
            )
        resources = b"/Font << /F1 3 0 R >>"
        if page.nesting:
            first = len(objs) + 3  # after this page's content and page objects
            resources += b" /XObject << /X %d 0 R >>" % first
            ops.append(b"/X Do")
        objs.append(_stream(b"\n".join(ops)))
        content_id = len(objs)
        objs.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Rotate %d "
            b"/Resources << %s >> /Contents %d 0 R >>"
            % (page.width, page.height, page.rotate, resources, content_id)
        )
        kids.append(len(objs))
        for depth in range(page.nesting):
            last = depth == page.nesting - 1
            res = b"" if last else b"/Resources << /XObject << /X %d 0 R >> >> " % (len(objs) + 2)
            objs.append(
                _stream(
                    b"" if last else b"/X Do",
                    b"/Type /XObject /Subtype /Form /BBox [0 0 10 10] " + res,
                )
            )
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    info = []
    if title:
        info.append(b"/Title (%s)" % _escape(title))
    if author:
        info.append(b"/Author (%s)" % _escape(author))
    info.append(b"/Producer (etl-toolkit synth) /CreationDate (D:20250102030405+01'00')")
    objs.append(b"<< " + b" ".join(info) + b" >>")
    return assemble(objs, b"/Root 1 0 R /Info %d 0 R" % len(objs))


def assemble(objects: Sequence[bytes], trailer: bytes) -> bytes:
    """A PDF file of `objects` (object i+1 is objects[i]) with a classic xref table.

    `trailer` holds the trailer entries other than /Size (at least /Root). The
    hard-case PDFs of the tests (tests/pdf_cases.py) are written with it too.
    """
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(out)


def write_pdf(path: Path, pages: Sequence[SynthPage], **info: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf_bytes(pages, **info))
    return path


def text_page(
    paragraphs: Sequence[str],
    *,
    size: float = 11,
    margin: float = 72,
    width: float = 612,
    height: float = 792,
    rotate: int = 0,
) -> SynthPage:
    """A page of left-aligned lines, wrapped at ~90 characters."""
    lines: list[Line] = []
    y = margin
    for para in paragraphs:
        words, current = para.split(), ""
        for w in words:
            if len(current) + len(w) + 1 > 90:
                lines.append((margin, y, size, current))
                y += size * 1.4
                current = w
            else:
                current = f"{current} {w}".strip()
        if current:
            lines.append((margin, y, size, current))
            y += size * 1.4
        y += size * 0.8
    return SynthPage(lines, width, height, rotate)


def long_document(pages: int) -> list[SynthPage]:
    """`pages` pages of numbered filler text (memory and throughput checks)."""
    body = (
        "Section {n}. The quarterly report lists revenue, costs and headcount for each "
        "region; figures are unaudited and subject to revision in the annual filing."
    )
    return [text_page([body.format(n=n)] * 12) for n in range(1, pages + 1)]


def write_samples(out: Path) -> list[Path]:
    """samples/pdf: a memo, a rotated table, a two-column report."""
    memo = text_page(
        [
            "MEMORANDUM",
            "To: Data engineering. From: Operations. Subject: quarterly ingestion review.",
            "The ingestion pipeline loaded 1,204 files last quarter. Three files were rejected: "
            "two were truncated uploads and one was password protected.",
            "Action: re-request the truncated files and ask the sender for the password.",
        ]
    )
    table = SynthPage(
        width=792,
        height=612,
        lines=[
            (50, 50, 14, "Shipments by region (units)"),
            *[
                (50 + 150 * c, 90 + 20 * r, 10, cell)
                for r, row in enumerate(
                    [
                        ["Region", "Q1", "Q2", "Q3"],
                        ["North", "1,200", "1,350", "1,410"],
                        ["South", "980", "1,020", "1,105"],
                        ["West", "2,310", "2,290", "2,400"],
                    ]
                )
                for c, cell in enumerate(row)
            ],
        ],
    )
    left = [
        "Revenue grew in every region. The largest gain came from the West, where a new "
        "distribution centre opened in the second quarter."
    ] * 3
    right = [
        "Costs rose less than revenue. Freight costs fell after the carrier contract was "
        "renegotiated; staff costs rose with headcount."
    ] * 3
    report = [text_page(["Annual report", "Summary of operations."], size=16)]
    two_col = SynthPage(
        lines=[
            (72 + 250 * i, 72 + 16 * j, 10, line)
            for i, col in enumerate((left, right))
            for j, line in enumerate(
                " ".join(col)[k : k + 45] for k in range(0, len(" ".join(col)), 45)
            )
        ]
    )
    report.append(two_col)
    return [
        write_pdf(
            out / "memo.pdf", [memo], title="Quarterly ingestion review", author="Operations"
        ),
        write_pdf(out / "shipments-table.pdf", [table], title="Shipments by region"),
        write_pdf(out / "annual-report.pdf", report, title="Annual report", author="Finance"),
    ]


if __name__ == "__main__":  # pragma: no cover
    for p in write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "samples/pdf")):
        print(p)
