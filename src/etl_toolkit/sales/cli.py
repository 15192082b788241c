"""`etl sales ...`: e-commerce analytics (the loader lands with issue 6; the generator is here)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl_toolkit.clikit import new_app
from etl_toolkit.sales.generate import Scale, generate, generate_delivery

app = new_app("E-commerce analytics: sales CSVs (generator).")


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
) -> None:
    """Write product_categories, products, customers, orders and order_items CSVs.

    Deterministic and vectorised (Polars); orders and items are written in chunks.
    Defects at --dirty: negative quantity, unknown product or category, malformed
    date, duplicate id, bad email, order total that does not match its items.

    With --delivery N: the N-th incremental delivery (`<entity>_<date>.csv`): new
    orders and their items (1% of the full set's orders), status changes of
    earlier orders, and price changes of about 1% of the products.

    Example: `etl sales generate --out /tmp/sales --scale full --dirty 0.001`
    """
    if scale not in ("sample", "small", "full"):
        raise typer.BadParameter("choose sample, small or full", param_hint="--scale")
    chosen: Scale = scale  # type: ignore[assignment]  # checked just above
    if delivery is not None:
        report = generate_delivery(out, delivery, scale=chosen, seed=seed, dirty=dirty)
    else:
        report = generate(out, scale=chosen, seed=seed, dirty=dirty)
    typer.echo(", ".join(f"{k}: {v}" for k, v in report.rows.items()) + f" -> {out}")
