"""The GitHub Actions workflow, checked without GitHub: valid against the
workflow schema (vendored by check-jsonschema, offline), and running what it says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.paths import ROOT

CI = ROOT / ".github" / "workflows" / "ci.yml"
WORKFLOW: dict[Any, Any] = yaml.safe_load(CI.read_text())


def _check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert exe is not None, "check-jsonschema is a dev dependency"
    return subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_workflow_is_valid_against_the_github_workflow_schema() -> None:
    ok = _check_jsonschema(str(CI))
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = dict(WORKFLOW)
    broken["jobs"] = {"lint": {"runs-on": "ubuntu-24.04", "stepz": []}}
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert _check_jsonschema(str(path)).returncode != 0


def test_lint_types_tests_against_postgres_and_a_cached_image_build() -> None:
    jobs = WORKFLOW["jobs"]
    assert "make lint typecheck" in [s.get("run") for s in jobs["lint"]["steps"]]
    test = jobs["test"]
    assert test["services"]["postgres"]["image"] == "postgres:16"
    assert test["env"]["TEST_DATABASE_URL"].startswith("postgresql://")
    assert "make pytest" in [s.get("run") for s in test["steps"]]
    build = next(s for s in jobs["image"]["steps"] if "build-push-action" in s.get("uses", ""))
    assert build["with"]["cache-from"] == "type=gha"
    assert build["with"]["cache-to"].startswith("type=gha")
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lint:", "typecheck:", "pytest:"):
        assert f"\n{target}" in makefile
