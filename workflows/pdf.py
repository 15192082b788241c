"""PDFs on Flyte: a map task over a folder, one document per subtask.

    pyflyte run workflows/pdf.py pdf_pipeline --folder samples/pdf

A file that fails fails its subtask only (a lost database is transient: the
subtask is retried, see workflows/common.py): the map task accepts any share of
failures but a total one (then nothing loaded, and the workflow fails, which
alerts); the report says which files loaded and which did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flytekit import map_task, task, workflow

from etl_toolkit.pdf.pipeline import load_pdf_file, pdf_files
from workflows.common import RETRIES, database, retry_transient

# Any positive ratio below 1/len(files): at least one document must load.
MIN_SUCCESS_RATIO = 1e-6


@dataclass
class PdfResult:
    path: str
    status: str
    document_id: str = ""
    pages: int = 0
    words: int = 0


@dataclass
class PdfBatch:
    files: int
    loaded: int
    failed: int
    results: list[PdfResult] = field(default_factory=list)
    failed_paths: list[str] = field(default_factory=list)


@task(retries=RETRIES)
@retry_transient
def list_pdfs(folder: str) -> list[str]:
    return [str(p) for p in pdf_files(Path(folder))]


@task(retries=RETRIES)
@retry_transient
def load_one(path: str) -> PdfResult:
    # A failed file fails this subtask only (terminal); a lost database is retried.
    f = load_pdf_file(database(), Path(path))
    return PdfResult(path, f.status, f.document_id or "", f.pages, f.words)


@task
def summarize(paths: list[str], results: list[PdfResult | None]) -> PdfBatch:
    done = [r for r in results if r is not None]
    failed = [p for p, r in zip(paths, results, strict=True) if r is None]
    return PdfBatch(len(paths), len(done), len(failed), done, failed)


@workflow
def pdf_pipeline(folder: str = "samples/pdf") -> PdfBatch:
    paths = list_pdfs(folder=folder)
    results = map_task(load_one, min_success_ratio=MIN_SUCCESS_RATIO)(path=paths)
    return summarize(paths=paths, results=results)
