"""What one medly migration reports: per entity, per file, per skip reason.

Pure (no database, no printing): the pipeline fills it, the ledger, --json and
--report-file share its body, the CLI shows its summary or details
(etl_toolkit.report.Report).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from etl_toolkit.medly.parse import Cleaned, pointer
from etl_toolkit.report import Detail, Section


@dataclass
class EntityReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deduplicated: int = 0
    skipped: int = 0

    @property
    def balanced(self) -> bool:
        return self.read == (
            self.inserted + self.updated + self.unchanged + self.deduplicated + self.skipped
        )


@dataclass
class FileCounts:
    """Records judged in one file (every level: units, papers, items, attempts...),
    how many were skipped and why."""

    records: int = 0
    skipped: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def share(self) -> float:
        return self.skipped / self.records if self.records else 0.0


@dataclass
class MigrationReport:
    """Filled while the run goes; `body` is computed once, when the run is done."""

    data_dir: str
    run_id: int
    entities: dict[str, EntityReport] = field(default_factory=dict)
    skip_reasons: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Skipped records stored by this run vs. already stored by an earlier run of the same content.
    skipped_stored: dict[str, int] = field(default_factory=dict)
    # Integral decimals loaded as integers, per file and field (`3.0` -> 3).
    cleaned: dict[str, Cleaned] = field(default_factory=dict)
    unresolved: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, FileCounts] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(e.inserted or e.updated for e in self.entities.values())

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files.values())

    @property
    def failed(self) -> bool:
        # A migration that fails raises (one transaction, nothing written): a
        # report exists only for a run that succeeded.
        return False

    @property
    def status(self) -> str:
        return "succeeded"

    @cached_property
    def body(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "data_dir": self.data_dir,
            "entities": {k: {**vars(v), "balanced": v.balanced} for k, v in self.entities.items()},
            "skip_reasons": self.skip_reasons,
            "skipped_stored": self.skipped_stored,
            "cleaned": {f: dict(sorted(c.items())) for f, c in self.cleaned.items() if c},
            "unresolved": self.unresolved,
            "files": {
                f: {"records": c.records, "skipped": c.skipped}
                for f, c in sorted(self.files.items())
            },
            "stages_seconds": {k: round(v, 3) for k, v in self.stages.items()},
            "seconds": round(self.seconds, 3),
            "changed": self.changed,
        }

    def _title(self) -> str:
        what = "changes applied" if self.changed else "nothing changed"
        return f"medly run {self.run_id}: {what}"

    def summary(self) -> list[str]:
        skipped = ""
        if self.skipped:
            total = sum(f.records for f in self.files.values())
            skipped = f", {self.skipped} of {total} records skipped"
        return [f"{self._title()} in {self.seconds:.2f}s{skipped} (--report for details)"]

    def details(self) -> list[Detail]:
        out: list[Detail] = [
            Section(
                self._title(),
                ["entity", "read", "inserted", "updated", "unchanged", "deduplicated", "skipped"],
                [
                    (k, v.read, v.inserted, v.updated, v.unchanged, v.deduplicated, v.skipped)
                    for k, v in self.entities.items()
                ],
            )
        ]
        if self.skip_reasons:
            by_count = sorted(self.skip_reasons.items(), key=lambda kv: -kv[1]["count"])
            out.append(
                Section(
                    "skipped records",
                    ["reason", "count", "examples"],
                    [
                        (k, v["count"], "; ".join(example(e) for e in v["examples"]))
                        for k, v in by_count
                    ],
                )
            )
            out.append(
                Section(
                    "skipped records per file",
                    ["file", "records", "skipped", "share"],
                    [
                        (f, c.records, c.skipped, f"{c.share:.1%}")
                        for f, c in sorted(self.files.items())
                        if c.skipped
                    ],
                )
            )
        cleaned = [(f, k, n) for f, c in sorted(self.cleaned.items()) for k, n in sorted(c.items())]
        if cleaned:
            out.append(
                Section(
                    "cleaned values (integral decimals such as 3.0 loaded as integers)",
                    ["file", "field", "count"],
                    cleaned,
                )
            )
        if self.skipped_stored.get("already stored"):
            out.append(
                f"{self.skipped_stored['already stored']} skipped record(s) were already stored "
                "by an earlier run of the same files (not stored again)"
            )
        if self.unresolved:
            out.append(
                Section(
                    "unresolved references (kept)",
                    ["reference", "count", "examples"],
                    [(k, v["count"], ", ".join(v["examples"])) for k, v in self.unresolved.items()],
                )
            )
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in self.stages.items())
        out.append(f"{stages}; total {self.seconds:.2f}s")
        return out

    def errors(self) -> list[str]:
        return []


def example(e: dict[str, Any]) -> str:
    """A skipped record as a user finds it: its own key, and its place in the file
    as `file#pointer` (a JSON Pointer in URI-fragment form, RFC 6901 section 6)."""
    position = e.get("position") or ""
    if e.get("key") and position == pointer("targets", e["key"]):
        return f"{e['key']} ({e['file']})"  # an attempt: its key is its place already
    where = f"{e['file']}#{position}"
    return f"{e['key']} ({where})" if e.get("key") else where
