"""Every file of ../shared/corpus/pdf gives the outcome its README calls for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pdfplumber
import pytest

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.pdf.pipeline import load_pdfs
from etl_toolkit.pdf.report import FileReport, PdfReport
from tests.paths import CORPUS

# Every page of a document (the query pages, as the API does).
ALL_PAGES: dict[str, Any] = {"limit": None, "offset": 0}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}"),
]


@pytest.fixture(scope="module")
def loaded(module_db: Database) -> PdfReport:
    # Without a password: the encrypted file must fail with a clear reason.
    return load_pdfs(module_db, [CORPUS], workers=2)


def _file(report: PdfReport, name: str) -> FileReport:
    return next(f for f in report.files if Path(f.path).name == name)


def _words(db: Database, doc_id: str | None, page: int) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        rows = conn.execute(query("docs", "page_words"), {"id": doc_id, "page": page}).fetchall()
    return [(r["text"], r["x0"], r["top"], r["x1"], r["bottom"]) for r in rows]


def test_batch_goes_on_past_bad_files(loaded: PdfReport) -> None:
    statuses = {Path(f.path).name: f.status for f in loaded.files}
    assert statuses.pop("empty.pdf") == "failed"
    assert statuses.pop("password-example.pdf") == "failed"
    assert set(statuses.values()) == {"loaded"}
    assert loaded.failed and loaded.totals["failed"] == 2


def test_empty_file_is_reported_and_nothing_is_stored(
    loaded: PdfReport, module_db: Database
) -> None:
    f = _file(loaded, "empty.pdf")
    assert f.error == "empty file (0 bytes)"
    with module_db.connect() as conn:
        assert conn.execute(
            "SELECT count(*) AS n FROM docs.documents WHERE name = 'empty.pdf'"
        ).fetchone() == {"n": 0}


def test_encrypted_file_needs_the_password(loaded: PdfReport, module_db: Database) -> None:
    assert _file(loaded, "password-example.pdf").error == (
        "encrypted PDF: a password is required (--password)"
    )
    wrong = load_pdfs(module_db, [CORPUS / "password-example.pdf"], password="nope")
    assert wrong.files[0].error == "encrypted PDF: the password given is wrong"
    right = load_pdfs(module_db, [CORPUS / "password-example.pdf"], password="test")
    assert (right.files[0].status, right.files[0].pages, right.files[0].words) == ("loaded", 4, 682)


def test_inverted_mediabox_keeps_off_page_boxes(loaded: PdfReport, module_db: Database) -> None:
    f = _file(loaded, "malformed-from-issue-932.pdf")
    words = _words(module_db, f.document_id, 1)
    assert len(words) == 3
    assert all(1300 < w[2] < 1360 for w in words)  # top, on an 842 pt page


def test_broken_xref_gives_zero_pages(loaded: PdfReport, module_db: Database) -> None:
    f = _file(loaded, "issue-297-example.pdf")
    assert (f.status, f.pages) == ("loaded", 0)
    with module_db.connect() as conn:
        doc = conn.execute(query("docs", "get_document"), {"id": f.document_id}).fetchone()
    assert doc is not None
    assert doc["page_count"] == 0


def test_pages_without_text_layer_are_stored_empty(loaded: PdfReport, module_db: Database) -> None:
    f = _file(loaded, "issue-203-decimalize.pdf")
    assert (f.pages, f.words) == (3, 0)
    with module_db.connect() as conn:
        pages = conn.execute(
            query("docs", "document_pages"), ALL_PAGES | {"id": f.document_id}
        ).fetchall()
        texts = conn.execute(
            "SELECT text FROM docs.pages WHERE document_id = %s", [f.document_id]
        ).fetchall()
    assert [p["page_number"] for p in pages] == [1, 2, 3]
    assert {t["text"] for t in texts} == {""}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("senate-expenditures.pdf", {"DOCUMENTNO.", "PAYEENAME"}),
        ("issue-1054-example.pdf", {"BundesministeriumdesInnern"}),
        ("issue-71-duplicate-chars.pdf", {"2020.01", "-", "测测试试"}),
        ("issue-316-example.pdf", {"conflict"}),
        ("federal-register-2020-17221.pdf", {"non-", "work-", "Soekarno-"}),
    ],
)
def test_hard_cases_form_words_like_the_reference(
    loaded: PdfReport, module_db: Database, name: str, expected: set[str]
) -> None:
    f = _file(loaded, name)
    texts = {w[0] for page in range(1, f.pages + 1) for w in _words(module_db, f.document_id, page)}
    assert expected <= texts
    assert not any(ch in t for t in texts for ch in "\ufb00\ufb01\ufb02\ufb03\ufb04")


def test_every_loaded_page_equals_pdfplumber_exactly(
    loaded: PdfReport, module_db: Database
) -> None:
    for f in loaded.files:
        if f.status != "loaded" or f.pages == 0:
            continue
        with pdfplumber.open(f.path) as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                ref = [
                    (w["text"], w["x0"], w["top"], w["x1"], w["bottom"])
                    for w in page.extract_words()
                ]
                page.close()
                assert _words(module_db, f.document_id, number) == ref, f"{f.path} page {number}"


@pytest.mark.parametrize(
    ("name", "rotation"),
    [
        ("nics-background-checks-2015-11-rotated.pdf", 90),
        ("issue-1054-example.pdf", 270),
        ("senate-expenditures.pdf", 90),
    ],
)
def test_page_size_and_rotation_are_pdfplumbers(
    loaded: PdfReport, module_db: Database, name: str, rotation: int
) -> None:
    f = _file(loaded, name)
    with module_db.connect() as conn:
        page = conn.execute(
            query("docs", "document_pages"), ALL_PAGES | {"id": f.document_id}
        ).fetchone()
    assert page is not None
    with pdfplumber.open(f.path) as pdf:
        ref = pdf.pages[0]
        assert (page["rotation"], page["width"], page["height"]) == (
            rotation,
            ref.width,
            ref.height,
        )
