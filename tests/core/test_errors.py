"""One exception root: every exception class of the library and the API is an EtlError;
the PDF errors keep their meaning and hint across the worker pool's process boundary
(pickled), and transient is decided in one place."""

from __future__ import annotations

import importlib
import inspect
import multiprocessing as mp
import pickle
import pkgutil
from types import ModuleType

import psycopg
import pytest

from etl_toolkit.errors import (
    DatabaseUnavailable,
    EtlError,
    InputError,
    connection_lost,
    is_transient,
)
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


def _defined_exceptions(package: ModuleType) -> dict[str, type[BaseException]]:
    """Every exception class the modules of `package` define (private ones too)."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if info.name.endswith(("lambda_handler", "__main__")):
            continue  # entry points: importing them starts things
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{info.name}.{name}"] = value
    return found


def test_one_exception_root_for_the_library_and_the_api() -> None:
    import api
    import etl_toolkit

    found = _defined_exceptions(etl_toolkit) | _defined_exceptions(api)
    # the scan sees every slice, and private classes too
    for expected in (
        "etl_toolkit.sales.refresh._Unpublished",
        "etl_toolkit.pdf.extract.PdfError",
        "etl_toolkit.medly.parse.Invalid",
        "api.errors.ApiError",
        "api.jsonbody._NotJson",
    ):
        assert expected in found
    assert [n for n, cls in found.items() if not issubclass(cls, EtlError)] == []


@pytest.mark.parametrize(
    ("exc", "lost"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.AdminShutdown("terminating connection"), True),
        (psycopg.errors.ConnectionFailure("connection failure"), True),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), False),
        (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), False),
        (psycopg.errors.DeadlockDetected("deadlock detected"), False),
        (psycopg.errors.DiskFull("could not extend file"), False),
        (psycopg.errors.UniqueViolation("duplicate key"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_a_lost_connection_is_told_from_a_failed_statement(exc: Exception, lost: bool) -> None:
    assert connection_lost(exc) is lost
