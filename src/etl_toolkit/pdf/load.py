"""`etl load-pdf`: PDFs into docs.documents / docs.pages / docs.words.

Per file: hash the bytes; the same bytes again are `unchanged` (nothing is
written, no job is recorded) unless `force`. Otherwise an extraction job is
recorded (pending -> processing -> completed | failed) and the document is
written in one transaction (the rows appear all at once or not at all; with
`force` the old rows are replaced in that same transaction). Pages arrive
from the worker pool in order and go straight into COPY, so memory does not
grow with the page count. A failing file is reported and the batch goes on.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from etl_toolkit.db.connect import Database
from etl_toolkit.db.copy import check_columns, copy_rows
from etl_toolkit.db.queries import query
from etl_toolkit.errors import InputError
from etl_toolkit.log import get_logger
from etl_toolkit.pdf import jobs
from etl_toolkit.pdf.encode import EncodedPage, clean_text
from etl_toolkit.pdf.extract import DocumentInfo, PdfError
from etl_toolkit.pdf.parallel import ExtractionTimeout, Extractor
from etl_toolkit.progress import Progress, Reporter
from etl_toolkit.runs import track_run

log = get_logger("etl_toolkit.pdf")

# Document ids are uuid5(NAMESPACE, sha256): the same bytes always get the same id.
NAMESPACE = uuid.UUID("6f1d1c8e-5c3a-4d4b-9b1e-2f7a9c0e8d31")
DEFAULT_TIMEOUT = 300.0

Status = Literal["loaded", "replaced", "unchanged", "failed"]


@dataclass
class FileReport:
    path: str
    status: Status
    document_id: str | None = None
    pages: int = 0
    words: int = 0
    failed_pages: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    job_id: str | None = None


@dataclass
class LoadReport:
    files: list[FileReport]
    run_id: int | None = None
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def totals(self) -> dict[str, Any]:
        return {
            "files": len(self.files),
            "loaded": self.count("loaded") + self.count("replaced"),
            "unchanged": self.count("unchanged"),
            "failed": self.failed,
            "pages": sum(f.pages for f in self.files),
            "words": sum(f.words for f in self.files),
            "failed_pages": sum(len(f.failed_pages) for f in self.files),
            "seconds": round(self.seconds, 3),
        }


def discover(paths: Sequence[Path]) -> list[Path]:
    """Files named directly, and *.pdf (any case) found recursively under folders.

    A folder without a PDF is an error, not an empty success: it is most likely
    the wrong folder (issue 13, section 3). Files named directly are kept even
    when missing: each one fails on its own with its reason.
    """
    found: list[Path] = []
    empty: list[str] = []
    for p in paths:
        if p.is_dir():
            entries = sorted(p.rglob("*"))
            pdfs = [c for c in entries if c.suffix.lower() == ".pdf"]
            if not pdfs:
                others = sum(1 for c in entries if c.is_file())
                empty.append(f"{p} (found {others} other file{'' if others == 1 else 's'})")
            found.extend(pdfs)
        else:
            found.append(p)
    if empty:
        raise InputError(
            f"no PDF under {', '.join(empty)}: looked for *.pdf (any case) in the folder "
            "and its subfolders",
            hint="pass a folder that holds PDFs, or name the files",
        )
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class _Candidate:
    path: Path
    sha256: str
    size: int

    @property
    def document_id(self) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, self.sha256)


def inspect(path: Path) -> _Candidate:
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
    return _Candidate(path, digest.hexdigest(), size)


def load_pdfs(
    db: Database,
    paths: Sequence[Path],
    *,
    workers: int = 2,
    password: str | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    labels: Mapping[Path, str] | None = None,
) -> LoadReport:
    """Load every PDF under `paths`; one FileReport per file, failures included.

    `labels` names a file by something other than its path, in the report and
    as the document's name and source (a PDF read from stdin)."""
    started = time.perf_counter()
    files = discover(paths)
    labels = labels or {}
    report = LoadReport([])
    reporter = Reporter(progress, "load-pdf", items_total=len(files), unit="pages")
    args = {
        "paths": [labels.get(p, str(p)) for p in paths],
        "workers": workers,
        "force": force,
        "timeout": timeout,
        "password": "***" if password else None,
    }

    def done(fr: FileReport) -> None:
        fr.path = labels.get(Path(fr.path), fr.path)
        report.files.append(fr)
        reporter.finish(stage=fr.status)

    # The pool forks before any database connection exists in this process.
    with Extractor(workers, timeout) as extractor, track_run(db, "load-pdf", args) as run:
        report.run_id = run.id
        todo: list[_Candidate] = []
        with db.connect(autocommit=True) as conn:
            for job_id in jobs.fail_orphaned(conn):  # left by runs closed as abandoned
                log.warning("failed an abandoned extraction job", job_id=str(job_id))
            for path in files:
                t0 = time.perf_counter()
                reporter.start(labels.get(path, str(path)), "hash")
                try:
                    cand = inspect(path)
                except PdfError as exc:
                    done(_failed_without_document(conn, path, str(exc), run.id, t0))
                    continue
                existing = conn.execute(
                    query("docs", "find_by_sha"), {"sha256": cand.sha256}
                ).fetchone()
                if existing is not None and not force:
                    done(
                        FileReport(
                            str(path),
                            "unchanged",
                            str(existing["id"]),
                            seconds=time.perf_counter() - t0,
                        )
                    )
                    continue
                todo.append(cand)
            by_path = {c.path: c for c in todo}
            jobs_in = [(c.path, password, str(c.document_id)) for c in todo]
            for path, items in extractor.extract(jobs_in):
                label = labels.get(path)
                # Pages, not bytes, measure a PDF's progress: extraction does not read it in order.
                reporter.start(label or str(path), "extract")
                done(_load_one(db, conn, by_path[path], items, force, run.id, reporter, label))
        order = {labels.get(p, str(p)): i for i, p in enumerate(files)}
        report.files.sort(key=lambda fr: order[fr.path])
        report.seconds = time.perf_counter() - started
        run.counts = report.totals
        run.report = {"files": [_summary(f) for f in report.files]}
        if report.failed:  # the CLI exits 1: the ledger must not say succeeded
            run.status = "failed" if report.failed == len(report.files) else "partial"
            run.error = failed_files_error(report.files)
    return report


