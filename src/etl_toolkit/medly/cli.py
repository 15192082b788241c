"""`etl medly`: the learning platform's four JSON sources into schema medly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl_toolkit import clikit
from etl_toolkit.db.connect import resolve
from etl_toolkit.medly.generate import DIALECTS, Dialect, generate
from etl_toolkit.medly.pipeline import run_medly

app = clikit.pipeline_app(
    "Learning platform: migrate the four JSON sources (idempotent), or generate them."
)


@app.callback()
def medly_cmd(
    ctx: typer.Context,
    data_dir: Annotated[
        Path, typer.Option(help="user_data/ and curriculum_data/ (docs/formats/medly.md).")
    ] = Path("samples/medly"),
    report: clikit.ReportOption = False,
    report_file: clikit.ReportFileOption = None,
    json: clikit.JsonOption = False,
    quiet: clikit.QuietOption = False,
) -> None:
    """Migrate the learning-platform sources into schema medly (idempotent).

    The same input again changes nothing (only last_seen_at moves). Bad records
    are skipped with a reason (stored in medly.skipped and counted); unknown
    questionIDs and lessonIDs are kept as unresolved references and reported.

    Example: `etl medly --data-dir samples/medly --report`
    """
    if ctx.invoked_subcommand is not None:
        return
    clikit.run_pipeline(
        lambda progress: run_medly(resolve(), data_dir, progress=progress),
        json=json,
        full=report,
        report_file=report_file,
        quiet=quiet,
    )


@app.command("generate")
def generate_cmd(
    out: Annotated[Path, typer.Option(help="The data dir to write.")],
    users: Annotated[int, typer.Option(min=1)] = 40,
    attempts: Annotated[int, typer.Option(min=0)] = 1000,
    practice_parts: Annotated[int, typer.Option(min=1)] = 2000,
    subjects: Annotated[int, typer.Option(min=1, max=3)] = 1,
    dirty: Annotated[float, typer.Option(min=0, max=1, help="Share of records to spoil.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 7,
    dialect: Annotated[
        str,
        typer.Option(help="plain | pandas (integer fields written as floats: 3.0)."),
    ] = "plain",
) -> None:
    """Write a data dir in the sources' format, with edge cases at the --dirty rate.

    With --dialect pandas: integer fields written as floats (`3.0`), as
    `DataFrame.to_json` writes an integer column that holds a null; the loader
    reads them as the same integers and reports them as cleaned.

    Example: `etl medly generate --out /tmp/medly --users 5000 --attempts 1000000`
    """
    if dialect not in DIALECTS:
        raise typer.BadParameter("choose plain or pandas", param_hint="--dialect")
    spelling: Dialect = dialect
    r = generate(
        out,
        users=users,
        attempts=attempts,
        practice_parts=practice_parts,
        dirty=dirty,
        seed=seed,
        subjects=subjects,
        dialect=spelling,
    )
    typer.echo(
        f"wrote {out}: {len(r.subjects)} subject(s), {r.lessons} lessons, "
        f"{r.exam_items} exam items, {r.practice_parts} practice parts, "
        f"{r.attempts} attempts by {r.users} users, {r.dirty_records} dirty records"
    )
