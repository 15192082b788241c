"""schemathesis drives every operation of the OpenAPI document, with auth on, against
a database seeded through the real loaders (the PDF, medly and sales samples, tasks
posted to the API): no 5xx, responses match the document, secured endpoints refuse
bad tokens, and every by-id read answers 200 for an id that exists, not only 404.

The by-id operations learn real ids as OpenAPI `examples` on their path parameters
(added to the loaded document here, not to the API's: the ids are this database's;
schemathesis also reuses ids it saw in list responses). The last test asserts each
by-id GET answered 200 at least once, by the route the app matched; it needs this
module's tests in one process, in order (pytest's default; xdist `--dist loadfile`).

Every check runs, negative_data_rejection and positive_data_acceptance included,
except where the document is not exact (INEXACT, each with its reason). The old
reason to leave negative_data_rejection out everywhere (query parameters with
empty names, dropped by HTTP parsing) no longer holds: schemathesis discounts
cases whose only fault is an extra query parameter. What remained was this test
adding the Authorization header to cases meant to lack it: those skip the check.
The bodies the document calls valid are accepted because its patterns compile in
every regex engine and its either-or rules are oneOf (issue 13 §2).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask, Response, request
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from api.app import create_app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.medly.pipeline import run_medly
from etl_toolkit.pdf.pipeline import load_pdfs
from etl_toolkit.sales.pipeline import run_sales
from tests.databases import create_database, db_url, drop_database
from tests.jwks import AUDIENCE, ISSUER, IdentityProvider, serve_idp
from tests.paths import ROOT

SAMPLES = ROOT / "samples"
# "METHOD /openapi/{path}" of the route a request matched -> the statuses it answered.
# By the route the app matched, not the case's operation: a case with an empty id
# (/documents/) reaches another route.
STATUSES: dict[str, set[int]] = {}
# Where the document is not exact, the check that would fail on it, and why.
INEXACT = {
    # AwareDatetime accepts a Unix timestamp (pydantic's lax mode) where the
    # document says a date-time string: a number for uploaded_at is accepted.
    "POST /task": negative_data_rejection,
    # Counts only for the classes the task requested: a rule over the stored task
    # that no schema states (422 for a report the document calls valid).
    "POST /task/{task_id}/result": positive_data_acceptance,
}


@pytest.fixture(scope="module")
def fuzz_idp() -> Iterator[IdentityProvider]:
    with serve_idp() as idp:
        yield idp


def _seed(db: Database, app: Flask, token: str) -> dict[str, list[Any]]:
    """Load every sample with the real loaders; return the ids by path parameter."""
    pdf = load_pdfs(db, sorted((SAMPLES / "pdf").glob("*.pdf")), workers=1)
    assert pdf.totals["loaded"] == 3, pdf.totals
    run_medly(db, SAMPLES / "medly")
    assert run_sales(db, SAMPLES / "sales").status == "succeeded"
    client = app.test_client()
    for n in range(6):
        r = client.post(
            "/task",
            json={
                "uri": f"s3://fuzz/clip-{n}.mp4",
                "media_type": "video",
                "file_name": f"clip-{n}.mp4",
                "classes": ["face", "license_plate"],
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.get_json()

    def ids(sql: str) -> list[Any]:
        with db.connect() as conn:
            rows = conn.execute(sql + " LIMIT 3").fetchall()
        assert rows, sql  # seeded: every table the by-id paths read has rows
        return [next(iter(r.values())) for r in rows]

    return {
        "document_id": [str(i) for i in ids("SELECT id FROM docs.documents ORDER BY id")],
        "page_number": [1],
        "job_id": [str(i) for i in ids("SELECT id FROM docs.extraction_jobs ORDER BY id")],
        "questionID": ids("SELECT question_ref FROM medly.items ORDER BY 1"),
        "lesson_id": ids("SELECT lesson_id FROM medly.lessons ORDER BY 1"),
        "paper_id": ids("SELECT paper_id FROM medly.papers ORDER BY 1"),
        "uid": ids("SELECT uid FROM medly.users ORDER BY 1"),
        "run_id": ids("SELECT id FROM etl.runs ORDER BY id"),
        "task_id": [str(i) for i in ids("SELECT id FROM tasks.tasks ORDER BY created_at, id")],
        "sales": ids("SELECT order_id FROM sales.orders ORDER BY 1"),  # GraphQL only
    }


def _with_examples(doc: dict[str, Any], seeded: dict[str, list[Any]]) -> dict[str, Any]:
    """The document with the seeded ids as examples of the path parameters. Writes
    (DELETE, PATCH, POST) get ids of their own, so they cannot take the reads' rows."""
    for ops in doc["paths"].values():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                values = seeded.get(param["name"]) if param["in"] == "path" else None
                if values:
                    chosen = values
                    if len(values) > 1:
                        chosen = values[:-1] if method == "get" else values[-1:]
                    param["examples"] = {f"seeded{i}": {"value": v} for i, v in enumerate(chosen)}
    return doc


@pytest.fixture(scope="module")
def fuzz_app(admin_url: str, template_db: str, fuzz_idp: IdentityProvider) -> Iterator[Flask]:
    name = create_database(admin_url, template_db)
    db = Database(db_url(admin_url, name), "external")
    s = Settings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwks_url=fuzz_idp.url)
    app = create_app(s, db)

    @app.after_request
    def _record(response: Response) -> Response:
        if request.url_rule is not None:
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", request.url_rule.rule)
            STATUSES.setdefault(f"{request.method} {path}", set()).add(response.status_code)
        return response

    app.config["seeded"] = _seed(db, app, fuzz_idp.token())
    yield app
    app.extensions["etl_db"].close()
    drop_database(admin_url, name)


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: Flask) -> Any:
    doc = fuzz_app.test_client().get("/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(_with_examples(doc, fuzz_app.config["seeded"]))
    schema.app = fuzz_app
    schema.location = "/openapi.json"
    return schema


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@pytest.mark.slow
@schema.parametrize()
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case, fuzz_idp: IdentityProvider
) -> None:
    # identity: schemathesis' WSGI transport does not undo the gzip a browser would.
    headers = {"Authorization": f"Bearer {fuzz_idp.token()}", "Accept-Encoding": "identity"}
    response = case.call(headers=headers)
    excluded = [INEXACT[case.operation.label]] if case.operation.label in INEXACT else []
    negative_headers = case.meta and case.meta.components.get(ParameterLocation.HEADER)
    if negative_headers and negative_headers.mode.is_negative:
        # A case without the Authorization header: this test sends one anyway (the
        # auth checks try requests without it on their own).
        excluded.append(negative_data_rejection)
    # As call_and_validate does (the auth checks replay the request with these headers).
    case.validate_response(
        response,
        headers=headers,
        excluded_checks=excluded,
        transport_kwargs={"headers": headers},
    )


@pytest.mark.slow  # reads the statuses the fuzz test above recorded: runs with it
def test_every_by_id_read_found_a_seeded_row(fuzz_schema: Any) -> None:
    by_id = [
        op.label
        for op in (result.ok() for result in fuzz_schema.get_all_operations())
        if op.method.upper() == "GET" and "{" in op.path
    ]
    assert len(by_id) >= 12, by_id
    missing = {label: sorted(STATUSES.get(label, ())) for label in by_id}
    assert {k: v for k, v in missing.items() if 200 not in v} == {}
