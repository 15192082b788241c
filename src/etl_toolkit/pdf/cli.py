"""`etl load-pdf`: PDFs into PostgreSQL, every word with its box."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from etl_toolkit.clikit import JsonOption, QuietOption, print_json, stdout, table
from etl_toolkit.db.connect import resolve
from etl_toolkit.errors import InputError
from etl_toolkit.pdf.load import DEFAULT_TIMEOUT, load_pdf_stream, load_pdfs
from etl_toolkit.progress_cli import shown


def load_pdf_cmd(
    paths: Annotated[
        list[Path],
        typer.Argument(help="PDF files, or folders searched recursively; `-`: one from stdin."),
    ],
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Extraction processes (default: CPU count).")
    ] = os.cpu_count() or 1,
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
    json: JsonOption = False,
    quiet: QuietOption = False,
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
    db = resolve()
    with shown(quiet) as progress:
        if stdin:
            report = load_pdf_stream(
                db,
                sys.stdin.buffer,
                name=name or "stdin",
                workers=workers,
                password=password,
                force=force,
                timeout=timeout,
                progress=progress,
            )
        else:
            report = load_pdfs(
                db,
                paths,
                workers=workers,
                password=password,
                force=force,
                timeout=timeout,
                progress=progress,
            )
    if json:
        print_json({"run_id": report.run_id, "files": report.files, "totals": report.totals})
    else:
        rows = []
        for f in report.files:
            note = f.error or ""
            if f.failed_pages:
                pages = ", ".join(str(p["page"]) for p in f.failed_pages[:5])
                note = f"{len(f.failed_pages)} page(s) failed: {pages}"
            rows.append((f.path, f.status, f.pages, f.words, f"{f.seconds:.2f}", note))
        t = report.totals
        stdout.print(
            table(
                f"load-pdf run {report.run_id}",
                ["file", "status", "pages", "words", "seconds", "error"],
                rows,
            )
        )
        stdout.print(
            f"{t['files']} files: {t['loaded']} loaded, {t['unchanged']} unchanged, "
            f"{t['failed']} failed; {t['pages']} pages, {t['words']} words "
            f"in {t['seconds']:.2f} s"
        )
    for f in report.files:
        if f.status == "failed":
            typer.echo(f"Error: {f.path}: {f.error}", err=True)
    if report.failed:
        raise typer.Exit(1)
