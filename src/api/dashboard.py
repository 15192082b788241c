"""GET /dashboard: the sales at a glance, one HTML page with server-side SVG charts
(no script, nothing fetched from elsewhere).

The geometry of the charts is computed here; the markup is templates/dashboard.html,
rendered by Jinja with autoescaping (product and category names are data)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, render_template

from api.db import api_db
from etl_toolkit.sales.dashboard import Dashboard, dashboard
from etl_toolkit.sales.records import TopCategory, Trend

bp = Blueprint("dashboard", __name__, template_folder="templates")

W = 720  # the charts' viewBox width; the page scales them to the section
# The trend's plot area: room on the left for the y labels, below for the month labels.
TREND_H, PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 248, 76, 704, 16, 222
# The first and last point sit this far inside the plot, off the y-axis.
INSET = 14
# A month label ("Sep 24") at 11px is about 36 units wide; labels closer than this overlap.
LABEL_GAP = 48
BAR_ROW, BAR_LABEL_W, BAR_VALUE_W = 28, 170, 90


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class TrendChart:
    points: list[Point]
    y_ticks: list[Tick]
    x_labels: list[Tick]
    width: int = W
    height: int = TREND_H
    left: int = PLOT_LEFT
    right: int = PLOT_RIGHT
    top: int = PLOT_TOP
    bottom: int = PLOT_BOTTOM

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Bar:
    name: str
    y: float
    width: float
    value: str


def money(v: Any) -> str:
    return f"${Decimal(v or 0):,.0f}"


def compact_money(v: float) -> str:
    """An axis label: $0, $250, $2.5k, $400k, $1.2M."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"${round(v / size, 3):g}{suffix}"
    return f"${round(v, 3):g}"


def nice_ticks(top: float, target: int = 5) -> list[float]:
    """0 up to the first tick at or above `top`, in steps of 1, 2, 2.5 or 5 times a power
    of ten, about `target` steps: values a reader can read off the axis."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def label_every(spacing: float) -> int:
    """Label every k-th of evenly spaced months, k a divisor of a year or whole years, so
    neighbouring labels are at least LABEL_GAP apart."""
    for k in (1, 2, 3, 4, 6):
        if k * spacing >= LABEL_GAP:
            return k
    return 12 * math.ceil(LABEL_GAP / (12 * spacing))


def trend_chart(rows: list[Trend]) -> TrendChart | None:
    """Monthly revenue as a line inside a plot area with round y ticks and month labels."""
    if not rows:
        return None
    values = [float(r.revenue) for r in rows]
    ticks = nice_ticks(max(values))
    scale = ticks[-1]

    def y(v: float) -> float:
        return PLOT_BOTTOM - v / scale * (PLOT_BOTTOM - PLOT_TOP)

    first, last = PLOT_LEFT + INSET, PLOT_RIGHT - INSET
    if len(values) == 1:
        xs = [(first + last) / 2]
    else:
        xs = [first + i * (last - first) / (len(values) - 1) for i in range(len(values))]
    points = [
        Point(x, y(v), f"{r.period:%Y-%m}: {money(r.revenue)}")
        for x, v, r in zip(xs, values, rows, strict=True)
    ]
    spacing = xs[1] - xs[0] if len(xs) > 1 else float(last - first)
    k = label_every(spacing)
    x_labels = [
        Tick(x, f"{r.period:%b %y}")
        for i, (x, r) in enumerate(zip(xs, rows, strict=True))
        if i % k == 0
    ]
    y_ticks = [Tick(y(v), compact_money(v)) for v in ticks]
    return TrendChart(points, y_ticks, x_labels)


def bars(rows: list[TopCategory]) -> list[Bar]:
    """Revenue per category as horizontal bars, the longest filling the width."""
    top = max((float(r.revenue) for r in rows), default=0.0) or 1.0
    span = W - BAR_LABEL_W - BAR_VALUE_W
    return [
        Bar(
            r.name,
            i * BAR_ROW,
            max(1.0, float(r.revenue) / top * span),
            money(r.revenue),
        )
        for i, r in enumerate(rows)
    ]


def render(d: Dashboard) -> str:
    return render_template(
        "dashboard.html",
        d=d,
        trend=trend_chart(d.trend),
        bars=bars(d.top_categories),
        bar_row=BAR_ROW,
        bar_label_w=BAR_LABEL_W,
        width=W,
        money=money,
    )


@bp.get("/dashboard")
def show() -> Response:
    with api_db().connection() as conn:
        data = dashboard(conn)
    return Response(render(data), mimetype="text/html")
