"""One exception root: every exception class the sales slice defines is an EtlError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import etl_toolkit.sales
from etl_toolkit.errors import EtlError


def test_every_sales_exception_is_an_etl_error() -> None:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.iter_modules(etl_toolkit.sales.__path__):
        module = importlib.import_module(f"etl_toolkit.sales.{info.name}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{info.name}.{name}"] = value
    assert "refresh._Unpublished" in found  # the scan sees private classes too
    assert [n for n, cls in found.items() if not issubclass(cls, EtlError)] == []
