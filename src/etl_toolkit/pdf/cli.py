"""`etl load-pdf`: PDFs into PostgreSQL, every word with its box."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from etl_toolkit.clikit import JsonOption, print_json, stderr, stdout, table
from etl_toolkit.db.connect import resolve
from etl_toolkit.pdf.load import DEFAULT_TIMEOUT, FileReport, load_pdfs


def load_pdf_cmd(
    paths: Annotated[
        list[Path], typer.Argument(help="PDF files, or folders searched recursively.")
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
    json: JsonOption = False,
) -> None:
    """Load PDFs: documents, pages (text without line breaks) and every word with its box.

    The same bytes again are reported `unchanged`; `--force` replaces them. A bad
    file is reported with the reason and the batch goes on; exit code 1 when
    any file failed. Each processed file is tracked as an extraction job.

    Example: `etl load-pdf samples/pdf/ --workers 2`
    """
    db = resolve()
    if sys.stderr.isatty() and not json:
        with Progress(console=stderr, transient=True) as progress:
            task = progress.add_task("loading PDFs", total=None)

            def tick(fr: FileReport) -> None:
                progress.update(task, advance=1, description=f"{fr.status}: {Path(fr.path).name}")

            report = load_pdfs(
                db,
                paths,
                workers=workers,
                password=password,
                force=force,
                timeout=timeout,
                on_file=tick,
            )
    else:
        report = load_pdfs(
            db, paths, workers=workers, password=password, force=force, timeout=timeout
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
