"""GET /dashboard without a browser: the page is a Jinja template with autoescaping,
so names from the data are text, never markup. (tests/sales/test_dashboard_browser.py
checks what the browser draws.)"""

from __future__ import annotations

from flask.testing import FlaskClient

from etl_toolkit.db.connect import Database
from etl_toolkit.sales.pipeline import run_sales
from tests.paths import ROOT

ATTACK = "<script>alert(1)</script>"


def test_names_from_the_data_are_escaped(db: Database, client: FlaskClient) -> None:
    assert run_sales(db, ROOT / "samples" / "sales").status == "succeeded"
    with db.connect() as conn:
        conn.execute("UPDATE sales.products SET name = %s || name", (ATTACK,))
        conn.execute("UPDATE sales.product_categories SET name = %s || name", (ATTACK,))
    r = client.get("/dashboard")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "<script" not in page
    # Each in the top products table, the bars' labels and their tooltips.
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 10 + 2 * 3


def test_an_empty_database_shows_no_data(client: FlaskClient) -> None:
    page = client.get("/dashboard").get_data(as_text=True)
    assert "No data loaded" in page and page.count("no sales yet") == 2
    assert '<table id="recent-orders">' not in page
