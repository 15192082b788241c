"""bench/sales: the sales pipeline at full scale (prints, asserts nothing).

On the same generated files, in one run:
  (a) a bare COPY of the five CSVs into unindexed, unconstrained text tables:
      the physical floor;
  (b) pgloader into the same tables, when it is installed (apt-get install pgloader);
  (c) `etl sales` from empty to fully queryable (validated, indexed, derived
      tables built, checks stored), in a subprocess (peak RSS by VmHWM);
  (d) a 1% delivery with `etl sales --incremental`.
Ratios printed: (c)/(a), (c)/(b), (d)/(c). Goals: (c) <= 2.0 x (a); (d) <= 5% of
(c); peak RSS <= 2 GB.

SALES_SCALE=small runs the same at a tenth of the size.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.common import fresh_database, server_cpu_seconds  # noqa: E402
from etl_toolkit.db.connect import Database  # noqa: E402
from etl_toolkit.db.queries import parse_queries  # noqa: E402
from etl_toolkit.sales.generate import Scale, generate  # noqa: E402
from etl_toolkit.sales.generate_delivery import generate_delivery  # noqa: E402
from etl_toolkit.sales.source import COLUMNS, ENTITIES  # noqa: E402

SCALE: Scale = os.environ.get("SALES_SCALE", "full")  # type: ignore[assignment]
DATA = ROOT / "bench" / "data" / f"sales-{SCALE}"
DELIVERY = ROOT / "bench" / "data" / f"sales-{SCALE}-delivery-1"
SQL = parse_queries(Path(__file__).with_name("anchors.sql").read_text())

PROBE = """
import json, resource, sys
from pathlib import Path
from etl_toolkit.db.connect import Database
from etl_toolkit.sales.pipeline import run_sales
r = run_sales(Database(sys.argv[1], "external"), Path(sys.argv[2]), incremental=sys.argv[3] == "1")
hwm = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM"))
cpu = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps(r.body | {
    "rss_mb": int(hwm.split()[1]) / 1024, "cpu_s": cpu.ru_utime + cpu.ru_stime,
}))
"""


def ensure_data() -> None:
    if not (DATA / "order_items.csv").exists():
        t0 = time.perf_counter()
        generate(DATA, scale=SCALE, seed=42, dirty=0.001)
        print(f"generated {DATA} in {time.perf_counter() - t0:.1f}s")
    if not any(DELIVERY.glob("orders_*.csv")):
        generate_delivery(DELIVERY, 1, scale=SCALE, seed=42, dirty=0.001)


def bare_copy(db: Database) -> tuple[float, float | None]:
    """(a): COPY each file as is into a text table without index or constraint;
    its wall time and the server's CPU seconds."""
    with db.connect() as conn:
        for entity in ENTITIES:
            conn.execute(SQL[f"create_{entity}"])
    cpu0 = server_cpu_seconds(db)
    t0 = time.perf_counter()
    with db.connect() as conn, conn.cursor() as cur:
        for entity in ENTITIES:
            with cur.copy(SQL[f"copy_{entity}"]) as cp, (DATA / f"{entity}.csv").open("rb") as fp:
                while chunk := fp.read(1 << 20):
                    cp.write(chunk)
    wall = time.perf_counter() - t0
    cpu1 = server_cpu_seconds(db)
    return wall, (cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None)


