"""Plain cron as an equal runner: crontab lines for every pipeline.

Each line runs the same `etl` command a person would, under `flock -n` so a
run never overlaps the previous one of the same pipeline, appending stdout and
stderr to one log per pipeline. Exit codes a monitor can tell apart: 0 done
(for sales: loaded, or nothing new), 1 the run failed (recorded in etl.runs
with its cause; for sales also a failed data-quality gate), 2 a usage error,
75 (EX_TEMPFAIL) skipped because the previous run still holds the lock.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SKIPPED = 75


@dataclass(frozen=True)
class Job:
    name: str
    schedule: str  # five cron fields
    args: list[str]  # the etl command's arguments


def _cron_escape(text: str) -> str:
    return text.replace("%", r"\%")  # cron turns an unescaped % into a newline


def crontab(jobs: list[Job], *, etl: str, workdir: Path, log_dir: Path, lock_dir: Path) -> str:
    today = datetime.now(UTC).date()
    lines = [
        f"# etl-toolkit pipelines, written by `etl schedule crontab` on {today}.",
        "# Install: etl schedule crontab ... | crontab -   (DATABASE_URL etc. from the",
        "# environment below or the crontab's own variables; never a password in a file",
        "# others can read).",
        f"# Exit codes: 0 done, 1 the run failed (see `etl runs`), 2 usage error, "
        f"{SKIPPED} skipped (the previous run still holds its lock).",
        "SHELL=/bin/sh",
    ]
    for job in jobs:
        lock = shlex.quote(str(lock_dir / f"etl-{job.name}.lock"))
        log = shlex.quote(str(log_dir / f"{job.name}.log"))
        command = " ".join(shlex.quote(a) for a in [etl, *job.args])
        line = (
            f"{job.schedule} mkdir -p {shlex.quote(str(log_dir))} && "
            f"cd {shlex.quote(str(workdir))} && "
            f"flock -n -E {SKIPPED} {lock} {command} >> {log} 2>&1"
        )
        lines.append(_cron_escape(line))
    return "\n".join(lines) + "\n"
