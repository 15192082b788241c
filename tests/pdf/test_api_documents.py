"""/documents: list, detail, pages with words, SVG, search; and the jobs load-pdf created."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from etl_toolkit.db.connect import Database
from etl_toolkit.pdf.pipeline import load_pdfs
from etl_toolkit.pdf.report import PdfReport
from etl_toolkit.pdf.synth import SynthPage, text_page, write_pdf

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def loaded(db: Database, tmp_path: Path) -> PdfReport:
    return load_pdfs(
        db,
        [
            write_pdf(
                tmp_path / "fruit.pdf",
                [
                    text_page(["Apples and pears are fruit."]),
                    text_page(["Pears ripen after picking."]),
                ],
                title="Fruit",
            ),
            write_pdf(
                tmp_path / "tools.pdf",
                [
                    SynthPage(
                        lines=[(72, 72, 12, "Hammer & <nails>"), (72, 120, 12, "A pear-shaped box")]
                    ),
                ],
            ),
        ],
    )


def test_list_documents_paginated(client: FlaskClient, loaded: PdfReport) -> None:
    r = client.get("/documents?limit=1")
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "2"
    assert len(r.get_json()) == 1
    both = client.get("/documents").get_json()
    assert {d["name"] for d in both} == {"fruit.pdf", "tools.pdf"}
    fruit = next(d for d in both if d["name"] == "fruit.pdf")
    assert (fruit["page_count"], fruit["word_count"], fruit["metadata"]["Title"]) == (2, 9, "Fruit")


def test_a_long_documents_pages_are_paged(
    client: FlaskClient, db: Database, tmp_path: Path
) -> None:
    pages = [text_page([f"Page {n}"]) for n in range(1, 26)]
    report = load_pdfs(db, [write_pdf(tmp_path / "long.pdf", pages)])
    url = f"/documents/{report.files[0].document_id}"
    first = client.get(url).get_json()
    assert (len(first["pages"]), first["pages_total"], first["page_count"]) == (20, 25, 25)
    rest = client.get(f"{url}?pages_offset=20").get_json()
    assert [p["page_number"] for p in rest["pages"]] == [21, 22, 23, 24, 25]
    assert client.get(f"{url}?pages_limit=101").status_code == 422


def test_document_detail_and_404(client: FlaskClient, loaded: PdfReport) -> None:
    doc_id = loaded.files[0].document_id
    r = client.get(f"/documents/{doc_id}")
    assert r.status_code == 200
    body = r.get_json()
    assert [p["page_number"] for p in body["pages"]] == [1, 2]
    assert body["pages"][0]["width"] == 612.0
    assert client.get("/documents/not-a-uuid").status_code == 404
    assert client.get("/documents/00000000-0000-4000-8000-000000000000").status_code == 404


def test_page_with_words_and_boxes(client: FlaskClient, loaded: PdfReport) -> None:
    doc_id = loaded.files[1].document_id
    r = client.get(f"/documents/{doc_id}/pages/1")
    assert r.status_code == 200
    page = r.get_json()
    assert page["text"] == "Hammer & <nails> A pear-shaped box"
    first = page["words"][0]
    assert first["text"] == "Hammer"
    assert first["x0"] == pytest.approx(72.0)
    assert first["top"] < first["bottom"] < 100
    assert client.get(f"/documents/{doc_id}/pages/2").status_code == 404


def test_page_svg_draws_every_word(client: FlaskClient, loaded: PdfReport) -> None:
    doc_id = loaded.files[1].document_id
    r = client.get(f"/documents/{doc_id}/pages/1.svg")
    assert r.status_code == 200
    assert r.content_type.startswith("image/svg+xml")
    root = ET.fromstring(r.data)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["Hammer", "&", "<nails>", "A", "pear-shaped", "box"]
    assert len(list(root.iter(f"{SVG}rect"))) == 1 + len(texts)
    assert client.get(f"/documents/{doc_id}/pages/9.svg").status_code == 404


def test_search_ranks_pages_and_returns_matching_boxes(
    client: FlaskClient, loaded: PdfReport
) -> None:
    r = client.get("/documents/search?q=pear")
    assert r.status_code == 200
    hits = r.get_json()
    assert r.headers["X-Total-Count"] == str(len(hits))
    assert {(h["document_name"], h["page_number"]) for h in hits} == {
        ("fruit.pdf", 1),
        ("fruit.pdf", 2),
        ("tools.pdf", 1),
    }
    first = next(h for h in hits if h["document_name"] == "fruit.pdf" and h["page_number"] == 2)
    assert [m["text"] for m in first["matches"]] == ["Pears"]
    assert "<<Pears>>" in first["snippet"]
    assert all(h["rank"] > 0 for h in hits)
    assert client.get("/documents/search?q=").status_code == 422
    assert client.get("/documents/search").status_code == 422
    assert client.get("/documents/search?q=zebra").get_json() == []


def test_jobs_created_by_load_pdf_are_listed_by_document(
    client: FlaskClient, loaded: PdfReport
) -> None:
    for f in loaded.files:
        jobs = client.get(f"/extraction-jobs?document_id={f.document_id}").get_json()
        assert [(j["status"], j["metadata"]["file"]) for j in jobs] == [("completed", f.path)]
        events = client.get(f"/extraction-jobs/{jobs[0]['id']}/events").get_json()
        assert [e["to_status"] for e in events] == ["pending", "processing", "completed"]


def test_search_orders_pages_by_rank(client: FlaskClient, db: Database, tmp_path: Path) -> None:
    """More occurrences rank higher (ts_rank_cd); the order is neither page order nor
    its reverse, so only the ranking can produce it."""
    load_pdfs(
        db,
        [
            write_pdf(
                tmp_path / "orchard.pdf",
                [
                    text_page(["One pear on the table."]),
                    text_page(["Pear, pear and a third pear."]),
                    text_page(["A pear beside a pear."]),
                    text_page(["No fruit here."]),
                ],
            )
        ],
    )
    hits = client.get("/documents/search?q=pear").get_json()
    assert [h["page_number"] for h in hits] == [2, 3, 1]
    ranks = [h["rank"] for h in hits]
    assert ranks[0] > ranks[1] > ranks[2] > 0
    paged = [
        client.get(f"/documents/search?q=pear&limit=1&offset={i}").get_json() for i in (0, 1, 2)
    ]
    assert [p[0]["page_number"] for p in paged] == [2, 3, 1]  # each page of results in rank order
