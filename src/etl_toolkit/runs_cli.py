"""`etl runs`: the run ledger."""

from __future__ import annotations

from typing import Annotated, Any, get_args

import typer
from rich import box
from rich.table import Table

from etl_toolkit.clikit import JsonOption, fmt_time, print_json, stdout, table
from etl_toolkit.db.connect import resolve
from etl_toolkit.runs import RunRecord, Status, list_runs, run_detail

STATUSES = get_args(Status)


def summarize(counts: dict[str, Any]) -> str:
    """Flat counts as k=v; per-entity counts (dicts) as their totals."""
    flat = {k: v for k, v in counts.items() if not isinstance(v, dict)}
    nested = [v for v in counts.values() if isinstance(v, dict)]
    if nested:
        for key in ("inserted", "updated", "skipped"):
            flat[key] = sum(int(v.get(key, 0)) for v in nested)
    return ", ".join(f"{k}={v}" for k, v in flat.items())


def runs_cmd(
    run_id: Annotated[
        int | None, typer.Argument(help="One run in detail: arguments, counts, error, checks.")
    ] = None,
    pipeline: Annotated[str | None, typer.Option(help="Only runs of this pipeline.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only runs with this status: " + ", ".join(STATUSES) + ".")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many runs, newest first.")] = 20,
    json: JsonOption = False,
) -> None:
    """List recent pipeline runs with status, counts and duration.

    Status is running, succeeded, partial (part of the batch failed: the error
    names what) or failed; `running (dead)` is a run whose process is gone
    (killed): the pipeline's next run closes it as failed.

    The table fits 80 columns: each run's error is printed under it. With a run
    id: that run in detail (with --json, its whole stored report too).

    Example: `etl runs --pipeline load-pdf --status failed --limit 5`; `etl runs 12`
    """
    if run_id is not None:
        show_run(run_id, json=json)
        return
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"choose {', '.join(STATUSES)}", param_hint="--status")
    runs = list_runs(resolve(), pipeline=pipeline, status=status, limit=limit)
    if json:
        print_json({"runs": runs})
        return
    stdout.print(runs_table(runs))
    for r in runs:
        if r.error:
            # Wrapped at the terminal's width, not left to run past it.
            stdout.print(f"run {r.id}: {r.error}", soft_wrap=False, markup=False, highlight=False)


def runs_table(runs: list[RunRecord]) -> Table:
    """id, pipeline, status, start (to the minute), duration and counts: the
    counts column keeps room for a whole `key=value` on an 80-column terminal
    (issue 16); the fixed columns do not wrap."""
    t = Table(title="runs", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    t.add_column("id", no_wrap=True, justify="right")
    t.add_column("pipeline", no_wrap=True)
    t.add_column("status")
    t.add_column("started (UTC)", no_wrap=True)
    t.add_column("took", no_wrap=True, justify="right")
    t.add_column("counts", min_width=20, ratio=1)
    for r in runs:
        started = r.started_at.strftime("%Y-%m-%d %H:%M") if r.started_at else ""
        t.add_row(
            str(r.id), r.pipeline, r.shown_status, started, f"{r.seconds:.1f}s", summarize(r.counts)
        )
    return t


def show_run(run_id: int, *, json: bool) -> None:
    """One run: what it was asked, how it ended, its counts and its data-quality
    checks; the whole report with --json."""
    with resolve().connect() as conn:
        run = run_detail(conn, run_id)
    if json:
        print_json(run)
        return
    took = f"{run['seconds']:.1f}s"
    rows = [
        ("pipeline", run["pipeline"]),
        ("status", RunRecord(**{k: v for k, v in run.items() if k != "dq_results"}).shown_status),
        ("started (UTC)", fmt_time(run["started_at"])),
        ("finished (UTC)", fmt_time(run["finished_at"])),
        ("took", took),
        ("arguments", ", ".join(f"{k}={v}" for k, v in run["arguments"].items())),
        ("counts", summarize(run["counts"])),
    ]
    stdout.print(table(f"run {run_id}", ["", ""], rows))
    if run["error"]:
        stdout.print(f"error: {run['error']}", markup=False, highlight=False)
    checks = [
        (
            c["check_name"],
            c["subject"],
            c["severity"],
            f"{c['observed']:g}",
            "yes" if c["passed"] else "NO",
        )
        for c in run["dq_results"]
    ]
    if checks:
        stdout.print(
            table(
                "data-quality checks",
                ["check", "subject", "severity", "observed", "passed"],
                checks,
            )
        )
    stdout.print(f"the whole report: etl runs {run_id} --json")
