"""Where the tests find the repository, their fixtures and the shared corpus."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("fixtures")
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "pdf"
