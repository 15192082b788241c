"""`etl schedule crontab`: the pipelines as crontab lines (see etl_toolkit.schedule)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from etl_toolkit.clikit import new_app
from etl_toolkit.schedule import Job, crontab

app = new_app("Run the pipelines on a schedule without an orchestrator.")


def _etl_path() -> str:
    """The console script of this installation (beside its Python), else the one on PATH."""
    beside = Path(sys.executable).with_name("etl")
    found = str(beside) if beside.is_file() else shutil.which("etl")
    if found is None:
        raise typer.BadParameter("no `etl` executable found", param_hint="--etl")
    return str(Path(found).absolute())


@app.command("crontab")
def crontab_cmd(
    sales_dir: Annotated[
        Path, typer.Option(help="Sales CSV folder (deliveries land here).")
    ] = Path("samples/sales"),
    medly_dir: Annotated[Path, typer.Option(help="Learning-platform data dir.")] = Path(
        "samples/medly"
    ),
    pdf_dir: Annotated[Path, typer.Option(help="Folder of PDFs to load.")] = Path("samples/pdf"),
    sales_schedule: Annotated[str, typer.Option(help="Cron fields.")] = "5 * * * *",
    medly_schedule: Annotated[str, typer.Option(help="Cron fields.")] = "30 2 * * *",
    pdf_schedule: Annotated[str, typer.Option(help="Cron fields.")] = "*/15 * * * *",
    log_dir: Annotated[Path, typer.Option(help="One log per pipeline, appended.")] = Path(
        "/var/log/etl"
    ),
    lock_dir: Annotated[Path, typer.Option(help="Where the flock files live.")] = Path("/tmp"),
    workdir: Annotated[Path | None, typer.Option(help="Working directory (default: here).")] = None,
    etl: Annotated[
        str | None, typer.Option(help="The etl executable (default: this installation's).")
    ] = None,
) -> None:
    """Print crontab lines for the sales, learning-platform and PDF pipelines.

    Each runs under `flock -n` (never two runs of one pipeline at once), logs to
    LOG_DIR/<pipeline>.log, and exits 0 (done), 1 (failed, see `etl runs`), 2
    (usage) or 75 (skipped: the previous run still holds the lock).

    Example: `etl schedule crontab --sales-dir /data/sales --log-dir /var/log/etl | crontab -`
    """
    for name, value in (
        ("--sales-schedule", sales_schedule),
        ("--medly-schedule", medly_schedule),
        ("--pdf-schedule", pdf_schedule),
    ):
        if len(value.split()) != 5:
            raise typer.BadParameter("five cron fields, e.g. '5 * * * *'", param_hint=name)
    here = (workdir or Path.cwd()).resolve()
    jobs = [
        Job("sales", sales_schedule, ["sales", "--data-dir", str(sales_dir), "--incremental"]),
        Job("medly", medly_schedule, ["medly", "--data-dir", str(medly_dir)]),
        Job("pdf", pdf_schedule, ["load-pdf", str(pdf_dir)]),
    ]
    typer.echo(
        crontab(jobs, etl=etl or _etl_path(), workdir=here, log_dir=log_dir, lock_dir=lock_dir),
        nl=False,
    )
