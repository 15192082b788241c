from __future__ import annotations

from etl_toolkit.db import erd, lint, schema
from tests.paths import FIXTURES


def test_lint_finds_each_rule_violation() -> None:
    findings = lint.lint(schema.build(FIXTURES / "migrations_bad"))
    got = {(f.rule, f.table) for f in findings}
    assert got == {
        ("identity", "shop.customers"),
        ("timestamptz", "shop.customers"),
        ("primary-key", "shop.notes"),
        ("fk-index", "shop.orders"),
    }
    assert all(f.source == "0001_bad.sql" for f in findings)


def test_composite_primary_key_covers_its_leading_foreign_key() -> None:
    model = schema.build(FIXTURES / "migrations_bad")
    lines = model.tables["shop.order_lines"]
    assert lines.primary_key == ("order_id", "line")
    assert lines.foreign_keys[0].ref_table == "shop.orders"
    assert not [f for f in lint.lint(model) if f.table == "shop.order_lines"]


def test_model_follows_alter_index_drop_and_partitions() -> None:
    model = schema.build(FIXTURES / "migrations_alter")
    assert set(model.tables) == {"shop.customers", "shop.orders", "shop.orders_default"}
    orders = model.tables["shop.orders"]
    assert orders.partitioned_by is not None and "order_date" in orders.partitioned_by
    assert model.tables["shop.orders_default"].partition_of == "shop.orders"
    assert orders.foreign_keys[0].columns == ("customer_id",)
    assert "email" in model.tables["shop.customers"].columns
    assert lint.lint(model) == []


def test_erd_renders_entities_keys_and_relations() -> None:
    text = erd.render(schema.build(FIXTURES / "migrations_alter"))
    assert "## Schema `shop`" in text
    assert "    customers {\n        bigint id PK\n        text email\n    }" in text
    assert '    customers |o--o{ orders : "customer_id"' in text
    assert "orders_default" not in text  # partitions are drawn as their parent
    assert "`shop.orders` is partitioned by" in text
