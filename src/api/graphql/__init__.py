"""GraphQL (Ariadne, schema-first) at /graphql: the .graphql files of this folder
are the contract; resolvers call the library.

Every request is validated before it runs: a query deeper than MAX_DEPTH or
costlier than MAX_COST (each field costs 1, a list multiplies what is under it
by its `first` or by a fixed width) is refused with a GraphQL error, not run.
Errors that are not the toolkit's own are reported without their text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ariadne import graphql_sync, load_schema_from_path, make_executable_schema
from ariadne.validation import cost_validator
from flask import Blueprint, Response, jsonify, request

from api.auth import public
from api.errors import ApiError
from api.graphql import resolvers, sales
from api.graphql.explorer import asset, explorer_page
from api.graphql.limits import depth_limit
from api.jsonbody import read_json_body
from etl_toolkit.errors import EtlError
from graphql import GraphQLError, GraphQLSchema

HERE = Path(__file__).parent
MAX_DEPTH = 8
MAX_COST = 3_000
# Lists: their cost multiplies by `first` (connections) or by a fixed width.
COST_MAP: dict[str, dict[str, Any]] = {
    "Query": {
        "productSales": {"complexity": 1, "multipliers": ["first"]},
        "topProductsByCategory": {"complexity": 1, "multipliers": ["first", "perCategory"]},
        "salesTrends": {"complexity": 1, "multipliers": ["first"]},
    },
    "Customer": {"orders": {"complexity": 1, "multipliers": ["first"]}},
    "Order": {"items": {"complexity": 8}},
    "ProductSales": {"periods": {"complexity": 31}},
}


def build_schema() -> GraphQLSchema:
    return make_executable_schema(
        load_schema_from_path(str(HERE)), *resolvers.bindables, *sales.bindables
    )


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    original = error.original_error
    formatted: dict[str, Any] = dict(error.formatted)
    if (
        original is not None
        and not isinstance(original, EtlError | GraphQLError)
        and error.message == str(original)
    ):  # an unexpected exception's own text: not for clients
        formatted["message"] = "internal error"
    if isinstance(original, EtlError):  # as problem+json: the message, and the hint apart
        formatted["message"] = original.message
        extensions = formatted.setdefault("extensions", {})
        extensions["code"] = type(original).__name__
        if original.hint:
            extensions["hint"] = original.hint
    return formatted


def blueprint(debug: bool = False) -> Blueprint:
    bp = Blueprint("graphql", __name__)
    schema = build_schema()
    page = explorer_page()

    def explorer() -> Response:
        return Response(page, mimetype="text/html")

    def execute() -> tuple[Response, int]:
        data: Any = read_json_body(status=400)
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request", "a GraphQL request is a JSON object with a query")
        variables = data.get("variables") if isinstance(data.get("variables"), dict) else None
        ok, result = graphql_sync(
            schema,
            data,
            context_value={"request": request},
            debug=debug,
            error_formatter=format_error,
            validation_rules=[
                depth_limit(MAX_DEPTH),
                cost_validator(
                    maximum_cost=MAX_COST,
                    default_cost=1,
                    variables=variables,
                    cost_map=COST_MAP,
                ),
            ],
        )
        # Refused, or nothing resolved: 400. Partial data with field errors: 200.
        return jsonify(result), 200 if ok or result.get("data") is not None else 400

    public(explorer)  # an HTML page, no data
    public(asset)
    bp.add_url_rule("/graphql", "explorer", explorer, methods=["GET"])
    bp.add_url_rule("/graphql/assets/<path:name>", "asset", asset, methods=["GET"])
    bp.add_url_rule("/graphql", "execute", execute, methods=["POST"])
    return bp
