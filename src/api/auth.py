"""OAuth2 bearer JWTs (RS256) verified against a JWKS.

Configured the Auth0 way (AUTH0_DOMAIN, AUTH0_AUDIENCE) or generically
(JWT_ISSUER, JWT_AUDIENCE, JWKS_URL). Keys come from PyJWT's PyJWKClient: the
set is cached for JWKS_CACHE_SECONDS and fetched again when a token names an
unknown `kid`, at most once per REFRESH_FLOOR seconds, so random kids cannot
make us hammer the identity provider. Our subclass adds that a failed fetch is
a 503 and counts too, so an outage is not met with one fetch per request.
Only RS256 is accepted: `none`, HS256 signed with the public key, and every
other algorithm are refused before any key is looked at.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import jwt
from flask import Flask, current_app, g, request

from api.errors import ApiError
from etl_toolkit.config import Settings
from etl_toolkit.errors import ConfigError, EtlError

ALGORITHMS = ["RS256"]
REALM = "etl-toolkit"
FETCH_TIMEOUT = 5.0  # seconds; a hung identity provider must not hold a worker
REFRESH_FLOOR = 10.0  # seconds between fetches forced by unknown kids or by a failure
# A verified token is remembered (until its exp, at most this long): a client sends the
# same token with every request, and checking its RS256 signature and claims again
# cost more than the rest of a lookup (issue 18). Keyed by the whole token, signature
# included, so no other token can ride on an entry.
VERIFIED_SECONDS = 60.0
VERIFIED_MAX = 1024
TOKEN_HINT = "send `Authorization: Bearer <JWT>` with a token from the identity provider"


class AuthUnavailable(EtlError):
    """The key set could not be fetched: nobody can be authenticated right now."""

    transient = True
    http_status = 503
    title = "Authentication unavailable"


@dataclass(frozen=True)
class AuthConfig:
    issuer: str
    audience: str
    jwks_url: str
    cache_seconds: int = 600

    @classmethod
    def from_settings(cls, s: Settings) -> AuthConfig:
        """The configuration, or a ConfigError saying exactly what to set."""
        if s.auth0_domain:
            domain = s.auth0_domain.removeprefix("https://").rstrip("/")
            if not s.auth0_audience:
                raise ConfigError(
                    "AUTH0_DOMAIN is set but AUTH0_AUDIENCE is not",
                    hint="set AUTH0_AUDIENCE to your API identifier",
                )
            return cls(
                f"https://{domain}/",
                s.auth0_audience,
                f"https://{domain}/.well-known/jwks.json",
                s.jwks_cache_seconds,
            )
        missing = [
            n
            for n, v in (
                ("JWT_ISSUER", s.jwt_issuer),
                ("JWT_AUDIENCE", s.jwt_audience),
                ("JWKS_URL", s.jwks_url),
            )
            if not v
        ]
        if missing:
            raise ConfigError(
                "authentication is on but not configured: set AUTH0_DOMAIN and AUTH0_AUDIENCE, "
                f"or JWT_ISSUER, JWT_AUDIENCE and JWKS_URL (missing: {', '.join(missing)})",
                hint="or AUTH_DISABLED=1 / `etl serve --no-auth` for local use",
            )
        assert s.jwt_issuer and s.jwt_audience and s.jwks_url
        return cls(s.jwt_issuer, s.jwt_audience, s.jwks_url, s.jwks_cache_seconds)


class JwksClient(jwt.PyJWKClient):
    """PyJWKClient whose failed fetch is an AuthUnavailable (503), repeated from memory
    for `retry_after` seconds: PyJWKClient's cooldown starts only on a success."""

    def __init__(self, url: str, lifespan: int = 600) -> None:
        super().__init__(
            url,
            # Never cache_jwk_set=False: that also drops the unknown-kid cooldown.
            lifespan=max(lifespan, 1),
            timeout=FETCH_TIMEOUT,
            cooldown_duration=REFRESH_FLOOR,
        )
        self.retry_after = REFRESH_FLOOR
        self._failed_at = float("-inf")
        self._failure = ""

    def fetch_data(self) -> Any:
        # Every fetch (first use, expired set, unknown kid) runs under PyJWKClient's lock.
        if time.monotonic() - self._failed_at < self.retry_after:
            raise AuthUnavailable(self._failure)
        try:
            return super().fetch_data()
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, OSError, ValueError) as exc:
            self._failed_at = time.monotonic()
            self._failure = f"cannot fetch signing keys from {self.uri}: {exc}"
            raise AuthUnavailable(self._failure) from exc

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The signing key named `kid`, None when the key set has no such key."""
        try:
            return self.get_signing_key(kid)
        except jwt.PyJWKClientError:  # fetch failures left fetch_data as AuthUnavailable
            return None


class Unauthorized(ApiError):
    """401 with its RFC 6750 challenge: no token, or one that does not verify."""

    def __init__(
        self, detail: str, *, error: str | None = "invalid_token", hint: str | None = None
    ) -> None:
        challenge = f'Bearer realm="{REALM}"'
        if error:
            challenge += f', error="{error}", error_description="{detail}"'
        super().__init__(
            401, "Unauthorized", detail, hint=hint, headers={"WWW-Authenticate": challenge}
        )


class TokenVerifier:
    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self.keys = JwksClient(config.jwks_url, config.cache_seconds)
        self._verified: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or Unauthorized; a token verified less than
        VERIFIED_SECONDS ago, and not expired since, is not verified again."""
        now = time.time()
        hit = self._verified.get(token)
        if hit is not None and now < hit[0]:
            return dict(hit[1])
        claims = self._verify(token)
        until = min(float(claims["exp"]), now + VERIFIED_SECONDS)
        if until > now:
            with self._lock:
                self._verified[token] = (until, claims)
                while len(self._verified) > VERIFIED_MAX:
                    self._verified.popitem(last=False)  # the oldest entry
        return dict(claims)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthorized("malformed token") from None
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized(f"algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("token has no key id (kid)")
        key = self.keys.key(kid)
        if key is None:
            raise Unauthorized("token signed by an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.config.audience,
                issuer=self.config.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired", hint="get a new token") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("token from another issuer") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        return claims


V = TypeVar("V", bound=Callable[..., Any])


def public(view: V) -> V:
    """Mark a view as needing no token (health, docs, the OpenAPI document)."""
    setattr(view, "public", True)  # noqa: B010  (mypy rejects attributes on functions)
    return view


def install(app: Flask, settings: Settings) -> None:
    """Require a bearer token on every endpoint not declared public."""
    if settings.auth_disabled:
        app.extensions["auth"] = None
        return
    app.extensions["auth"] = TokenVerifier(AuthConfig.from_settings(settings))

    @app.before_request
    def _authenticate() -> None:
        verifier: TokenVerifier | None = current_app.extensions.get("auth")
        view = current_app.view_functions.get(request.endpoint or "")
        if verifier is None or view is None or getattr(view, "public", False):
            return  # unknown routes fall through to a 404
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a bearer token is required", error=None, hint=TOKEN_HINT)
        g.claims = verifier.verify(token.strip())
