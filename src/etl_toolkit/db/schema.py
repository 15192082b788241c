"""A model of the schema the migrations build, read with sqlglot (no database needed).

It follows CREATE TABLE, ALTER TABLE ADD/DROP COLUMN/CONSTRAINT, CREATE INDEX
and DROP TABLE/INDEX, in migration order. Statements sqlglot cannot parse
(functions, DO blocks) do not shape tables and are skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp

from etl_toolkit.db.migrate import discover

SERIAL_TYPES = {
    exp.DataType.Type.SERIAL,
    exp.DataType.Type.BIGSERIAL,
    exp.DataType.Type.SMALLSERIAL,
}


@dataclass
class Column:
    name: str
    type: str
    nullable: bool = True
    identity: bool = False
    generated: bool = False
    serial: bool = False
    naive_timestamp: bool = False


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool


@dataclass
class Table:
    schema: str
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    unique: list[tuple[str, ...]] = field(default_factory=list)
    partition_of: str | None = None
    partitioned_by: str | None = None
    source: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class SchemaModel:
    tables: dict[str, Table] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)

    def schemas(self) -> list[str]:
        return sorted({t.schema for t in self.tables.values()})

    def index_prefixes(self, table: str) -> list[tuple[str, ...]]:
        """Column lists that lead an index on `table`: PK, UNIQUE constraints, indexes."""
        t = self.tables[table]
        out = [t.primary_key] if t.primary_key else []
        out += t.unique
        out += [i.columns for i in self.indexes.values() if i.table == table]
        return out


def _qualified(table: exp.Table) -> str:
    return f"{table.db or 'public'}.{table.name}"


def _names(nodes: list[exp.Expression]) -> tuple[str, ...]:
    out = []
    for n in nodes:
        inner = n.this if isinstance(n, exp.Ordered) else n
        out.append(
            inner.name if isinstance(inner, exp.Column | exp.Identifier) else inner.sql("postgres")
        )
    return tuple(out)


def _reference(ref: exp.Reference) -> tuple[str, tuple[str, ...]]:
    target = ref.this
    if isinstance(target, exp.Schema):
        return _qualified(target.this), _names(target.expressions)
    return _qualified(target), ()


def _column(coldef: exp.ColumnDef, table: Table) -> Column:
    kind = coldef.args.get("kind")
    col = Column(coldef.name, kind.sql("postgres").lower() if kind else "unknown")
    if isinstance(kind, exp.DataType):
        col.serial = kind.this in SERIAL_TYPES
        col.naive_timestamp = kind.this == exp.DataType.Type.TIMESTAMP
    for cons in coldef.constraints:
        k = cons.args.get("kind")
        if isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null"):
            col.nullable = False
        elif isinstance(k, exp.PrimaryKeyColumnConstraint):
            table.primary_key = (col.name,)
            col.nullable = False
        elif isinstance(k, exp.UniqueColumnConstraint):
            table.unique.append((col.name,))
        elif isinstance(k, exp.GeneratedAsIdentityColumnConstraint):
            col.identity = True
            col.nullable = False
        elif isinstance(k, exp.ComputedColumnConstraint):
            col.generated = True
        elif isinstance(k, exp.Reference):
            ref_table, ref_cols = _reference(k)
            table.foreign_keys.append(ForeignKey((col.name,), ref_table, ref_cols))
    return col


def _table_constraint(node: exp.Expression, table: Table) -> None:
    if isinstance(node, exp.Constraint):
        for inner in node.expressions:
            _table_constraint(inner, table)
    elif isinstance(node, exp.PrimaryKey):
        table.primary_key = _names(node.expressions)
        for c in table.primary_key:
            if c in table.columns:
                table.columns[c].nullable = False
    elif isinstance(node, exp.ForeignKey):
        ref = node.args.get("reference")
        if isinstance(ref, exp.Reference):
            ref_table, ref_cols = _reference(ref)
            table.foreign_keys.append(ForeignKey(_names(node.expressions), ref_table, ref_cols))
    elif isinstance(node, exp.UniqueColumnConstraint):
        target = node.this
        if isinstance(target, exp.Schema):
            table.unique.append(_names(target.expressions))


def _create_table(stmt: exp.Create, model: SchemaModel, source: str) -> None:
    target = stmt.this
    tbl_node = target.this if isinstance(target, exp.Schema) else target
    if not isinstance(tbl_node, exp.Table):
        return
    table = Table(tbl_node.db or "public", tbl_node.name, source=source)
    if isinstance(target, exp.Schema):
        for e in target.expressions:
            if isinstance(e, exp.ColumnDef):
                table.columns[e.name] = _column(e, table)
            else:
                _table_constraint(e, table)
    props = stmt.args.get("properties")
    if props is not None:
        for p in props.expressions:
            if isinstance(p, exp.PartitionedOfProperty):
                table.partition_of = _qualified(p.this)
            elif isinstance(p, exp.PartitionedByProperty):
                table.partitioned_by = p.this.sql("postgres")
    model.tables[table.qualified] = table


def _create_index(stmt: exp.Create, model: SchemaModel) -> None:
    idx = stmt.this
    if not isinstance(idx, exp.Index):
        return
    tbl = idx.args.get("table")
    params = idx.args.get("params")
    if not isinstance(tbl, exp.Table) or params is None:
        return
    cols = _names(params.args.get("columns") or [])
    model.indexes[idx.name] = Index(idx.name, _qualified(tbl), cols, bool(stmt.args.get("unique")))


def _alter(stmt: exp.Alter, model: SchemaModel) -> None:
    if not isinstance(stmt.this, exp.Table):
        return
    table = model.tables.get(_qualified(stmt.this))
    if table is None:
        return
    for action in stmt.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            table.columns[action.name] = _column(action, table)
        elif isinstance(action, exp.AddConstraint):
            for c in action.expressions:
                _table_constraint(c, table)
        elif isinstance(action, exp.Drop) and action.args.get("kind") == "COLUMN":
            table.columns.pop(action.this.name, None)


def build(folder: Path | None = None) -> SchemaModel:
    """The schema that applying every migration in `folder` produces."""
    model = SchemaModel()
    sqlglot_logger = logging.getLogger("sqlglot")
    previous = sqlglot_logger.level
    sqlglot_logger.setLevel(logging.ERROR)  # "falling back to Command" is expected for functions
    try:
        for mig in discover(folder):
            for stmt in sqlglot.parse(mig.path.read_text(encoding="utf-8"), read="postgres"):
                _apply(stmt, model, mig.filename)
    finally:
        sqlglot_logger.setLevel(previous)
    return model


def _apply(stmt: object, model: SchemaModel, source: str) -> None:
    if isinstance(stmt, exp.Create):
        kind = stmt.args.get("kind")
        if kind == "TABLE":
            _create_table(stmt, model, source)
        elif kind == "INDEX":
            _create_index(stmt, model)
    elif isinstance(stmt, exp.Alter):
        _alter(stmt, model)
    elif isinstance(stmt, exp.Drop):
        kind = stmt.args.get("kind")
        for target in stmt.args.get("tables") or [stmt.this]:
            if not isinstance(target, exp.Table):
                continue
            if kind == "TABLE":
                model.tables.pop(_qualified(target), None)
            elif kind == "INDEX":
                model.indexes.pop(target.name, None)