def load_pdf_stream(
    db: Database,
    stream: BinaryIO,
    *,
    name: str,
    workers: int = 2,
    password: str | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> LoadReport:
    """Load one PDF read from `stream` (stdin), named `name` in the report and the
    database. The bytes are spooled to a temporary file first: extraction needs
    to seek."""
    if not name.strip() or any(c in name for c in "/\\") or name in (".", ".."):
        raise InputError(
            f"--name {name!r} is not a file name", hint="give a name such as report.pdf"
        )
    with tempfile.TemporaryDirectory(prefix="etl-stdin-") as tmp:
        path = Path(tmp) / "stdin.pdf"
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        return load_pdfs(
            db,
            [path],
            workers=workers,
            password=password,
            force=force,
            timeout=timeout,
            progress=progress,
            labels={path: name},
        )


def failed_files_error(files: Sequence[FileReport], shown: int = 10) -> str:
    """The run's error: how many files failed, and which, with their reasons."""
    failed = [f for f in files if f.status == "failed"]
    listed = "; ".join(f"{f.path}: {f.error}" for f in failed[:shown])
    more = f"; and {len(failed) - shown} more" if len(failed) > shown else ""
    return f"{len(failed)} of {len(files)} file(s) failed: {listed}{more}"


def _summary(f: FileReport) -> dict[str, Any]:
    return {
        "path": f.path,
        "status": f.status,
        "document_id": f.document_id,
        "pages": f.pages,
        "words": f.words,
        "failed_pages": len(f.failed_pages),
        "error": f.error,
    }


def _failed_without_document(
    conn: psycopg.Connection[Any], path: Path, error: str, run_id: int, t0: float
) -> FileReport:
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


def _load_one(
    db: Database,
    jobs_conn: psycopg.Connection[Any],
    cand: _Candidate,
    items: Iterator[DocumentInfo | EncodedPage],
    force: bool,
    run_id: int,
    reporter: Reporter,
    label: str | None = None,
) -> FileReport:
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
