"""`etl schedule crontab`: lines cron can install, that run the pipelines, never
overlap, log, and exit with codes a monitor can read."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from croniter import croniter
from typer.testing import CliRunner, Result

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from etl_toolkit.db.connect import Database
from tests.paths import ROOT

pytestmark = pytest.mark.skipif(shutil.which("flock") is None, reason="flock (util-linux) missing")


def _env_file(tmp_path: Path, db: Database) -> Path:
    """DATABASE_URL in a file only its owner reads, as a user would keep it for cron."""
    path = tmp_path / "etl.env"
    path.write_text(f"DATABASE_URL='{db.url}'\n")  # quoted: a conninfo has spaces
    path.chmod(0o600)
    return path


def _crontab(tmp_path: Path, *args: str) -> Result:
    where = ["--log-dir", str(tmp_path / "logs"), "--lock-dir", str(tmp_path)]
    return CliRunner().invoke(app, ["schedule", "crontab", *where, "--workdir", str(ROOT), *args])


def _lines(tmp_path: Path, db: Database, *extra: str) -> dict[str, str]:
    out = CliRunner().invoke(
        app,
        [
            "schedule",
            "crontab",
            "--sales-dir",
            str(ROOT / "samples" / "sales"),
            "--env-file",
            str(_env_file(tmp_path, db)),
            "--log-dir",
            str(tmp_path / "logs"),
            "--lock-dir",
            str(tmp_path),
            "--workdir",
            str(ROOT),
            *extra,
        ],
    )
    assert out.exit_code == 0, out.output
    jobs = [line for line in out.output.splitlines() if line and not line.startswith("#")]
    assert jobs[0] == "SHELL=/bin/sh"
    by_name = {}
    for line in jobs[1:]:
        fields = line.split(maxsplit=5)
        assert croniter.is_valid(" ".join(fields[:5])), line
        lock = re.search(r"/etl-(\w+)\.lock", line)
        assert lock is not None, line
        name = lock.group(1)
        by_name[name] = fields[5]
    return by_name


def _run(command: str) -> subprocess.CompletedProcess[str]:
    """The line under an environment like cron's: no DATABASE_URL, no ETL_HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COV_CORE_", "COVERAGE")) and k not in {"DATABASE_URL", "ETL_HOME"}
    }
    env |= {"PATH": f"{Path(sys.executable).parent}:{env['PATH']}"}
    return subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True)


def test_the_lines_run_the_pipeline_log_and_exit_zero(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    sales = _lines(tmp_path, db)["sales"]
    assert "flock -n -E 75" in sales and "sales --data-dir" in sales and "--incremental" in sales
    first = _run(sales)
    assert first.returncode == 0, first.stderr
    log = (tmp_path / "logs" / "sales.log").read_text()
    assert "succeeded" in log
    assert _run(sales).returncode == 0
    assert "nothing new" in (tmp_path / "logs" / "sales.log").read_text()


def test_a_run_still_holding_the_lock_makes_the_next_one_skip_with_75(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    sales = _lines(tmp_path, db)["sales"]
    with (tmp_path / "etl-sales.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert _run(sales).returncode == 75


def test_a_failed_run_exits_one(settings: Settings, db: Database, tmp_path: Path) -> None:
    missing = _lines(tmp_path, db, "--pdf-dir", str(tmp_path / "no-such-folder"))["pdf"]
    assert _run(missing).returncode == 1


def test_only_the_pipelines_whose_folder_is_given_are_scheduled(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    # The README's example names the sales folder only: no demo data (samples/medly,
    # samples/pdf) may be scheduled into the real database beside it.
    assert set(_lines(tmp_path, db)) == {"sales"}
    both = _lines(tmp_path, db, "--pdf-dir", str(tmp_path))
    assert set(both) == {"sales", "pdf"} and "samples/pdf" not in both["pdf"]


def test_no_folder_is_a_usage_error(tmp_path: Path) -> None:
    out = _crontab(tmp_path)
    said = " ".join(out.output.replace("│", " ").split())  # out of click's box
    assert out.exit_code == 2 and "no pipeline to schedule" in said


def test_the_lines_carry_etl_home_and_database_url_only_by_reference(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    env_file = _env_file(tmp_path, db)
    out = _crontab(tmp_path, "--sales-dir", str(tmp_path), "--env-file", str(env_file))
    assert out.exit_code == 0, out.output
    assert db.url not in out.output and "DATABASE_URL=" not in out.output
    (line,) = [x for x in out.output.splitlines() if "flock" in x]
    assert f". {env_file} && set +a && ETL_HOME={settings.etl_home} flock" in line


def test_database_url_cron_would_not_have_is_refused(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    # DATABASE_URL is in this shell's environment (the fixture): cron will not inherit it.
    out = _crontab(tmp_path, "--sales-dir", str(tmp_path))
    assert out.exit_code == 1
    assert "DATABASE_URL is set here but cron's environment will not have it" in out.output
    assert "--env-file" in out.output and db.url not in out.output


def test_an_env_file_others_can_read_is_refused(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    env_file = _env_file(tmp_path, db)
    env_file.chmod(0o644)
    out = _crontab(tmp_path, "--sales-dir", str(tmp_path), "--env-file", str(env_file))
    assert out.exit_code == 1 and "can be read by other users" in out.output
    assert f"chmod 600 {env_file}" in out.output


def test_bad_cron_fields_are_refused(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["schedule", "crontab", "--sales-schedule", "hourly"])
    assert out.exit_code == 2 and "five cron fields" in out.output
