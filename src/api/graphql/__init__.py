"""GraphQL (Ariadne, schema-first) at /graphql."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ariadne import graphql_sync, load_schema_from_path, make_executable_schema
from ariadne.explorer import ExplorerGraphiQL
from flask import Blueprint, Response, jsonify, request
from graphql import GraphQLSchema

from api.auth import public
from api.errors import ApiError
from api.graphql.resolvers import bindables

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


def build_schema() -> GraphQLSchema:
    return make_executable_schema(load_schema_from_path(str(SCHEMA_FILE)), *bindables)


def blueprint(debug: bool = False) -> Blueprint:
    bp = Blueprint("graphql", __name__)
    schema = build_schema()
    explorer_html = ExplorerGraphiQL(title="etl-toolkit GraphQL").html(None)

    def explorer() -> Response:
        return Response(explorer_html, mimetype="text/html")

    def execute() -> tuple[Response, int]:
        data: Any = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request", "a GraphQL request is a JSON object with a query")
        ok, result = graphql_sync(schema, data, context_value={"request": request}, debug=debug)
        return jsonify(result), 200 if ok else 400

    public(explorer)  # an HTML page, no data
    bp.add_url_rule("/graphql", "explorer", explorer, methods=["GET"])
    bp.add_url_rule("/graphql", "execute", execute, methods=["POST"])
    return bp
