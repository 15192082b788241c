"""Passwords never shown: every spelling of a connection string, and psycopg's echoes."""

from __future__ import annotations

import pytest

from etl_toolkit.errors import DatabaseUnavailable
from etl_toolkit.redact import passwords, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("mysql://u:secret@localhost/db", "mysql://u:***@localhost/db"),
        # psycopg's own message, quoting the string it could not parse
        (
            'missing "=" after "mysql://u:secret@localhost/db" in connection info string',
            'missing "=" after "mysql://u:***@localhost/db" in connection info string',
        ),
        # an unencoded @ in the password: nothing of it is left
        ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
        ("postgresql://u@h/db?password=s3cret", "postgresql://u@h/db?password=***"),
        (
            "postgresql://u@h/db?sslmode=require&password=s3cret&connect_timeout=5",
            "postgresql://u@h/db?sslmode=require&password=***&connect_timeout=5",
        ),
        ("host=h port=5432 password=s3cret dbname=x", "host=h port=5432 password=*** dbname=x"),
        ("host=h password = 's3 cr\\'et' dbname=x", "host=h password = *** dbname=x"),
        ("host=h PASSWORD=s3cret", "host=h PASSWORD=***"),
        # every keyword ending in password is a secret, in a keyword DSN and a URL query
        ("host=x sslpassword=s3cret", "host=x sslpassword=***"),
        ("host=x sslpassword='s3 cret' port=1", "host=x sslpassword=*** port=1"),
        ("postgresql://u@h/db?sslpassword=s3cret&x=1", "postgresql://u@h/db?sslpassword=***&x=1"),
        # what the user meant as the password runs to the last @
        ("postgresql://u:p@ss3cret@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db"),
        # nothing to hide: unchanged
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://postgres:@/etl?host=/tmp/x", "postgresql://postgres:@/etl?host=/tmp/x"),
        ("postgresql://h:5432/db", "postgresql://h:5432/db"),
        ("host=h dbname=x", "host=h dbname=x"),
    ],
)
def test_every_spelling_is_redacted(text: str, expected: str) -> None:
    assert redact(text, url="") == expected


def test_the_configured_password_is_hidden_wherever_it_is_echoed() -> None:
    url = "postgresql://u:pa%40ss%20word@h/db"
    # raw, decoded, and the decoded one's pieces (libpq would cut it at the @)
    assert set(passwords(url)) == {"pa%40ss%20word", "pa@ss word", "pa", "ss word"}
    # decoded, outside any URL or keyword shape (as a server or driver may echo it)
    assert redact('password "pa@ss word" rejected', url=url) == 'password "***" rejected'
    # a password that is also a word inside other words leaves those words alone
    assert redact("postgresql: bad postgres", url="postgres://postgres:postgres@h") == (
        "postgresql: bad ***"
    )


def test_keyword_dsn_passwords_are_known_quoted_or_not() -> None:
    assert passwords("host=h password='a b\\'c' user=u") == ("a b'c",)
    assert passwords("host=h password=abcd") == ("abcd",)
    assert passwords(None) == () and passwords("host=h") == ()


def test_error_messages_are_redacted_when_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "host=h password=hunter22")
    exc = DatabaseUnavailable("lost host=h password=hunter22 (and saw hunter22)")
    assert str(exc) == "lost host=h password=*** (and saw ***)"


def test_redacting_twice_changes_nothing_more() -> None:
    url = redact("postgresql://u@h/db?password=s3cret", url="")
    message = f"cannot connect to {url}: refused"
    assert redact(message, url="") == "cannot connect to postgresql://u@h/db?password=***: refused"
    assert redact("postgresql://u:***@h/db", url="") == "postgresql://u:***@h/db"


def test_the_pieces_of_a_password_with_an_unencoded_at_are_hidden_where_libpq_echoes_them() -> None:
    """libpq reads `u:p@ss3cret@h` as password `p`, host `ss3cret@h`: the part it
    took for the host is the user's password all the same."""
    url = "postgresql://u:p@ss3cret@127.0.0.1:1/db"
    assert set(passwords(url)) == {"p@ss3cret", "p", "ss3cret"}
    message = (
        f"cannot connect to {url}: failed to resolve host 'ss3cret@127.0.0.1': "
        "[Errno -2] Name or service not known"
    )
    assert redact(message, url=url) == (
        "cannot connect to postgresql://u:***@127.0.0.1:1/db: failed to resolve host"
        " '***@127.0.0.1': [Errno -2] Name or service not known"
    )


def test_an_ssl_key_password_is_hidden_wherever_it_is_echoed() -> None:
    url = "host=x sslpassword=s3cret"
    assert passwords(url) == ("s3cret",)
    assert redact("could not decrypt the key with s3cret", url=url) == (
        "could not decrypt the key with ***"
    )
