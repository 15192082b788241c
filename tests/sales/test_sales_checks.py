"""The file gate of etl sales names the files that failed and why."""

from __future__ import annotations

from etl_toolkit.sales.checks import describe, file_checks
from etl_toolkit.sales.load_results import FileReport, LoadResult


def _failed(name: str, error: str | None) -> FileReport:
    rep = FileReport(name, "orders", "")
    rep.status, rep.error = "failed", error
    return rep


def test_the_files_failed_gate_names_the_first_few_files_and_counts_the_rest() -> None:
    load = LoadResult(1, "/data", False)
    load.files = [
        _failed("a.csv", "a.csv: line 5: a quoted field opens here and is never closed"),
        _failed("b.csv", "not readable"),  # an error that does not name its file
        _failed("c.csv", None),
        _failed("d.csv", "d.csv: broken"),
        _failed("e.csv", "e.csv: broken"),
    ]
    gate = next(r for r in file_checks(load) if r.check_name == "files_failed")
    assert not gate.passed
    assert gate.detail == (
        "a.csv: line 5: a quoted field opens here and is never closed; "
        "b.csv: not readable; c.csv: failed; and 2 more"
    )
    assert describe(gate) == "files_failed = 5 (max 0): " + gate.detail


def test_no_failed_file_no_detail() -> None:
    gate = next(
        r for r in file_checks(LoadResult(1, "/data", False)) if r.check_name == "files_failed"
    )
    assert gate.passed and describe(gate) == "files_failed = 0 (max 0)"


def test_shares_and_ages_read_with_their_unit() -> None:
    from etl_toolkit.sales.checks import DqResult

    stale = DqResult("freshness", "orders.order_date", "warn", 706.53, 7.0, False)
    assert describe(stale) == "freshness orders.order_date = 706.5 days old (max 7 days)"
    off = DqResult("order_totals_vs_items", "orders", "warn", 0.091775, 0.01, False)
    assert describe(off) == (
        "order_totals_vs_items orders = 9.2% of orders whose total differs from their items'"
        " (max 1.0%)"
    )
