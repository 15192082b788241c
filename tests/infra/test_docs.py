"""The README documents every command and every setting; a new one without docs fails here."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer

from etl_toolkit.cli import app
from etl_toolkit.config import Settings
from tests.paths import ROOT

README = (ROOT / "README.md").read_text()


def _leaf_commands(group: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            out.extend(_leaf_commands(cmd, (*prefix, name)))
        else:
            out.append(" ".join(("etl", *prefix, name)))
    return out


@pytest.mark.parametrize("command", _leaf_commands(typer.main.get_command(app)))
def test_readme_documents_every_command(command: str) -> None:
    assert f"`{command}`" in README, f"README.md has no entry for `{command}`"


@pytest.mark.parametrize("field", list(Settings.model_fields))
def test_readme_documents_every_setting(field: str) -> None:
    assert f"`{field.upper()}`" in README, f"README.md does not document {field.upper()}"


def test_readme_quick_start_is_make_demo_and_make_test() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make demo" in quick
    assert "make test" in quick


def _shipped_text() -> dict[str, str]:
    """What a user's clone holds and shows: the README, SOLUTION.md, docs/ and src/."""
    paths = [ROOT / "README.md", ROOT / "SOLUTION.md", *(ROOT / "docs").rglob("*.md")]
    paths += list((ROOT / "src").rglob("*.py"))
    return {str(p.relative_to(ROOT)): p.read_text() for p in paths}


def test_docs_cite_only_files_the_repository_holds() -> None:
    ref = re.compile(r"(?<![/\w])docs/[\w./-]+\.(?:md|png)")  # not a URL path (/docs/assets/)
    cited = {
        (name, m.group(0)) for name, text in _shipped_text().items() for m in ref.finditer(text)
    }
    assert any(ref == "docs/formats/sales.md" for _, ref in cited)
    missing = sorted((name, ref) for name, ref in cited if not (ROOT / ref).is_file())
    assert missing == []


def test_nothing_shipped_points_outside_the_repository() -> None:
    # ../shared is a convenience of the team's machines: a user's clone has no such folder.
    outside = sorted(name for name, text in _shipped_text().items() if "shared/formats" in text)
    assert outside == []


def test_the_brief_fits_two_pages_and_covers_its_five_subjects() -> None:
    brief = (ROOT / "docs" / "brief.md").read_text()
    assert len(brief.split()) <= 1300  # two printed pages, tables included
    headings = [line[3:] for line in brief.splitlines() if line.startswith("## ")]
    assert headings == [
        "Database design",
        "ETL pipeline architecture",
        "Query optimisation",
        "Scaling",
        "Production deployment",
    ]


ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()
SLICES = ("pdf", "medly", "sales", "tasks")


@pytest.mark.parametrize("domain", SLICES)
def test_the_architecture_map_names_every_module_of_a_slice(domain: str) -> None:
    table = ARCHITECTURE.split("## The four slices on that map", 1)[1].split("\n## ", 1)[0]
    column = SLICES.index(domain) + 2  # | role | pdf | medly | sales | tasks |
    cells = [line.split("|")[column] for line in table.splitlines() if line.startswith("| ")]
    named = {m for cell in cells for m in re.findall(r"`(\w+\.py)`", cell)}
    modules = {
        p.name for p in (ROOT / "src" / "etl_toolkit" / domain).glob("*.py") if p.stem != "__init__"
    }
    assert modules - named == set(), f"docs/architecture.md does not place {modules - named}"
    assert named - modules == set(), f"docs/architecture.md names modules gone: {named - modules}"


def test_every_slice_has_the_same_edge_and_composition() -> None:
    for domain in SLICES:
        folder = ROOT / "src" / "etl_toolkit" / domain
        assert (folder / "cli.py").is_file(), domain
        if domain != "tasks":  # a queue: no runs (docs/architecture.md says why)
            assert {"pipeline.py", "report.py"} <= {p.name for p in folder.glob("*.py")}, domain
            others = [
                p.name
                for p in folder.glob("*.py")
                if p.name != "pipeline.py" and "track_run(" in p.read_text()
            ]
            assert others == [], f"{domain}: only pipeline.py opens a run, not {others}"
