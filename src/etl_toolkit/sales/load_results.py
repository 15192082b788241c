"""What the load stage reports: per file, per re-tried entity, per run (plain
data: an orchestrator passes them between tasks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import polars as pl

from etl_toolkit.sales.derive import Streamed


class Batch(NamedTuple):
    """A batch of a file: its raw text values, and the checked rows (every reason
    in `_reasons`, null where the row is valid)."""

    raw: pl.DataFrame
    checked: pl.DataFrame


@dataclass
class FileReport:
    file: str
    entity: str
    delivery: str
    sha256: str = ""
    status: str = "pending"  # loaded | skipped (already loaded) | failed
    mode: str = ""  # bulk | merge
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    parked: int = 0  # of the rejected: late arrivals, re-tried when what they reference loads
    superseded: int = 0  # parked rows of earlier files replaced by this file's version
    flagged: int = 0  # loaded rows with a flag (an item total that did not match)
    reasons: dict[str, int] = field(default_factory=dict)
    nulls: dict[str, int] = field(default_factory=dict)  # among loaded rows, per column
    cleaned: dict[str, int] = field(default_factory=dict)  # loaded values rewritten, per column
    error: str | None = None
    seconds: float = 0.0

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated

    @property
    def balanced(self) -> bool:
        return self.read == self.loaded + self.unchanged + self.rejected


@dataclass
class RetryReport:
    """Parked rows of one entity validated again during a run (each row once)."""

    entity: str
    retried: int = 0  # distinct parked rows
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # now refused for another reason: no longer parked
    error: str | None = None

    def __post_init__(self) -> None:
        # Not a field: the report stays made of plain types (Flyte passes it between
        # tasks); a row re-tried by two files of one run counts once.
        self._tried: set[int] = set()  # ids in sales.rejects

    def tried(self, ids: list[int]) -> None:
        self._tried.update(ids)
        self.retried = len(self._tried)

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated


@dataclass
class LoadResult:
    run_id: int
    data_dir: str
    incremental: bool
    files: list[FileReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    retries: dict[str, RetryReport] = field(default_factory=dict)
    parked: dict[str, int] = field(default_factory=dict)  # waiting after the run, per entity
    wal_level: str = ""  # the server's: bulk loads skip WAL only where it is `minimal`
    seconds: float = 0.0

    def __post_init__(self) -> None:
        # Not a field (the report stays plain data between orchestrated tasks): the
        # derived tables of a first load, when this process streamed it.
        self.streamed: Streamed | None = None

    @property
    def changed(self) -> bool:
        return any(f.loaded for f in self.files) or any(r.loaded for r in self.retries.values())

    @property
    def processed(self) -> list[FileReport]:
        return [f for f in self.files if f.status != "skipped"]
