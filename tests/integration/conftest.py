from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from tests.jwks import AUDIENCE, ISSUER, IdentityProvider, serve_idp


@pytest.fixture
def app(db: Database) -> Iterator[Flask]:
    """The app with auth off, on the test database."""
    application = create_app(Settings(auth_disabled=True, database_url=db.url), db)
    yield application
    application.extensions["etl_db"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    with serve_idp() as provider:
        yield provider


@pytest.fixture
def secure_app(db: Database, idp: IdentityProvider) -> Iterator[Flask]:
    """The app with auth on, trusting the local identity provider."""
    s = Settings(database_url=db.url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwks_url=idp.url)
    application = create_app(s, db)
    yield application
    application.extensions["etl_db"].close()
