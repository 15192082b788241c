"""The sales pipeline on Flyte: new deliveries -> load (FK order) -> data-quality
checks -> gate -> refresh -> report.

    pyflyte run workflows/sales.py sales_pipeline --data_dir samples/sales

Each task is one call to a library stage (etl_toolkit.sales.pipeline); the
database comes from the same settings as the CLI (DATABASE_URL). Incremental
always: only files the ledger has not seen are loaded, so a scheduled run with
nothing new ends after the load task and says "nothing new". When an `error`
check fails, the checks are already stored; the gate marks the run failed in
etl.runs and fails the workflow: nothing downstream (the refresh) runs. Any
other failure is recorded by the failure handler.
"""

from __future__ import annotations

import os
import time
import typing
from datetime import datetime

from flytekit import (
    CronSchedule,
    Email,
    LaunchPlan,
    WorkflowExecutionPhase,
    conditional,
    task,
    workflow,
)
from flytekit.types.error import FlyteError

from etl_toolkit.errors import EtlError
from etl_toolkit.runs import fail_execution_runs
from etl_toolkit.sales.checks import CheckResult
from etl_toolkit.sales.load_results import LoadResult
from etl_toolkit.sales.pipeline import (
    begin_run,
    check_stage,
    end_run,
    gate_passed,
    load_stage,
    refresh_stage,
)
from workflows.common import RETRIES, database, execution, retry_transient


class Gate(typing.NamedTuple):
    passed: bool
    checks: CheckResult | None


class GateFailed(EtlError):
    """An `error` data-quality check failed (terminal: not retried)."""


@task(retries=RETRIES)
@retry_transient
def start(data_dir: str, kickoff_time: datetime | None = None) -> int:
    kickoff = kickoff_time.isoformat() if kickoff_time else None
    return begin_run(database(), data_dir, execution=execution(), kickoff=kickoff)


@task(retries=RETRIES)
@retry_transient
def load_new(run_id: int, data_dir: str) -> LoadResult:
    return load_stage(database(), data_dir, run_id)


@task(retries=RETRIES)
@retry_transient
def check_quality(loaded: LoadResult) -> Gate:
    checks = check_stage(database(), loaded)
    return Gate(passed=gate_passed(checks), checks=checks)


@task(retries=RETRIES)
@retry_transient
def refresh_and_report(loaded: LoadResult, checks: CheckResult | None) -> str:
    t0 = time.perf_counter()
    db = database()
    refreshed = refresh_stage(db, checks) if checks is not None else None
    report = end_run(db, loaded, checks, refreshed, loaded.seconds + time.perf_counter() - t0)
    return f"sales run {report.run_id}: {report.status}"


@task
def stop_at_gate(loaded: LoadResult, checks: CheckResult | None) -> str:
    """Record the failed run, then fail the workflow here."""
    report = end_run(database(), loaded, checks, None, loaded.seconds)
    message = f"sales run {loaded.run_id}: {report.error}"
    if report.failed:
        raise GateFailed(message)
    return message  # not reached: the gate sends only failed checks here


@task
def mark_failed(
    data_dir: str,
    kickoff_time: datetime | None = None,
    err: FlyteError | None = None,
) -> None:
    """Failure handler: the runs this execution left open are failed, with the cause."""
    cause = err.message if err is not None else "the workflow failed"
    fail_execution_runs(database(), "sales", execution(), cause[:2000])


@workflow(on_failure=mark_failed)
def sales_pipeline(data_dir: str, kickoff_time: datetime | None = None) -> str:
    run_id = start(data_dir=data_dir, kickoff_time=kickoff_time)
    loaded = load_new(run_id=run_id, data_dir=data_dir)
    gate = check_quality(loaded=loaded)
    return (
        conditional("data_quality_gate")
        .if_(gate.passed.is_true())
        .then(refresh_and_report(loaded=loaded, checks=gate.checks))
        .else_()
        .then(stop_at_gate(loaded=loaded, checks=gate.checks))
    )


# Every hour at :05, the scheduled time passed to the run, an e-mail when an
# execution fails or times out (FLYTE_ALERT_EMAIL at registration); and one
# launch plan for ad-hoc runs.
hourly = LaunchPlan.get_or_create(
    sales_pipeline,
    name="sales_hourly",
    default_inputs={"data_dir": "/data/sales"},
    schedule=CronSchedule(schedule="5 * * * *", kickoff_time_input_arg="kickoff_time"),
    notifications=[
        Email(
            phases=[WorkflowExecutionPhase.FAILED, WorkflowExecutionPhase.TIMED_OUT],
            recipients_email=[os.environ.get("FLYTE_ALERT_EMAIL", "data-oncall@example.com")],
        )
    ],
)
adhoc = LaunchPlan.get_or_create(
    sales_pipeline, name="sales_adhoc", default_inputs={"data_dir": "samples/sales"}
)
