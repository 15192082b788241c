"""Library functions behind `etl db ...` (status, stop, migrate, erd, lint)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from etl_toolkit.config import Settings, get_settings
from etl_toolkit.db import embedded, erd, lint, migrate, schema
from etl_toolkit.db.connect import Database, resolve
from etl_toolkit.db.queries import query
from etl_toolkit.errors import ConfigError, InputError


@dataclass(frozen=True)
class DbStatus:
    kind: str
    url: str
    server_version: str
    applied: list[str]
    pending: list[str]
    changed: list[str]
    up_to_date: bool


def status(db: Database) -> DbStatus:
    with db.connect() as conn:
        row = conn.execute(query("db", "server_version")).fetchone()
    st = migrate.state(db)
    return DbStatus(
        kind=db.kind,
        url=db.redacted_url,
        server_version=str(row["version"]) if row else "unknown",
        applied=[f"{a.version}_{a.name}.sql" for a in st.applied],
        pending=[m.filename for m in st.pending],
        changed=[m.filename for m in st.changed],
        up_to_date=st.up_to_date,
    )


def stop(settings: Settings | None = None) -> bool:
    """Stop the embedded server; True if it was running."""
    settings = settings or get_settings()
    if settings.database_url:
        raise ConfigError(
            "DATABASE_URL points at an external server; etl does not stop it",
            hint="unset DATABASE_URL to manage the embedded server",
        )
    return embedded.stop(settings.pgdata)


def run_migrations(db: Database | None = None) -> migrate.MigrateResult:
    return migrate.migrate(db or resolve(schema=False))


@dataclass(frozen=True)
class ErdResult:
    path: Path
    changed: bool
    schemas: list[str]


RELATIVE = "a relative path starts at the current folder"


def write_erd(out: Path, *, check: bool = False) -> ErdResult:
    """Render docs/erd.md from the migrations; with `check`, only compare."""
    model = schema.build()
    text = erd.render(model)
    current = out.read_text(encoding="utf-8") if out.exists() else None
    changed = current != text
    if check:
        if current is None:
            raise InputError(
                f"{out.resolve()} does not exist",
                hint=f"write it: etl db erd --out {out} ({RELATIVE})",
            )
        if changed:
            raise InputError(f"{out} is stale", hint="run `etl db erd` and commit the result")
    elif changed:
        if not out.parent.is_dir():
            raise InputError(
                f"--out {out}: folder {out.parent.resolve()} does not exist",
                hint=f"create it, or choose another --out ({RELATIVE})",
            )
        out.write_text(text, encoding="utf-8")
    return ErdResult(out, changed, model.schemas())


def lint_migrations() -> list[lint.Finding]:
    return lint.lint(schema.build())
