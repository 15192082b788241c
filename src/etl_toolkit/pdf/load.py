"""Loading one PDF into docs.documents / docs.pages / docs.words (the run around it:
etl_toolkit.pdf.pipeline).

Per file: hash the bytes; the same bytes again are `unchanged` (nothing is
written, no job is recorded) unless `force`. Otherwise an extraction job is
recorded (pending -> processing -> completed | failed) and the document is
written in one transaction (the rows appear all at once or not at all; with
`force` the old rows are replaced in that same transaction). Pages arrive
from the worker pool in order and go straight into COPY, so memory does not
grow with the page count. A failing file is reported and the batch goes on;
a lost database stops the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from etl_toolkit.db.connect import Database
from etl_toolkit.db.copy import check_columns, copy_rows
from etl_toolkit.db.queries import query
from etl_toolkit.errors import DatabaseUnavailable, connection_lost
from etl_toolkit.log import get_logger
from etl_toolkit.pdf import jobs
from etl_toolkit.pdf.encode import EncodedPage, clean_text
from etl_toolkit.pdf.extract import DocumentInfo, PdfError
from etl_toolkit.pdf.parallel import ExtractionTimeout
from etl_toolkit.pdf.report import FileReport
from etl_toolkit.progress import Reporter

log = get_logger("etl_toolkit.pdf")
Conn = psycopg.Connection[Any]

# Document ids are uuid5(NAMESPACE, sha256): the same bytes always get the same id.
NAMESPACE = uuid.UUID("6f1d1c8e-5c3a-4d4b-9b1e-2f7a9c0e8d31")


@dataclass(frozen=True)
class Candidate:
    """A file that passed `inspect`: its bytes' hash and size."""

    path: Path
    sha256: str
    size: int

    @property
    def document_id(self) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, self.sha256)


