"""Hand-written, append-only migrations: sql/migrations/NNNN_<name>.sql.

Each file is applied in its own transaction and recorded with its sha256 in
etl.schema_migrations. The whole run holds an advisory lock, so concurrent
`etl db migrate` calls apply each file exactly once. A file changed after it
was applied is refused, naming it.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query, sql_root
from etl_toolkit.errors import MigrationError
from etl_toolkit.log import get_logger

log = get_logger("etl_toolkit.migrate")
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    checksum: str

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class AppliedMigration:
    version: str
    name: str
    checksum: str
    applied_at: datetime


@dataclass
class MigrationState:
    applied: list[AppliedMigration] = field(default_factory=list)
    pending: list[Migration] = field(default_factory=list)
    changed: list[Migration] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.changed


@dataclass(frozen=True)
class MigrateResult:
    applied: list[str]
    already_applied: int


def discover(folder: Path | None = None) -> list[Migration]:
    """The migration files, in order; a misnamed file or a repeated number is an error."""
    folder = folder or sql_root() / "migrations"
    found: list[Migration] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.sql")):
        m = _FILE.match(path.name)
        if m is None:
            raise MigrationError(
                f"migration file {path.name} is misnamed", hint="name it NNNN_lower_snake.sql"
            )
        version, name = m.groups()
        if version in seen:
            raise MigrationError(
                f"migrations {seen[version]} and {path.name} share number {version}"
            )
        seen[version] = path.name
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        found.append(Migration(version, name, path, checksum))
    return found


def _applied(conn: psycopg.Connection[dict[str, object]]) -> list[AppliedMigration]:
    row = conn.execute(query("db", "ledger_exists")).fetchone()
    if row is None or not row["present"]:
        return []
    return [
        AppliedMigration(str(r["version"]), str(r["name"]), str(r["checksum"]), r["applied_at"])  # type: ignore[arg-type]
        for r in conn.execute(query("db", "applied_migrations")).fetchall()
    ]


def state(db: Database, folder: Path | None = None) -> MigrationState:
    files = discover(folder)
    with db.connect() as conn:
        applied = _applied(conn)
    return _compare(files, applied)


def _compare(files: list[Migration], applied: list[AppliedMigration]) -> MigrationState:
    done = {a.version: a for a in applied}
    st = MigrationState(applied=applied)
    for mig in files:
        prior = done.get(mig.version)
        if prior is None:
            st.pending.append(mig)
        elif prior.checksum != mig.checksum:
            st.changed.append(mig)
    return st


def migrate(db: Database, folder: Path | None = None) -> MigrateResult:
    """Apply every pending migration, each in its own transaction."""
    files = discover(folder)
    with db.connect(autocommit=True) as conn:
        conn.execute(query("db", "migration_lock"))
        try:
            conn.execute(query("db", "create_ledger"))
            st = _compare(files, _applied(conn))
            if st.changed:
                names = ", ".join(m.filename for m in st.changed)
                raise MigrationError(
                    f"applied migration changed on disk: {names}",
                    hint="migrations are append-only; restore the file and add a new one",
                )
            applied_now: list[str] = []
            for mig in st.pending:
                _apply(conn, mig)
                applied_now.append(mig.filename)
            return MigrateResult(applied_now, len(st.applied))
        finally:
            conn.execute(query("db", "migration_unlock"))


# Databases found current by this process: the check costs a connection, once.
_CURRENT: set[str] = set()


def ensure_schema(db: Database) -> None:
    """Make sure the schema is current before a command uses it.

    The embedded server is the toolkit's own: pending migrations are applied
    (under the same advisory lock as `etl db migrate`, so concurrent first
    commands apply each file once). An external database belongs to someone
    who decides when to migrate it: one that is behind is refused, naming the fix.
    """
    if db.url in _CURRENT:
        return
    st = state(db)
    if st.pending:
        if db.kind != "embedded":
            n = len(st.pending)
            names = st.pending[0].filename
            if n > 1:
                names += f" ... {st.pending[-1].filename}"
            raise MigrationError(
                f"the database {db.redacted_url} has {n} pending migration"
                f"{'s' if n > 1 else ''} ({names}): run `etl db migrate`"
            )
        migrate(db)  # logs each file it applies
    _CURRENT.add(db.url)


def _apply(conn: psycopg.Connection[dict[str, object]], mig: Migration) -> None:
    started = time.perf_counter()
    text = mig.path.read_text(encoding="utf-8")
    try:
        with conn.transaction():
            conn.execute(text.encode())
            conn.execute(
                query("db", "record_migration"),
                {
                    "version": mig.version,
                    "name": mig.name,
                    "checksum": mig.checksum,
                    "duration_ms": int((time.perf_counter() - started) * 1000),
                },
            )
    except psycopg.Error as exc:
        raise MigrationError(f"migration {mig.filename} failed: {str(exc).strip()}") from exc
    log.info("migration applied", file=mig.filename)
