"""docs/erd.md: a Mermaid ER diagram per schema, generated from the migrations."""

from __future__ import annotations

import re

from etl_toolkit.db.schema import SchemaModel, Table

HEADER = (
    "# Entity-relationship diagrams\n\n"
    "Generated from `sql/migrations` by `etl db erd`; do not edit by hand "
    "(a test fails when this file is stale).\n"
)


def _entity(qualified: str, schema: str) -> str:
    """Mermaid entity names allow no dots: same-schema tables go bare, others get a prefix."""
    sch, name = qualified.split(".", 1)
    return name if sch == schema else f"{sch}__{name}"


def _type(t: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\[\]-]", "_", t.replace(" ", "_")).strip("_") or "unknown"


def _keys(table: Table, column: str) -> str:
    keys = []
    if column in table.primary_key:
        keys.append("PK")
    if any(column in fk.columns for fk in table.foreign_keys):
        keys.append("FK")
    if any(u == (column,) for u in table.unique):
        keys.append("UK")
    return " " + ", ".join(keys) if keys else ""


def render_schema(model: SchemaModel, schema: str) -> str:
    tables = sorted(
        (t for t in model.tables.values() if t.schema == schema and t.partition_of is None),
        key=lambda t: t.name,
    )
    lines = ["```mermaid", "erDiagram"]
    for t in tables:
        lines.append(f"    {_entity(t.qualified, schema)} {{")
        for col in t.columns.values():
            note = ' "generated"' if col.generated else ""
            lines.append(f"        {_type(col.type)} {col.name}{_keys(t, col.name)}{note}")
        lines.append("    }")
    for t in tables:
        for fk in t.foreign_keys:
            optional = any(c in t.columns and t.columns[c].nullable for c in fk.columns)
            parent, child = _entity(fk.ref_table, schema), _entity(t.qualified, schema)
            label = ", ".join(fk.columns)
            lines.append(f'    {parent} {"|o" if optional else "||"}--o{{ {child} : "{label}"')
    lines.append("```")
    parted = [t for t in tables if t.partitioned_by]
    notes = [f"- `{t.qualified}` is partitioned by {t.partitioned_by}." for t in parted]
    return "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "")


def render(model: SchemaModel) -> str:
    parts = [HEADER]
    for schema in model.schemas():
        parts.append(f"\n## Schema `{schema}`\n\n{render_schema(model, schema)}\n")
    return "".join(parts)
