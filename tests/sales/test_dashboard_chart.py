"""The dashboard's chart geometry (src/api/dashboard.py), without a browser."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from api.dashboard import (
    LABEL_GAP,
    PLOT_BOTTOM,
    PLOT_LEFT,
    PLOT_RIGHT,
    PLOT_TOP,
    compact_money,
    label_every,
    nice_ticks,
    trend_chart,
)
from etl_toolkit.sales.records import Trend


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (488_059, [0, 100_000, 200_000, 300_000, 400_000, 500_000]),
        (500_000, [0, 100_000, 200_000, 300_000, 400_000, 500_000]),
        (1_234, [0, 250, 500, 750, 1_000, 1_250]),
        (7, [0, 2, 4, 6, 8]),
        (0.3, [0, 0.1, 0.2, 0.3]),
        (0, [0, 1]),
    ],
)
def test_nice_ticks_are_round_and_reach_the_top(top: float, ticks: list[float]) -> None:
    assert nice_ticks(top) == pytest.approx(ticks)


@pytest.mark.parametrize(
    ("value", "label"),
    [(0, "$0"), (250, "$250"), (2_500, "$2.5k"), (400_000, "$400k"), (1_200_000, "$1.2M")],
)
def test_axis_labels_are_compact(value: float, label: str) -> None:
    assert compact_money(value) == label


def _months(n: int, revenue: str = "100") -> list[Trend]:
    return [
        Trend(date(2000 + i // 12, i % 12 + 1, 1), Decimal(revenue), 1, 1, None, None, None)
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [1, 2, 12, 24, 36, 100])
def test_every_point_is_inside_the_plot_and_labels_keep_apart(n: int) -> None:
    chart = trend_chart(_months(n))
    assert chart is not None
    assert all(
        PLOT_LEFT < p.x < PLOT_RIGHT and PLOT_TOP <= p.y <= PLOT_BOTTOM for p in chart.points
    )
    assert chart.x_labels and chart.x_labels[0].pos == chart.points[0].x
    assert all(b.pos - a.pos >= LABEL_GAP for a, b in itertools.pairwise(chart.x_labels))
    assert chart.y_ticks[0].label == "$0"


def test_a_month_without_revenue_sits_on_the_x_axis() -> None:
    chart = trend_chart(_months(3, revenue="0"))
    assert chart is not None and {p.y for p in chart.points} == {PLOT_BOTTOM}
    assert trend_chart([]) is None


def test_labels_every_divisor_of_a_year_then_whole_years() -> None:
    assert label_every(LABEL_GAP) == 1
    assert label_every(LABEL_GAP / 2) == 2
    assert label_every(LABEL_GAP / 5) == 6
    assert label_every(LABEL_GAP / 7) == 12
    assert label_every(LABEL_GAP / 30) == 36
