"""Pages extracted in parallel worker processes, handed back file by file, in order.

Work is a sliding window of tasks over (file, page range). A file's first task
opens it, counts its pages, reads its metadata and extracts the first few
pages, so a batch of small files keeps every worker busy; the rest of a long
file is split into chunks once its page count is known. At most
`2 x workers` tasks are in flight, so memory stays bounded however long the
file: the caller consumes pages as they come and never holds a whole document.

A file whose extraction outlives its timeout has its pool terminated (the only
way to stop a stuck parse); in-flight work for other files is resubmitted to a
fresh pool.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import multiprocessing.pool
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl_toolkit.errors import EtlError
from etl_toolkit.pdf.encode import EncodedPage, encode_page
from etl_toolkit.pdf.extract import (
    DocumentInfo,
    PdfError,
    count_pages,
    extract_pages,
    open_document,
    read_info,
)

FIRST_CHUNK = 4
MAX_CHUNK = 16
DEFAULT_TIMEOUT = 300.0  # seconds per file
MAX_WORKERS = 64


def usable_cpus(cgroup: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The CPUs this process may keep busy: its affinity (taskset, a cpuset
    container), bounded by a cgroup v2 CPU quota (a Kubernetes limit, `docker
    --cpus`), which affinity does not show."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        quota, period = cgroup.read_text().split()
        if quota != "max":
            cpus = min(cpus or 1, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit readable: the affinity stands
    return max(1, cpus or 1)


# Extraction is CPU-bound (pdfminer in pure Python), so one worker per usable CPU;
# memory stays bounded per worker (tests/pdf/test_pdf_memory.py: under ~75 MB each
# at 1,000 pages). The library, the CLI and the workflow use this one default.
DEFAULT_WORKERS = min(usable_cpus(), MAX_WORKERS)


@dataclass
class ChunkResult:
    info: DocumentInfo | None = None
    pages: list[EncodedPage] = field(default_factory=list)
    error: str | None = None


def run_chunk(
    path: str, password: str | None, document_id: str, start: int, stop: int | None
) -> ChunkResult:
    """Worker: pages [start, stop) of one file, encoded for COPY; `stop=None` is the
    first task, which also counts the pages and reads the metadata."""
    try:
        with open(path, "rb") as fp:
            doc = open_document(fp, password)
            info = None
            if stop is None:
                n = count_pages(doc)
                info = read_info(doc, n)
                stop = min(n, FIRST_CHUNK)
            pages = [encode_page(document_id, p) for p in extract_pages(doc, start, stop)]
            return ChunkResult(info, pages)
    except PdfError as exc:
        return ChunkResult(error=str(exc))
    except MemoryError:
        return ChunkResult(error="out of memory while parsing")
    except Exception as exc:  # anything else pdfminer throws is a broken file, not our crash
        return ChunkResult(error=f"unreadable PDF: {type(exc).__name__}: {exc}")


class ExtractionTimeout(EtlError):
    """A file outlived the per-file timeout. Terminal for that file: a retry parses
    the same bytes as slowly (the fix is a larger --timeout), so it fails like a bad file."""

    http_status = 422
    title = "Extraction timeout"


@dataclass
class _Task:
    start: int
    stop: int | None
    result: multiprocessing.pool.AsyncResult[ChunkResult] | None = None
    done: bool = False  # consumed (its result is dropped to free the pages)


@dataclass
class _File:
    path: Path
    password: str | None
    document_id: str
    tasks: list[_Task] = field(default_factory=list)
    info: DocumentInfo | None = None


class Extractor:
    """Owns the worker pool; `extract()` yields each file's pages in order."""

    def __init__(self, workers: int, timeout: float) -> None:
        self.workers = max(1, workers)
        self.timeout = timeout
        # fork: workers start in milliseconds and only run pdfminer (no DB, no threads).
        self._ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self._pool = self._new_pool()
        self._files: list[_File] = []
        self._current = 0

    def _new_pool(self) -> multiprocessing.pool.Pool:
        return self._ctx.Pool(self.workers)

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- scheduling ----------------------------------------------------------------------

    def _inflight(self) -> int:
        return sum(
            1
            for f in self._files[self._current :]
            for t in f.tasks
            if t.result is not None and not t.result.ready()
        )

    def _fill(self) -> None:
        """Submit tasks, the current file's first, up to the window."""
        window = 2 * self.workers
        lookahead = self._files[self._current : self._current + window]
        for f in lookahead:
            if not f.tasks:
                f.tasks.append(_Task(0, None))
            for t in f.tasks:
                if t.result is None and not t.done:
                    if self._inflight() >= window:
                        return
                    self._submit(f, t)

    def _submit(self, f: _File, t: _Task) -> None:
        t.result = self._pool.apply_async(
            run_chunk, (str(f.path), f.password, f.document_id, t.start, t.stop)
        )

    def _reset_pool(self) -> None:
        self._pool.terminate()
        self._pool.join()
        self._pool = self._new_pool()
        for f in self._files[self._current + 1 :]:
            for t in f.tasks:
                t.result = None

    def _plan(self, f: _File, page_count: int) -> None:
        rest = page_count - FIRST_CHUNK
        if rest <= 0:
            return
        size = min(MAX_CHUNK, max(1, math.ceil(rest / (self.workers * 3))))
        for start in range(FIRST_CHUNK, page_count, size):
            f.tasks.append(_Task(start, min(start + size, page_count)))

    # ---- consumption ---------------------------------------------------------------------

    def extract(
        self, files: list[tuple[Path, str | None, str]]
    ) -> Iterator[tuple[Path, Iterator[DocumentInfo | EncodedPage]]]:
        """For each (path, password, document id): its DocumentInfo, then its pages in order.

        The inner iterator raises PdfError for a broken file and
        ExtractionTimeout when the file outlives the timeout. Consume each inner
        iterator before moving on to the next file.
        """
        self._files = [_File(p, pw, doc_id) for p, pw, doc_id in files]
        for index, f in enumerate(self._files):
            self._current = index
            self._fill()
            yield f.path, self._file_items(f)

    def _wait(self, task: _Task, deadline: float) -> ChunkResult:
        assert task.result is not None
        remaining = deadline - time.monotonic()
        try:
            return task.result.get(timeout=max(remaining, 0.001))
        except mp.TimeoutError:
            self._reset_pool()
            raise ExtractionTimeout(
                f"extraction exceeded the per-file timeout of {self.timeout:g} s"
            ) from None

    def _file_items(self, f: _File) -> Iterator[DocumentInfo | EncodedPage]:
        deadline = time.monotonic() + self.timeout
        i = 0
        while i < len(f.tasks):
            task = f.tasks[i]
            if task.result is None:  # the file being consumed goes first, window or not
                self._submit(f, task)
            chunk = self._wait(task, deadline)
            if chunk.error is not None:
                raise PdfError(chunk.error)
            if chunk.info is not None:
                f.info = chunk.info
                self._plan(f, chunk.info.page_count)
                yield chunk.info
            yield from chunk.pages
            task.result, task.done = None, True  # release the pages
            i += 1
            self._fill()

    def __del__(self) -> None:
        pool: Any = getattr(self, "_pool", None)
        if pool is not None:
            pool.terminate()
