"""`etl medly`: the learning platform's four JSON sources into schema medly."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated, Any

import typer

from etl_toolkit.clikit import (
    JsonOption,
    QuietOption,
    check_output_file,
    new_app,
    print_json,
    stdout,
    table,
)
from etl_toolkit.db.connect import resolve
from etl_toolkit.jsonable import jsonable
from etl_toolkit.medly.generate import DIALECTS, Dialect, generate
from etl_toolkit.medly.load import MigrationReport, migrate_medly, report_dict
from etl_toolkit.medly.parse import pointer
from etl_toolkit.progress_cli import shown

app = new_app(
    "Learning platform: migrate the four JSON sources (idempotent), or generate them.",
    invoke_without_command=True,
)
app.info.no_args_is_help = False


def example(e: dict[str, Any]) -> str:
    """A skipped record as a user finds it: its own key, and its place in the file
    as `file#pointer` (a JSON Pointer in URI-fragment form, RFC 6901 section 6)."""
    position = e.get("position") or ""
    if e.get("key") and position == pointer("targets", e["key"]):
        return f"{e['key']} ({e['file']})"  # an attempt: its key is its place already
    where = f"{e['file']}#{position}"
    return f"{e['key']} ({where})" if e.get("key") else where


def skipped_summary(r: MigrationReport) -> str:
    """`, 3 of 40 records skipped`: empty when none were."""
    if not r.skipped:
        return ""
    total = sum(f.records for f in r.files.values())
    return f", {r.skipped} of {total} records skipped"


def render(r: MigrationReport) -> None:
    stdout.print(
        table(
            f"medly run {r.run_id}: {'changes applied' if r.changed else 'nothing changed'}",
            ["entity", "read", "inserted", "updated", "unchanged", "deduplicated", "skipped"],
            [
                (k, v.read, v.inserted, v.updated, v.unchanged, v.deduplicated, v.skipped)
                for k, v in r.entities.items()
            ],
        )
    )
    if r.skip_reasons:
        stdout.print(
            table(
                "skipped records",
                ["reason", "count", "examples"],
                [
                    (k, v["count"], "; ".join(example(e) for e in v["examples"]))
                    for k, v in sorted(r.skip_reasons.items(), key=lambda kv: -kv[1]["count"])
                ],
            )
        )
        stdout.print(
            table(
                "skipped records per file",
                ["file", "records", "skipped", "share"],
                [
                    (f, c.records, c.skipped, f"{c.share:.1%}")
                    for f, c in sorted(r.files.items())
                    if c.skipped
                ],
            )
        )
    cleaned = [(f, k, n) for f, c in sorted(r.cleaned.items()) for k, n in sorted(c.items())]
    if cleaned:
        stdout.print(
            table(
                "cleaned values (integral decimals such as 3.0 loaded as integers)",
                ["file", "field", "count"],
                cleaned,
            )
        )
    if r.skipped_stored.get("already stored"):
        stdout.print(
            f"{r.skipped_stored['already stored']} skipped record(s) were already stored "
            "by an earlier run of the same files (not stored again)"
        )
    if r.unresolved:
        stdout.print(
            table(
                "unresolved references (kept)",
                ["reference", "count", "examples"],
                [(k, v["count"], ", ".join(v["examples"])) for k, v in r.unresolved.items()],
            )
        )
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in r.stages.items())
    stdout.print(f"{stages}; total {r.seconds:.2f}s")


@app.callback()
def medly_cmd(
    ctx: typer.Context,
    data_dir: Annotated[
        Path, typer.Option(help="user_data/ and curriculum_data/ (docs/formats/medly.md).")
    ] = Path("samples/medly"),
    report: Annotated[bool, typer.Option("--report", help="Print the migration report.")] = False,
    report_file: Annotated[
        Path | None, typer.Option(help="Also write the report as JSON to this file.")
    ] = None,
    json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Migrate the learning-platform sources into schema medly (idempotent).

    The same input again changes nothing (only last_seen_at moves). Bad records
    are skipped with a reason (stored in medly.skipped and counted); unknown
    questionIDs and lessonIDs are kept as unresolved references and reported.

    Example: `etl medly --data-dir samples/medly --report`
    """
    if ctx.invoked_subcommand is not None:
        return
    check_output_file(report_file, "--report-file")
    with shown(quiet) as progress:
        result = migrate_medly(resolve(), data_dir, progress=progress)
    body = report_dict(result) | {"run_id": result.run_id}
    if report_file is not None:
        report_file.write_text(jsonlib.dumps(jsonable(body), indent=2) + "\n")
    if json:
        print_json(body)
    elif report:
        render(result)
    else:
        typer.echo(
            f"medly run {result.run_id}: "
            f"{'changes applied' if result.changed else 'nothing changed'} "
            f"in {result.seconds:.2f}s{skipped_summary(result)} (--report for details)"
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
