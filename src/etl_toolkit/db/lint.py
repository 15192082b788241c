"""Rules every migration must keep (`etl db lint`, also run as a test)."""

from __future__ import annotations

from dataclasses import dataclass

from etl_toolkit.db.schema import SchemaModel


@dataclass(frozen=True)
class Finding:
    rule: str
    table: str
    message: str
    source: str


def lint(model: SchemaModel) -> list[Finding]:
    findings: list[Finding] = []
    for t in model.tables.values():
        if t.partition_of is not None:
            continue  # a partition inherits its parent's keys and indexes
        if not t.primary_key:
            findings.append(
                Finding("primary-key", t.qualified, "table has no primary key", t.source)
            )
        prefixes = model.index_prefixes(t.qualified)
        for fk in t.foreign_keys:
            n = len(fk.columns)
            if not any(set(p[:n]) == set(fk.columns) for p in prefixes):
                findings.append(
                    Finding(
                        "fk-index",
                        t.qualified,
                        f"foreign key ({', '.join(fk.columns)}) -> {fk.ref_table} "
                        "is not the leading part of any index",
                        t.source,
                    )
                )
        for col in t.columns.values():
            if col.serial:
                findings.append(
                    Finding(
                        "identity",
                        t.qualified,
                        f"column {col.name} is serial; use GENERATED ... AS IDENTITY",
                        t.source,
                    )
                )
            if col.naive_timestamp:
                findings.append(
                    Finding(
                        "timestamptz",
                        t.qualified,
                        f"column {col.name} is timestamp without time zone; use timestamptz",
                        t.source,
                    )
                )
    return sorted(findings, key=lambda f: (f.table, f.rule, f.message))
