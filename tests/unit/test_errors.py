"""One exception root: the PDF errors are EtlErrors, keep their meaning and hint across
the worker pool's process boundary (pickled), and transient is decided in one place."""

from __future__ import annotations

import multiprocessing as mp
import pickle

import psycopg
import pytest

from etl_toolkit.errors import DatabaseUnavailable, EtlError, InputError, is_transient
from etl_toolkit.pdf.extract import PdfError
from etl_toolkit.pdf.parallel import ExtractionTimeout


def _raise(exc: EtlError) -> None:
    raise exc


@pytest.mark.parametrize(
    "exc",
    [
        PdfError("encrypted PDF: a password is required", hint="give --password"),
        ExtractionTimeout("extraction exceeded the per-file timeout of 1 s"),
        DatabaseUnavailable("lost the database", hint="run it again"),
    ],
    ids=["pdf", "timeout", "database"],
)
def test_errors_cross_a_process_boundary_whole(exc: EtlError) -> None:
    back = pickle.loads(pickle.dumps(exc))
    assert (type(back), str(back), back.hint) == (type(exc), str(exc), exc.hint)
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ctx.Pool(1) as pool, pytest.raises(type(exc)) as raised:
        pool.apply(_raise, (exc,))  # raised in the worker, re-raised here
    assert (str(raised.value), raised.value.hint) == (str(exc), exc.hint)


def test_pdf_errors_are_terminal_and_a_lost_database_is_transient() -> None:
    assert isinstance(PdfError("x"), InputError)
    assert isinstance(ExtractionTimeout("x"), EtlError)
    assert not is_transient(PdfError("x"))
    assert not is_transient(ExtractionTimeout("x"))
    assert is_transient(DatabaseUnavailable("x"))
    assert is_transient(psycopg.OperationalError("server closed the connection"))
