"""The progress display as a person sees it: rendered in process on a recording
console (the tmux test watches the real thing move; this pins what it says)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from etl_toolkit import progress_cli
from etl_toolkit.progress import ProgressEvent
from etl_toolkit.progress_cli import RichView, detail, eta


def _screen(view: RichView, width: int) -> list[str]:
    out = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    out.print(view.live.get_renderable())
    return out.export_text().splitlines()


@pytest.fixture
def view(monkeypatch: pytest.MonkeyPatch) -> RichView:
    console = Console(file=io.StringIO(), width=140, color_system=None)
    monkeypatch.setattr(progress_cli, "stderr", console)
    return RichView()


def _event(item: str | None, **kw: object) -> ProgressEvent:
    base: dict[str, object] = {"pipeline": "sales", "stage": "copy", "items_total": 5}
    return ProgressEvent(item=item, **(base | kw))  # type: ignore[arg-type]


def test_a_file_in_flight_shows_stage_rows_eta_rate_and_bytes(view: RichView) -> None:
    view(
        _event(
            "order_items.csv",
            done=250_000,
            bytes_done=10_000_000,
            bytes_total=40_000_000,
            items_done=4,
            units_done=421_060,
            seconds=2.0,
        )
    )
    head, line = _screen(view, 140)
    assert head.startswith("sales: 4/5 files") and "421,060 rows" in head
    assert "order_items.csv" in line
    assert "copy  250,000 rows  eta 0:00:06  125,000 rows/s  10.0 MB/40.0 MB" in line


def test_finished_files_stay_on_screen_up_to_a_limit(view: RichView) -> None:
    for i in range(progress_cli.KEEP_FINISHED + 2):
        view(_event(f"f{i}.csv", stage="loaded", done=10, items_done=i + 1, finished=True))
    lines = _screen(view, 140)
    shown = [n for n in (f"f{i}.csv" for i in range(7)) if any(n in line for line in lines)]
    assert shown == [f"f{i}.csv" for i in range(2, 7)]  # the oldest two went
    assert all("eta" not in line for line in lines[1:])  # a finished file has no ETA


def test_long_names_and_details_are_cut_to_the_width(view: RichView) -> None:
    name = "deliveries/2025/week-07/" + "x" * 60 + "_order_items.csv"
    view(_event(name, done=5, total=10, seconds=1.0, items_done=0))
    lines = _screen(view, 140)
    assert all(len(line) <= 140 for line in lines)
    # The start of the path is cut: its end is what tells files apart.
    assert lines[1].lstrip().startswith("…") and "x_order_items.csv" in lines[1]
    assert "deliveries/" not in lines[1]


def test_between_files_the_head_line_names_the_stage(view: RichView) -> None:
    view(_event(None, stage="refresh", items_done=5, units_done=771_650))
    assert _screen(view, 140)[0].startswith("sales: 5/5 files")
    assert "refresh  771,650 rows" in _screen(view, 140)[0]


def test_detail_and_eta_without_sizes() -> None:
    pages = ProgressEvent("load-pdf", "extract", "pages", "a.pdf", done=20, total=150, seconds=4.0)
    assert eta(pages) == pytest.approx(26.0)
    assert detail(pages) == "extract  20/150 pages  eta 0:00:26  5 pages/s"
    assert eta(ProgressEvent("medly", "read", "records", "u.json")) is None
