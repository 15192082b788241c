"""GraphQL over schema sales: every query against an independent Polars computation
over the CSVs, cursor walks, limits, the mutation, the offline explorer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from api.app import create_app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.sales import read
from etl_toolkit.sales.generate import generate
from etl_toolkit.sales.pipeline import run_sales
from etl_toolkit.sales.refresh import refresh
from tests.sales.test_sales import derived_snapshot

Gql = Callable[..., dict[str, Any]]
MONTH = {"from": "2024-03-01", "to": "2024-03-31"}
COUNTED = ~pl.col("status").is_in(["Cancelled", "Returned"])


@pytest.fixture(scope="module")
def csvs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sales-gql")
    generate(out, scale="sample", seed=11, dirty=0.0)
    return out


@pytest.fixture(scope="module")
def gql(module_db: Database, csvs: Path) -> Iterator[Gql]:
    assert run_sales(module_db, csvs).status == "succeeded"
    app = create_app(Settings(auth_disabled=True, database_url=module_db.url), module_db)
    client = app.test_client()

    def run(
        q: str, variables: dict[str, Any] | None = None, status: int = 200, errors: bool = False
    ) -> dict[str, Any]:
        r = client.post("/graphql", json={"query": q, "variables": variables or {}})
        assert r.status_code == status, r.get_json()
        body: dict[str, Any] = r.get_json()
        assert ("errors" in body) is (errors or status != 200), body.get("errors")
        return body

    yield run
    app.extensions["etl_db"].close()


@pytest.fixture(scope="module")
def lines(csvs: Path) -> pl.DataFrame:
    """Counted order lines, computed from the CSVs alone."""
    orders = pl.read_csv(csvs / "orders.csv", try_parse_dates=True)
    items = pl.read_csv(csvs / "order_items.csv")
    products = pl.read_csv(csvs / "products.csv").select("product_id", "category_id")
    return (
        items.join(orders, on="order_id")
        .filter(COUNTED)
        .join(products, on="product_id")
        .with_columns(
            revenue=pl.col("price") * pl.col("quantity") - pl.col("discount"),
            day=pl.col("order_date").dt.date(),
        )
    )


def _in(frame: pl.DataFrame, dates: dict[str, str]) -> pl.DataFrame:
    lo, hi = (pl.lit(dates[k]).str.to_date() for k in ("from", "to"))
    return frame.filter(pl.col("day").is_between(lo, hi))


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 0.006


PRODUCT_SALES = """
query($dates: DateRangeInput!, $first: Int, $after: String, $sort: ProductSalesSort,
      $filter: ProductSalesFilter) {
  productSales(dates: $dates, first: $first, after: $after, sort: $sort, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { units revenue orders product { id name category { id name } } } }
  }
}"""


@pytest.mark.parametrize(
    "dates",
    [MONTH, {"from": "2024-02-10", "to": "2024-05-20"}, {"from": "2024-06-03", "to": "2024-06-09"}],
    ids=["a whole month", "partial months around whole ones", "days inside a month"],
)
def test_product_sales_equal_an_independent_computation(
    gql: Gql, lines: pl.DataFrame, dates: dict[str, str]
) -> None:
    expected = (
        _in(lines, dates)
        .group_by("product_id")
        .agg(
            units=pl.col("quantity").sum(),
            revenue=pl.col("revenue").sum(),
            orders=pl.col("order_id").n_unique(),
        )
        .with_columns(pl.col("revenue").round(2))
        .sort(["revenue", "product_id"], descending=[True, False])
    )
    got = gql(PRODUCT_SALES, {"dates": dates, "first": 25})["data"]["productSales"]
    assert got["totalCount"] == expected.height
    for edge, want in zip(got["edges"], expected.head(25).iter_rows(named=True), strict=True):
        node = edge["node"]
        assert node["product"]["id"] == want["product_id"]
        assert (node["units"], node["orders"]) == (want["units"], want["orders"])
        assert _close(node["revenue"], want["revenue"])


def test_cursor_pagination_walks_everything_once(gql: Gql, lines: pl.DataFrame) -> None:
    for sort in ("REVENUE_DESC", "UNITS_ASC", "PRODUCT_ID_ASC"):
        seen: list[int] = []
        after = None
        while True:
            page = gql(PRODUCT_SALES, {"dates": MONTH, "first": 37, "after": after, "sort": sort})
            conn = page["data"]["productSales"]
            seen += [e["node"]["product"]["id"] for e in conn["edges"]]
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
        assert len(seen) == len(set(seen)) == conn["totalCount"]
        assert set(seen) == set(_in(lines, MONTH)["product_id"].unique())


def test_product_filters(gql: Gql, lines: pl.DataFrame, csvs: Path) -> None:
    cats = pl.read_csv(csvs / "product_categories.csv")
    root = 1
    subtree = {root} | set(cats.filter(pl.col("parent_id") == root)["category_id"])
    products = pl.read_csv(csvs / "products.csv")
    cheap = set(products.filter(pl.col("price") <= 50)["product_id"])
    want = set(
        _in(lines, MONTH).filter(
            pl.col("category_id").is_in(list(subtree)) & pl.col("product_id").is_in(cheap)
        )["product_id"]
    )
    body = gql(
        PRODUCT_SALES,
        {"dates": MONTH, "first": 100, "filter": {"categoryId": root, "price": {"max": 50}}},
    )
    got = {e["node"]["product"]["id"] for e in body["data"]["productSales"]["edges"]}
    assert got == want
    inactive = set(products.filter(~pl.col("is_active"))["product_id"])
    want = set(_in(lines, MONTH).filter(pl.col("product_id").is_in(inactive))["product_id"])
    body = gql(PRODUCT_SALES, {"dates": MONTH, "first": 100, "filter": {"active": False}})
    got = {e["node"]["product"]["id"] for e in body["data"]["productSales"]["edges"]}
    assert got <= want and body["data"]["productSales"]["totalCount"] == len(want)


def test_product_periods_add_up(gql: Gql) -> None:
    q = """query($d: DateRangeInput!) { productSales(dates: $d, first: 5) { edges { node {
      revenue units periods(granularity: WEEK) { period revenue units } } } } }"""
    for edge in gql(q, {"d": MONTH})["data"]["productSales"]["edges"]:
        node = edge["node"]
        assert _close(sum(p["revenue"] for p in node["periods"]), node["revenue"])
        assert sum(p["units"] for p in node["periods"]) == node["units"]


TRENDS_PAGE = """query($dates: DateRangeInput!, $first: Int, $after: String) {
  salesTrends(dates: $dates, granularity: MONTH, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor } } }"""


@pytest.mark.parametrize(
    ("q", "field", "dates"),
    [
        (PRODUCT_SALES, "productSales", MONTH),
        (TRENDS_PAGE, "salesTrends", {"from": "2024-01-01", "to": "2024-12-31"}),
    ],
    ids=["productSales", "salesTrends"],
)
def test_total_count_holds_on_the_page_after_the_last(
    gql: Gql, q: str, field: str, dates: dict[str, str]
) -> None:
    """Issue 13 §2, the GraphQL sibling of X-Total-Count: the page after the last one
    is empty and still counts the whole connection."""
    after = None
    while True:
        page = gql(q, {"dates": dates, "first": 100, "after": after})["data"][field]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert page["totalCount"] > 0
    past = gql(q, {"dates": dates, "first": 5, "after": after})["data"][field]
    assert past["edges"] == []
    assert past["totalCount"] == page["totalCount"]


CUSTOMER = """
query($id: ID!, $first: Int, $after: String, $filter: OrderFilter) {
  customer(id: $id) {
    id email metrics { orderCount lifetimeValue averageOrderValue firstOrderAt lastOrderAt }
    orders(first: $first, after: $after, filter: $filter) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id orderDate status revenue items { product { id } quantity total } } }
    }
  }
}"""


def test_customer_history_and_metrics(gql: Gql, csvs: Path) -> None:
    orders = pl.read_csv(csvs / "orders.csv", try_parse_dates=True)
    items = pl.read_csv(csvs / "order_items.csv").with_columns(
        total=pl.col("price") * pl.col("quantity") - pl.col("discount")
    )
    cid = orders.group_by("customer_id").len().sort("len", descending=True)["customer_id"][0]
    mine = orders.filter(pl.col("customer_id") == cid).sort(
        ["order_date", "order_id"], descending=True
    )
    walked: list[dict[str, Any]] = []
    after = None
    while True:
        body = gql(CUSTOMER, {"id": str(cid), "first": 2, "after": after})["data"]["customer"]
        walked += [e["node"] for e in body["orders"]["edges"]]
        if not body["orders"]["pageInfo"]["hasNextPage"]:
            break
        after = body["orders"]["pageInfo"]["endCursor"]
    assert [int(o["id"]) for o in walked] == mine["order_id"].to_list()
    for o in walked:
        want = items.filter(pl.col("order_id") == int(o["id"]))
        assert sorted(i["product"]["id"] for i in o["items"]) == sorted(want["product_id"])
        assert _close(o["revenue"], want["total"].sum())
    counted = mine.filter(COUNTED)
    revenue = items.join(counted, on="order_id")["total"].sum()
    m = body["metrics"]
    assert m["orderCount"] == counted.height
    assert _close(m["lifetimeValue"], revenue)
    assert _close(m["averageOrderValue"], round(revenue / counted.height, 2))
    delivered = gql(CUSTOMER, {"id": str(cid), "filter": {"status": ["DELIVERED"]}})
    got = delivered["data"]["customer"]["orders"]
    assert got["totalCount"] == mine.filter(pl.col("status") == "Delivered").height
    assert {e["node"]["status"] for e in got["edges"]} <= {"DELIVERED"}
    assert gql('{ customer(id: "999999999") { id } }')["data"]["customer"] is None


def test_top_products_per_category_and_for_a_subtree(
    gql: Gql, lines: pl.DataFrame, csvs: Path
) -> None:
    q = """query($d: DateRangeInput!, $c: Int, $first: Int, $after: String) {
      topProductsByCategory(dates: $d, categoryId: $c, perCategory: 3, by: UNITS,
                            first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { category { id } products { rank units product { id } } } } } }"""
    month = _in(lines, MONTH)
    per = month.group_by("category_id", "product_id").agg(units=pl.col("quantity").sum())
    walked = []
    after = None
    while True:
        conn = gql(q, {"d": MONTH, "first": 4, "after": after})["data"]["topProductsByCategory"]
        walked += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert len(walked) == conn["totalCount"] == per["category_id"].n_unique()
    for node in walked:
        want = (
            per.filter(pl.col("category_id") == node["category"]["id"])
            .sort(["units", "product_id"], descending=[True, False])
            .head(3)
        )
        assert [(p["product"]["id"], p["units"]) for p in node["products"]] == list(
            want.select("product_id", "units").iter_rows()
        )
    cats = pl.read_csv(csvs / "product_categories.csv")
    subtree = {1} | set(cats.filter(pl.col("parent_id") == 1)["category_id"])
    one = gql(q, {"d": MONTH, "c": 1})["data"]["topProductsByCategory"]["edges"]
    want = (
        month.filter(pl.col("category_id").is_in(list(subtree)))
        .group_by("product_id")
        .agg(units=pl.col("quantity").sum())
        .sort(["units", "product_id"], descending=[True, False])
        .head(3)
    )
    assert len(one) == 1 and one[0]["node"]["category"]["id"] == 1
    assert [(p["product"]["id"], p["units"]) for p in one[0]["node"]["products"]] == list(
        want.iter_rows()
    )


def test_sales_trends(gql: Gql, csvs: Path) -> None:
    orders = pl.read_csv(csvs / "orders.csv", try_parse_dates=True).filter(COUNTED)
    items = pl.read_csv(csvs / "order_items.csv").with_columns(
        total=pl.col("price") * pl.col("quantity") - pl.col("discount")
    )
    per_order = orders.join(
        items.group_by("order_id").agg(pl.col("total").sum(), pl.col("quantity").sum()),
        on="order_id",
        how="left",
    ).with_columns(month=pl.col("order_date").dt.truncate("1mo").dt.date())
    want = (
        per_order.filter(pl.col("order_date").dt.year() == 2024)
        .group_by("month")
        .agg(revenue=pl.col("total").sum(), orders=pl.len(), units=pl.col("quantity").sum())
        .sort("month")
    )
    q = """query($d: DateRangeInput!) { salesTrends(dates: $d, granularity: MONTH) {
      totalCount
      edges { node { period revenue orders units averageOrderValue revenueChange } } } }"""
    got = gql(q, {"d": {"from": "2024-01-01", "to": "2024-12-31"}})["data"]["salesTrends"]
    nodes = [e["node"] for e in got["edges"]]
    assert got["totalCount"] == want.height == 12
    previous = None
    for node, w in zip(nodes, want.iter_rows(named=True), strict=True):
        assert node["period"] == w["month"].isoformat()
        assert (node["orders"], node["units"]) == (w["orders"], w["units"])
        assert _close(node["revenue"], w["revenue"])
        assert _close(node["averageOrderValue"], round(w["revenue"] / w["orders"], 2))
        if previous is None:
            assert node["revenueChange"] is None
        else:
            assert abs(node["revenueChange"] - (w["revenue"] - previous) / previous) < 1e-6
        previous = w["revenue"]


def test_bad_arguments_are_graphql_errors(gql: Gql) -> None:
    bad = gql(PRODUCT_SALES, {"dates": MONTH, "after": "not-a-cursor"}, status=400)
    assert bad["errors"][0]["message"] == "after: not a cursor this API issued"
    assert bad["data"] is None
    backwards = gql(
        PRODUCT_SALES, {"dates": {"from": "2024-03-02", "to": "2024-03-01"}}, status=400
    )
    assert "`to` is before `from`" in backwards["errors"][0]["message"]
    big = gql(PRODUCT_SALES, {"dates": MONTH, "first": 1000}, status=400)
    assert "first: between 1 and 100" in big["errors"][0]["message"]
    typo = gql(PRODUCT_SALES, {"dates": MONTH, "sort": "name; drop table"}, status=400)
    assert "ProductSalesSort" in typo["errors"][0]["message"]


def test_too_deep_or_too_costly_queries_are_refused_before_they_run(gql: Gql) -> None:
    deep = (
        "{ product(id: 1) { category { parent { parent { parent { root"
        " { parent { root { parent { name } } } } } } } } } }"
    )
    body = gql(deep, status=400)
    assert "levels deep; at most 8" in body["errors"][0]["message"]
    costly = """{ productSales(dates: {from: "2023-01-01", to: "2024-12-31"}, first: 100) {
      edges { node { periods(granularity: DAY) { revenue } } } } }"""
    body = gql(costly, status=400)
    assert "cost" in body["errors"][0]["message"].lower()


def test_nested_lookups_are_batched(
    gql: Gql, module_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = read.by_ids

    def counting(conn: Any, name: str, ids: list[int], key: str) -> Any:
        calls.append(name)
        return original(conn, name, ids, key)

    monkeypatch.setattr(read, "by_ids", counting)
    for name in ("order_items", "product_periods", "all_categories"):
        monkeypatch.setattr(read, name, _counted(calls, name, getattr(read, name)))
    gql(PRODUCT_SALES, {"dates": MONTH, "first": 50})
    # 50 products in one query, their categories in one
    assert calls == ["products", "all_categories"]
    calls.clear()
    q = """query($d: DateRangeInput!) { productSales(dates: $d, first: 20) { edges { node {
      weeks: periods(granularity: WEEK) { units } days: periods(granularity: DAY) { units }
      product { name } } } } }"""
    gql(q, {"d": MONTH})
    assert sorted(calls) == ["product_periods", "product_periods", "products"]  # per granularity
    calls.clear()
    with module_db.connect() as conn:
        busy = conn.execute(
            "SELECT customer_id FROM sales.orders GROUP BY 1 HAVING count(*) >= 3 LIMIT 1"
        ).fetchone()
    assert busy is not None
    q = """query($id: ID!) { customer(id: $id) { orders(first: 3) { edges { node {
      items { quantity product { name } } } } } } }"""
    gql(q, {"id": str(busy["customer_id"])})
    # The customer, the items of its 3 orders in one query, their products in one.
    assert calls == ["customers", "order_items", "products"]


def _counted(calls: list[str], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def counting(*args: Any) -> Any:
        calls.append(name)
        return fn(*args)

    return counting


def _sales_state(db: Database) -> dict[str, Any]:
    """What a product change may touch: the products, the derived tables, the queue."""
    with db.connect() as conn:
        extra = {
            t: [tuple(r.values()) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in ("sales.products", "sales.refresh_orders", "sales.refresh_before")
        }
        state = conn.execute("SELECT *, xmin::text AS version FROM sales.refresh_state")
        extra["sales.refresh_state"] = [tuple(r.values()) for r in state]
    return {**derived_snapshot(db), **extra}


def test_update_product_validates_and_keeps_derived_data_right(
    gql: Gql, module_db: Database
) -> None:
    m = """mutation($id: Int!, $input: ProductInput!) { updateProduct(id: $id, input: $input) {
      product { id name price category { id } } errors { field message } derivedRefreshed } }"""
    with module_db.connect() as conn:
        current = conn.execute("SELECT category_id FROM sales.products WHERE product_id = 7")
        old = current.fetchone()["category_id"]  # type: ignore[index]
    new = 2 if old != 2 else 3
    unchanged = _sales_state(module_db)
    # Valid fields beside an invalid one: nothing is written, not even the valid ones.
    mixed = gql(m, {"id": 7, "input": {"name": "Renamed", "price": -1.5, "categoryId": new}})
    assert [e["field"] for e in mixed["data"]["updateProduct"]["errors"]] == ["price"]
    bad = gql(m, {"id": 7, "input": {"name": " ", "price": -1.5, "categoryId": 99999}})
    errors = {e["field"] for e in bad["data"]["updateProduct"]["errors"]}
    assert errors == {"name", "price", "categoryId"}
    assert bad["data"]["updateProduct"]["product"] is None
    assert gql(m, {"id": 7, "input": {"price": 1.234}})["data"]["updateProduct"]["errors"]
    nul = gql(m, {"id": 7, "input": {"description": "a\x00b"}})["data"]["updateProduct"]
    assert [e["field"] for e in nul["errors"]] == ["description"]
    missing = gql(m, {"id": 10**9, "input": {"name": "x"}})["data"]["updateProduct"]
    assert missing["errors"] == [{"field": "id", "message": f"no product {10**9}"}]
    assert _sales_state(module_db) == unchanged  # products, derived tables, refresh queue
    ok = gql(m, {"id": 7, "input": {"name": "Renamed", "price": 12.5, "categoryId": new}})
    payload = ok["data"]["updateProduct"]
    assert payload["errors"] == [] and payload["derivedRefreshed"] is True
    assert payload["product"] == {
        "id": 7,
        "name": "Renamed",
        "price": 12.5,
        "category": {"id": new},
    }
    after = derived_snapshot(module_db)
    with module_db.connect() as conn:
        conn.execute("UPDATE sales.refresh_state SET full_rebuild = true")
    assert refresh(module_db).mode == "full"
    assert derived_snapshot(module_db) == after


def test_graphiql_is_served_offline(gql: Gql, module_db: Database) -> None:
    app = create_app(Settings(auth_disabled=True, database_url=module_db.url), module_db)
    client = app.test_client()
    page = client.get("/graphql")
    assert page.status_code == 200 and b"/graphql/assets/graphiql.min.js" in page.data
    assert b"https://" not in page.data  # nothing from a CDN
    for asset in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js"):
        assert client.get(f"/graphql/assets/{asset}").status_code == 200
    assert client.get("/graphql/assets/../app.py").status_code == 404
    schema = gql("{ __schema { queryType { fields { name } } } }")["data"]["__schema"]
    names = {f["name"] for f in schema["queryType"]["fields"]}
    assert {"productSales", "customer", "topProductsByCategory", "salesTrends"} <= names
    app.extensions["etl_db"].close()
