"""The work queue on the real database: concurrent claimers, leases, the CLI."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter

import pytest
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.errors import Conflict
from etl_toolkit.tasks import queue, read
from etl_toolkit.tasks.processor import ProcessorReport
from etl_toolkit.tasks.storage import NewTaskRow

runner = CliRunner()


def _new(n: int = 0) -> NewTaskRow:
    return NewTaskRow(
        bucket="b",
        object_key=f"k/{n}.jpg",
        media_type="image",
        file_name=f"{n}.jpg",
        object_classes=["face"],
    )


def test_eight_concurrent_claimers_drain_200_tasks_each_exactly_once(db: Database) -> None:
    with db.connect() as conn:
        created = {queue.create_task(conn, _new(i)).id for i in range(200)}
    claims: list[uuid.UUID] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(name: str) -> None:
        try:
            with db.connect(autocommit=True) as conn:
                start.wait()
                while (task := queue.claim_task(conn, name)) is not None:
                    with lock:
                        claims.append(task.task_id)
                    report = ProcessorReport(
                        claim_token=task.claim_token, outcome="processed", anonymised={"face": 1}
                    )
                    queue.record_result(conn, task.task_id, report)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"p{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    counts = Counter(claims)
    assert set(counts) == created  # none lost
    assert max(counts.values()) == 1  # none twice
    with db.connect() as conn:
        _, processed = read.list_tasks(conn, status="processed", limit=100)
        _, left = read.list_tasks(conn, status="new")
        claimers = {e.actor for t in created for e in read.task_events(conn, t)} - {None}
    assert (processed, left) == (200, 0)
    assert len(claimers) > 1  # the work really was shared


def test_an_expired_lease_is_reclaimed_and_the_old_claim_is_refused(db: Database) -> None:
    with db.connect(autocommit=True) as conn:
        task = queue.create_task(conn, _new())
        first = queue.claim_task(conn, "slow", lease_seconds=0)
        assert first is not None
        time.sleep(0.05)
        second = queue.claim_task(conn, "fast")
        assert second is not None
        assert (second.task_id, second.attempt) == (task.id, 2)
        assert second.claim_token != first.claim_token
        late = ProcessorReport(claim_token=first.claim_token, outcome="processed")
        with pytest.raises(Conflict, match=r"the token does not match task .* current claim"):
            queue.record_result(conn, task.id, late)
        ok = ProcessorReport(claim_token=second.claim_token, outcome="processed")
        assert queue.record_result(conn, task.id, ok).status == "processed"


def test_a_task_whose_leases_keep_expiring_fails(db: Database) -> None:
    with db.connect(autocommit=True) as conn:
        task = queue.create_task(conn, _new())
        for _ in range(queue.MAX_ATTEMPTS):
            assert queue.claim_task(conn, "crashy", lease_seconds=0) is not None
            time.sleep(0.02)
        assert queue.claim_task(conn, "next") is None
        row = read.get_task(conn, task.id)
    assert row.status == "failed"
    assert (
        row.error == f"lease expired {queue.MAX_ATTEMPTS} time(s): no processor reported a result"
    )


def test_cli_claim_report_list(settings: Settings) -> None:
    from etl_toolkit.db.connect import resolve

    with resolve(settings).connect() as conn:
        task = queue.create_task(conn, _new())
    r = runner.invoke(app, ["tasks", "claim", "--processor", "script", "--json"])
    assert r.exit_code == 0, r.output
    claimed = json.loads(r.stdout)
    assert claimed["task_id"] == str(task.id)
    r = runner.invoke(
        app,
        [
            "tasks",
            "report",
            str(task.id),
            "--token",
            claimed["claim_token"],
            "--count",
            "face=2",
            "--duration-ms",
            "40",
        ],
    )
    assert (r.exit_code, r.stdout) == (0, f"task {task.id}: processed\n")
    r = runner.invoke(app, ["tasks", "list", "--json"])
    listed = json.loads(r.stdout)
    assert listed["total"] == 1
    assert listed["tasks"][0]["detections"] == {"face": 2}
    empty = runner.invoke(app, ["tasks", "claim", "--json"])
    assert (empty.exit_code, empty.stdout, empty.stderr) == (0, "null\n", "queue is empty\n")
    bad = runner.invoke(
        app,
        ["tasks", "report", str(task.id), "--token", claimed["claim_token"], "--count", "cat=1"],
    )
    assert bad.exit_code == 2
    assert "Invalid value for --count: 'cat=1': use CLASS=N" in _said(bad.stderr)
    again = runner.invoke(app, ["tasks", "report", str(task.id), "--token", claimed["claim_token"]])
    assert again.exit_code == 1
    assert "is processed" in again.stderr


def _said(stderr: str) -> str:
    """A usage error's text out of click's box, on one line."""
    return " ".join(stderr.replace("│", " ").split())


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--token", "nope"], "Invalid value for --token: Input should be a valid UUID"),
        (["--retryable"], "Invalid value for --retryable: requeues a failed task: add --failed"),
        (["--failed", "x" * 4001], "Invalid value for --failed: String should have at most 4000"),
        (["--count", "face"], "Invalid value for --count: 'face': use CLASS=N with CLASS one of"),
        (["--count", "dog=3"], "Invalid value for --count: 'dog=3': use CLASS=N"),
        (["--count", "face=-1"], "Invalid value for --count: 'face=-1': use CLASS=N"),
    ],
    ids=["token", "retryable", "long_error", "count_no_number", "count_class", "count_negative"],
)
def test_cli_report_with_bad_flags_is_a_usage_error_naming_the_flag(
    settings: Settings, args: list[str], error: str
) -> None:
    token = ["--token", str(uuid.uuid4())] if args[0] != "--token" else []
    r = runner.invoke(app, ["tasks", "report", str(uuid.uuid4()), *token, *args])
    assert r.exit_code == 2
    assert error in _said(r.stderr), r.stderr
    assert "--debug" not in r.stderr  # a usage error, not a crash


def test_cli_report_checks_the_task_id_before_the_token(settings: Settings) -> None:
    r = runner.invoke(app, ["tasks", "report", "not-a-uuid", "--token", "x"])
    assert r.exit_code == 2
    said = _said(r.stderr)
    assert "Invalid value for 'task_id': Input should be a valid UUID" in said
    assert "--token" not in said.split("Error")[-1]


def test_cli_report_with_a_wrong_token_says_it_does_not_match_the_claim(
    settings: Settings,
) -> None:
    from etl_toolkit.db.connect import resolve

    with resolve(settings).connect() as conn:
        task = queue.create_task(conn, _new())
        assert queue.claim_task(conn, "script") is not None  # its lease runs: nothing expired
    wrong = str(uuid.uuid4())
    r = runner.invoke(app, ["tasks", "report", str(task.id), "--token", wrong])
    assert r.exit_code == 1
    assert r.stderr == (
        f"Error: cannot record a result: the token does not match task {task.id}'s current "
        "claim (send the claim token of the current claim; a claim ends when its lease "
        "expires)\n"
    )
