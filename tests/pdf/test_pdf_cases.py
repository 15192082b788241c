"""The generated hard-case PDFs are reproducible and readable by an independent implementation.

pdfminer (and so pdfplumber) both reads them in the integration tests; pdfium
(pypdfium2, installed with pdfplumber) checks here that the files, and the
encryption above all, follow the standard rather than one reader's habits.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pypdfium2
import pytest

from tests.paths import ROOT
from tests.pdf_cases import ENCRYPTIONS, OWNER, USER, all_cases

CASES = {c.name: c for c in all_cases()}


def _digest_in_subprocess(seed: str) -> str:
    code = (
        "import hashlib; from tests.pdf_cases import all_cases; "
        "print(hashlib.sha256(b''.join(c.data for c in all_cases())).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_generation_is_deterministic_across_processes() -> None:
    here = hashlib.sha256(b"".join(c.data for c in all_cases())).hexdigest()
    assert _digest_in_subprocess("1") == _digest_in_subprocess("2") == here


def test_every_case_has_its_own_name_and_bytes() -> None:
    cases = all_cases()
    assert len({c.name for c in cases}) == len({c.data for c in cases}) == len(cases)


def _pdfium_pages(data: bytes, password: str | None = None) -> int:
    doc = pypdfium2.PdfDocument(data, password=password)
    try:
        return len(doc)
    finally:
        doc.close()


@pytest.mark.parametrize("method", ENCRYPTIONS)
def test_pdfium_opens_the_encrypted_cases_only_with_a_right_password(method: str) -> None:
    locked = CASES[f"{method}-user-password"].data
    for password in (USER, OWNER):
        assert _pdfium_pages(locked, password) == 2
    for password in (None, "nope"):
        with pytest.raises(pypdfium2.PdfiumError, match="password"):
            _pdfium_pages(locked, password)
    owner_only = CASES[f"{method}-owner-only"].data
    assert _pdfium_pages(owner_only) == _pdfium_pages(owner_only, OWNER) == 2


def test_pdfium_sees_the_page_counts_except_where_the_case_says_otherwise() -> None:
    for name, case in CASES.items():
        if name == "zero-pages":  # pdfium refuses an empty page tree outright
            with pytest.raises(pypdfium2.PdfiumError):
                _pdfium_pages(case.data)
        elif name == "damaged-xref-offsets":  # pdfium repairs it; pdfminer sees 0 pages
            assert (case.pages, _pdfium_pages(case.data)) == (0, 1)
        else:
            assert _pdfium_pages(case.data, case.password) == case.pages, name
