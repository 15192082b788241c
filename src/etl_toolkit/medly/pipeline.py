"""`etl medly`: the four JSON sources into schema medly, idempotently, as one run.

One transaction for the whole migration (a failed run leaves the previous state
intact). Before anything is written, each file's top-level shape is checked (a
file of the wrong shape fails the run). Files are parsed as streams (ijson):
records go through the parsers into staging temp tables by COPY in batches,
skipped records into medly.skipped with their reason (once per record of a
file's content: a re-run does not store them again). Then, entity by entity
in foreign-key order: deduplicate in SQL (the last occurrence wins; for items,
the exam appearance is canonical), resolve references (lessons, items), merge
(`INSERT ... ON CONFLICT DO UPDATE ... WHERE IS DISTINCT FROM`: unchanged rows
are not rewritten) and move `last_seen_at` on every row seen.

`run_medly` is the one composition: the CLI and the Flyte workflow both call it
(the migration is one transaction, so it is one task).
"""

from __future__ import annotations

import time
from pathlib import Path

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.errors import InputError
from etl_toolkit.log import get_logger
from etl_toolkit.medly.load import Loader
from etl_toolkit.medly.report import EntityReport, FileCounts, MigrationReport
from etl_toolkit.medly.skips import Skips
from etl_toolkit.medly.source import check_shapes, discover
from etl_toolkit.medly.staging import Staging, unresolved
from etl_toolkit.progress import Progress, Reporter
from etl_toolkit.runs import track_run

log = get_logger("etl_toolkit.medly")
# Above this share of skipped records a file is not dirty but wrong (integers in
# a spelling we refuse, another format, the wrong file): the run fails and
# nothing is written, as the sales pipeline's `file_rejected` gate does for a
# CSV (issue 13, section 4). A file with no records at all is valid (a new
# subject with no papers yet).
SKIPPED_MAX = 0.9
TOP_REASONS = 3


def run_medly(db: Database, data_dir: Path, *, progress: Progress | None = None) -> MigrationReport:
    """Run the whole migration in one transaction; returns the report (stored with the run)."""
    started = time.perf_counter()
    dd = discover(data_dir)
    reporter = Reporter(progress, "medly", items_total=3 * len(dd.subjects) + 1, unit="records")
    with track_run(db, "medly", {"data_dir": str(data_dir)}) as run:
        report = MigrationReport(str(data_dir), run.id)
        check_shapes(dd)
        with db.connect() as conn:
            conn.execute(query("medly", "tune_session"))
            staging = Staging(conn)
            skips = Skips(conn, run.id, report, dd.root)
            loader = Loader(dd, staging, skips, reporter)
            t0 = time.perf_counter()
            loader.curriculum()
            report.stages["read curriculum"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            loader.user_data()
            wrong = wrong_files(report)
            if wrong:
                report.seconds = time.perf_counter() - started
                run.report = report.body
                raise wrong_files_error(wrong, dd.root)
            report.skipped_stored = skips.store()
            report.stages["read user data"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            for name, stager in staging.stagers.items():
                reporter.overall(f"merge {name}")
                report.entities[name] = stager.finish()
            for name, n in skips.by_entity.items():
                report.entities.setdefault(name, EntityReport()).skipped += n
                report.entities[name].read += n
            report.unresolved = unresolved(conn)
            report.stages["merge"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        reporter.overall("vacuum")
        with db.connect(autocommit=True) as conn:
            conn.execute(query("medly", "vacuum"))
        report.stages["vacuum"] = time.perf_counter() - t0
        report.seconds = time.perf_counter() - started
        run.counts = {name: vars(e) for name, e in report.entities.items()}
        run.report = report.body
    log.info("medly migrated", seconds=round(report.seconds, 2), changed=report.changed)
    return report


def wrong_files(report: MigrationReport) -> dict[str, FileCounts]:
    """The files with records, more than SKIPPED_MAX of them skipped."""
    return {f: c for f, c in report.files.items() if c.records and c.share > SKIPPED_MAX}


def wrong_files_error(wrong: dict[str, FileCounts], root: Path) -> InputError:
    def one(src: str, c: FileCounts) -> str:
        top = ", ".join(f"{r} ({n})" for r, n in c.reasons.most_common(TOP_REASONS))
        return (
            f"{root / src}: {c.skipped} of {c.records} records skipped ({c.share:.1%}), "
            f"more than {SKIPPED_MAX:.0%}: {top}"
        )

    return InputError(
        "; ".join(one(src, c) for src, c in sorted(wrong.items())),
        hint="a file this wrong is not loaded in part: fix it (docs/formats/medly.md) and "
        "run again; nothing was written",
    )
