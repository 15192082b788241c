"""`etl sales` on a terminal shows its progress move (issue 16): run in a tmux
pane, the screen captured while it works. Skipped, with the reason shown, where
tmux is missing (`make test` installs it when it runs as root with apt)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl_toolkit.db.connect import Database
from etl_toolkit.sales.generate import SCALES, Sizes, generate

TMUX = shutil.which("tmux")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        TMUX is None,
        reason="tmux not installed: the terminal progress test did not run "
        "(make test installs it as root with apt; or apt-get install tmux)",
    ),
]
ITEMS_ROW = re.compile(r"order_items\.csv.*?\b(copy|index|loaded)\s+([\d,]+) rows")


def _input(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """150,000 orders and about 600,000 items (three batches of items): a few
    seconds of work on an empty database."""
    monkeypatch.setitem(SCALES, "sample", Sizes(60, 1_000, 20_000, 150_000))
    generate(folder / "sales", scale="sample", seed=3)
    return folder / "sales"


def test_sales_progress_moves_on_a_terminal(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert TMUX is not None
    data = _input(tmp_path, monkeypatch)
    done = tmp_path / "exit-code"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    # The pane's size is the terminal's: an xdist worker has COLUMNS=80 and LINES=24.
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    env |= {"DATABASE_URL": db.url, "ETL_HOME": str(tmp_path / "etl-home")}
    script = tmp_path / "run.sh"
    script.write_text(
        "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items() if k.isidentifier())
        + f"{shlex.quote(sys.executable)} -m etl_toolkit sales --data-dir {shlex.quote(str(data))}"
        + f"\necho $? > {shlex.quote(str(done))}\nsleep 600\n"
    )
    sock = str(tmp_path / "tmux.sock")
    tmux = [TMUX, "-S", sock]
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", "160", "-y", "40", "sh", str(script)],
        check=True,
        env={"PATH": env.get("PATH", ""), "TERM": "xterm-256color"},
    )
    screens: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while not done.exists():
            assert time.monotonic() < deadline, "etl sales did not finish"
            shot = subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True, check=True
            ).stdout
            if not screens or shot != screens[-1]:
                screens.append(shot)
            time.sleep(0.2)
        final = subprocess.run(
            [*tmux, "capture-pane", "-p"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
    assert done.read_text().strip() == "0", final
    # The items file's row count was seen rising while it loaded.
    counts = [int(m.group(2).replace(",", "")) for s in screens for m in ITEMS_ROW.finditer(s)]
    rising = sorted(set(counts))
    items = sum(1 for _ in (data / "order_items.csv").open()) - 1
    assert len([c for c in rising if 0 < c < items]) >= 1, screens
    assert rising[-1] == items, screens
    # Stage, rate, bytes of the file's size and an ETA were on screen.
    seen = "\n".join(screens)
    assert re.search(
        r"order_items\.csv .* copy  [\d,]+ rows  eta \d:\d\d:\d\d  [\d,]+ rows/s"
        r"  [\d.]+ MB/[\d.]+ MB",
        seen,
    ), screens
    assert re.search(r"sales: \d/5 files", seen)
    assert re.search(r"sales: 5/5 files .*(check|refresh)  [\d,]+ rows", seen), screens
    # The display is transient: what stays is the result.
    assert "sales run" in final and "succeeded" in final
    (tmp_path / "screens.txt").write_text("\n----\n".join(screens))
