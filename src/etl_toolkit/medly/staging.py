"""Staging and merging: one temp table per entity, fed by COPY in batches, then
deduplicated, resolved and merged into schema medly entity by entity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from etl_toolkit.db.copy import copy_rows, create_staging, dedupe, merge, touch
from etl_toolkit.db.queries import query
from etl_toolkit.medly import records
from etl_toolkit.medly.records import staged_columns
from etl_toolkit.medly.report import EntityReport

BATCH = 20_000


@dataclass(frozen=True)
class Entity:
    name: str
    key: tuple[str, ...]
    record: type[tuple[Any, ...]]  # its fields: the staged columns
    order: str = "_ord DESC"  # which duplicate wins (first in this order)

    @property
    def table(self) -> str:
        return f"medly.{self.name}"

    @property
    def columns(self) -> tuple[str, ...]:
        """As staged: a leading subset of the target's columns, plus extras (`_priority`)."""
        return staged_columns(self.record)


# In foreign-key order: the order of the merges.
ENTITIES = [
    # Subjects come from course files (id only) and exams files (board, title...):
    # the exams row (priority 0) wins.
    Entity("subjects", ("subject_id",), records.Subject, order="_priority, _ord DESC"),
    Entity("units", ("subject_id", "unit_index"), records.Unit),
    Entity("topics", ("subject_id", "unit_index", "topic_index"), records.Topic),
    Entity("lessons", ("lesson_id",), records.Lesson),
    Entity("paper_sets", ("paper_set_key",), records.PaperSet),
    Entity("papers", ("paper_id",), records.Paper),
    Entity("practice_banks", ("lesson_id",), records.PracticeBank),
    Entity("bank_chunks", ("lesson_id", "chunk_index"), records.BankChunk),
    Entity("questions", ("question_id",), records.Question),
    Entity("items", ("question_ref",), records.Item, order="_priority, _ord"),
    Entity(
        "item_appearances", ("question_ref", "source_kind", "source_id"), records.ItemAppearance
    ),
    Entity("item_lessons", ("question_ref", "lesson_ref", "via"), records.ItemLesson, order="_ord"),
    Entity("users", ("uid",), records.User),
    Entity("attempts", ("uid", "paper_id", "question_ref"), records.Attempt),
]
# Columns a merge writes but staging rows do not carry (filled by resolution queries).
RESOLVED = {"item_lessons": ("lesson_id",), "attempts": ("item_ref",)}
# The query that settles an entity's staged rows between deduplication and merge.
RESOLVERS = {
    "subjects": "keep_subject_attributes",
    "items": "keep_exam_items",
    "practice_banks": "resolve_bank_lessons",
    "item_lessons": "resolve_item_lessons",
    "attempts": "resolve_attempt_items",
}


class Stager:
    """One entity's staging temp table, fed by COPY in batches."""

    def __init__(self, conn: psycopg.Connection[Any], entity: Entity) -> None:
        self.conn, self.entity = conn, entity
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0
        self.stage = f"stg_{entity.name}"
        self.copy_columns = list(entity.columns)
        cols = [c for c in self.copy_columns if not c.startswith("_")]
        extra = {"_ord": "bigint GENERATED ALWAYS AS IDENTITY"}
        if "_priority" in self.copy_columns or "_priority" in entity.order:
            extra["_priority"] = "smallint NOT NULL DEFAULT 0"
        create_staging(
            conn, entity.table, self.stage, [*cols, *RESOLVED.get(entity.name, ())], extra=extra
        )

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            copy_rows(self.conn, self.stage, self.copy_columns, self.rows)
            self.rows.clear()

    def finish(self) -> EntityReport:
        """Deduplicate, resolve, merge and touch; the counts of what happened."""
        self.flush()
        e = self.entity
        deduped = f"{self.stage}_d"
        dropped = dedupe(self.conn, source=self.stage, into=deduped, key=e.key, order_by=e.order)
        if e.name in RESOLVERS:
            self.conn.execute(query("medly", RESOLVERS[e.name]))
        columns = [c for c in (*e.columns, *RESOLVED.get(e.name, ())) if not c.startswith("_")]
        counts = merge(self.conn, target=e.table, source=deduped, key=e.key, columns=columns)
        touch(self.conn, target=e.table, source=deduped, key=e.key)
        return EntityReport(
            read=self.count,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
            deduplicated=dropped,
        )


class Staging:
    """Every entity's stager; a record goes to its entity's by its type."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.stagers = {e.name: Stager(conn, e) for e in ENTITIES}
        self._by_record = {e.record: self.stagers[e.name] for e in ENTITIES}

    def add(self, record: tuple[Any, ...]) -> None:
        self._by_record[type(record)].add(record)

    def extend(self, records: list[Any]) -> None:
        for record in records:
            self.add(record)


def unresolved(conn: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
    """References this run kept without a target: how many, a few examples each."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query("medly", "unresolved")).fetchall()
    return {
        row["reference"]: {"count": int(row["n"]), "examples": list(row["examples"] or [])}
        for row in rows
        if row["n"]
    }
