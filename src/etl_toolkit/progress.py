"""Progress of long work: the library reports it, the caller renders it (issue 16).

A pipeline function takes `progress: Progress | None` (any callable taking a
ProgressEvent) and reports through a Reporter: per unit of work (a file), the
units done (rows, pages, records), the bytes read of the file's size when
known, and the stage it is in. Events come per batch, never per row, so the
cost is nothing next to the batch's own work; with no callback every call
returns at once. The CLI renders the events (etl_toolkit.progress_cli): a rich
display on a TTY, a throttled JSON log line otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class ProgressEvent:
    """A snapshot of a pipeline's progress."""

    pipeline: str  # sales | load-pdf | medly
    stage: str  # what the pipeline does now: validate, copy, merge, check, refresh...
    unit: str = "rows"  # what `done` counts
    item: str | None = None  # the file being worked on; None between files
    done: int = 0  # units done in this item
    total: int | None = None  # units in this item, when known beforehand
    bytes_done: int | None = None  # of the item's file, read so far
    bytes_total: int | None = None  # the item's file size
    items_done: int = 0  # items finished, of items_total
    items_total: int = 0
    units_done: int = 0  # units done over all items (this one included)
    seconds: float = 0.0  # since this item started
    finished: bool = False  # this item is done (its last event)

    @property
    def rate(self) -> float | None:
        """Units per second in this item."""
        return self.done / self.seconds if self.seconds > 0 else None


class Progress(Protocol):
    def __call__(self, event: ProgressEvent, /) -> None: ...


class Reporter:
    """A pipeline's handle on its caller's Progress; every method is a no-op without one."""

    def __init__(
        self, progress: Progress | None, pipeline: str, *, items_total: int = 0, unit: str = "rows"
    ) -> None:
        self.progress = progress
        self.event = ProgressEvent(pipeline, "start", unit=unit, items_total=items_total)
        self._started = time.monotonic()
        self._units_before = 0  # units of the finished items

    def _emit(self, **changes: object) -> None:
        if self.progress is None:
            return
        changes["seconds"] = time.monotonic() - self._started
        self.event = replace(self.event, **changes)  # type: ignore[arg-type]
        self.progress(self.event)

    def items(self, total: int) -> None:
        """The number of items became known (after discovery)."""
        if self.progress is not None:
            self.event = replace(self.event, items_total=total)

    def start(
        self,
        item: str,
        stage: str,
        *,
        bytes_total: int | None = None,
        total: int | None = None,
    ) -> None:
        self._begin(item, stage, total, bytes_total)

    def stage(self, stage: str) -> None:
        """This item's new stage."""
        self._emit(stage=stage)

    def overall(self, stage: str) -> None:
        """A stage over all items (check, refresh): no current item."""
        self._begin(None, stage, None, None)

    def _begin(
        self, item: str | None, stage: str, total: int | None, bytes_total: int | None
    ) -> None:
        if self.progress is None:
            return
        self._started = time.monotonic()
        self._emit(
            item=item,
            stage=stage,
            done=0,
            total=total,
            bytes_done=0 if bytes_total is not None else None,
            bytes_total=bytes_total,
            finished=False,
        )

    def advance(
        self, units: int, *, bytes_done: int | None = None, total: int | None = None
    ) -> None:
        """`units` more done in this item; `bytes_done` is the position in its file."""
        if self.progress is None:
            return
        done = self.event.done + units
        changes: dict[str, object] = {"done": done, "units_done": self._units_before + done}
        if bytes_done is not None:
            bound = self.event.bytes_total
            changes["bytes_done"] = min(bytes_done, bound) if bound is not None else bytes_done
        if total is not None:
            changes["total"] = total
        self._emit(**changes)

    def finish(self, *, stage: str = "done") -> None:
        """This item is done (loaded, skipped or failed)."""
        if self.progress is None:
            return
        self._units_before += self.event.done
        self._emit(
            stage=stage,
            finished=True,
            items_done=self.event.items_done + 1,
            bytes_done=self.event.bytes_total,
            units_done=self._units_before,
        )
