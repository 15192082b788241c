"""What every response gets: request ids (echoed and logged), CORS for configured
origins, gzip for JSON and the docs assets (issue 16 §3)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from api.auth import public
from api.middleware import GZIP_MIN_BYTES
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.errors import ConfigError
from etl_toolkit.log import get_logger

ORIGIN = "https://app.example.com"


def test_an_incoming_request_id_is_echoed(client: FlaskClient) -> None:
    r = client.get("/health", headers={"X-Request-Id": "trace-42/a b"})
    assert r.headers["X-Request-Id"] == "trace-42/a b"


@pytest.mark.parametrize("bad", ["x" * 129, "caf\u00e9", "tab\there", "   "])
def test_a_missing_or_unfit_request_id_is_replaced(client: FlaskClient, bad: str) -> None:
    generated = client.get("/health").headers["X-Request-Id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    replaced = client.get("/health", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
    assert replaced != bad.strip() and len(replaced) == 32
    assert replaced != generated


def test_problem_responses_carry_the_request_id_too(client: FlaskClient) -> None:
    r = client.get("/no/such/route", headers={"X-Request-Id": "r-404"})
    assert r.status_code == 404 and r.headers["X-Request-Id"] == "r-404"


def test_every_log_line_of_a_request_carries_its_id(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    log = get_logger("test")

    def noisy() -> str:
        log.warning("first")
        raise RuntimeError("boom")

    app.add_url_rule("/noisy", "noisy", noisy)
    public(noisy)
    capsys.readouterr()
    r = app.test_client().get("/noisy", headers={"X-Request-Id": "rid-7"})
    assert r.status_code == 500
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    assert [e["event"] for e in lines] == ["first", "unhandled error"]
    assert {e["request_id"] for e in lines} == {"rid-7"}
    log.warning("after the request")
    after = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert "request_id" not in after


# ---- CORS ------------------------------------------------------------------------------------


@pytest.fixture
def cors_client(db: Database) -> Iterator[FlaskClient]:
    s = Settings(
        auth_disabled=True, database_url=db.url, cors_origins=f"{ORIGIN}/, http://localhost:3000"
    )
    application = create_app(s, db)
    yield application.test_client()
    application.extensions["etl_db"].close()


def test_no_cors_headers_by_default(client: FlaskClient) -> None:
    r = client.get("/runs", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Origin" not in r.headers.get("Vary", "")


def test_a_configured_origin_is_allowed_and_sees_the_paging_headers(
    cors_client: FlaskClient,
) -> None:
    r = cors_client.get("/runs", headers={"Origin": ORIGIN})
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = {h.strip() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Total-Count", "Link", "X-Request-Id"} <= exposed
    assert "Origin" in r.headers["Vary"]


def test_another_origin_gets_no_cors_headers(cors_client: FlaskClient) -> None:
    r = cors_client.get("/runs", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Origin" in r.headers["Vary"]


def test_a_preflight_is_answered_without_a_token(db: Database) -> None:
    # Auth on: the preflight carries no token and must not be refused for it.
    s = Settings(
        database_url=db.url,
        jwt_issuer="https://issuer.example/",
        jwt_audience="aud",
        jwks_url="http://127.0.0.1:9/jwks.json",
        cors_origins=ORIGIN,
    )
    application = create_app(s, db)
    try:
        c = application.test_client()
        r = c.options(
            "/runs",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert r.status_code == 204
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "GET" in r.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
        assert "Origin" in r.headers["Vary"]
        # A stranger's preflight gets nothing that would let its browser go on.
        r = c.options(
            "/runs",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "Access-Control-Allow-Origin" not in r.headers
        assert c.get("/runs", headers={"Origin": ORIGIN}).status_code == 401
    finally:
        application.extensions["etl_db"].close()


@pytest.mark.parametrize("bad", ["app.example.com", "https://app.example.com/path", "ftp://x"])
def test_a_cors_origin_that_is_not_an_origin_refuses_to_start(db: Database, bad: str) -> None:
    with pytest.raises(ConfigError, match="CORS_ORIGINS") as e:
        create_app(Settings(auth_disabled=True, database_url=db.url, cors_origins=bad), db)
    assert e.value.hint and "scheme://host" in e.value.hint


# ---- gzip ------------------------------------------------------------------------------------


def test_large_json_is_gzipped_when_accepted(client: FlaskClient) -> None:
    plain = client.get("/openapi.json")
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    r = client.get("/openapi.json", headers={"Accept-Encoding": "gzip, deflate"})
    assert r.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in r.headers["Vary"]
    body = r.get_data()
    assert int(r.headers["Content-Length"]) == len(body) < len(plain.get_data())
    assert json.loads(gzip.decompress(body)) == plain.get_json()


def test_small_bodies_and_refused_gzip_stay_plain(client: FlaskClient) -> None:
    small = client.get("/runs", headers={"Accept-Encoding": "gzip"})
    assert len(small.get_data()) < GZIP_MIN_BYTES
    assert "Content-Encoding" not in small.headers
    refused = client.get("/openapi.json", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_the_swagger_bundle_is_gzipped(client: FlaskClient) -> None:
    path = "/docs/assets/swagger-ui-bundle.js"
    plain = client.get(path)
    assert plain.status_code == 200
    original = plain.get_data()
    assert len(original) > 500_000
    for _ in range(2):  # the second answer comes from the compressed-asset cache
        r = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200
        assert r.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in r.headers["Vary"]
        assert "Accept-Ranges" not in r.headers
        assert r.headers["ETag"].startswith('W/"')
        body = r.get_data()
        assert len(body) < len(original) // 2
        assert gzip.decompress(body) == original
