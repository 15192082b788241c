"""`etl runs`: the run ledger."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from etl_toolkit.clikit import JsonOption, fmt_time, print_json, stdout, table
from etl_toolkit.db.connect import resolve
from etl_toolkit.runs import list_runs


def summarize(counts: dict[str, Any]) -> str:
    """Flat counts as k=v; per-entity counts (dicts) as their totals."""
    flat = {k: v for k, v in counts.items() if not isinstance(v, dict)}
    nested = [v for v in counts.values() if isinstance(v, dict)]
    if nested:
        for key in ("inserted", "updated", "skipped"):
            flat[key] = sum(int(v.get(key, 0)) for v in nested)
    return ", ".join(f"{k}={v}" for k, v in flat.items())


def runs_cmd(
    pipeline: Annotated[str | None, typer.Option(help="Only runs of this pipeline.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many runs, newest first.")] = 20,
    json: JsonOption = False,
) -> None:
    """List recent pipeline runs with status, counts and duration.

    Status is running, succeeded, partial (part of the batch failed: the error
    names what) or failed; `running (dead)` is a run whose process is gone
    (killed): the pipeline's next run closes it as failed.

    Example: `etl runs --pipeline load-pdf --limit 5`
    """
    runs = list_runs(resolve(), pipeline=pipeline, limit=limit)
    if json:
        print_json({"runs": runs})
        return
    rows = [
        (
            r.id,
            r.pipeline,
            r.shown_status,
            fmt_time(r.started_at),
            f"{r.seconds:.1f}s",
            summarize(r.counts),
            r.error or "",
        )
        for r in runs
    ]
    stdout.print(
        table(
            "runs", ["id", "pipeline", "status", "started (UTC)", "took", "counts", "error"], rows
        )
    )
