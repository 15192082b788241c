from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etl_toolkit.db import migrate
from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import sql_root
from etl_toolkit.errors import MigrationError


def _copy_migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(sql_root() / "migrations", folder)
    return folder


def test_migrate_twice_applies_nothing_the_second_time(empty_db: Database) -> None:
    first = migrate.migrate(empty_db)
    assert first.applied == [m.filename for m in migrate.discover()]
    second = migrate.migrate(empty_db)
    assert second.applied == []
    assert second.already_applied == len(first.applied)
    assert migrate.state(empty_db).up_to_date


def test_changed_applied_migration_is_refused_naming_the_file(
    empty_db: Database, tmp_path: Path
) -> None:
    folder = _copy_migrations(tmp_path)
    migrate.migrate(empty_db, folder)
    target = folder / "0001_etl.sql"
    target.write_text(target.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match=r"0001_etl\.sql"):
        migrate.migrate(empty_db, folder)
    assert [m.filename for m in migrate.state(empty_db, folder).changed] == ["0001_etl.sql"]


def test_failed_migration_is_rolled_back_and_not_recorded(
    empty_db: Database, tmp_path: Path
) -> None:
    folder = _copy_migrations(tmp_path)
    (folder / "9998_good.sql").write_text("CREATE TABLE etl.t_good (id int PRIMARY KEY);")
    (folder / "9999_bad.sql").write_text(
        "CREATE TABLE etl.t_bad (id int PRIMARY KEY); SELECT nope;"
    )
    with pytest.raises(MigrationError, match=r"9999_bad\.sql"):
        migrate.migrate(empty_db, folder)
    st = migrate.state(empty_db, folder)
    assert [m.filename for m in st.pending] == ["9999_bad.sql"]
    with empty_db.connect() as conn:
        row = conn.execute(
            "SELECT to_regclass('etl.t_bad') AS t, to_regclass('etl.t_good') AS g"
        ).fetchone()
    assert row == {"t": None, "g": "etl.t_good"}


def test_misnamed_migration_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "1_init.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="misnamed"):
        migrate.discover(tmp_path)


def test_duplicate_migration_number_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share number 0001"):
        migrate.discover(tmp_path)


def test_concurrent_migrate_processes_apply_each_file_once(empty_db: Database) -> None:
    env = {**os.environ, "DATABASE_URL": empty_db.url}
    cmd = [sys.executable, "-m", "etl_toolkit", "db", "migrate", "--json"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [o[1] for o in outs]
    with empty_db.connect() as conn:
        rows = conn.execute(
            "SELECT version, count(*) AS n FROM etl.schema_migrations GROUP BY version"
        ).fetchall()
    assert {r["version"] for r in rows} == {m.version for m in migrate.discover()}
    assert all(r["n"] == 1 for r in rows)
