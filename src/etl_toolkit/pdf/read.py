"""Reading loaded documents (what the API serves): lists, pages with their words, search,
SVG rendering."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import psycopg
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from etl_toolkit.db.queries import FIRST_PAGE, Window, fetch_page, query
from etl_toolkit.errors import InputError, NotFound
from etl_toolkit.ids import parse_uuid

Conn = psycopg.Connection[Any]


class DocumentSummary(BaseModel):
    id: uuid.UUID
    name: str
    sha256: str
    size_bytes: int
    page_count: int
    word_count: int
    failed_pages: int
    metadata: dict[str, Any]
    loaded_at: datetime


class PageSummary(BaseModel):
    page_number: int
    width: float
    height: float
    rotation: int
    word_count: int
    error: str | None


class DocumentDetail(DocumentSummary):
    source_path: str
    pages: list[PageSummary] = Field(description="A page of them: pages_limit / pages_offset.")
    pages_total: int = Field(description="How many pages are stored, in all pages of the list.")


class WordBox(BaseModel):
    word_index: int
    text: str
    x0: float
    top: float
    x1: float
    bottom: float


class Page(BaseModel):
    document_id: uuid.UUID
    document_name: str
    page_number: int
    width: float = Field(description="points, page as displayed")
    height: float
    rotation: int
    text: str = Field(description="the page's text in reading order, without line breaks")
    word_count: int
    error: str | None
    words: list[WordBox]


class SearchHit(BaseModel):
    document_id: uuid.UUID
    document_name: str
    page_number: int
    rank: float
    snippet: str = Field(description="matching terms between << and >>")
    matches: list[WordBox] = Field(description="boxes of the words that match the query")


def _doc_id(value: str | uuid.UUID) -> uuid.UUID:
    return parse_uuid(value, "document")


def list_documents(
    conn: Conn, *, limit: int = 20, offset: int = 0
) -> tuple[list[DocumentSummary], int]:
    rows, total = fetch_page(
        conn, "docs", "list_documents", "count_documents", {"limit": limit, "offset": offset}
    )
    return [DocumentSummary.model_validate(r) for r in rows], total


def get_document(
    conn: Conn, document_id: str | uuid.UUID, *, pages: Window = FIRST_PAGE
) -> DocumentDetail:
    """A document with a page of its pages' summaries."""
    doc_id = _doc_id(document_id)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query("docs", "get_document"), {"id": doc_id}).fetchone()
        if row is None:
            raise NotFound(f"document {document_id} not found")
        listed = cur.execute(
            query("docs", "document_pages"), {"id": doc_id, **pages._asdict()}
        ).fetchall()
        total = cur.execute(query("docs", "document_pages_count"), {"id": doc_id}).fetchone()
    return DocumentDetail.model_validate(
        {**row, "pages": listed, "pages_total": total["total"] if total else 0}
    )


def get_page(conn: Conn, document_id: str | uuid.UUID, page_number: int) -> Page:
    doc_id = _doc_id(document_id)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query("docs", "get_page"), {"id": doc_id, "page": page_number}).fetchone()
        if row is None:
            raise NotFound(f"document {document_id} has no page {page_number}")
        words = cur.execute(
            query("docs", "page_words"), {"id": doc_id, "page": page_number}
        ).fetchall()
    return Page.model_validate(
        {**row, "document_id": doc_id, "document_name": row["name"], "words": words}
    )


def search(conn: Conn, q: str, *, limit: int = 20, offset: int = 0) -> tuple[list[SearchHit], int]:
    """Pages matching a web-search style query (`"a phrase"`, `or`, `-not`), best first."""
    if not q.strip():
        raise InputError("the search query is empty")
    rows, total = fetch_page(
        conn, "docs", "search", "search_count", {"q": q, "limit": limit, "offset": offset}
    )
    hits = [SearchHit.model_validate({**r, "document_name": r["name"]}) for r in rows]
    return hits, total


def render_svg(page: Page) -> str:
    """The page as SVG: every word's box and its text at its coordinates."""
    w, h = max(page.width, 1.0), max(page.height, 1.0)
    # Boxes may lie off the page (real files do that): widen the view to show them.
    xs = [0.0, w, *(b.x0 for b in page.words), *(b.x1 for b in page.words)]
    ys = [0.0, h, *(b.top for b in page.words), *(b.bottom for b in page.words)]
    vx, vy = min(xs), min(ys)
    vw, vh = max(xs) - vx, max(ys) - vy
    title = f"{page.document_name} — page {page.page_number}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{vw:.2f}" height="{vh:.2f}" '
        f'viewBox="{vx:.2f} {vy:.2f} {vw:.2f} {vh:.2f}" '
        'font-family="Helvetica, Arial, sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{w:.2f}" height="{h:.2f}" fill="white" stroke="#888" '
        'stroke-width="0.5"/>',
    ]
    for b in page.words:
        bw, bh = max(b.x1 - b.x0, 0.01), max(b.bottom - b.top, 0.01)
        if bh > 1.5 * bw and len(b.text) > 1:
            # Vertical text (rotated pages): run the glyphs down the box.
            x, y = b.x0 + bw * 0.2, b.top
            label = (
                f'<text x="{x:.2f}" y="{y:.2f}" transform="rotate(90 {x:.2f} {y:.2f})" '
                f'font-size="{bw * 0.8:.2f}" textLength="{bh:.2f}" '
                f'lengthAdjust="spacingAndGlyphs">{escape(b.text)}</text>'
            )
        else:
            label = (
                f'<text x="{b.x0:.2f}" y="{b.bottom - bh * 0.2:.2f}" '
                f'font-size="{bh * 0.8:.2f}" textLength="{bw:.2f}" '
                f'lengthAdjust="spacingAndGlyphs">{escape(b.text)}</text>'
            )
        out.append(
            f'<g><rect x="{b.x0:.2f}" y="{b.top:.2f}" width="{bw:.2f}" height="{bh:.2f}" '
            'fill="#fff3b0" fill-opacity="0.5" stroke="#d08c00" stroke-width="0.3"/>'
            f"{label}<title>{escape(b.text)} #{b.word_index}</title></g>"
        )
    if page.error:
        out.append(f'<text x="4" y="14" font-size="10" fill="red">{escape(page.error)}</text>')
    out.append("</svg>")
    return "\n".join(out)
