"""Memory stays bounded on a 1,000-page PDF: pages are streamed, not collected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl_toolkit.db.connect import Database
from etl_toolkit.pdf.synth import long_document, write_pdf

PROBE = """
import json, resource, sys
from pathlib import Path
from etl_toolkit.db.connect import Database
from etl_toolkit.pdf.pipeline import load_pdfs
report = load_pdfs(Database(sys.argv[1], "external"), [Path(sys.argv[2])], workers=2)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child of a big
# test process would report its parent's peak.
status = Path("/proc/self/status").read_text()
own = int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
pages = report.totals["pages"]
print(json.dumps({"pages": pages, "own_mb": own / 1024, "worker_mb": workers / 1024}))
"""


def _peak(db: Database, pdf: Path) -> dict[str, float]:
    # Measure the program, not the program under coverage (pytest-cov's variables would
    # start a tracer in the subprocess, and its data inflates the RSS).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, db.url, str(pdf)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


@pytest.mark.slow
def test_peak_rss_does_not_grow_with_page_count(db: Database, tmp_path: Path) -> None:
    small = _peak(db, write_pdf(tmp_path / "p100.pdf", long_document(100)))
    large = _peak(db, write_pdf(tmp_path / "p1000.pdf", long_document(1000)))
    assert (small["pages"], large["pages"]) == (100, 1000)
    # 10x the pages. The loader streams: its peak stays within a few MB (measured
    # 72 -> 75 MB; it holds at most one 4 MB COPY batch). A worker's grows with
    # the pages it parsed of one open document, slowly (measured 47 -> 63 MB, and
    # 74 MB at 2,000 pages). The margins are those figures' with room for noise,
    # not a licence to collect the pages: that costs the loader tens of MB.
    assert large["own_mb"] < small["own_mb"] + 8, (small, large)
    assert large["worker_mb"] < small["worker_mb"] + 25, (small, large)
    assert large["own_mb"] < 300
