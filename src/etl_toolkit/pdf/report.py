"""What a `load-pdf` run reports: one FileReport per file, and the run's totals.

Pure: no database, no printing. The CLI shows it with clikit.emit, the run
ledger stores its body, the workflow reads its files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from etl_toolkit.jsonable import jsonable
from etl_toolkit.report import Detail, Section

Status = Literal["loaded", "replaced", "unchanged", "failed"]


@dataclass
class FileReport:
    """One file's outcome; filled in while the file loads."""

    path: str
    status: Status
    document_id: str | None = None
    pages: int = 0
    words: int = 0
    failed_pages: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    job_id: str | None = None

    @property
    def note(self) -> str:
        """The error, or which pages failed to parse (the first five)."""
        if self.failed_pages:
            pages = ", ".join(str(p["page"]) for p in self.failed_pages[:5])
            return f"{len(self.failed_pages)} page(s) failed: {pages}"
        return self.error or ""


@dataclass(frozen=True)
class PdfReport:
    """A finished run: its files in the order they were named, and how long it took."""

    run_id: int
    files: Sequence[FileReport]
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> bool:
        return self.count("failed") > 0

    @property
    def status(self) -> str:
        """partial when some files failed and others loaded or were there already;
        failed when every file failed (either way the CLI exits 1)."""
        if not self.failed:
            return "succeeded"
        return "failed" if self.count("failed") == len(self.files) else "partial"

    @property
    def totals(self) -> dict[str, Any]:
        return {
            "files": len(self.files),
            "loaded": self.count("loaded") + self.count("replaced"),
            "unchanged": self.count("unchanged"),
            "failed": self.count("failed"),
            "pages": sum(f.pages for f in self.files),
            "words": sum(f.words for f in self.files),
            "failed_pages": sum(len(f.failed_pages) for f in self.files),
            "seconds": round(self.seconds, 3),
        }

    @cached_property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = jsonable(
            {
                "run_id": self.run_id,
                "status": self.status,
                "files": list(self.files),
                "totals": self.totals,
            }
        )
        return body

    def _totals_line(self) -> str:
        t = self.totals
        replaced = f" ({self.count('replaced')} replaced)" if self.count("replaced") else ""
        return (
            f"{t['files']} files: {t['loaded']} loaded{replaced}, {t['unchanged']} unchanged, "
            f"{t['failed']} failed; {t['pages']} pages, {t['words']} words "
            f"in {t['seconds']:.2f} s"
        )

    def _files(self) -> Section:
        rows = [
            (f.path, f.status, f.pages, f.words, f"{f.seconds:.2f}", f.note) for f in self.files
        ]
        columns = ["file", "status", "pages", "words", "seconds", "error"]
        return Section(f"load-pdf run {self.run_id}", columns, rows)

    def summary(self) -> list[Detail]:
        # A row per file is the summary: a batch is read file by file.
        return [self._files(), self._totals_line()]

    def details(self) -> list[Detail]:
        """The summary, and every page that failed to parse (the table names five)."""
        pages = [(f.path, p["page"], p["error"]) for f in self.files for p in f.failed_pages]
        failed = [Section("pages that failed to parse", ["file", "page", "error"], pages)]
        return [self._files(), *(failed if pages else []), self._totals_line()]

    def errors(self) -> list[str]:
        return [f"{f.path}: {f.error}" for f in self.files if f.status == "failed"]

    def error(self, shown: int = 10) -> str | None:
        """The run's error for the ledger: how many files failed, and which, with their
        reasons; None when none did."""
        failed = [f for f in self.files if f.status == "failed"]
        if not failed:
            return None
        listed = "; ".join(f"{f.path}: {f.error}" for f in failed[:shown])
        more = f"; and {len(failed) - shown} more" if len(failed) > shown else ""
        return f"{len(failed)} of {len(self.files)} file(s) failed: {listed}{more}"
