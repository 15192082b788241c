"""Plain cron as an equal runner: crontab lines for the pipelines asked for.

Each line runs the same `etl` command a person would, under `flock -n` so a
run never overlaps the previous one of the same pipeline, appending stdout and
stderr to one log per pipeline. Exit codes a monitor can tell apart: 0 done
(for sales: loaded, or nothing new), 1 the run failed (recorded in etl.runs
with its cause; for sales also a failed data-quality gate), 2 a usage error,
75 (EX_TEMPFAIL) skipped because the previous run still holds the lock.
"""

from __future__ import annotations

import shlex
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dotenv import dotenv_values

from etl_toolkit.config import Settings
from etl_toolkit.errors import ConfigError

SKIPPED = 75


@dataclass(frozen=True)
class Job:
    name: str
    schedule: str  # five cron fields
    args: list[str]  # the etl command's arguments


def _cron_escape(text: str) -> str:
    return text.replace("%", r"\%")  # cron turns an unescaped % into a newline


def cron_environment(settings: Settings, *, workdir: Path, env_file: Path | None) -> str:
    """The shell words that give a cron line this user's database.

    Cron starts with an almost empty environment, so a line carries ETL_HOME (the
    embedded server's data) itself, and DATABASE_URL only by reference: the line
    sources ENV_FILE, or `cd WORKDIR` lets the toolkit read WORKDIR/.env. The URL's
    value (a password, often) is never written into the crontab.
    """
    prefix = ""
    cron_url: str | None = None
    if env_file is not None:
        if env_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{env_file} can be read by other users",
                hint=f"chmod 600 {shlex.quote(str(env_file))}: it holds DATABASE_URL",
            )
        cron_url = dotenv_values(env_file).get("DATABASE_URL")
        prefix = f"set -a && . {shlex.quote(str(env_file))} && set +a && "
    if cron_url is None:
        cron_url = dotenv_values(workdir / ".env").get("DATABASE_URL")
    if settings.database_url is not None and cron_url != settings.database_url:
        where = f"{env_file} sets another" if cron_url else "cron's environment will not have it"
        raise ConfigError(
            f"DATABASE_URL is set here but {where}: the scheduled runs would reach "
            "another database",
            hint="put DATABASE_URL=... in a file only you can read (chmod 600) and pass "
            "--env-file FILE; each line sources it, the value stays out of the crontab",
        )
    return prefix + f"ETL_HOME={shlex.quote(str(settings.etl_home.absolute()))} "


def crontab(
    jobs: list[Job],
    *,
    etl: str,
    workdir: Path,
    log_dir: Path,
    lock_dir: Path,
    environment: str = "",
) -> str:
    """The crontab text; `environment` (from cron_environment) goes before each command."""
    today = datetime.now(UTC).date()
    lines = [
        f"# etl-toolkit pipelines, written by `etl schedule crontab` on {today}.",
        "# Install: etl schedule crontab ... | crontab -   (each line sets ETL_HOME and",
        "# reads DATABASE_URL from --env-file or WORKDIR/.env; never a password in a",
        "# file others can read).",
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
            f"{environment}flock -n -E {SKIPPED} {lock} {command} >> {log} 2>&1"
        )
        lines.append(_cron_escape(line))
    return "\n".join(lines) + "\n"
