"""bench/medly: the learning-platform migration at 100x (prints, asserts nothing).

- generated data: 5,000 users, 1,000,000 attempts, 1,000,000 practice parts
- migration from empty: time, records/s, peak RSS (subprocess, VmHWM)
- the second, idempotent run's time
- 10,000 attempts the naive way (one INSERT per row) vs the bulk path (COPY to
  staging, dedupe, one merge), as a ratio
- API latency p50/p95 per endpoint at that scale (Flask test client, in process)
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.common import fresh_database  # noqa: E402
from etl_toolkit.config import Settings  # noqa: E402
from etl_toolkit.db.connect import Database  # noqa: E402
from etl_toolkit.db.copy import copy_rows, create_staging, dedupe, merge  # noqa: E402
from etl_toolkit.db.queries import parse_queries  # noqa: E402
from etl_toolkit.medly.generate import generate  # noqa: E402
from etl_toolkit.medly.parse import Skip  # noqa: E402
from etl_toolkit.medly.parse_user import parse_attempt  # noqa: E402
from etl_toolkit.medly.records import Attempt  # noqa: E402
from etl_toolkit.medly.source import targets  # noqa: E402

DATA = Path(os.environ.get("MEDLY_BENCH_DATA", ROOT / "bench" / "data" / "medly-100x"))
USERS = int(os.environ.get("MEDLY_USERS", "5000"))
ATTEMPTS = int(os.environ.get("MEDLY_ATTEMPTS", "1000000"))
PARTS = int(os.environ.get("MEDLY_PARTS", "1000000"))
SQL = parse_queries(Path(__file__).with_name("anchors.sql").read_text())
ATTEMPT_COLUMNS = list(Attempt._fields)

PROBE = """
import json, sys
from pathlib import Path
from etl_toolkit.db.connect import Database
from etl_toolkit.medly.pipeline import run_medly
r = run_medly(Database(sys.argv[1], "external"), Path(sys.argv[2]))
hwm = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM"))
print(json.dumps({"seconds": r.seconds, "read": sum(e.read for e in r.entities.values()),
                  "changed": r.changed, "rss_mb": int(hwm.split()[1]) / 1024,
                  "stages": r.stages}))
