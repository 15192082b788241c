"""Passwords out of anything shown to a person: errors, logs, the run ledger.

A connection string reaches a message in many ways: ours ("cannot connect to
URL"), psycopg's ('missing "=" after "mysql://u:secret@h" in connection info
string'), a stored run error. `redact` hides the password in each spelling:
`scheme://user:password@host` (the password up to the last `@`: an unencoded
`@` in it is still the password), `?password=...` / `&password=...` in a URL's
query, and `password=...` (quoted or not) in a keyword DSN, any keyword ending
in `password` (`sslpassword`) included. It also hides the password of the
configured DATABASE_URL wherever it appears verbatim (psycopg may echo it
decoded, outside any of those shapes), and each piece of it between URL
delimiters (libpq splits `u:p@ss3cret@h` at its first `@`: `ss3cret` is echoed
in the host).

No heavy imports: the API's Lambda package and the error classes use it.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from urllib.parse import unquote

MASK = "***"

# scheme://user:password@ (the password runs to the last @ of the token: an
# unencoded @ in a password must not leave its tail in clear).
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@'\"]*:)(?P<pw>\S*)@")
# password=value in a URL query or a keyword DSN, and every keyword ending in
# password (sslpassword: the key of the client certificate); the value may be
# 'single quoted' with \' escapes (libpq's keyword syntax).
_KEYWORD = re.compile(
    r"(?P<head>\b\w*password\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'?|[^\s&'\"]*)", re.IGNORECASE
)
# An unencoded delimiter in a URL's password makes libpq cut it short: in
# `u:p@ss3cret@h` it takes `p` as the password and `ss3cret@h` as the host,
# and its errors echo those pieces. Each piece is a secret too.
_PIECES = re.compile(r"[@:/?#]")
# Passwords this short are too likely to match ordinary words verbatim.
_MIN_VERBATIM = 4


def redact(text: str, *, url: str | None = None) -> str:
    """`text` with every password shown as ***; `url`'s password also verbatim
    (by default the configured DATABASE_URL's)."""
    out = _USERINFO.sub(lambda m: f"{m['head']}{MASK}@" if _secret(m["pw"]) else m[0], text)
    out = _KEYWORD.sub(lambda m: f"{m['head']}{MASK}" if _secret(m["pw"]) else m[0], out)
    for secret in passwords(url if url is not None else _configured_url()):
        if len(secret) >= _MIN_VERBATIM:
            # Whole tokens only: a password "postgres" must not turn "postgresql" into "***ql".
            out = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", MASK, out)
    return out


def _secret(value: str) -> bool:
    # Already masked (a message redacted twice keeps the text that follows).
    return bool(value) and not value.startswith(MASK)


def passwords(url: str | None) -> tuple[str, ...]:
    """The password(s) a connection string carries, raw and percent-decoded."""
    if not url:
        return ()
    found: list[str] = []
    for m in _USERINFO.finditer(url):
        found.append(m["pw"])
    for m in _KEYWORD.finditer(url):
        pw = m["pw"]
        if pw.startswith("'"):
            pw = pw[1:-1] if pw.endswith("'") and len(pw) > 1 else pw[1:]
            pw = re.sub(r"\\(.)", r"\1", pw)
        found.append(pw)
    whole = {p for p in found if p} | {unquote(p) for p in found if p}
    pieces = {piece for p in whole for piece in _PIECES.split(p) if piece}
    return tuple(sorted(whole | pieces, key=len, reverse=True))  # longest first: no leftovers


def _configured_url() -> str | None:
    # The environment first (cheap, and what a failing process was given);
    # settings also read .env, so fall back to them.
    url = os.environ.get("DATABASE_URL")
    return url if url is not None else _settings_url()


@lru_cache(maxsize=1)
def _settings_url() -> str | None:
    try:
        from etl_toolkit.config import get_settings

        return get_settings().database_url
    except Exception:  # settings that cannot load must not hide the error being redacted
        return None
