"""etl sales on a file that cannot be read as the format as a whole (not UTF-8, a
header without a required column, an unterminated quote): the file fails, the
ledger does not record it, and every run fails on it again until it is fixed or
replaced; stderr names it and the fix. Each case has its own fixture."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.sales.pipeline import run_sales
from tests.paths import FIXTURES

LATIN1 = FIXTURES / "sales" / "latin1" / "customers_latin1.csv"
UNTERMINATED = FIXTURES / "sales" / "unterminated" / "products.csv"
CUSTOMERS = (
    "customer_id,email,first_name,last_name,street_address,city,state,zip_code,"
    "country,phone,registration_date,last_login\n"
)


def _rows(db: Database, sql: str) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return list(conn.execute(sql).fetchall())


def _sales(data: Path, *more: str) -> Any:
    return CliRunner().invoke(app, ["sales", "--data-dir", str(data), *more])


def _errors(result: Any) -> list[str]:
    return [x for x in result.stderr.splitlines() if x.startswith("Error: ")]


def test_a_latin1_file_fails_on_every_run_until_it_is_converted(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    data = tmp_path / "d"
    data.mkdir()
    shutil.copy(LATIN1, data / LATIN1.name)
    error = (
        "Error: customers_latin1.csv: line 3: not valid UTF-8 (byte 0xe9);"
        " nothing of this file was loaded (re-save it as UTF-8, e.g. iconv -f latin1 -t utf-8"
    )
    for args in ((), ("--incremental",), ("--incremental",)):
        result = _sales(data, *args)
        assert result.exit_code == 1, result.output
        assert "nothing new" not in result.stdout
        assert [x[: len(error)] for x in _errors(result)] == [error], result.stderr
        # Nothing of the file: no row (its good line 2 neither), no reject, no ledger entry.
        assert _rows(db, "SELECT count(*) AS n FROM sales.customers")[0]["n"] == 0
        assert _rows(db, "SELECT count(*) AS n FROM sales.rejects")[0]["n"] == 0
        assert _rows(db, "SELECT count(*) AS n FROM sales.files")[0]["n"] == 0
    runs = _rows(db, "SELECT status, error FROM etl.runs ORDER BY id")
    assert [r["status"] for r in runs] == ["failed"] * 3
    assert "not valid UTF-8" in runs[-1]["error"]
    # Converted (what iconv -f latin1 -t utf-8 writes), it loads with its accents.
    (data / LATIN1.name).write_text(LATIN1.read_bytes().decode("latin-1"), encoding="utf-8")
    fixed = run_sales(db, data, incremental=True)
    assert fixed.status == "succeeded", fixed.errors()
    names = _rows(db, "SELECT first_name, city FROM sales.customers ORDER BY customer_id")
    assert [(x["first_name"], x["city"]) for x in names] == [("Ada", None), ("José", "Málaga")]
    assert fixed.errors() == []


def test_a_header_that_is_not_utf8_names_the_line_and_the_fix(db: Database, tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "customers.csv").write_bytes(
        CUSTOMERS.replace("email", "e\xe9mail").encode("latin-1") + b"1,a@example.com\n"
    )
    r = run_sales(db, data)
    assert r.failed and r.errors() == [
        "customers.csv: line 1: not valid UTF-8 (byte 0xe9); nothing of this file was loaded"
        " (re-save it as UTF-8, e.g. iconv -f latin1 -t utf-8 (or -f cp1252) customers.csv"
        " > fixed.csv, then run again)"
    ]


def test_a_utf16_file_is_named_as_such(db: Database, tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "customers.csv").write_bytes((CUSTOMERS + "1,a@example.com\n").encode("utf-16"))
    r = run_sales(db, data)
    assert r.failed and r.errors() == [
        "customers.csv: the file is UTF-16 (a byte order mark or NUL bytes in the header),"
        " expected UTF-8; nothing of this file was loaded (re-save it as UTF-8, e.g."
        " iconv -f utf-16 -t utf-8 customers.csv > fixed.csv, then run again)"
    ]


def test_a_header_without_a_required_column_names_what_it_found_on_every_run(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "customers.csv").write_text(
        CUSTOMERS.replace("email", "e_mail") + "1,ada@example.com,Ada,,,,,,US,,,\n"
    )
    for args in ((), ("--incremental",)):
        result = _sales(data, *args)
        assert result.exit_code == 1, result.output
        [line] = _errors(result)
        assert line.startswith(
            "Error: customers.csv: header lacks required column(s) email; found instead: e_mail"
            " (rename the header's columns; customers columns: customer_id, email,"
        ), line
        assert _rows(db, "SELECT count(*) AS n FROM sales.files")[0]["n"] == 0
    (data / "customers.csv").write_text(CUSTOMERS + "1,ada@example.com,Ada,,,,,,US,,,\n")
    assert run_sales(db, data, incremental=True).status == "succeeded"


@pytest.mark.parametrize("incremental", [False, True])
def test_an_unterminated_quote_and_its_dependent_are_one_error_line_each(
    settings: Settings, db: Database, tmp_path: Path, incremental: bool
) -> None:
    data = shutil.copytree(FIXTURES / "sales" / "base", tmp_path / "d")
    if incremental:  # the other files loaded already: only the new content fails
        run_sales(db, data)
    shutil.copy(UNTERMINATED, data / "products.csv")
    result = _sales(data, *(["--incremental"] if incremental else []))
    assert result.exit_code == 1, result.output
    errors = _errors(result)
    assert errors[0].startswith(
        "Error: products.csv: line 5: a quoted field opens here and is never closed"
    )
    if not incremental:
        assert errors[1:] == [
            "Error: order_items.csv: not loaded because this delivery's products file failed"
        ]
    else:
        assert len(errors) == 1
    assert all("Error" not in x for x in result.stdout.splitlines())