"""


def migrate(db: Database) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, db.url, str(DATA)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def slice_rows(n: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for path, rec in targets(DATA / "user_data" / "user_data.json"):
        row = parse_attempt(path, rec, "user_data/user_data.json")
        if not isinstance(row, Skip):
            rows.append(row)
            if len(rows) == n:
                break
    return rows


def naive_vs_bulk(db: Database, rows: list[tuple[Any, ...]]) -> tuple[float, float, float]:
    """(naive with a commit per row, naive in one transaction, the bulk path) in seconds."""
    with db.connect() as conn:
        conn.execute(SQL["drop_anchors"])
        conn.execute(SQL["create_naive"])
        conn.execute(SQL["create_bulk"])
    timings = []
    for autocommit in (True, False):  # the take-home script commits every row
        with db.connect(autocommit=autocommit) as conn:
            conn.execute(SQL["truncate_naive"])
            t0 = time.perf_counter()
            with conn.cursor() as cur:
                for row in rows:
                    cur.execute(SQL["naive_insert"], row)  # type: ignore[arg-type]
            if not autocommit:
                conn.commit()
            timings.append(time.perf_counter() - t0)
    with db.connect() as conn:
        t0 = time.perf_counter()
        create_staging(
            conn,
            "bench_bulk_attempts",
            "stg",
            ATTEMPT_COLUMNS,
            extra={"_ord": "bigint GENERATED ALWAYS AS IDENTITY"},
        )
        copy_rows(conn, "stg", ATTEMPT_COLUMNS, rows)
        dedupe(
            conn,
            source="stg",
            into="stg_d",
            key=["uid", "paper_id", "question_ref"],
            order_by="_ord DESC",
        )
        merge(
            conn,
            target="bench_bulk_attempts",
            source="stg_d",
            key=["uid", "paper_id", "question_ref"],
            columns=ATTEMPT_COLUMNS,
        )
        conn.commit()
        bulk = time.perf_counter() - t0
    with db.connect() as conn:
        conn.execute(SQL["drop_anchors"])
    return timings[0], timings[1], bulk


def latency(db: Database, n: int = 200) -> dict[str, tuple[float, float]]:
    from api.app import create_app

    app = create_app(Settings(auth_disabled=True, database_url=db.url), db)
    client = app.test_client()
    rng = random.Random(1)
    with db.connect() as conn:
        uids = [r["uid"] for r in conn.execute("SELECT uid FROM medly.users").fetchall()]
        refs = [
            r["question_ref"]
            for r in conn.execute(
                "SELECT question_ref FROM medly.items TABLESAMPLE SYSTEM (1)"
            ).fetchall()
        ]
        lessons = [r["lesson_id"] for r in conn.execute("SELECT lesson_id FROM medly.lessons")]
        papers = [r["paper_id"] for r in conn.execute("SELECT paper_id FROM medly.papers")]
    calls = {
        "GET /users/{id}": lambda: f"/users/{rng.choice(uids)}",
        "GET /users/{id}/activity": lambda: f"/users/{rng.choice(uids)}/activity",
        "GET /users/{id}/activity?lesson=": (
            lambda: f"/users/{rng.choice(uids)}/activity?lesson={rng.choice(lessons)}"
        ),
        "GET /lessons/{id}": lambda: f"/lessons/{rng.choice(lessons)}",
        "GET /papers/{id}": lambda: f"/papers/{rng.choice(papers)}",
        "GET /items/{questionID}": lambda: f"/items/{rng.choice(refs)}",
    }
    out = {}
    for name, url in calls.items():
        times = []
        for _ in range(n):
            u = url()
            t0 = time.perf_counter()
            r = client.get(u)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (u, r.status_code)
        times.sort()
        out[name] = (statistics.median(times), times[int(0.95 * len(times)) - 1])
    app.extensions["etl_db"].close()
    return out


def main() -> None:
    if not (DATA / "user_data" / "user_data.json").exists():
        t0 = time.perf_counter()
        g = generate(
            DATA, users=USERS, attempts=ATTEMPTS, practice_parts=PARTS, dirty=0.01, seed=100
        )
        print(
            f"generated {DATA}: {g.attempts} attempts, {g.practice_parts} practice parts, "
            f"{g.users} users in {time.perf_counter() - t0:.1f}s"
        )
    size = sum(p.stat().st_size for p in DATA.rglob("*.json")) / 1e6
    print(f"bench/medly: {DATA} ({size:.0f} MB)")
    with fresh_database("etl_bench_medly") as db:
        first = migrate(db)
        print(
            f"first run      {first['seconds']:8.1f} s  {first['read'] / first['seconds']:10.0f} "
            f"records/s  ({first['read']} records)  peak RSS {first['rss_mb']:.0f} MB"
        )
        print("  stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in first["stages"].items()))
        second = migrate(db)
        print(
            f"second run     {second['seconds']:8.1f} s  changed={second['changed']}  "
            f"({second['seconds'] / first['seconds']:.0%} of the first)"
        )
        print("  stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in second["stages"].items()))
        rows = slice_rows(10_000)
        per_commit, one_tx, bulk = naive_vs_bulk(db, rows)
        print(
            f"10,000 attempts, one INSERT per row committed each: {per_commit:7.2f} s  "
            f"vs bulk {bulk:.3f} s = {per_commit / bulk:.0f}x (goal >= 50x)"
        )
        print(
            f"10,000 attempts, one INSERT per row, one transaction: {one_tx:5.2f} s  "
            f"vs bulk {bulk:.3f} s = {one_tx / bulk:.0f}x"
        )
        print(f"{'API (in-process, 200 calls each)':40s}{'p50 ms':>10s}{'p95 ms':>10s}")
        for name, (p50, p95) in latency(db).items():
            print(f"{name:40s}{p50:10.1f}{p95:10.1f}")


if __name__ == "__main__":
    main()
