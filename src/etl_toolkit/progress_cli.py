"""Rendering a pipeline's progress (etl_toolkit.progress): a rich display on a
TTY, a JSON log line at most every few seconds otherwise, nothing with --quiet."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from etl_toolkit.clikit import stderr
from etl_toolkit.log import configure_logging, get_logger
from etl_toolkit.progress import Progress, ProgressEvent

# Off a TTY: one progress line per this many seconds at most.
JSON_INTERVAL = 3.0
# Finished files kept on screen; older ones give way (load-pdf runs 80 files).
KEEP_FINISHED = 5


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    value = n / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def detail(e: ProgressEvent) -> str:
    """The event in words: stage, units done (of the total), ETA, rate, bytes read
    of the size (in that order: a narrow terminal cuts from the end)."""
    of = f"/{e.total:,}" if e.total is not None else ""
    parts = [e.stage, f"{e.done:,}{of} {e.unit}"]
    if not e.finished and (left := eta(e)) is not None:
        parts.append(f"eta {_clock(left)}")
    if (rate := e.rate) is not None and e.done:
        parts.append(f"{rate:,.0f} {e.unit}/s")
    if e.bytes_total:
        parts.append(f"{_size(e.bytes_done or 0)}/{_size(e.bytes_total)}")
    return "  ".join(parts)


def eta(e: ProgressEvent) -> float | None:
    """Seconds left in this item, from bytes (or units) done so far."""
    done, total = (e.bytes_done, e.bytes_total) if e.bytes_total else (e.done, e.total)
    if not done or not total or e.seconds <= 0:
        return None
    return max(0.0, (total - done) * e.seconds / done)


class RichView:
    """Per file: its name, a bar of bytes (or pages), the time spent, then the
    stage, the units done, the ETA, the rate and the bytes read of the size;
    above them a line with the files done of the total (and the stage over all
    files: check, refresh). Texts are cut to the terminal's width here: left to
    rich, a long line would shrink the bar and the clock instead."""

    BAR = 16

    def __init__(self) -> None:
        self.live = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=self.BAR),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=stderr,
            transient=True,
        )
        self.overall: TaskID | None = None
        self.current: TaskID | None = None
        self.finished: list[TaskID] = []

    def __enter__(self) -> RichView:
        self.live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.live.__exit__(exc_type, exc, tb)

    def _fit(self, text: str, width: int) -> str:
        return text if len(text) <= width else text[: max(width - 1, 0)] + "…"

    def __call__(self, e: ProgressEvent) -> None:
        width = self.live.console.width
        name = max(16, min(34, width // 4))  # the first column: file names, the head line
        room = max(width - name - self.BAR - 7 - 3, 8)  # what the details get
        head = f"{e.pipeline}: {e.items_done}/{e.items_total} files"
        total_units = f"{e.units_done:,} {e.unit}" if e.units_done else ""
        if self.overall is None:
            self.overall = self.live.add_task("", total=None, detail="")
        self.live.update(
            self.overall,
            description=self._fit(head, name).ljust(name),
            total=e.items_total or None,
            completed=e.items_done,
            detail=self._fit(total_units if e.item else f"{e.stage}  {total_units}", room),
        )
        if e.item is None:
            return
        total = e.bytes_total or e.total
        done = (e.bytes_done or 0) if e.bytes_total else e.done
        item = e.item if len(e.item) <= name - 2 else "…" + e.item[-(name - 3) :]
        if self.current is None:
            self.current = self.live.add_task("", total=total, detail="")
        self.live.update(
            self.current,
            description=f"  {item}".ljust(name),
            total=total,
            completed=total if e.finished and total else done,
            detail=self._fit(detail(e), room),
        )
        if e.finished:
            self.finished.append(self.current)
            self.current = None
            while len(self.finished) > KEEP_FINISHED:
                self.live.remove_task(self.finished.pop(0))


class JsonView:
    """A structlog `progress` event on stderr, at most every `interval` seconds."""

    def __init__(self, interval: float = JSON_INTERVAL) -> None:
        self.interval = interval
        self.last: float | None = None
        self.log = get_logger("etl_toolkit.progress")

    def __call__(self, e: ProgressEvent) -> None:
        now = time.monotonic()
        if self.last is not None and now - self.last < self.interval:
            return
        self.last = now
        left = eta(e)
        self.log.info(
            "progress",
            pipeline=e.pipeline,
            stage=e.stage,
            file=e.item,
            unit=e.unit,
            done=e.done,
            total=e.total,
            rate=round(e.rate, 1) if e.rate is not None else None,
            bytes_done=e.bytes_done,
            bytes_total=e.bytes_total,
            eta_seconds=round(left, 1) if left is not None else None,
            files_done=e.items_done,
            files_total=e.items_total,
        )


@contextmanager
def shown(quiet: bool) -> Iterator[Progress | None]:
    """The progress callback for a long command; with `quiet` none, and only
    warnings and errors are logged."""
    if quiet:
        configure_logging("WARNING")
        yield None
    elif sys.stderr.isatty():
        with RichView() as view:
            yield view
    else:
        yield JsonView()
