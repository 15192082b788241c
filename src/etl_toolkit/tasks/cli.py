"""`etl tasks ...`: script a processor (claim, report) or look at the queue (list)."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from pydantic import ValidationError

from etl_toolkit.clikit import JsonOption, fmt_time, new_app, print_json, stdout, table
from etl_toolkit.db.connect import resolve
from etl_toolkit.tasks import queue, read
from etl_toolkit.tasks.processor import ProcessorReport
from etl_toolkit.tasks.storage import OBJECT_CLASSES, TaskStatus

app = new_app("Anonymisation tasks: claim and report as a processor, list the queue.")


@app.command("claim")
def claim_cmd(
    processor: Annotated[str, typer.Option(help="Name recorded with the claim.")] = "cli",
    lease: Annotated[
        int,
        typer.Option(min=10, max=86_400, help="Seconds to report before the task is reclaimed."),
    ] = queue.DEFAULT_LEASE_SECONDS,
    json: JsonOption = False,
) -> None:
    """Claim the oldest new task (atomically; safe with many processors).

    Prints the task (with its claim token). With an empty queue: nothing on stdout
    (`null` with --json), a note on stderr, exit code 0.

    Example: `etl tasks claim --processor gpu-3 --json`
    """
    with resolve().connect() as conn:
        task = queue.claim_task(conn, processor, lease_seconds=lease)
    if task is None:
        typer.echo("queue is empty", err=True)
        if json:
            typer.echo("null")
        return
    if json:
        print_json(task)
    else:
        stdout.print(
            table(
                None,
                ["", ""],
                [
                    ("task", task.task_id),
                    ("claim token", task.claim_token),
                    ("object", task.uri),
                    ("media", task.media_type),
                    ("classes", ", ".join(task.classes)),
                    ("lease until", fmt_time(task.lease_expires_at)),
                    ("attempt", task.attempt),
                ],
            )
        )


def _counts(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in values:
        name, sep, number = item.partition("=")
        if not sep or name not in OBJECT_CLASSES or not number.isdigit():
            raise typer.BadParameter(
                f"{item!r}: use CLASS=N with CLASS one of {', '.join(OBJECT_CLASSES)}",
                param_hint="--count",
            )
        counts[name] = int(number)
    return counts


_FLAGS = {
    "claim_token": "--token",
    "anonymised": "--count",
    "duration_ms": "--duration-ms",
    "error": "--failed",
    "retryable": "--retryable",
}


def _flag(loc: tuple[int | str, ...]) -> str:
    return _FLAGS.get(str(loc[0]), str(loc[0])) if loc else "report"


@app.command("report")
def report_cmd(
    task_id: Annotated[uuid.UUID, typer.Argument(help="The claimed task's id.")],
    token: Annotated[str, typer.Option(help="The claim token from `etl tasks claim`.")],
    count: Annotated[list[str], typer.Option(help="CLASS=N anonymised objects (repeatable).")] = [],  # noqa: B006  (typer reads the default; it is never mutated)
    duration_ms: Annotated[int | None, typer.Option(min=0, help="Processing time.")] = None,
    failed: Annotated[str | None, typer.Option(help="Report a failure with this error.")] = None,
    retryable: Annotated[bool, typer.Option(help="With --failed: requeue the task.")] = False,
    json: JsonOption = False,
) -> None:
    """Report a claimed task's result: counts per class, or a failure.

    Example: `etl tasks report $ID --token $TOKEN --count face=3 --count license_plate=1`
    """
    # Usage errors (exit 2), as click says them; TASK_ID's type was checked first.
    if retryable and not failed:
        raise typer.BadParameter(
            "requeues a failed task: add --failed ERROR", param_hint="--retryable"
        )
    try:
        report = ProcessorReport.model_validate(
            {
                "claim_token": token,
                "outcome": "failed" if failed else "processed",
                "anonymised": _counts(count),
                "duration_ms": duration_ms,
                "error": failed,
                "retryable": retryable,
            }
        )
    except ValidationError as exc:  # the flags' values, said as the flags
        errors = exc.errors()
        if len(errors) == 1:
            raise typer.BadParameter(errors[0]["msg"], param_hint=_flag(errors[0]["loc"])) from None
        reasons = "; ".join(f"{_flag(e['loc'])}: {e['msg']}" for e in errors)
        raise typer.BadParameter(reasons) from None
    with resolve().connect() as conn:
        row = queue.record_result(conn, task_id, report)
    if json:
        print_json(row)
    else:
        typer.echo(f"task {row.id}: {row.status}")


@app.command("list")
def list_cmd(
    status: Annotated[TaskStatus | None, typer.Option(help="Only tasks in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    json: JsonOption = False,
) -> None:
    """List tasks in creation order, with status and counts.

    Example: `etl tasks list --status new --limit 50`
    """
    with resolve().connect() as conn:
        rows, total = read.list_tasks(conn, status=status, limit=limit, offset=offset)
    if json:
        print_json({"total": total, "tasks": rows})
        return
    stdout.print(
        table(
            f"tasks ({total} in all)",
            ["id", "status", "object", "classes", "attempts", "anonymised", "error"],
            [
                (
                    r.id,
                    r.status,
                    f"s3://{r.bucket}/{r.object_key}",
                    ", ".join(r.object_classes),
                    r.attempts,
                    ", ".join(f"{k}={v}" for k, v in r.detections.items()),
                    r.error or "",
                )
                for r in rows
            ],
        )
    )
