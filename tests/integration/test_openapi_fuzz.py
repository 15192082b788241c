"""schemathesis drives every operation of the OpenAPI document, with auth on:
no 5xx, responses match the document, and secured endpoints refuse bad tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from api.app import create_app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from tests.conftest import _db_url, _drop, _fresh
from tests.jwks import AUDIENCE, ISSUER, IdentityProvider, serve_idp


@pytest.fixture(scope="module")
def fuzz_idp() -> Iterator[IdentityProvider]:
    with serve_idp() as idp:
        yield idp


@pytest.fixture(scope="module")
def fuzz_app(admin_url: str, template_db: str, fuzz_idp: IdentityProvider) -> Iterator[Flask]:
    name = _fresh(admin_url, template_db)
    db = Database(_db_url(admin_url, name), "external")
    s = Settings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwks_url=fuzz_idp.url)
    app = create_app(s, db)
    yield app
    app.extensions["etl_db"].close()
    _drop(admin_url, name)


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@pytest.mark.slow
@schema.parametrize()
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case, fuzz_idp: IdentityProvider
) -> None:
    # Two checks are left out, both about 4xx decisions that have contract tests of
    # their own (test_api_jobs, test_api_documents, test_openapi_machinery):
    # - negative_data_rejection generates query parameters with empty names, which HTTP
    #   parsing drops before the app sees them, then reports the 200 as "accepted";
    # - positive_data_acceptance judges text against our patterns with ECMA regex
    #   semantics (its \s misses \x1c-\x1f, \u escapes are not always honoured), so
    #   it calls NUL-bearing or blank text "valid" where PostgreSQL and we refuse it.
    # Everything else stays: no 5xx, documented status codes, response schemas,
    # content types, and refusal of bad credentials on secured operations.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_idp.token()}"},
        excluded_checks=[negative_data_rejection, positive_data_acceptance],
    )
