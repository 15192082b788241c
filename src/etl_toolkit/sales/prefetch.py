"""The next file's client-side work, done while the server is busy."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import polars as pl

from etl_toolkit.sales import rules
from etl_toolkit.sales.source import SourceFile, duplicate_rows, read_header, sha256


class Scan(NamedTuple):
    sha256: str  # the file's content hash
    duplicates: dict[str, pl.Series]  # per key column, the rows whose key an earlier row has


class Prefetch:
    """What the next file needs that touches no database (its content hash, its
    duplicate pre-pass over the key columns), started while the server builds
    the current file's indexes: on two cores the client is otherwise idle then.
    Off for incremental runs, whose next file may be skipped unread."""

    def __init__(self, files: list[SourceFile], *, enabled: bool) -> None:
        self.files, self.enabled = files, enabled
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="sales-prefetch")
        self.started: dict[Path, Future[Scan]] = {}

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def after(self, f: SourceFile) -> None:
        following = self.files[self.files.index(f) + 1 :]
        if self.enabled and following and following[0].path not in self.started:
            nxt = following[0]
            self.started[nxt.path] = self.pool.submit(_scan, nxt, "")

    def take(self, f: SourceFile, content: str) -> Scan:
        """The file's hash (`content`, when known already) and duplicate rows (an
        error of the scan is raised here, in the file's own turn)."""
        started = self.started.pop(f.path, None)
        return started.result() if started is not None else _scan(f, content)


def _scan(f: SourceFile, content: str) -> Scan:
    dups = duplicate_rows(f, read_header(f), rules.duplicate_keys(f.entity))
    return Scan(content or sha256(f.path), dups)
