"""`etl sales ...`: e-commerce analytics: load the sales CSVs, or generate them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl_toolkit import clikit
from etl_toolkit.db.connect import resolve
from etl_toolkit.sales.generate import DIALECTS, Dialect, Scale, generate
from etl_toolkit.sales.generate_delivery import generate_delivery
from etl_toolkit.sales.pipeline import run_sales

app = clikit.pipeline_app(
    "E-commerce analytics: load the sales CSVs (validated, incremental), or generate them."
)


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
    report: clikit.ReportOption = False,
    report_file: clikit.ReportFileOption = None,
    json: clikit.JsonOption = False,
    quiet: clikit.QuietOption = False,
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
    clikit.run_pipeline(
        lambda progress: run_sales(resolve(), data_dir, incremental=incremental, progress=progress),
        json=json,
        full=report,
        report_file=report_file,
        quiet=quiet,
    )


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
