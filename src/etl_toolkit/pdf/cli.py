"""`etl load-pdf`: PDFs into PostgreSQL, every word with its box."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from etl_toolkit import clikit
from etl_toolkit.db.connect import resolve
from etl_toolkit.errors import InputError
from etl_toolkit.pdf.parallel import DEFAULT_TIMEOUT, DEFAULT_WORKERS, MAX_WORKERS
from etl_toolkit.pdf.pipeline import load_pdf_stream, load_pdfs
from etl_toolkit.pdf.report import PdfReport
from etl_toolkit.progress import Progress


def load_pdf_cmd(
    paths: Annotated[
        list[Path],
        typer.Argument(help="PDF files, or folders searched recursively; `-`: one from stdin."),
    ],
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=MAX_WORKERS, help="Extraction processes (default: the CPUs usable)."
        ),
    ] = DEFAULT_WORKERS,
    password: Annotated[
        str | None, typer.Option(help="Password for encrypted PDFs.", envvar="ETL_PDF_PASSWORD")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace documents already loaded.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="Per-file extraction timeout, seconds.")
    ] = DEFAULT_TIMEOUT,
    name: Annotated[
        str | None, typer.Option(help="The name of the PDF read from stdin (`-`); default stdin.")
    ] = None,
    json: clikit.JsonOption = False,
    full: clikit.ReportOption = False,
    report_file: clikit.ReportFileOption = None,
    quiet: clikit.QuietOption = False,
) -> None:
    """Load PDFs: documents, pages (text without line breaks) and every word with its box.

    The same bytes again are reported `unchanged`; `--force` replaces them. A bad
    file is reported with the reason and the batch goes on; exit code 1 when
    any file failed. Each processed file is tracked as an extraction job.

    `-` reads one PDF from stdin, named `stdin` or by `--name`.

    Example: `etl load-pdf samples/pdf/ --workers 2`; `cat a.pdf | etl load-pdf - --name a.pdf`
    """
    stdin = [p for p in paths if str(p) == "-"]
    if stdin and len(paths) > 1:
        raise typer.BadParameter(
            "`-` (stdin) cannot be combined with other paths", param_hint="PATHS"
        )
    if name is not None and not stdin:
        raise typer.BadParameter(
            "--name names the PDF read from stdin: pass `-`", param_hint="--name"
        )
    if stdin and sys.stdin.isatty():
        raise InputError(
            "`-` reads a PDF from stdin, and stdin is a terminal",
            hint="pipe a file in: etl load-pdf - < file.pdf",
        )

    def run(progress: Progress | None) -> PdfReport:
        if stdin:
            return load_pdf_stream(
                resolve(),
                sys.stdin.buffer,
                name=name or "stdin",
                workers=workers,
                password=password,
                force=force,
                timeout=timeout,
                progress=progress,
            )
        return load_pdfs(
            resolve(),
            paths,
            workers=workers,
            password=password,
            force=force,
            timeout=timeout,
            progress=progress,
        )

    clikit.run_pipeline(run, json=json, full=full, report_file=report_file, quiet=quiet)
