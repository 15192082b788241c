"""Query depth limit: a GraphQL validation rule (fragments followed)."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)


def _depth(node: SelectionSetNode | None, ctx: ValidationContext, seen: frozenset[str]) -> int:
    if node is None:
        return 0
    deepest = 0
    for sel in node.selections:
        if isinstance(sel, FieldNode):
            if sel.name.value.startswith("__"):
                continue  # introspection is bounded by the schema
            deepest = max(deepest, 1 + _depth(sel.selection_set, ctx, seen))
        elif isinstance(sel, InlineFragmentNode):
            deepest = max(deepest, _depth(sel.selection_set, ctx, seen))
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            frag = ctx.get_fragment(sel.name.value)
            if frag is not None:
                deepest = max(deepest, _depth(frag.selection_set, ctx, seen | {sel.name.value}))
    return deepest


def depth_limit(maximum: int) -> type[ValidationRule]:
    class DepthLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = _depth(node.selection_set, self.context, frozenset())
            if depth > maximum:
                self.report_error(
                    GraphQLError(
                        f"the query is {depth} levels deep; at most {maximum} are allowed",
                        node,
                    )
                )

    return DepthLimit
