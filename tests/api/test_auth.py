from __future__ import annotations

import base64
import json
import socket
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask

from api.app import create_app
from api.auth import AuthConfig, JwksClient
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.errors import ConfigError
from tests.jwks import AUDIENCE, ISSUER, IdentityProvider, new_key

QUERY = {"query": "{ health { status } }"}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _post(app: Flask, token: str | None) -> tuple[int, dict[str, object], str | None]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    r = app.test_client().post("/graphql", json=QUERY, headers=headers)
    return r.status_code, r.get_json(force=True), r.headers.get("WWW-Authenticate")


def test_valid_token_is_accepted(secure_app: Flask, idp: IdentityProvider) -> None:
    status, body, _ = _post(secure_app, idp.token())
    assert status == 200
    assert body == {"data": {"health": {"status": "ok"}}}


def test_a_verified_token_is_remembered_until_its_exp_and_no_longer(
    secure_app: Flask, idp: IdentityProvider
) -> None:
    verifier = secure_app.extensions["auth"]
    token = idp.token()
    assert _post(secure_app, token)[0] == 200
    assert _post(secure_app, token)[0] == 200
    assert list(verifier._verified) == [token]
    # Another signature on the same header and claims is verified, not looked up.
    head, payload, sig = token.split(".")
    flipped = "B" if sig[10] == "A" else "A"
    status, _, challenge = _post(secure_app, f"{head}.{payload}.{sig[:10]}{flipped}{sig[11:]}")
    assert status == 401 and challenge and "invalid_token" in challenge
    # Expired, though within the leeway: accepted as before, but never remembered.
    now = int(time.time())
    late = idp.token(exp=now - 5, iat=now - 600)
    assert _post(secure_app, late)[0] == 200
    assert late not in verifier._verified


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("unknown_key", "unknown key"),
        ("expired", "expired"),
        ("other_audience", "another audience"),
        ("other_issuer", "another issuer"),
        ("alg_none", "'none'"),
        ("hs256_with_public_key", "'HS256'"),
        ("malformed", "malformed"),
        ("bad_signature", "invalid token"),
        ("no_kid", "no key id"),
        ("no_sub", '"sub" claim'),
    ],
)
def test_bad_tokens_get_401_with_bearer_challenge(
    secure_app: Flask, idp: IdentityProvider, case: str, detail: str
) -> None:
    now = int(time.time())
    if case == "unknown_key":
        token = idp.token("k9", key=new_key())
    elif case == "expired":
        token = idp.token(exp=now - 3600, iat=now - 7200)
    elif case == "other_audience":
        token = idp.token(aud="https://someone-else/api")
    elif case == "other_issuer":
        token = idp.token(iss="https://evil.test/")
    elif case == "alg_none":
        claims = jwt.decode(idp.token(), options={"verify_signature": False})
        token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{_b64(claims)}."
    elif case == "hs256_with_public_key":
        public_pem = (
            idp.keys["k1"]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        header = _b64({"alg": "HS256", "typ": "JWT", "kid": "k1"})
        claims = jwt.decode(idp.token(), options={"verify_signature": False})
        signing_input = f"{header}.{_b64(claims)}"
        import hashlib
        import hmac

        sig = (
            base64.urlsafe_b64encode(
                hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
            )
            .rstrip(b"=")
            .decode()
        )
        token = f"{signing_input}.{sig}"
    elif case == "no_sub":
        token = idp.token(sub=None)
    elif case == "malformed":
        token = "not-a-jwt"
    elif case == "bad_signature":
        head, _payload, _sig = idp.token().split(".")
        forged = jwt.decode(idp.token(), options={"verify_signature": False}) | {"sub": "admin"}
        token = f"{head}.{_b64(forged)}.{_sig}"
    else:
        token = jwt.encode({"iss": "x"}, idp.keys["k1"], algorithm="RS256")
    status, body, challenge = _post(secure_app, token)
    assert status == 401
    assert body["status"] == 401
    assert detail in str(body["detail"])
    assert challenge is not None and challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge


def test_missing_token_gets_401_without_error_code(secure_app: Flask) -> None:
    status, body, challenge = _post(secure_app, None)
    assert status == 401
    assert challenge == 'Bearer realm="etl-toolkit"'
    assert body["title"] == "Unauthorized"
    # The fix, as the CLI would show it, in a member of its own.
    assert body["detail"] == "a bearer token is required"
    assert "Authorization: Bearer" in str(body["hint"])


def test_wrong_scheme_gets_401(secure_app: Flask, idp: IdentityProvider) -> None:
    r = secure_app.test_client().post(
        "/graphql", json=QUERY, headers={"Authorization": f"Basic {idp.token()}"}
    )
    assert r.status_code == 401


def test_public_endpoints_need_no_token(secure_app: Flask) -> None:
    c = secure_app.test_client()
    assert c.get("/health").status_code == 200
    assert c.get("/openapi.json").status_code == 200
    assert c.get("/docs").status_code == 200


def test_key_rotation_refreshes_jwks_on_unknown_kid(
    secure_app: Flask, idp: IdentityProvider
) -> None:
    assert _post(secure_app, idp.token())[0] == 200
    idp.keys["k2"] = new_key()
    keys: JwksClient = secure_app.extensions["auth"].keys
    keys.cooldown_duration = 0  # the rotation happens "later" than the refresh floor
    assert _post(secure_app, idp.token("k2"))[0] == 200
    assert idp.fetches == 2


def test_unknown_kids_cannot_force_a_fetch_per_request(
    secure_app: Flask, idp: IdentityProvider
) -> None:
    assert _post(secure_app, idp.token())[0] == 200
    for i in range(5):
        assert _post(secure_app, idp.token(f"bogus{i}", key=new_key()))[0] == 401
    assert idp.fetches == 1


def test_an_unreachable_key_server_is_503_problem_json(db: Database, idp: IdentityProvider) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = Settings(
        database_url=db.url,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        jwks_url=f"http://127.0.0.1:{port}/.well-known/jwks.json",
    )
    app = create_app(s, db)
    try:
        r = app.test_client().post(
            "/graphql", json=QUERY, headers={"Authorization": f"Bearer {idp.token()}"}
        )
    finally:
        app.extensions["etl_db"].close()
    assert r.status_code == 503
    assert r.mimetype == "application/problem+json"
    body = r.get_json(force=True)
    assert body["status"] == 503 and body["title"] == "Authentication unavailable"
    assert f"127.0.0.1:{port}" in body["detail"]


def test_a_failed_fetch_is_rate_limited_like_a_successful_one(
    secure_app: Flask, idp: IdentityProvider
) -> None:
    idp.down = True
    for _ in range(5):
        status, body, _ = _post(secure_app, idp.token())
        assert (status, body["status"]) == (503, 503)
    assert idp.fetches == 1  # one attempt for the five requests, not five


def test_unknown_kids_during_an_outage_do_not_refetch_each_time(
    secure_app: Flask, idp: IdentityProvider
) -> None:
    assert _post(secure_app, idp.token())[0] == 200
    keys: JwksClient = secure_app.extensions["auth"].keys
    keys.cooldown_duration = 0  # past the refresh floor: an unknown kid may refetch once
    idp.down = True
    statuses = [_post(secure_app, idp.token(f"rotated{i}", key=new_key()))[0] for i in range(5)]
    assert statuses == [503] * 5  # the key might exist: we cannot say 401
    assert idp.fetches == 2  # the first fetch, then one attempt in the outage
    assert _post(secure_app, idp.token())[0] == 200  # a cached key still verifies


@pytest.mark.parametrize("fault", ["not_json", "hangs"])
def test_a_key_server_answering_garbage_or_nothing_is_503(
    secure_app: Flask, idp: IdentityProvider, fault: str
) -> None:
    if fault == "not_json":
        idp.body = b"<html>maintenance</html>"
    else:
        idp.delay = 2.0
        secure_app.extensions["auth"].keys.timeout = 0.2  # FETCH_TIMEOUT, shortened
    status, body, _ = _post(secure_app, idp.token())
    assert (status, body["title"]) == (503, "Authentication unavailable")
    assert idp.url.removeprefix("http://").split("/")[0] in str(body["detail"])


def test_a_key_is_used_only_with_the_algorithm_its_jwk_names(
    secure_app: Flask, idp: IdentityProvider
) -> None:
    jwks = idp.jwks()
    jwks["keys"][0]["alg"] = "RS512"  # the same RSA key, published for another algorithm
    idp.body = json.dumps(jwks).encode()
    status, body, _ = _post(secure_app, idp.token())  # signed RS256 with that key
    assert status == 401
    assert "does not match the key's algorithm" in str(body["detail"])


def test_auth0_settings_derive_issuer_and_jwks() -> None:
    cfg = AuthConfig.from_settings(
        Settings(auth0_domain="tenant.eu.auth0.com", auth0_audience="api")
    )
    assert cfg.issuer == "https://tenant.eu.auth0.com/"
    assert cfg.jwks_url == "https://tenant.eu.auth0.com/.well-known/jwks.json"
    assert cfg.audience == "api"


def test_unconfigured_auth_says_what_to_set() -> None:
    with pytest.raises(ConfigError, match="JWT_ISSUER, JWT_AUDIENCE and JWKS_URL"):
        AuthConfig.from_settings(Settings(auth_disabled=False))
    with pytest.raises(ConfigError, match="AUTH0_AUDIENCE"):
        AuthConfig.from_settings(Settings(auth0_domain="t.auth0.com"))
