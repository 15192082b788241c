"""schemathesis drives every operation of the OpenAPI document: no 5xx, responses match."""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask

from api.app import create_app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database


@pytest.fixture(scope="module")
def fuzz_app(admin_url: str, template_db: str) -> Flask:
    from tests.conftest import _db_url, _fresh

    name = _fresh(admin_url, template_db)
    db = Database(_db_url(admin_url, name), "external")
    return create_app(Settings(auth_disabled=True), db)


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: Flask) -> object:
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)


@schema.parametrize()
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    case.call_and_validate()
