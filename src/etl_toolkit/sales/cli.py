"""`etl sales ...`: e-commerce analytics: load the sales CSVs, or generate them."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated

import typer

from etl_toolkit.clikit import (
    JsonOption,
    QuietOption,
    check_output_file,
    new_app,
    print_json,
    stdout,
    table,
)
from etl_toolkit.db.connect import resolve
from etl_toolkit.jsonable import jsonable
from etl_toolkit.progress_cli import shown
from etl_toolkit.sales.checks import describe
from etl_toolkit.sales.generate import DIALECTS, Dialect, Scale, generate, generate_delivery
from etl_toolkit.sales.pipeline import SalesReport, report_dict, retry_summary, run_sales

app = new_app(
    "E-commerce analytics: load the sales CSVs (validated, incremental), or generate them.",
    invoke_without_command=True,
)
app.info.no_args_is_help = False


def _summary(r: SalesReport) -> str:
    t = report_dict(r)["totals"]
    if r.status == "nothing new":
        return f"sales run {r.run_id}: nothing new ({t['files_skipped']} file(s) already loaded)"
    return (
        f"sales run {r.run_id}: {r.status}: {t['files']} file(s), read {t['read']}, "
        f"inserted {t['inserted']}, updated {t['updated']}, unchanged {t['unchanged']}, "
        f"rejected {t['rejected']}"
        + (f", cleaned {t['cleaned']} value(s)" if t["cleaned"] else "")
        + f" in {r.seconds:.1f}s"
    )


def render(r: SalesReport) -> None:
    body = report_dict(r)
    stdout.print(
        table(
            _summary(r),
            [
                "file",
                "status",
                "mode",
                "read",
                "inserted",
                "updated",
                "unchanged",
                "rejected",
                "cleaned",
                "ok",
            ],
            [
                (
                    f["file"],
                    f["status"],
                    f["mode"],
                    f["read"],
                    f["inserted"],
                    f["updated"],
                    f["unchanged"],
                    f["rejected"],
                    sum(f["cleaned"].values()),
                    "NO" if f["status"] == "failed" or not f["balanced"] else "yes",
                )
                for f in body["files"]
            ],
        )
    )
    if retried := retry_summary(r):
        stdout.print(retried)
    reasons: dict[str, int] = {}
    for f in r.load.files:
        for reason, n in f.reasons.items():
            key = f"{f.entity}: {reason}"
            reasons[key] = reasons.get(key, 0) + n
    if reasons:
        stdout.print(
            table(
                "rejected rows (in sales.rejects)",
                ["reason", "rows"],
                sorted(reasons.items(), key=lambda kv: -kv[1]),
            )
        )
    cleaned = [(f.file, what, n) for f in r.load.files for what, n in sorted(f.cleaned.items())]
    if cleaned:
        title = "cleaned values (loaded, rewritten)"
        stdout.print(table(title, ["file", "value", "rows"], cleaned))
    for f in r.load.files:
        if f.error:
            stdout.print(f"[red]failed[/red] {f.error}")
    if r.checks:
        stdout.print(
            table(
                "data-quality checks (in sales.dq_results)",
                ["check", "subject", "severity", "observed", "threshold", "passed"],
                [
                    (
                        c.check_name,
                        c.subject,
                        c.severity,
                        f"{c.observed:g}",
                        f"{c.threshold:g}",
                        "yes" if c.passed else "NO",
                    )
                    for c in r.checks.results
                    if not c.passed or c.check_name != "null_rate"
                ],
            )
        )
    if r.refresh and r.refresh.mode == "deferred":
        stdout.print(
            "derived data: not refreshed (data was queued after the checks;"
            " the next run checks it and refreshes)"
        )
    elif r.refresh:
        stdout.print(
            f"derived data: {r.refresh.mode} refresh in {r.refresh.seconds:.1f}s"
            + (f" ({r.refresh.orders} orders)" if r.refresh.mode == "queued" else "")
        )
    elif r.failed:
        stdout.print("derived data: not refreshed (the gate failed; the next run retries)")


@app.callback()
def sales_cmd(
    ctx: typer.Context,
    data_dir: Annotated[
        Path,
        typer.Option(help="Folder of <entity>[_<suffix>].csv files (docs/formats/sales.md)."),
    ] = Path("samples/sales"),
    incremental: Annotated[
        bool, typer.Option("--incremental", help="Only files the ledger has not loaded before.")
    ] = False,
    report: Annotated[bool, typer.Option("--report", help="Print the full report.")] = False,
    report_file: Annotated[
        Path | None, typer.Option(help="Also write the report as JSON to this file.")
    ] = None,
    json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Load the sales CSVs into schema sales: validate, load, check, refresh.

    Invalid rows go to sales.rejects with every reason; each file's report
    balances (read = loaded + unchanged + rejected). Data-quality results are
    stored in sales.dq_results; a failed error check exits 1 after everything is
    recorded, and leaves the derived tables for the next run.

    Example: `etl sales --data-dir samples/sales --incremental --report`
    """
    if ctx.invoked_subcommand is not None:
        return
    check_output_file(report_file, "--report-file")
    with shown(quiet) as progress:
        result = run_sales(resolve(), data_dir, incremental=incremental, progress=progress)
    body = report_dict(result)
    if report_file is not None:
        report_file.write_text(jsonlib.dumps(jsonable(body), indent=2) + "\n")
    if json:
        print_json(body)
    elif report:
        render(result)
    else:
        typer.echo(_summary(result) + ("" if result.failed else " (--report for details)"))
        if retried := retry_summary(result):
            typer.echo(f"  {retried}")
        if result.checks:
            for c in result.checks.failed_errors:
                typer.echo(f"  {c.severity}: {describe(c)}")  # which files failed, and why
            for c in result.checks.warnings:
                typer.echo(
                    f"  {c.severity}: {c.check_name} {c.subject} = {c.observed:g}"
                    f" (max {c.threshold:g})"
                )
    if result.failed:
        raise typer.Exit(1)


