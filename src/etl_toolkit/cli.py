"""The `etl` command: mounts one sub-app per domain, nothing else."""

from __future__ import annotations

from typing import Annotated

import typer

from etl_toolkit import __version__
from etl_toolkit.clikit import new_app
from etl_toolkit.config import get_settings
from etl_toolkit.db.cli import app as db_app
from etl_toolkit.log import configure_logging
from etl_toolkit.medly.cli import app as medly_app
from etl_toolkit.pdf.cli import load_pdf_cmd
from etl_toolkit.runs_cli import runs_cmd
from etl_toolkit.sales.cli import app as sales_app
from etl_toolkit.schedule_cli import app as schedule_app
from etl_toolkit.serve_cli import serve_cmd
from etl_toolkit.tasks.cli import app as tasks_app

app = new_app(
    "**etl** — land files in PostgreSQL correctly, fast and visibly.\n\n"
    "The database is `DATABASE_URL`, or an embedded PostgreSQL started on demand."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"etl-toolkit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    configure_logging("DEBUG" if verbose or debug else get_settings().log_level)


app.add_typer(db_app, name="db")
app.add_typer(tasks_app, name="tasks")
app.add_typer(medly_app, name="medly")
app.add_typer(sales_app, name="sales")
app.add_typer(schedule_app, name="schedule")
app.command("load-pdf")(load_pdf_cmd)
app.command("runs")(runs_cmd)
app.command("serve")(serve_cmd)


def main() -> None:
    app()
