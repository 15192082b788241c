from __future__ import annotations

from etl_toolkit.runs_cli import summarize


def test_flat_counts_are_listed() -> None:
    assert summarize({"files": 3, "loaded": 2}) == "files=3, loaded=2"


def test_per_entity_counts_show_their_totals() -> None:
    counts = {
        "users": {"read": 9, "inserted": 2, "updated": 1, "skipped": 0},
        "attempts": {"read": 9, "inserted": 5, "updated": 0, "skipped": 3},
    }
    assert summarize(counts) == "inserted=7, updated=1, skipped=3"


def test_no_counts() -> None:
    assert summarize({}) == ""
