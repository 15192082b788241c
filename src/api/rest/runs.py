"""Monitoring: the run ledger (GET /runs, /runs/{id}) and Prometheus (GET /metrics)."""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any, Literal

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from pydantic import BaseModel, Field

from api.db import ApiDatabase, Conn
from api.openapi import ApiBlueprint, Page, Reply, paged
from api.types import Text
from etl_toolkit import runs
from etl_toolkit.errors import NotFound

bp = ApiBlueprint(
    "runs",
    __name__,
    tag="monitoring",
    path_docs={"run_id": "The run's id, as GET /runs and the CLI's reports give it."},
)
MAX_ID = 2**63 - 1
# The text format generate_latest writes (names escaped with underscores), as every
# Prometheus server reads it.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Status = runs.Status


class RunsQuery(Page):
    pipeline: Text | None = Field(default=None, max_length=100, description="e.g. sales")
    status: Status | None = None


class RunSummary(BaseModel):
    id: int
    pipeline: str
    status: Status = Field(
        description="partial: part of the batch loaded, the error names what failed."
    )
    alive: bool | None = Field(
        default=None,
        description="For a running run: false when the process that ran it is gone "
        "(killed; the pipeline's next run closes it as failed). Null otherwise.",
    )
    started_at: datetime
    finished_at: datetime | None
    seconds: float = Field(description="Duration (so far, while running).")
    counts: dict[str, Any]
    error: str | None


class DqResult(BaseModel):
    check_name: str
    subject: str
    severity: Literal["error", "warn"]
    observed: float | None
    threshold: float | None
    passed: bool
    detail: str | None


class RunDetail(RunSummary):
    arguments: dict[str, Any]
    report: dict[str, Any] | None
    dq_results: list[DqResult] = Field(description="Data-quality results (sales runs).")


@bp.operation("/runs", query=RunsQuery, response=list[RunSummary])
def list_runs(conn: Conn, query: RunsQuery) -> Reply:
    """Recent pipeline runs, newest first

    Every pipeline run the ledger holds (CLI, cron, Flyte), newest first, with its
    status, duration and counts; filter by pipeline and status."""
    rows, total = runs.page_runs(conn, **query.args())
    return paged([RunSummary(**r) for r in rows], total, query)


@bp.operation("/runs/<int:run_id>", response=RunDetail, errors=(404,))
def get_run(conn: Conn, run_id: int) -> RunDetail:
    """One run: status, counts, duration, report, data-quality results

    A run with the arguments it was started with, its full report and, for sales
    runs, the data-quality checks and whether each passed."""
    if run_id > MAX_ID:
        raise NotFound(f"run {run_id} not found")
    return RunDetail(**runs.run_detail(conn, run_id))


class LedgerCollector(Collector):
    """Pipeline metrics read from etl.runs at scrape time: every API process
    reports the same values, and they survive restarts."""

    def __init__(self, api: ApiDatabase) -> None:
        self.api = api

    def collect(self) -> Any:
        with self.api.connection() as conn:
            m = runs.metrics(conn)
        by_status = CounterMetricFamily(
            "etl_runs", "Pipeline runs by pipeline and status.", labels=["pipeline", "status"]
        )
        for r in m["runs"]:
            by_status.add_metric([r["pipeline"], r["status"]], float(r["n"]))
        loaded = CounterMetricFamily(
            "etl_rows_loaded", "Rows inserted or updated, per pipeline.", labels=["pipeline"]
        )
        rejected = CounterMetricFamily(
            "etl_rows_rejected", "Rows (or files) refused, per pipeline.", labels=["pipeline"]
        )
        for r in m["rows"]:
            loaded.add_metric([r["pipeline"]], r["loaded"])
            rejected.add_metric([r["pipeline"]], r["rejected"])
        last = GaugeMetricFamily(
            "etl_last_success_timestamp_seconds",
            "When each pipeline last finished a run successfully (Unix time).",
            labels=["pipeline"],
        )
        for r in m["last_success"]:
            last.add_metric([r["pipeline"]], r["at"])
        yield from (by_status, loaded, rejected, last)


def install_metrics(app: Flask, api: ApiDatabase) -> None:
    """A registry per app: the ledger collector and the request latency histogram.

    Under `etl serve` (PROMETHEUS_MULTIPROC_DIR set) each server worker writes its
    samples to files in that directory and a scrape, whichever worker answers it, sums
    them all: one view of the service, counts that never go backwards. In one process
    (tests, Lambda) the histogram lives in the registry itself.
    """
    registry = CollectorRegistry()
    registry.register(LedgerCollector(api))
    multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    if multiprocess:
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    latency = Histogram(
        "etl_api_request_duration_seconds",
        "API request latency by method, route and status.",
        ["method", "route", "status"],
        # In multiprocess mode the collector reads the files: registering the
        # histogram too would report this worker's samples twice.
        registry=None if multiprocess else registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    )
    app.extensions["etl_metrics"] = registry
    # The labelled series, looked up once each: labels() validates and locks every call.
    series: dict[tuple[str, str, int], Any] = {}

    @app.before_request
    def _start() -> None:
        g.etl_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("etl_started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "unmatched"
            key = (request.method, route, response.status_code)
            child = series.get(key)
            if child is None:
                child = series[key] = latency.labels(key[0], route, str(key[2]))
            child.observe(time.perf_counter() - started)
        return response


@bp.operation("/metrics", response=str, media_type="text/plain")
def metrics() -> Response:
    """Prometheus metrics: runs, rows, last successes, API latency

    Prometheus text format: runs by pipeline and status, rows loaded and rejected,
    each pipeline's last success (from the run ledger), and API request latency
    summed over every worker process."""
    from flask import current_app

    body = generate_latest(current_app.extensions["etl_metrics"])
    # content_type, not mimetype: Flask appends a charset to a mimetype, a second one here.
    return Response(body, content_type=METRICS_CONTENT_TYPE)
