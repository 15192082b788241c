"""What a pipeline run reports, in one shape for every slice.

A pipeline (`<domain>/pipeline.py`) returns a typed report of its domain that
implements `Report`: the run it belongs to, whether it failed, its JSON body,
its one-line summary and its details as sections. The body is computed once
(a `functools.cached_property`): the run ledger, `--json` and `--report-file`
share it. The library never prints; the CLI renders any report with one
helper (`clikit.emit`), the API and the workflows serve the body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Section:
    """A table of a report's details: a title, column names, rows of plain values."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


Detail = Section | str  # a table, or a line of text (rich markup allowed)


class Report(Protocol):
    """The report of one pipeline run."""

    @property
    def run_id(self) -> int: ...

    @property
    def status(self) -> str:
        """The run's outcome as the ledger records it: succeeded, partial, failed (or
        the pipeline's own word for a run with nothing to do, e.g. `nothing new`)."""
        ...

    @property
    def failed(self) -> bool:
        """Whether the run failed: the CLI exits 1, the ledger says failed or partial."""
        ...

    @property
    def body(self) -> dict[str, Any]:
        """The whole report as JSON values, `run_id` and `status` included (computed once)."""
        ...

    def summary(self) -> Sequence[Detail]:
        """The default output: a line (or a short table), then a short line per
        thing to act on."""
        ...

    def details(self) -> list[Detail]:
        """The full report (`--report`): tables and lines, in order."""
        ...

    def errors(self) -> list[str]:
        """What failed, one line each, for stderr (`Error: <line>`); [] when nothing did."""
        ...