@app.command("generate")
def generate_cmd(
    out: Annotated[Path, typer.Option(help="Folder to write the five CSVs into.")],
    scale: Annotated[
        str, typer.Option(help="sample | small | full (5M orders, ~1.6 GB).")
    ] = "sample",
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 42,
    dirty: Annotated[float, typer.Option(min=0, max=1, help="Share of rows with a defect.")] = 0.0,
    delivery: Annotated[
        int | None,
        typer.Option(min=1, help="Write the N-th incremental delivery instead of the full set."),
    ] = None,
    dialect: Annotated[
        str,
        typer.Option(
            help="plain | pandas (integer columns holding nulls written as floats: 21.0)."
        ),
    ] = "plain",
) -> None:
    """Write product_categories, products, customers, orders and order_items CSVs.

    Deterministic and vectorised (Polars); orders and items are written in chunks.
    Defects at --dirty: negative quantity, unknown product or category, malformed
    date, duplicate id, bad email, order total that does not match its items.

    With --delivery N: the N-th incremental delivery (`<entity>_<date>.csv`): new
    orders and their items (1% of the full set's orders), status changes of
    earlier orders, and price changes of about 1% of the products.

    With --dialect pandas: the spelling of a pandas export (`DataFrame.to_csv`):
    integer columns that hold nulls (a root category's parent_id) written as
    floats (`21.0`), floats in their shortest form, computed totals unrounded
    (`206.57999999999998`); the loader takes both.

    Example: `etl sales generate --out /tmp/sales --scale full --dirty 0.001`
    """
    if scale not in ("sample", "small", "full"):
        raise typer.BadParameter("choose sample, small or full", param_hint="--scale")
    if dialect not in DIALECTS:
        raise typer.BadParameter("choose plain or pandas", param_hint="--dialect")
    chosen: Scale = scale  # type: ignore[assignment]  # checked just above
    spelling: Dialect = dialect  # type: ignore[assignment]  # checked just above
    if delivery is not None:
        report = generate_delivery(
            out, delivery, scale=chosen, seed=seed, dirty=dirty, dialect=spelling
        )
    else:
        report = generate(out, scale=chosen, seed=seed, dirty=dirty, dialect=spelling)
    typer.echo(", ".join(f"{k}: {v}" for k, v in report.rows.items()) + f" -> {out}")