def pgloader(db: Database) -> float | None:
    """(b): pgloader into the same (truncated) tables; None when it is not installed."""
    exe = shutil.which("pgloader")
    if exe is None:
        return None
    with db.connect() as conn:
        conn.execute(SQL["truncate_bare"])
        host, port, user, dbname = conn.info.host, conn.info.port, conn.info.user, conn.info.dbname
    host = f"unix:{host}" if host.startswith("/") else host
    url = f"postgresql://{user}@{host}:{port}/{dbname}"
    commands = "\n".join(
        f"""LOAD CSV FROM '{DATA / f"{e}.csv"}' ({", ".join(COLUMNS[e])})
    INTO {url}?tablename=bare_{e} ({", ".join(COLUMNS[e])})
    WITH skip header = 1, fields optionally enclosed by '"', fields escaped by double-quote,
         fields terminated by ',', workers = 2, concurrency = 1
    SET work_mem to '64MB';"""
        for e in ENTITIES
    )
    with tempfile.NamedTemporaryFile("w", suffix=".load", delete=False) as fp:
        fp.write(commands)
    t0 = time.perf_counter()
    out = subprocess.run([exe, "--quiet", fp.name], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        print(f"pgloader failed ({out.returncode}): {out.stderr.strip()[-500:]}")
        return None
    return seconds


def etl_sales(db: Database, data: Path, incremental: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    cpu0 = server_cpu_seconds(db)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PROBE, db.url, str(data), "1" if incremental else "0"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - t0
    cpu1 = server_cpu_seconds(db)
    result["server_cpu_s"] = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return result


def cpu(r: dict[str, Any]) -> str:
    """The run's CPU seconds, and the wall time two cores could not beat with them."""
    if r["server_cpu_s"] is None:
        return f"  CPU: etl {r['cpu_s']:.1f}s (server not on this machine)"
    total = r["cpu_s"] + r["server_cpu_s"]
    cores = os.cpu_count() or 1
    return (
        f"  CPU: etl {r['cpu_s']:.1f}s + server {r['server_cpu_s']:.1f}s = {total:.1f}s;"
        f" on {cores} cores no faster than {total / cores:.1f}s wall"
    )


def stages(r: dict[str, Any]) -> str:
    files = ", ".join(
        f"{f['file']} {f['seconds']:.1f}s" for f in r["files"] if f["status"] == "loaded"
    )
    refresh = r["refresh"] or {}
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in (refresh.get("steps") or {}).items())
    return (
        f"  load {r['load_seconds']:.1f}s (wal_level {r['wal_level']}): {files}\n"
        f"  checks {r['checks_seconds'] or 0:.1f}s\n"
        f"  refresh {refresh.get('seconds', 0):.1f}s ({refresh.get('mode')}): {steps}"
    )


def main() -> None:
    ensure_data()
    size = sum(p.stat().st_size for p in DATA.glob("*.csv")) / 1e6
    print(f"bench/sales: {DATA} ({size:.0f} MB), scale {SCALE}")
    work = ROOT / "bench" / "data" / f"sales-{SCALE}-run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for p in DATA.glob("*.csv"):
        os.link(p, work / p.name)
    with fresh_database("etl_bench_sales") as db:
        a, a_cpu = bare_copy(db)
        print(
            f"(a) bare COPY, 5 files, text tables       {a:8.1f} s"
            + (f"  server CPU {a_cpu:.1f}s" if a_cpu is not None else "")
        )
        b = pgloader(db)
        print(
            f"(b) pgloader, same tables                  {b:8.1f} s"
            if b is not None
            else "(b) pgloader: not installed (apt-get install pgloader)"
        )
        with db.connect() as conn:
            conn.execute(SQL["drop_bare"])
        c = etl_sales(db, work, incremental=False)
        print(
            f"(c) etl sales, empty -> queryable          {c['seconds']:8.1f} s"
            f"  peak RSS {c['rss_mb']:.0f} MB  read {c['totals']['read']}"
            f"  rejected {c['totals']['rejected']}  status {c['status']}"
        )
        print(stages(c))
        print(cpu(c))
        (work / "delivery-1").mkdir()
        for p in DELIVERY.glob("*.csv"):
            os.link(p, work / "delivery-1" / p.name)
        d = etl_sales(db, work, incremental=True)
        print(
            f"(d) 1% delivery, --incremental             {d['seconds']:8.1f} s"
            f"  inserted {d['totals']['inserted']} updated {d['totals']['updated']}"
            f"  peak RSS {d['rss_mb']:.0f} MB"
        )
        print(stages(d))
        print(cpu(d))
        e = etl_sales(db, work, incremental=True)
        print(f"    the same again (nothing new)            {e['seconds']:8.2f} s  {e['status']}")
        print(f"(c)/(a) = {c['seconds'] / a:.1f}x  (goal <= 2.0x)")
        if c["server_cpu_s"] is not None:
            cores = os.cpu_count() or 1
            floor = (c["cpu_s"] + c["server_cpu_s"]) / cores
            print(f"    (c)'s CPU over {cores} cores / (a) = {floor / a:.1f}x: this design's floor")
        if b is not None:
            print(f"(c)/(b) = {c['seconds'] / b:.2f}x")
        print(f"(d)/(c) = {d['seconds'] / c['seconds']:.1%}  (goal <= 5%)")
        print(f"peak RSS {max(c['rss_mb'], d['rss_mb']):.0f} MB  (goal <= 2048 MB)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
