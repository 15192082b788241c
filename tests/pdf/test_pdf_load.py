"""etl load-pdf behaviour: idempotence, --force, bad input, failing pages, timeouts, jobs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.pdf import jobs
from etl_toolkit.pdf.pipeline import load_pdfs
from etl_toolkit.pdf.synth import SynthPage, long_document, text_page, write_pdf
from tests.paths import ROOT
from tests.processes import LOADING_DOCUMENT, connection_killer

runner = CliRunner()


def _count(db: Database, table: str) -> int:
    with db.connect() as conn:
        row = conn.execute(f"SELECT count(*) AS n FROM docs.{table}").fetchone()
    assert row is not None
    return int(row["n"])


def settings_db(settings: Settings) -> Database:
    """The database the CLI under test writes to (the `settings` fixture points it there)."""
    return Database(os.environ["DATABASE_URL"], "external")


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_pdf(
        tmp_path / "good.pdf", [text_page(["alpha beta gamma"]), text_page(["delta"])], title="Good"
    )


def test_samples_load_then_all_unchanged(settings: Settings) -> None:
    first = runner.invoke(app, ["load-pdf", str(ROOT / "samples" / "pdf"), "--json"])
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert {f["status"] for f in body["files"]} == {"loaded"}
    assert body["totals"]["files"] == 3
    again = runner.invoke(app, ["load-pdf", str(ROOT / "samples" / "pdf")])
    assert again.exit_code == 0
    last = again.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"3 files: 0 loaded, 3 unchanged, 0 failed; 0 pages, 0 words in [\d.]+ s", last
    )


def test_same_bytes_again_writes_nothing(db: Database, good: Path, tmp_path: Path) -> None:
    first = load_pdfs(db, [good])
    copy = tmp_path / "copy-of-good.pdf"
    copy.write_bytes(good.read_bytes())
    second = load_pdfs(db, [good, copy])
    assert [f.status for f in second.files] == ["unchanged", "unchanged"]
    assert {f.document_id for f in second.files} == {first.files[0].document_id}
    with db.connect() as conn:
        n_jobs = conn.execute("SELECT count(*) AS n FROM docs.extraction_jobs").fetchone()
    assert n_jobs == {"n": 1}  # unchanged files record no job
    assert _count(db, "documents") == 1


def test_force_replaces_the_document_atomically(db: Database, good: Path) -> None:
    first = load_pdfs(db, [good]).files[0]
    with db.connect() as conn:
        conn.execute(
            "UPDATE docs.words SET text = 'stale' WHERE document_id = %s", [first.document_id]
        )
    replaced = load_pdfs(db, [good], force=True)
    again = replaced.files[0]
    assert again.status == "replaced"
    assert "1 loaded (1 replaced)" in str(replaced.summary()[-1])  # the table's word, counted
    assert again.document_id == first.document_id
    assert (again.pages, again.words) == (2, 4)
    with db.connect() as conn:
        texts = [
            r["text"]
            for r in conn.execute(
                "SELECT text FROM docs.words ORDER BY page_number, word_index"
            ).fetchall()
        ]
    assert texts == ["alpha", "beta", "gamma", "delta"]


def test_a_failing_page_does_not_sink_its_document(db: Database, tmp_path: Path) -> None:
    pdf = write_pdf(
        tmp_path / "one-bad-page.pdf",
        [
            text_page(["first page"]),
            SynthPage(lines=[(72, 72, 12, "never reached")], nesting=1500),
            text_page(["third page"]),
        ],
    )
    f = load_pdfs(db, [pdf]).files[0]
    assert f.status == "loaded"
    assert f.failed_pages == [
        {"page": 2, "error": "RecursionError: maximum recursion depth exceeded"}
    ]
    with db.connect() as conn:
        pages = conn.execute(
            "SELECT page_number, word_count, error FROM docs.pages ORDER BY 1"
        ).fetchall()
        job = jobs.get_job(conn, f.job_id or "")
    assert [(p["page_number"], p["word_count"], p["error"] is not None) for p in pages] == [
        (1, 2, False),
        (2, 0, True),
        (3, 2, False),
    ]
    assert job.status == "completed"
    assert job.error_message == "1 page(s) failed to parse"


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("not_a_pdf", "not a PDF: no %PDF- header in the first 1024 bytes"),
        ("truncated", "malformed PDF: PSEOF: Unexpected EOF"),
        ("directory", "cannot read: is a directory"),
        ("dangling_symlink", "no such file"),
        ("missing", "no such file"),
        ("empty", "empty file (0 bytes)"),
    ],
)
def test_bad_input_is_one_clear_failure_and_stores_nothing(
    db: Database, tmp_path: Path, good: Path, case: str, error: str
) -> None:
    bad = tmp_path / f"{case}.pdf"
    if case == "not_a_pdf":
        bad.write_text("name,amount\nwidget,3\n")
    elif case == "truncated":
        data = write_pdf(tmp_path / "full.pdf", long_document(20)).read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif case == "directory":  # met while searching a folder: a "PDF" that cannot be read
        bad.mkdir()
        (tmp_path / "batch").mkdir()
        bad.rename(tmp_path / "batch" / bad.name)
        bad = tmp_path / "batch"
    elif case == "dangling_symlink":
        os.symlink(tmp_path / "nowhere.pdf", bad)
    elif case == "empty":
        bad.write_bytes(b"")
    report = load_pdfs(db, [bad, good])
    failed, ok = report.files
    assert (failed.status, failed.error) == ("failed", error)
    assert ok.status == "loaded"
    assert _count(db, "documents") == 1
    with db.connect() as conn:
        job = jobs.get_job(conn, failed.job_id or "")
    assert (job.status, job.error_message) == ("failed", error)


def test_timeout_fails_the_file_leaves_nothing_and_the_batch_goes_on(
    db: Database, tmp_path: Path, good: Path
) -> None:
    slow = write_pdf(tmp_path / "slow.pdf", long_document(400))
    report = load_pdfs(db, [slow, good], workers=2, timeout=1.0)
    slow_f, good_f = report.files
    assert slow_f.status == "failed"
    assert slow_f.error == "extraction exceeded the per-file timeout of 1 s"
    assert good_f.status == "loaded"
    with db.connect() as conn:
        rows = conn.execute("SELECT name FROM docs.documents").fetchall()
    assert [r["name"] for r in rows] == ["good.pdf"]


def test_folder_with_good_and_bad_files_exits_1(
    settings: Settings, tmp_path: Path, good: Path
) -> None:
    (tmp_path / "sub").mkdir()
    write_pdf(tmp_path / "sub" / "NESTED.PDF", [text_page(["nested"])])
    (tmp_path / "broken.pdf").write_text("not a pdf")
    r = runner.invoke(app, ["load-pdf", str(tmp_path), "--json"])
    assert r.exit_code == 1
    body = json.loads(r.stdout)
    assert {Path(f["path"]).name: f["status"] for f in body["files"]} == {
        "broken.pdf": "failed",
        "good.pdf": "loaded",
        "NESTED.PDF": "loaded",
    }
    assert r.stderr.strip().splitlines()[-1] == (
        f"Error: {tmp_path / 'broken.pdf'}: not a PDF: no %PDF- header in the first 1024 bytes"
    )


def test_jobs_follow_each_file_through_its_states(db: Database, good: Path) -> None:
    f = load_pdfs(db, [good]).files[0]
    with db.connect() as conn:
        found, total = jobs.list_jobs(conn, document_id=f.document_id)
        events = jobs.job_events(conn, found[0].id)
    assert total == 1
    assert found[0].status == "completed"
    assert found[0].metadata is not None and found[0].metadata["file"] == str(good)
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "pending"),
        ("pending", "processing"),
        ("processing", "completed"),
    ]


def test_run_is_recorded_with_totals(db: Database, good: Path) -> None:
    from etl_toolkit.runs import get_run

    report = load_pdfs(db, [good])
    assert report.run_id is not None
    run = get_run(db, report.run_id)
    assert run.status == "succeeded"
    assert run.counts["loaded"] == 1
    assert run.counts["words"] == 4


@pytest.mark.parametrize("content", ["nothing", "other_files", "nested_other_files"])
def test_a_folder_without_a_pdf_exits_1_naming_it(
    settings: Settings, tmp_path: Path, content: str
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    if content != "nothing":
        (folder / "notes.txt").write_text("not a pdf")
        (folder / "report.pdf.bak").write_bytes(b"%PDF-1.4\n")
    if content == "nested_other_files":
        (folder / "sub").mkdir()
        (folder / "sub" / "scan.png").write_bytes(b"\x89PNG")
    found = {"nothing": 0, "other_files": 2, "nested_other_files": 3}[content]
    r = runner.invoke(app, ["load-pdf", str(folder)])
    assert r.exit_code == 1
    assert r.stderr.strip() == (
        f"Error: no PDF under {folder} (found {found} other file{'' if found == 1 else 's'}): "
        "looked for *.pdf (any case) in the folder and its subfolders "
        "(pass a folder that holds PDFs, or name the files)"
    )
    assert _count(settings_db(settings), "documents") == 0


def test_an_empty_folder_among_others_fails_before_anything_loads(
    settings: Settings, tmp_path: Path, good: Path
) -> None:
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["load-pdf", str(good), str(tmp_path / "empty")])
    assert r.exit_code == 1
    assert f"no PDF under {tmp_path / 'empty'} (found 0 other files)" in r.stderr
    assert _count(settings_db(settings), "documents") == 0


def test_a_missing_path_exits_1(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "file.pdf"
    r = runner.invoke(app, ["load-pdf", str(missing)])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1] == f"Error: {missing}: no such file"


def test_concurrent_inserts_of_one_document_never_collide(db: Database) -> None:
    """The statement itself, raced by two connections released together many times.

    Before the fix its conflict target was (sha256) only, and a pair that both
    passed the arbiter check collided on documents_pkey instead.
    """
    import threading
    import uuid

    from psycopg.types.json import Jsonb

    from etl_toolkit.db.queries import query

    trials = 40
    barrier = threading.Barrier(2)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def insert(trial: int) -> None:
        sha = f"{trial:064x}"
        params = {
            "id": uuid.uuid5(uuid.NAMESPACE_URL, sha),
            "name": "race.pdf",
            "source_path": "/race.pdf",
            "sha256": sha,
            "size_bytes": 1,
            "page_count": 1,
            "metadata": Jsonb({}),
        }
        with db.connect() as conn:
            barrier.wait()
            try:
                row = conn.execute(query("docs", "insert_document"), params).fetchone()
                outcome = "inserted" if row is not None else "unchanged"
            except Exception as exc:  # the assertion below names it
                outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes.append((trial, outcome))

    for trial in range(trials):
        threads = [threading.Thread(target=insert, args=(trial,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    by_trial: dict[int, list[str]] = {}
    for trial, outcome in outcomes:
        by_trial.setdefault(trial, []).append(outcome)
    assert all(sorted(v) == ["inserted", "unchanged"] for v in by_trial.values()), by_trial
    assert _count(db, "documents") == trials


def test_two_concurrent_loads_of_one_folder_store_each_document_once(
    settings: Settings, tmp_path: Path
) -> None:
    import subprocess
    import sys

    for trial in range(3):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        for i in range(3):
            write_pdf(folder / f"doc{i}.pdf", [text_page([f"trial {trial} document {i}"])])
        cmd = [sys.executable, "-m", "etl_toolkit", "load-pdf", str(folder), "--json"]
        procs = [
            subprocess.Popen(
                [*cmd, "--workers", "1"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=os.environ.copy(),
            )
            for _ in range(2)
        ]
        results = [p.communicate(timeout=300) for p in procs]
        for p, (_, err) in zip(procs, results, strict=True):
            assert p.returncode == 0, err
        statuses: dict[str, list[str]] = {}
        for out, _ in results:
            for f in json.loads(out)["files"]:
                statuses.setdefault(Path(f["path"]).name, []).append(f["status"])
        # each document loaded by exactly one of the two, the other saw it unchanged
        assert all(sorted(s) == ["loaded", "unchanged"] for s in statuses.values()), statuses
        with settings_db(settings).connect() as conn:
            row = conn.execute(
                "SELECT count(*) AS docs, count(DISTINCT sha256) AS distinct_docs, "
                "(SELECT count(*) FROM docs.pages) AS pages FROM docs.documents"
            ).fetchone()
        assert row == {
            "docs": 3 * (trial + 1),
            "distinct_docs": 3 * (trial + 1),
            "pages": 3 * (trial + 1),
        }


def test_a_statement_that_fails_on_a_live_connection_fails_its_file_not_the_run(
    db: Database, tmp_path: Path, good: Path
) -> None:
    """A lock timeout is the database answering, not the database gone: the file
    fails with the reason, the batch goes on, and nothing says the database was lost."""
    other = write_pdf(tmp_path / "other.pdf", [text_page(["other", "words"])])
    impatient = Database(make_conninfo(db.url, options="-c lock_timeout=300"), "external")
    with db.connect() as holder:
        holder.execute("LOCK TABLE docs.pages IN ACCESS EXCLUSIVE MODE")
        report = load_pdfs(impatient, [good, other], workers=1)
        holder.rollback()
    assert [f.status for f in report.files] == ["failed", "failed"]
    assert all("lock timeout" in (f.error or "") for f in report.files)
    assert not any("lost the database" in (f.error or "") for f in report.files)
    assert report.failed and _count(db, "documents") == 0
    again = load_pdfs(db, [good, other], workers=1)
    assert [f.status for f in again.files] == ["loaded", "loaded"]


def test_a_lost_database_stops_the_run_as_transient_and_a_rerun_loads(
    db: Database, tmp_path: Path, good: Path
) -> None:
    """The connection writing a document is killed mid-file: the run stops with
    DatabaseUnavailable (transient: an orchestrator retries), is recorded failed
    with that error and the file it finished, leaves no partial document, and the
    file after it is not reported failed; the same command once the database is
    back finishes the job."""
    from etl_toolkit.errors import DatabaseUnavailable, is_transient
    from etl_toolkit.runs import get_run, list_runs

    big = write_pdf(tmp_path / "big.pdf", long_document(400))
    last = tmp_path / "last.pdf"
    last.write_bytes(write_pdf(tmp_path / "x.pdf", [text_page(["omega"])]).read_bytes())
    lost = f"lost the database while loading {big}"
    after_good = f"{LOADING_DOCUMENT} AND EXISTS (SELECT FROM docs.documents)"  # good.pdf committed
    with (
        connection_killer(db, after_good) as killed,
        pytest.raises(DatabaseUnavailable, match=lost) as stopped,
    ):
        load_pdfs(db, [good, big, last], workers=1)
    assert killed and is_transient(stopped.value)
    run = list_runs(db, limit=1)[0]
    assert (run.status, run.error) == ("failed", str(stopped.value))
    assert (run.counts["files"], run.counts["loaded"], run.counts["failed"]) == (1, 1, 0)
    report = get_run(db, run.id).report  # the shape a whole run's report has
    assert report is not None and report["run_id"] == run.id
    assert report["totals"] == run.counts and len(report["files"]) == 1
    with db.connect() as conn:
        found, total = jobs.list_jobs(conn)
    assert total == 2  # the file after it never started
    assert [(j.status, j.error_message) for j in found] == [
        ("completed", None),
        ("failed", run.error),
    ]
    assert _count(db, "documents") == 1 and _count(db, "pages") == 2  # good.pdf only
    again = load_pdfs(db, [good, big, last], workers=1)
    assert [f.status for f in again.files] == ["unchanged", "loaded", "loaded"]
    assert again.files[1].pages == 400


def test_report_file_holds_the_json_body_and_a_bad_one_fails_before_the_run(
    settings: Settings, tmp_path: Path, good: Path
) -> None:
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["load-pdf", str(good), "--report-file", str(out), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(out.read_text())
    assert body == json.loads(r.stdout)
    assert (body["totals"]["loaded"], body["files"][0]["status"]) == (1, "loaded")
    from etl_toolkit.runs import get_run

    stored = get_run(settings_db(settings), body["run_id"]).report
    assert stored == body  # the ledger keeps the same body
    r = runner.invoke(
        app, ["load-pdf", str(good), "--report-file", str(tmp_path / "no" / "r.json")]
    )
    assert r.exit_code == 1
    assert r.stderr.startswith(f"Error: --report-file {tmp_path / 'no' / 'r.json'}: folder")
    with settings_db(settings).connect() as conn:
        runs = conn.execute("SELECT count(*) AS n FROM etl.runs").fetchone()
    assert runs == {"n": 1}  # refused before a run was opened


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000", None), ("150000 100000", 2), ("50000 100000", 1), ("garbage", None)],
)
def test_workers_default_to_the_cpus_usable_within_a_cgroup_quota(
    tmp_path: Path, cpu_max: str, expected: int | None
) -> None:
    from etl_toolkit.pdf.parallel import usable_cpus

    affinity = len(os.sched_getaffinity(0))
    limit = tmp_path / "cpu.max"
    limit.write_text(cpu_max + "\n")
    assert usable_cpus(limit) == min(affinity, expected or affinity)
    assert usable_cpus(tmp_path / "absent") == affinity


def test_report_lists_every_page_that_failed_the_table_names_five(
    settings: Settings, tmp_path: Path
) -> None:
    from etl_toolkit.pdf.report import FileReport, PdfReport

    pages = [{"page": n, "error": f"bad operator on page {n}"} for n in range(1, 8)]
    report = PdfReport(1, [FileReport("a.pdf", "loaded", pages=9, failed_pages=pages)])
    summary, details = report.summary(), report.details()
    assert "7 page(s) failed: 1, 2, 3, 4, 5" in str(summary[0])
    failed = [d for d in details if getattr(d, "title", "") == "pages that failed to parse"]
    assert [row[1] for row in failed[0].rows] == [1, 2, 3, 4, 5, 6, 7]  # type: ignore[union-attr]
    assert summary[-1] == details[-1]  # the totals close both
