"""`etl db ...`: the database itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl_toolkit.clikit import JsonOption, new_app, print_json, stdout, table
from etl_toolkit.db import admin
from etl_toolkit.db.connect import resolve

app = new_app("The database: status, migrations, schema diagrams and lint.")


@app.command("status")
def status_cmd(json: JsonOption = False) -> None:
    """Which server (embedded or external), its version, URL, migration state.

    Example: `etl db status --json`
    """
    st = admin.status(resolve(schema=False))
    if json:
        print_json(st)
        return
    rows = [
        ("server", f"{st.kind} (PostgreSQL {st.server_version})"),
        ("url", st.url),
        ("applied", ", ".join(st.applied) or "none"),
        ("pending", ", ".join(st.pending) or "none"),
    ]
    if st.changed:
        rows.append(("CHANGED after apply", ", ".join(st.changed)))
    stdout.print(table(None, ["", ""], rows))


@app.command("url")
def url_cmd() -> None:
    """Print the connection URL (password included), e.g. for psql.

    Example: `psql "$(etl db url)"`
    """
    typer.echo(resolve(schema=False).url)


@app.command("stop")
def stop_cmd() -> None:
    """Stop the embedded server (the next command that needs it starts it again).

    Example: `etl db stop`
    """
    was_running = admin.stop()
    typer.echo("stopped" if was_running else "not running")


@app.command("migrate")
def migrate_cmd(json: JsonOption = False) -> None:
    """Apply pending migrations from sql/migrations, each in its own transaction.

    Safe to run concurrently: an advisory lock makes each file apply once.

    Example: `etl db migrate`
    """
    result = admin.run_migrations()
    if json:
        print_json(result)
    elif result.applied:
        for name in result.applied:
            typer.echo(f"applied {name}")
    else:
        typer.echo(f"nothing to apply ({result.already_applied} already applied)")


@app.command("erd")
def erd_cmd(
    out: Annotated[Path, typer.Option(help="Where to write the diagrams.")] = Path("docs/erd.md"),
    check: Annotated[bool, typer.Option(help="Only check that OUT is up to date.")] = False,
) -> None:
    """Write Mermaid ER diagrams, one per schema, parsed from sql/migrations.

    Example: `etl db erd --out docs/erd.md`
    """
    result = admin.write_erd(out, check=check)
    state = "up to date" if not result.changed else ("written" if not check else "stale")
    typer.echo(f"{result.path}: {state} (schemas: {', '.join(result.schemas)})")


@app.command("lint")
def lint_cmd(json: JsonOption = False) -> None:
    """Check the migrations: primary keys, indexed foreign keys, identity, timestamptz.

    Exit code 1 when anything is found.

    Example: `etl db lint`
    """
    findings = admin.lint_migrations()
    if json:
        print_json({"findings": findings, "ok": not findings})
    elif findings:
        stdout.print(
            table(
                "lint findings",
                ["rule", "table", "message", "file"],
                [(f.rule, f.table, f.message, f.source) for f in findings],
            )
        )
    else:
        typer.echo("lint: no findings")
    if findings:
        raise typer.Exit(1)
