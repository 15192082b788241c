"""ApiBlueprint.operation: 422 problems, rendering, pagination headers, the OpenAPI document."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import BaseModel, Field

from api.db import ApiDatabase, Conn
from api.errors import register
from api.openapi import ApiBlueprint, Page, Reply, build_spec, paged
from etl_toolkit.db.connect import Database
from etl_toolkit.errors import Conflict


class Thing(BaseModel):
    name: str = Field(min_length=1)
    size: int = Field(ge=0, le=10)


class ThingQuery(Page):
    colour: str | None = None


@pytest.fixture
def client() -> FlaskClient:
    bp = ApiBlueprint("things", __name__, tag="things")

    @bp.operation("/things", "POST", body=Thing, response=Thing, status=201)
    def make(body: Thing) -> Reply:
        """Make a thing

        It is answered as it was sent, with its Location."""
        return Reply(body, 201, {"Location": f"/things/{body.name}"})

    @bp.operation("/things", query=ThingQuery, response=list[Thing])
    def list_things(query: ThingQuery) -> Reply:
        items = [Thing(name=f"t{i}", size=i % 10) for i in range(45)]
        window = items[query.offset : query.offset + query.limit]
        return paged(window, len(items), query)

    @bp.operation("/things/<int:n>", response=Thing, errors=(404,))
    def one(n: int) -> Thing:
        return Thing(name=f"t{n}", size=n)

    app = Flask(__name__)
    register(app)
    app.register_blueprint(bp)
    app.extensions["spec"] = build_spec(app, title="t", version="1")
    return app.test_client()


def test_valid_body_is_parsed_and_rendered_with_status_and_headers(client: FlaskClient) -> None:
    r = client.post("/things", json={"name": "a", "size": 3})
    assert r.status_code == 201
    assert r.get_json() == {"name": "a", "size": 3}
    assert r.headers["Location"] == "/things/a"


def test_invalid_body_lists_every_offending_field(client: FlaskClient) -> None:
    r = client.post("/things", json={"name": "", "size": 11})
    assert r.status_code == 422
    assert r.content_type == "application/problem+json"
    fields = {e["field"]: e["type"] for e in r.get_json()["errors"]}
    assert fields == {"name": "string_too_short", "size": "less_than_equal"}


@pytest.mark.parametrize("data", ["[1, 2]", "not json", '"text"', ""])
def test_body_that_is_not_an_object_is_422(client: FlaskClient, data: str) -> None:
    r = client.post("/things", data=data, content_type="application/json")
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize("qs", ["limit=0", "limit=101", "offset=-1", "limit=abc"])
def test_bad_pagination_is_422(client: FlaskClient, qs: str) -> None:
    r = client.get(f"/things?{qs}")
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] in {"limit", "offset"}


def test_pagination_headers(client: FlaskClient) -> None:
    r = client.get("/things?limit=20&offset=20&colour=red")
    assert [t["name"] for t in r.get_json()] == [f"t{i}" for i in range(20, 40)]
    assert r.headers["X-Total-Count"] == "45"
    links = {
        part.split('rel="')[1].rstrip('"'): part.split(">")[0].lstrip("<")
        for part in r.headers["Link"].split(", ")
    }
    assert set(links) == {"next", "prev", "first", "last"}
    assert "offset=40" in links["next"] and "colour=red" in links["next"]
    assert "offset=0" in links["prev"]
    assert "offset=40" in links["last"]
    last = client.get("/things?limit=20&offset=40")
    assert len(last.get_json()) == 5
    assert 'rel="next"' not in last.headers["Link"]


def test_document_describes_operations_from_models(client: FlaskClient) -> None:
    spec = client.application.extensions["spec"]
    post = spec["paths"]["/things"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"
    }
    assert set(post["responses"]) == {"201", "401", "422"}
    # The handler's docstring: its first line the summary, the rest the description.
    assert post["summary"] == "Make a thing"
    assert post["description"] == "It is answered as it was sent, with its Location."
    get = spec["paths"]["/things"]["get"]
    assert {p["name"] for p in get["parameters"]} == {"limit", "offset", "colour"}
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Thing"},
    }
    one = spec["paths"]["/things/{n}"]["get"]
    assert one["parameters"][0] == {
        "name": "n",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
    assert "404" in one["responses"]
    assert spec["components"]["schemas"]["Thing"]["properties"]["size"]["maximum"] == 10


def test_a_handler_that_takes_conn_reads_in_autocommit_and_writes_in_one_transaction(
    db: Database,
) -> None:
    bp = ApiBlueprint("conns", __name__, tag="conns")
    calls: list[str] = []

    @bp.operation("/state", response=str)
    def read_state(conn: Conn) -> str:
        return conn.info.transaction_status.name

    @bp.operation("/state", "POST", body=Thing, response=str)
    def write_state(conn: Conn, body: Thing) -> str:
        calls.append(body.name)
        if body.size == 0:
            raise Conflict(f"{body.name}: refused")
        return conn.info.transaction_status.name

    app = Flask(__name__)
    register(app)
    app.register_blueprint(bp)
    app.extensions["etl_db"] = ApiDatabase(db, statement_timeout_ms=5000, max_size=1)
    c = app.test_client()
    try:
        assert c.get("/state").get_json() == "IDLE"  # no BEGIN/COMMIT around a read
        assert c.post("/state", json={"name": "a", "size": 1}).get_json() == "INTRANS"
        assert c.post("/state", json={"name": "b", "size": 0}).status_code == 409
        # Invalid input is refused before the handler (and before any connection).
        assert c.post("/state", json={"name": "", "size": 1}).status_code == 422
        assert calls == ["a", "b"]
        # The one pooled connection came back idle after the refused write.
        assert c.get("/state").get_json() == "IDLE"
    finally:
        app.extensions["etl_db"].close()
