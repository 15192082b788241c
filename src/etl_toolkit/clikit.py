"""What every `etl` command shares: error translation, option bundles, output.

Results go to stdout (a table, or one JSON object with --json); logs and
progress go to stderr. Errors are one line, `Error: ...`, exit code 1; usage
errors exit 2; `--debug` shows the traceback instead. Neither ever shows a
password (see etl_toolkit.redact).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from etl_toolkit.errors import EtlError, InputError
from etl_toolkit.jsonable import jsonable
from etl_toolkit.progress import Progress
from etl_toolkit.redact import redact
from etl_toolkit.report import Report, Section


def _pipe_width() -> int | None:
    """The width of stdout when it is a pipe or a file: rich would fold tables at 80
    columns (`statu s` in a cron log, in `| less`); wide enough for a row on one
    line. A terminal, or a COLUMNS the user set, keeps its own width."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return None
    return PIPE_WIDTH


PIPE_WIDTH = 240
stdout = Console(soft_wrap=True, width=_pipe_width())
stderr = Console(stderr=True)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of a table.")
]
ReportOption = Annotated[bool, typer.Option("--report", help="Print the full report.")]
ReportFileOption = Annotated[
    Path | None, typer.Option("--report-file", help="Also write the report as JSON to this file.")
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No progress and no info logs (warnings and errors still print)."
    ),
]


class EtlGroup(TyperGroup):
    """Root command group: the one place where errors become exit codes."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            stderr.print("Interrupted.")
            raise typer.Exit(130) from None
        except Exception as exc:
            if _is_framework(exc):
                raise
            if ctx.find_root().params.get("debug"):
                # The traceback, with every password hidden (messages may echo DATABASE_URL).
                trace = "".join(traceback.format_exception(exc))
                typer.echo(redact(trace.rstrip()), err=True)
                raise typer.Exit(1) from None
            message = str(exc) if isinstance(exc, EtlError) else f"{type(exc).__name__}: {exc}"
            typer.echo(f"Error: {redact(' '.join(message.split()))}", err=True)
            if not isinstance(exc, EtlError):
                typer.echo("Run again with --debug for the traceback.", err=True)
            raise typer.Exit(1) from None


def _is_framework(exc: Exception) -> bool:
    """Help, usage errors (exit 2) and deliberate exits keep their meaning.

    Typer vendors its own click (typer._click), so test by origin, not by class.
    """
    return type(exc).__module__.split(".")[0] in {"click", "typer"}


def new_app(help_text: str, **kwargs: Any) -> typer.Typer:
    """A Typer (sub-)app with the project's defaults."""
    return typer.Typer(
        help=help_text,
        cls=EtlGroup,
        no_args_is_help=True,
        rich_markup_mode="markdown",
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        **kwargs,
    )


def print_json(value: Any) -> None:
    sys.stdout.write(json_text(value) + "\n")
    sys.stdout.flush()


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    t = Table(title=title, title_justify="left", show_header=any(columns))
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    return t


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def check_output_file(path: Path | None, option: str) -> None:
    """A file a command writes after its run is checked before the run starts: a
    run recorded as succeeded must not end in exit 1 for want of a folder."""
    if path is None:
        return
    if path.is_dir():
        raise InputError(f"{option} {path} is a folder", hint="give a file name")
    if not path.parent.is_dir():
        raise InputError(
            f"{option} {path}: folder {path.parent} does not exist",
            hint="create it, or choose another path",
        )


def pipeline_app(help_text: str) -> typer.Typer:
    """A pipeline's sub-app: its callback runs the pipeline (`etl sales`), its
    commands are the pipeline's helpers (`etl sales generate`)."""
    app = new_app(help_text, invoke_without_command=True)
    app.info.no_args_is_help = False
    return app


def run_pipeline(
    run: Callable[[Progress | None], Report],
    *,
    json: bool,
    full: bool,
    report_file: Path | None,
    quiet: bool,
) -> None:
    """What every pipeline command does: check --report-file before the run, run
    with its progress shown (none with --quiet), then `emit` the report."""
    from etl_toolkit.progress_cli import shown  # it draws on this module's consoles

    check_output_file(report_file, "--report-file")
    try:
        with shown(quiet) as progress:
            report = run(progress)
    except EtlError as exc:
        # The run stopped (wrong input, a lost database): --json and --report-file
        # still get one object, the run it ended and why; the error line follows.
        failure = {"run_id": exc.run_id, "status": "failed", "error": exc.message}
        if exc.hint:
            failure["hint"] = exc.hint
        if report_file is not None:
            report_file.write_text(json_text(failure) + "\n", encoding="utf-8")
        if json:
            print_json(failure)
        raise
    emit(report, json=json, full=full, report_file=report_file)


def emit(report: Report, *, json: bool, full: bool, report_file: Path | None) -> None:
    """Show a pipeline's report the one way every command does: the JSON body to
    --report-file, then --json (the body), --report (its details) or its summary
    on stdout; what failed on stderr; exit 1 when the run failed.

    Check --report-file with `check_output_file` before the run starts."""
    body = report.body
    if report_file is not None:
        report_file.write_text(json_text(body) + "\n", encoding="utf-8")
    if json:
        print_json(body)
    else:
        for part in report.details() if full else report.summary():
            if isinstance(part, Section):
                stdout.print(table(part.title, part.columns, part.rows))
            elif full:
                stdout.print(part)  # rich markup in the details
            else:
                typer.echo(part)
    for line in report.errors():
        typer.echo(f"Error: {redact(line)}", err=True)
    if report.failed:
        raise typer.Exit(1)


def json_text(value: Any) -> str:
    return json.dumps(jsonable(value), indent=2, ensure_ascii=False)