def inspect(path: Path) -> Candidate:
    """Hash the file (streamed) and reject what is plainly not a PDF, before any worker runs."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with path.open("rb") as fp:
            while block := fp.read(1 << 20):
                if size == 0:
                    head = block[:1024]
                digest.update(block)
                size += len(block)
    except FileNotFoundError:
        raise PdfError("no such file") from None
    except IsADirectoryError:
        raise PdfError("cannot read: is a directory") from None
    except OSError as exc:
        raise PdfError(f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise PdfError("empty file (0 bytes)")
    if b"%PDF-" not in head:
        raise PdfError("not a PDF: no %PDF- header in the first 1024 bytes")
    return Candidate(path, digest.hexdigest(), size)


def find_loaded(conn: Conn, cand: Candidate) -> str | None:
    """The id of the document with these bytes, when one is loaded already."""
    row = conn.execute(query("docs", "find_by_sha"), {"sha256": cand.sha256}).fetchone()
    return None if row is None else str(row["id"])


def failed_without_document(
    conn: Conn, path: Path, error: str, run_id: int, t0: float
) -> FileReport:
    """A file that failed before extraction (unreadable, not a PDF): a failed job, named
    by its path."""
    # No bytes to hash: the job names the file instead (a stable id per path).
    doc_id = str(uuid.uuid5(NAMESPACE, f"path:{path.resolve()}"))
    job = jobs.create_job(conn, doc_id, metadata={"file": str(path), "run_id": run_id})
    jobs.set_status(conn, job.id, "failed", error)
    log.warning("file failed", path=str(path), error=error)
    return FileReport(
        str(path),
        "failed",
        doc_id,
        seconds=time.perf_counter() - t0,
        error=error,
        job_id=str(job.id),
    )


def load_one(
    db: Database,
    jobs_conn: Conn,
    cand: Candidate,
    items: Iterator[DocumentInfo | EncodedPage],
    force: bool,
    run_id: int,
    reporter: Reporter,
    label: str | None = None,
) -> FileReport:
    """One file, its pages read from `items` (the Extractor's), in one transaction.

    A broken file or a timeout fails the file (its job says why) and the batch goes
    on; a lost database stops the run (DatabaseUnavailable, transient): a retry
    once it is back finishes the job, while failing every remaining file would not.
    """
    t0 = time.perf_counter()
    doc_id = cand.document_id
    fr = FileReport(str(cand.path), "loaded", str(doc_id))
    job = jobs.create_job(
        jobs_conn,
        str(doc_id),
        metadata={"file": str(cand.path), "sha256": cand.sha256, "run_id": run_id},
    )
    fr.job_id = str(job.id)
    jobs.set_status(jobs_conn, job.id, "processing")
    try:
        with db.connect() as conn:  # one transaction: all of the document or none of it
            info = next(items)
            assert isinstance(info, DocumentInfo)
            reporter.stage("copy")
            reporter.advance(0, total=info.page_count)
            if force and conn.execute(query("docs", "delete_document"), {"id": doc_id}).rowcount:
                fr.status = "replaced"
            inserted = conn.execute(
                query("docs", "insert_document"),
                {
                    "id": doc_id,
                    "name": label or cand.path.name,
                    "source_path": label or str(cand.path.resolve()),
                    "sha256": cand.sha256,
                    "size_bytes": cand.size,
                    "page_count": info.page_count,
                    "metadata": Jsonb(_clean_json(info.metadata)),
                },
            ).fetchone()
            if inserted is None:  # another process loaded the same bytes meanwhile
                conn.rollback()
                fr.status = "unchanged"
                jobs.set_status(jobs_conn, job.id, "completed", "already loaded by another run")
                fr.seconds = time.perf_counter() - t0
                return fr
            pages = (p for p in items if isinstance(p, EncodedPage))
            _copy_pages(conn, doc_id, pages, fr, reporter)
            conn.execute(query("docs", "finish_document"), {"id": doc_id})
    except (PdfError, ExtractionTimeout) as exc:
        fr.status, fr.error, fr.pages, fr.words = "failed", str(exc), 0, 0
        fr.failed_pages = []
    except psycopg.Error as exc:
        if connection_lost(exc):
            raise _stop(jobs_conn, job.id, fr.path, exc) from exc  # the run stops
        # A statement that failed on a live connection (a timeout, a deadlock) fails its file.
        fr.status, fr.error, fr.pages, fr.words = "failed", f"database: {exc}".strip(), 0, 0
        fr.failed_pages = []
    fr.seconds = time.perf_counter() - t0
    if fr.status == "failed":
        jobs.set_status(jobs_conn, job.id, "failed", fr.error)
        log.warning("file failed", path=fr.path, error=fr.error)
    else:
        note = f"{len(fr.failed_pages)} page(s) failed to parse" if fr.failed_pages else None
        jobs.set_status(jobs_conn, job.id, "completed", note)
        log.info("file loaded", path=fr.path, pages=fr.pages, words=fr.words)
    return fr


def _stop(
    jobs_conn: Conn, job_id: uuid.UUID, path: str, exc: psycopg.OperationalError
) -> DatabaseUnavailable:
    """What stops the run when the database went away; the job records it when its
    own connection survived (else the next run's `fail_orphaned` does)."""
    error = lost_database(exc, f"while loading {path}")
    with contextlib.suppress(psycopg.Error):
        jobs.set_status(jobs_conn, job_id, "failed", str(error))
    log.error("run stopped", path=path, error=str(error))
    return error


def lost_database(exc: psycopg.OperationalError, where: str) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"lost the database {where}: {' '.join(str(exc).split())}",
        hint="the run stopped there; run it again once the database is back",
    )


PAGE_COLUMNS = [
    "document_id",
    "page_number",
    "width",
    "height",
    "rotation",
    "text",
    "word_count",
    "error",
]
WORD_COLUMNS = ["document_id", "page_number", "word_index", "text", "x0", "top", "x1", "bottom"]
FLUSH_BYTES = 4 << 20


def _copy_pages(
    conn: psycopg.Connection[Any],
    doc_id: uuid.UUID,
    pages: Iterable[EncodedPage],
    fr: FileReport,
    reporter: Reporter,
) -> None:
    """COPY pages and their pre-encoded words in bounded batches as they arrive."""
    check_columns(conn, "docs.words", WORD_COLUMNS)
    words_stmt = sql.SQL("COPY docs.words ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, WORD_COLUMNS))
    )
    page_rows: list[tuple[Any, ...]] = []
    words: list[bytes] = []
    size = 0

    def flush() -> None:
        copy_rows(conn, "docs.pages", PAGE_COLUMNS, page_rows)
        with conn.cursor() as cur, cur.copy(words_stmt) as cp:
            for block in words:
                cp.write(block)
        page_rows.clear()
        words.clear()

    for page in pages:
        page_rows.append(
            (
                doc_id,
                page.number,
                page.width,
                page.height,
                page.rotation,
                page.text,
                page.word_count,
                page.error,
            )
        )
        words.append(page.words_copy)
        size += len(page.words_copy)
        fr.pages += 1
        fr.words += page.word_count
        if page.error:
            fr.failed_pages.append({"page": page.number, "error": page.error})
        reporter.advance(1)  # a page is the batch here: one page is many words
        if size >= FLUSH_BYTES:
            flush()
            size = 0
    if page_rows:
        flush()


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value
