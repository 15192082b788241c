"""GET /dashboard: the sales at a glance, one HTML page with server-side SVG charts
(no script, nothing fetched from elsewhere)."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from flask import Blueprint, Response

from api.db import api_db
from etl_toolkit.sales.read import Dashboard, dashboard

bp = Blueprint("dashboard", __name__)
W, H, PAD, LEFT = 720, 260, 40, 76


def _money(v: Any) -> str:
    return f"${Decimal(v or 0):,.0f}"


def trend_svg(rows: list[dict[str, Any]]) -> str:
    """Monthly revenue as a line with points, labelled axes."""
    if not rows:
        return '<p class="empty">no sales yet</p>'
    values = [float(r["revenue"]) for r in rows]
    top = max(values) or 1.0
    step = (W - 2 * PAD) / max(1, len(values) - 1)
    pts = [(PAD + i * step, H - PAD - (v / top) * (H - 2 * PAD)) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    dots = "".join(
        f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3">'
        f"<title>{r['period']:%Y-%m}: {_money(r['revenue'])}</title></circle>"
        for (x, y), r in zip(pts, rows, strict=True)
    )
    labels = "".join(
        f'<text x="{x:.1f}" y="{H - PAD + 18}" text-anchor="middle">{r["period"]:%b %y}</text>'
        for i, ((x, _), r) in enumerate(zip(pts, rows, strict=True))
        if i % max(1, len(rows) // 8) == 0
    )
    return (
        f'<svg id="revenue-trend" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="Monthly revenue">'
        f'<line class="axis" x1="{LEFT}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}"/>'
        f'<line class="axis" x1="{LEFT}" y1="{PAD}" x2="{LEFT}" y2="{H - PAD}"/>'
        f'<text x="{LEFT - 6}" y="{PAD + 4}" text-anchor="end">{_money(top)}</text>'
        f'<text x="{LEFT - 6}" y="{H - PAD}" text-anchor="end">$0</text>'
        f'<polyline class="trend" points="{line}"/>{dots}{labels}</svg>'
    )


def bars_svg(rows: list[dict[str, Any]]) -> str:
    """Revenue per category as horizontal bars."""
    if not rows:
        return '<p class="empty">no sales yet</p>'
    top = max(float(r["revenue"]) for r in rows) or 1.0
    row_h, label_w = 28, 170
    height = row_h * len(rows) + 10
    bars = "".join(
        f'<text x="{label_w - 8}" y="{i * row_h + 19}" text-anchor="end">{escape(r["name"])}</text>'
        f'<rect class="bar" x="{label_w}" y="{i * row_h + 5}" height="{row_h - 8}" '
        f'width="{max(1.0, float(r["revenue"]) / top * (W - label_w - 90)):.1f}">'
        f"<title>{escape(r['name'])}: {_money(r['revenue'])}</title></rect>"
        f'<text x="{label_w + float(r["revenue"]) / top * (W - label_w - 90) + 6:.1f}" '
        f'y="{i * row_h + 19}">{_money(r["revenue"])}</text>'
        for i, r in enumerate(rows)
    )
    return (
        f'<svg id="top-categories" viewBox="0 0 {W} {height}" role="img" '
        f'aria-label="Top categories by revenue">{bars}</svg>'
    )


def _table(table_id: str, head: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return '<p class="empty">none</p>'
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table id="{table_id}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #f6f7f9; }
h1 { font-size: 20px; margin: 0 0 4px; } .sub { color: #667; margin-bottom: 16px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
section { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 2px #0002; }
h2 { font-size: 15px; margin: 0 0 8px; } svg { width: 100%; height: auto; }
svg text { font-size: 11px; fill: #556; } .axis { stroke: #bbc; }
.trend { fill: none; stroke: #2563eb; stroke-width: 2; } .point { fill: #2563eb; }
.bar { fill: #0d9488; } table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eee; }
td.num, th.num { text-align: right; } .empty { color: #888; }
"""


def render(d: Dashboard) -> str:
    span = f"{d.first_day} to {d.last_day}" if d.first_day else "no data loaded"
    products = [
        [str(r["product_id"]), escape(str(r["name"])), str(r["units"]), _money(r["revenue"])]
        for r in d.top_products
    ]
    orders = [
        [
            str(r["order_id"]),
            f"{r['order_date']:%Y-%m-%d %H:%M}",
            escape(str(r["status"])),
            str(r["customer_id"]),
            _money(r["revenue"]),
        ]
        for r in d.recent_orders
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sales dashboard</title>
<link rel="icon" href="data:,"><style>{CSS}</style></head>
<body>
<h1>Sales dashboard</h1><div class="sub">Sales from {span} (UTC; cancelled and returned
orders excluded)</div>
<div class="grid">
<section><h2>Revenue per month</h2>{trend_svg(d.trend)}</section>
<section><h2>Top categories, last 90 days</h2>{bars_svg(d.top_categories)}</section>
<section><h2>Top products, last 30 days</h2>
{_table("top-products", ["id", "product", "units", "revenue"], products)}</section>
<section><h2>Recent orders</h2>
{_table("recent-orders", ["order", "placed", "status", "customer", "revenue"], orders)}</section>
</div></body></html>"""


@bp.get("/dashboard")
def show() -> Response:
    with api_db().connection() as conn:
        data = dashboard(conn)
    return Response(render(data), mimetype="text/html")
