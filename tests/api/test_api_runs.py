"""Monitoring: /runs, /runs/{id} and /metrics (Prometheus exposition format)."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from etl_toolkit.db.connect import Database
from etl_toolkit.sales.pipeline import run_sales
from tests.sales.test_sales import BASE, DELIVERY


def _metrics(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    out = {}
    for family in text_string_to_metric_families(r.get_data(as_text=True)):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_runs_list_and_detail_with_data_quality_results(
    client: FlaskClient, db: Database, tmp_path: Path
) -> None:
    data = tmp_path / "d"
    shutil.copytree(BASE, data)
    first = run_sales(db, data)
    shutil.copytree(DELIVERY, data / "2024-07-01")
    (data / "2024-07-01" / "order_items_2024-07-01.csv").write_text("order_item_id\n1\n")
    second = run_sales(db, data, incremental=True)
    r = client.get("/runs?pipeline=sales")
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "2"
    body = r.get_json()
    assert [x["id"] for x in body] == [second.run_id, first.run_id]
    assert [x["status"] for x in body] == ["failed", "succeeded"]
    assert body[1]["counts"]["inserted"] > 0 and body[1]["seconds"] > 0
    failed = client.get("/runs?status=failed").get_json()
    assert [x["id"] for x in failed] == [second.run_id]
    detail = client.get(f"/runs/{second.run_id}").get_json()
    assert detail["error"].startswith("data-quality gate failed")
    assert detail["arguments"]["incremental"] is True
    checks = {(d["check_name"], d["passed"]) for d in detail["dq_results"]}
    assert ("files_failed", False) in checks
    assert detail["report"]["status"] == "failed"
    assert client.get("/runs/999999").status_code == 404
    assert client.get(f"/runs/{2**70}").status_code == 404
    assert client.get("/runs?status=sleeping").status_code == 422


def test_metrics_parse_and_move_after_a_run(
    client: FlaskClient, db: Database, tmp_path: Path
) -> None:
    before = _metrics(client)
    key = ("etl_runs_total", (("pipeline", "sales"), ("status", "succeeded")))
    assert before.get(key, 0) == 0
    data = tmp_path / "d"
    shutil.copytree(BASE, data)
    report = run_sales(db, data)
    client.get("/runs")
    after = _metrics(client)
    assert after[key] == 1
    loaded = after[("etl_rows_loaded_total", (("pipeline", "sales"),))]
    assert loaded == sum(f.inserted + f.updated for f in report.load.files)
    rejected = after[("etl_rows_rejected_total", (("pipeline", "sales"),))]
    assert rejected == sum(f.rejected for f in report.load.files) > 0
    assert after[("etl_last_success_timestamp_seconds", (("pipeline", "sales"),))] > 0
    runs_count = [
        v
        for (name, labels), v in after.items()
        if name == "etl_api_request_duration_seconds_count" and ("route", "/runs") in labels
    ]
    assert runs_count == [1.0]


def test_a_pipeline_filter_that_cannot_be_stored_is_a_422(client: FlaskClient) -> None:
    assert client.get("/runs?pipeline=sa%00les").status_code == 422  # found by schemathesis
