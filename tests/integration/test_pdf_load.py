"""etl load-pdf behaviour: idempotence, --force, bad input, failing pages, timeouts, jobs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from etl_toolkit.pdf import jobs
from etl_toolkit.pdf.load import load_pdfs
from etl_toolkit.pdf.synth import SynthPage, long_document, text_page, write_pdf
from tests.conftest import ROOT

runner = CliRunner()


def _count(db: Database, table: str) -> int:
    with db.connect() as conn:
        row = conn.execute(f"SELECT count(*) AS n FROM docs.{table}").fetchone()
    assert row is not None
    return int(row["n"])


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
    again = load_pdfs(db, [good], force=True).files[0]
    assert again.status == "replaced"
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
