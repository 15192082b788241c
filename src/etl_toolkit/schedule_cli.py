"""`etl schedule crontab`: the pipelines as crontab lines (see etl_toolkit.schedule)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from etl_toolkit.clikit import new_app
from etl_toolkit.config import get_settings
from etl_toolkit.schedule import Job, cron_environment, crontab

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
        Path | None, typer.Option(help="Sales CSV folder (deliveries land here): schedules sales.")
    ] = None,
    medly_dir: Annotated[
        Path | None, typer.Option(help="Learning-platform data dir: schedules medly.")
    ] = None,
    pdf_dir: Annotated[
        Path | None, typer.Option(help="Folder of PDFs to load: schedules load-pdf.")
    ] = None,
    sales_schedule: Annotated[str, typer.Option(help="Cron fields.")] = "5 * * * *",
    medly_schedule: Annotated[str, typer.Option(help="Cron fields.")] = "30 2 * * *",
    pdf_schedule: Annotated[str, typer.Option(help="Cron fields.")] = "*/15 * * * *",
    log_dir: Annotated[Path, typer.Option(help="One log per pipeline, appended.")] = Path(
        "/var/log/etl"
    ),
    lock_dir: Annotated[Path, typer.Option(help="Where the flock files live.")] = Path("/tmp"),
    workdir: Annotated[Path | None, typer.Option(help="Working directory (default: here).")] = None,
    env_file: Annotated[
        Path | None,
        typer.Option(
            help="A file (chmod 600) each line sources for DATABASE_URL; its value never "
            "goes into the crontab.",
            exists=True,
            dir_okay=False,
            resolve_path=True,
        ),
    ] = None,
    etl: Annotated[
        str | None, typer.Option(help="The etl executable (default: this installation's).")
    ] = None,
) -> None:
    """Print crontab lines for the pipelines whose folder is given.

    Only those: `--sales-dir`, `--medly-dir`, `--pdf-dir` each schedule one. Each
    line sets ETL_HOME and reads DATABASE_URL from `--env-file` (or WORKDIR/.env),
    so cron reaches the database you do; runs under `flock -n` (never two runs of
    one pipeline at once), logs to LOG_DIR/<pipeline>.log, and exits 0 (done), 1
    (failed, see `etl runs`), 2 (usage) or 75 (skipped: the previous run still
    holds the lock).

    Example: `etl schedule crontab --sales-dir /data/sales --log-dir /var/log/etl | crontab -`
    """
    for name, value in (
        ("--sales-schedule", sales_schedule),
        ("--medly-schedule", medly_schedule),
        ("--pdf-schedule", pdf_schedule),
    ):
        if len(value.split()) != 5:
            raise typer.BadParameter("five cron fields, e.g. '5 * * * *'", param_hint=name)
    jobs = []
    if sales_dir is not None:
        jobs.append(
            Job("sales", sales_schedule, ["sales", "--data-dir", str(sales_dir), "--incremental"])
        )
    if medly_dir is not None:
        jobs.append(Job("medly", medly_schedule, ["medly", "--data-dir", str(medly_dir)]))
    if pdf_dir is not None:
        jobs.append(Job("pdf", pdf_schedule, ["load-pdf", str(pdf_dir)]))
    if not jobs:
        raise typer.BadParameter(
            "no pipeline to schedule: give the folder of each one to run",
            param_hint="--sales-dir / --medly-dir / --pdf-dir",
        )
    here = (workdir or Path.cwd()).resolve()
    environment = cron_environment(get_settings(), workdir=here, env_file=env_file)
    typer.echo(
        crontab(
            jobs,
            etl=etl or _etl_path(),
            workdir=here,
            log_dir=log_dir,
            lock_dir=lock_dir,
            environment=environment,
        ),
        nl=False,
    )
