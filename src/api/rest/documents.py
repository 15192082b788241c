"""/documents: loaded PDFs, their pages and words, full-text search, SVG rendering."""

from __future__ import annotations

import uuid

from flask import Response
from pydantic import BaseModel, Field

from api.db import Conn
from api.openapi import ApiBlueprint, Page, Reply, nested_pages, paged, window
from api.types import NonBlankText
from etl_toolkit.db.queries import Window
from etl_toolkit.pdf import read
from etl_toolkit.pdf.read import DocumentDetail, DocumentSummary, SearchHit
from etl_toolkit.pdf.read import Page as DocumentPage

bp = ApiBlueprint(
    "documents",
    __name__,
    tag="documents",
    path_docs={
        "document_id": "The document's id (a UUID, as GET /documents lists it).",
        "page_number": "The page's number, from 1.",
    },
)


class SearchQuery(Page):
    q: NonBlankText = Field(
        min_length=1,
        max_length=500,
        description='web-search syntax: words, "a phrase", or, -exclude',
    )


@bp.operation("/documents", query=Page, response=list[DocumentSummary])
def list_documents(conn: Conn, query: Page) -> Reply:
    """List documents, newest first

    Every loaded PDF, newest first: file name, title, page and word counts, checksum."""
    items, total = read.list_documents(conn, **query.args())
    return paged(items, total, query)


@bp.operation("/documents/search", query=SearchQuery, response=list[SearchHit])
def search_documents(conn: Conn, query: SearchQuery) -> Reply:
    """Full-text search over pages

    Matching pages ranked by relevance, with a snippet and the boxes of matching words."""
    hits, total = read.search(conn, **query.args())
    return paged(hits, total, query)


DocumentQuery = nested_pages("DocumentQuery", "pages")


@bp.operation(
    "/documents/<uuid:document_id>", query=DocumentQuery, response=DocumentDetail, errors=(404,)
)
def get_document(conn: Conn, document_id: uuid.UUID, query: BaseModel) -> DocumentDetail:
    """A document with its pages

    A document's metadata and a page of its pages' summaries (size, word count,
    error): `pages_limit` / `pages_offset`, `pages_total` counts them all."""
    return read.get_document(conn, document_id, pages=Window(*window(query, "pages")))


@bp.operation(
    "/documents/<uuid:document_id>/pages/<int:page_number>", response=DocumentPage, errors=(404,)
)
def get_page(conn: Conn, document_id: uuid.UUID, page_number: int) -> DocumentPage:
    """A page: text, size and every word with its box

    A page's text in reading order and every word with its box, in PDF points from
    the page's top-left corner."""
    return read.get_page(conn, document_id, page_number)


@bp.operation(
    "/documents/<uuid:document_id>/pages/<int:page_number>.svg",
    response=str,
    errors=(404,),
    media_type="image/svg+xml",
)
def get_page_svg(conn: Conn, document_id: uuid.UUID, page_number: int) -> Response:
    """A page drawn as SVG: every word's box and text

    The page at its size in points, each word drawn as its box and its text: what
    the extraction saw, to check it by eye."""
    page = read.get_page(conn, document_id, page_number)
    return Response(read.render_svg(page), mimetype="image/svg+xml")
