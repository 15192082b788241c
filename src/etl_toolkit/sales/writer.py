"""The load's writer thread: a file's database work in the background."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from etl_toolkit.db.copy import Conn


class Writer:
    """Runs a file's database work on its connection in a background thread, in
    submission order, so that Polars prepares the next batch while PostgreSQL
    ingests the previous one (on two cores: one validates, one is the server's
    COPY). Nothing else may use the connection until the block ends; the first
    error is raised there."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sales-writer", daemon=True)

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def submit(self, job: Callable[[], None]) -> None:
        if self.error is not None:
            raise self.error
        self.jobs.put(job)

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            if self.error is None:
                try:
                    job()
                except BaseException as exc:  # handed to the submitting thread
                    self.error = exc

    def __exit__(self, *exc: object) -> None:
        self.jobs.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error
