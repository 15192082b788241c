"""`etl load-pdf` as one composition: discover, hash, extract, load, record the run.

The only place a PDF run is opened in the ledger. The CLI calls `load_pdfs` or
`load_pdf_stream`; the Flyte workflow calls `pdf_files` and `load_pdf_file`
(one file per subtask), which go through the same `load_pdfs`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from etl_toolkit.db.connect import Database
from etl_toolkit.errors import InputError, connection_lost
from etl_toolkit.log import get_logger
from etl_toolkit.pdf import jobs
from etl_toolkit.pdf.discover import discover
from etl_toolkit.pdf.extract import PdfError
from etl_toolkit.pdf.load import (
    Candidate,
    failed_without_document,
    find_loaded,
    inspect,
    load_one,
    lost_database,
)
from etl_toolkit.pdf.parallel import DEFAULT_TIMEOUT, DEFAULT_WORKERS, Extractor
from etl_toolkit.pdf.report import FileReport, PdfReport
from etl_toolkit.progress import Progress, Reporter
from etl_toolkit.runs import Run, track_run

log = get_logger("etl_toolkit.pdf")


def load_pdfs(
    db: Database,
    paths: Sequence[Path],
    *,
    workers: int = DEFAULT_WORKERS,
    password: str | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    labels: Mapping[Path, str] | None = None,
) -> PdfReport:
    """Load every PDF under `paths`; one FileReport per file, failures included.

    `labels` names a file by something other than its path, in the report and
    as the document's name and source (a PDF read from stdin). A lost database
    ends the run (DatabaseUnavailable, recorded as the run's error)."""
    started = time.perf_counter()
    files = discover(paths)
    labels = labels or {}
    reporter = Reporter(progress, "load-pdf", items_total=len(files), unit="pages")
    args = {
        "paths": [labels.get(p, str(p)) for p in paths],
        "workers": workers,
        "force": force,
        "timeout": timeout,
        "password": "***" if password else None,
    }
    done: list[FileReport] = []

    def finish(fr: FileReport) -> None:
        fr.path = labels.get(Path(fr.path), fr.path)
        done.append(fr)
        reporter.finish(stage=fr.status)

    # The pool forks before any database connection exists in this process.
    with Extractor(workers, timeout) as extractor, track_run(db, "load-pdf", args) as run:
        try:
            with db.connect(autocommit=True) as conn:
                for job_id in jobs.fail_orphaned(conn):  # left by runs closed as abandoned
                    log.warning("failed an abandoned extraction job", job_id=str(job_id))
                todo: list[Candidate] = []
                for path in files:
                    t0 = time.perf_counter()
                    reporter.start(labels.get(path, str(path)), "hash")
                    try:
                        cand = inspect(path)
                    except PdfError as exc:
                        finish(failed_without_document(conn, path, str(exc), run.id, t0))
                        continue
                    existing = None if force else find_loaded(conn, cand)
                    if existing is not None:
                        seconds = time.perf_counter() - t0
                        finish(FileReport(str(path), "unchanged", existing, seconds=seconds))
                        continue
                    todo.append(cand)
                by_path = {c.path: c for c in todo}
                work = [(c.path, password, str(c.document_id)) for c in todo]
                for path, items in extractor.extract(work):
                    label = labels.get(path)
                    # Pages, not bytes, measure a PDF's progress: extraction reads out of order.
                    reporter.start(label or str(path), "extract")
                    finish(load_one(db, conn, by_path[path], items, force, run.id, reporter, label))
        except BaseException as exc:
            # The run stops (the database went away, Ctrl-C): the files it finished
            # stay counted in its ledger row, which track_run closes as failed.
            stopped = PdfReport(run.id, done, time.perf_counter() - started)
            run.counts, run.report = stopped.totals, stopped.body
            if connection_lost(exc):
                raise lost_database(exc, "during load-pdf") from exc
            raise
        order = {labels.get(p, str(p)): i for i, p in enumerate(files)}
        done.sort(key=lambda fr: order[fr.path])
        report = PdfReport(run.id, done, time.perf_counter() - started)
        _record(run, report)
    return report


def _record(run: Run, report: PdfReport) -> None:
    """The run's end in the ledger: a run with a failed file exits 1, so it is never
    `succeeded` (partial when some loaded)."""
    run.counts = report.totals
    run.report = report.body
    if report.failed:
        run.status, run.error = report.status, report.error()


def load_pdf_stream(
    db: Database,
    stream: BinaryIO,
    *,
    name: str,
    workers: int = DEFAULT_WORKERS,
    password: str | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> PdfReport:
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


# ---- the workflow's stages -----------------------------------------------------------


def pdf_files(folder: Path) -> list[Path]:
    """The PDFs under `folder` (InputError when there is none)."""
    return discover([folder])


def load_pdf_file(db: Database, path: Path) -> FileReport:
    """One file in a run of its own (a workflow subtask). A failed file raises its
    terminal error, so the subtask fails and the others go on; a lost database raises
    DatabaseUnavailable (transient), so the subtask is retried."""
    fr = load_pdfs(db, [path]).files[0]
    if fr.status == "failed":
        raise InputError(f"{path}: {fr.error}")
    return fr
