"""Skipped records: counted in the run's report, staged, then stored in
medly.skipped once per record of a file's content (a re-run does not store
them again)."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from etl_toolkit.db.copy import copy_rows, create_staging
from etl_toolkit.db.queries import query
from etl_toolkit.medly.parse import Cleaned, Skip, raw_json
from etl_toolkit.medly.records import SkippedRecord, staged_columns
from etl_toolkit.medly.report import FileCounts, MigrationReport
from etl_toolkit.medly.staging import BATCH

EXAMPLES = 3  # per skip reason in the report
SKIP_COLUMNS = list(staged_columns(SkippedRecord))


class Skips:
    """The report's record counts per file (accepted and skipped), and the skips."""

    def __init__(
        self, conn: psycopg.Connection[Any], run_id: int, report: MigrationReport, root: Path
    ) -> None:
        self.conn, self.run_id, self.report, self.root = conn, run_id, report, root
        self.rows: list[SkippedRecord] = []
        self.by_entity: dict[str, int] = {}
        self.sha: dict[str, str] = {}
        extra = {"_ord": "bigint GENERATED ALWAYS AS IDENTITY"}
        create_staging(conn, "medly.skipped", "stg_skipped", SKIP_COLUMNS, extra=extra)

    def cleaned(self, source_file: str) -> Cleaned:
        """The counter of normalised integers for this file (the parsers add to it)."""
        found = self.report.cleaned.get(source_file)
        if found is None:  # not setdefault: called per record, it would build a Counter each time
            found = self.report.cleaned[source_file] = Counter()
        return found

    def _counts(self, source_file: str) -> FileCounts:
        found = self.report.files.get(source_file)
        if found is None:
            found = self.report.files[source_file] = FileCounts()
        return found

    def accepted(self, source_file: str, n: int = 1) -> None:
        """Records of the file that passed (0: the file is known, even when empty)."""
        self._counts(source_file).records += n

    def _sha(self, source_file: str) -> str:
        if source_file not in self.sha:
            with (self.root / source_file).open("rb") as fp:
                self.sha[source_file] = hashlib.file_digest(fp, "sha256").hexdigest()
        return self.sha[source_file]

    def add(self, skip: Skip, source_file: str) -> None:
        self.by_entity[skip.entity] = self.by_entity.get(skip.entity, 0) + 1
        reason = f"{skip.entity}: {skip.reason}"
        counts = self._counts(source_file)
        counts.records += 1
        counts.skipped += 1
        counts.reasons[reason] += 1
        bucket = self.report.skip_reasons.setdefault(reason, {"count": 0, "examples": []})
        bucket["count"] += 1
        if len(bucket["examples"]) < EXAMPLES:
            # The record's own key and its JSON Pointer: what finds it in the file.
            bucket["examples"].append(
                {"file": source_file, "key": skip.key, "position": skip.position}
            )
        self.rows.append(
            SkippedRecord(
                run_id=self.run_id,
                source_file=source_file,
                source_sha256=self._sha(source_file),
                entity=skip.entity,
                record_key=skip.key,
                position=skip.position,
                reason=skip.reason,
                raw=raw_json(skip.raw),
            )
        )
        if len(self.rows) >= BATCH:
            self.flush()

    def extend(self, skips: list[Skip], source_file: str) -> None:
        for skip in skips:
            self.add(skip, source_file)

    def flush(self) -> None:
        if self.rows:
            copy_rows(self.conn, "stg_skipped", SKIP_COLUMNS, self.rows)
            self.rows.clear()

    def store(self) -> dict[str, int]:
        """Store the staged skips; how many were new and how many already stored."""
        self.flush()
        with self.conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(query("medly", "store_skipped")).fetchone()
        assert row is not None
        return {"stored": int(row["stored"]), "already stored": int(row["known"])}
