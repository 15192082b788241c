"""The hard PDF cases, made by tests/pdf_cases.py: every run, with nothing beside the repository.

Each case loads (or fails) as the external corpus's README asks of the file it
stands for, and the stored words equal pdfplumber's `extract_words()` tuple for
tuple, page by page (issue 14: the corpus test alone skips on a fresh clone).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber
import pytest

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.pdf.pipeline import load_pdfs
from etl_toolkit.pdf.report import FileReport
from tests.pdf_cases import ENCRYPTION_REQUIRED, ENCRYPTIONS, OWNER, USER, Case, all_cases

# Every page of a document (the query pages, as the API does).
ALL_PAGES: dict[str, Any] = {"limit": None, "offset": 0}

CASES = {c.name: c for c in all_cases()}
NEEDS_PASSWORD = [n for n, c in CASES.items() if c.password]
OPEN = [n for n, c in CASES.items() if not c.password]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hard-pdfs")
    for case in CASES.values():
        (out / case.filename).write_bytes(case.data)
    return out


@dataclass
class Loaded:
    files: dict[str, FileReport]  # by case name; locked cases as loaded with their password
    locked: dict[str, FileReport]  # locked cases as first met, without a password
    stored_before_unlocking: set[str]  # document ids in the database by then


@pytest.fixture(scope="module")
def loaded(module_db: Database, folder: Path) -> Loaded:
    """The whole folder without a password, then the locked files with theirs."""
    first = {Path(f.path).stem: f for f in load_pdfs(module_db, [folder], workers=2).files}
    with module_db.connect() as conn:
        ids = {str(r["id"]) for r in conn.execute("SELECT id FROM docs.documents").fetchall()}
    locked = [folder / CASES[n].filename for n in NEEDS_PASSWORD]
    unlocked = {Path(f.path).stem: f for f in load_pdfs(module_db, locked, password=USER).files}
    return Loaded(first | unlocked, {n: first[n] for n in NEEDS_PASSWORD}, ids)


def _words(db: Database, doc_id: str | None, page: int) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        rows = conn.execute(query("docs", "page_words"), {"id": doc_id, "page": page}).fetchall()
    return [(r["text"], r["x0"], r["top"], r["x1"], r["bottom"]) for r in rows]


def _page_count(db: Database, doc_id: str | None) -> int:
    with db.connect() as conn:
        doc = conn.execute(query("docs", "get_document"), {"id": doc_id}).fetchone()
    assert doc is not None
    return int(doc["page_count"])


@pytest.mark.parametrize("name", OPEN)
def test_case_loads_without_a_password(loaded: Loaded, module_db: Database, name: str) -> None:
    case, f = CASES[name], loaded.files[name]
    assert (f.status, f.error, f.failed_pages) == ("loaded", None, [])
    assert f.pages == case.pages
    assert _page_count(module_db, f.document_id) == case.pages


@pytest.mark.parametrize("name", NEEDS_PASSWORD)
def test_locked_case_needs_its_password_and_stores_nothing_without(
    loaded: Loaded, module_db: Database, name: str
) -> None:
    locked = loaded.locked[name]
    assert (locked.status, locked.error, locked.pages) == ("failed", ENCRYPTION_REQUIRED, 0)
    assert locked.document_id not in loaded.stored_before_unlocking
    unlocked = loaded.files[name]
    assert (unlocked.status, unlocked.error) == ("loaded", None)
    assert unlocked.document_id == locked.document_id  # the same bytes, now readable
    assert unlocked.pages == CASES[name].pages


@pytest.mark.parametrize("method", ENCRYPTIONS)
def test_wrong_and_owner_passwords(module_db: Database, folder: Path, method: str) -> None:
    user_file = folder / f"{method}-user-password.pdf"
    owner_only = folder / f"{method}-owner-only.pdf"
    # force: the fixture stored these bytes already (unchanged files are not opened).
    wrong = load_pdfs(module_db, [user_file], password="nope", force=True).files[0]
    assert (wrong.status, wrong.error) == ("failed", "encrypted PDF: the password given is wrong")
    # The owner password opens a file too.
    owner = load_pdfs(module_db, [user_file], password=OWNER, force=True).files[0]
    assert (owner.status, owner.pages) in {("loaded", 2), ("replaced", 2)}
    # One --password serves a batch: a file that needs none still loads when given one.
    for password in ("nope", OWNER):
        f = load_pdfs(module_db, [owner_only], password=password, force=True).files[0]
        assert (f.status, f.error, f.pages) in {("loaded", None, 2), ("replaced", None, 2)}


def _reference(case: Case, path: Path) -> tuple[list[list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
    """pdfplumber's words and (rotation, width, height) of every page."""
    words, frames = [], []
    with pdfplumber.open(path, password=case.password or "") as pdf:
        for page in pdf.pages:
            words.append(
                [(w["text"], w["x0"], w["top"], w["x1"], w["bottom"]) for w in page.extract_words()]
            )
            frames.append((page.rotation, page.width, page.height))
            page.close()
    return words, frames


@pytest.mark.parametrize("name", list(CASES))
def test_stored_words_equal_pdfplumber_exactly(
    loaded: Loaded, module_db: Database, folder: Path, name: str
) -> None:
    case, f = CASES[name], loaded.files[name]
    ref_words, ref_frames = _reference(case, folder / case.filename)
    assert len(ref_words) == f.pages == case.pages
    with module_db.connect() as conn:
        pages = conn.execute(
            query("docs", "document_pages"), ALL_PAGES | {"id": f.document_id}
        ).fetchall()
    assert [(p["rotation"], p["width"], p["height"]) for p in pages] == ref_frames
    stored = [_words(module_db, f.document_id, n) for n in range(1, f.pages + 1)]
    for number, (ours, ref) in enumerate(zip(stored, ref_words, strict=True), start=1):
        assert ours == ref, f"{name} page {number}"
    texts = {w[0] for page in stored for w in page}
    assert case.words <= texts
    assert not any(ch in t for t in texts for ch in "\ufb00\ufb01\ufb02\ufb03\ufb04")
    assert {p["rotation"] for p in pages} <= {case.rotation}
