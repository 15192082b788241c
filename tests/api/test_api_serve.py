"""`etl serve` as a real server (granian) with two workers: one /metrics view across workers,
JSON access lines carrying the request id, the shared metrics directory cleaned up."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from etl_toolkit.db.connect import Database

N = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """Status, headers (names in any case: granian sends them lower-case) and body."""
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.headers, r.read()


def _start(db: Database, tmp_path: Path, **extra: str) -> tuple[str, subprocess.Popen[str]]:
    """`etl serve` with two workers, once it answers /health."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {"DATABASE_URL": db.url, "ETL_HOME": str(tmp_path / "home"), "LOG_LEVEL": "INFO"}
    env |= extra
    argv = ["serve", "--no-auth", "--workers", "2", "--port", str(port)]
    # stderr to a file, not a pipe: a full pipe nobody reads would block the workers.
    with (tmp_path / "serve.err").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "etl_toolkit", *argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if _get(f"{base}/health")[0] == 200:
                return base, proc
        except (urllib.error.URLError, ConnectionError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"etl serve did not answer /health: {_stderr(tmp_path)}")
        time.sleep(0.3)


def _stderr(tmp_path: Path) -> str:
    return (tmp_path / "serve.err").read_text()


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    base, proc = _start(db, tmp_path)
    try:
        yield base, proc
    finally:
        _stop(proc)


def _runs_count(base: str) -> tuple[float, str]:
    _, headers, body = _get(f"{base}/metrics")
    total = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if (
                s.name == "etl_api_request_duration_seconds_count"
                and s.labels.get("route") == "/runs"
            ):
                total += s.value
    return total, headers["Content-Type"]


def test_metrics_are_one_view_across_workers_and_access_lines_are_json(
    server: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    base, proc = server
    for i in range(N):
        status, headers, _ = _get(f"{base}/runs", {"X-Request-Id": f"req-{i}"})
        assert status == 200
        assert headers["X-Request-Id"] == f"req-{i}"
    _, headers, _ = _get(f"{base}/runs", {"X-Request-Id": "x" * 129})
    replaced = headers["X-Request-Id"]
    assert replaced != "x" * 129 and len(replaced) == 32
    counts = []
    for _ in range(6):
        count, content_type = _runs_count(base)
        counts.append(count)
        assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert all(c >= N + 1 for c in counts), counts
    assert counts == sorted(counts), f"the count went backwards: {counts}"

    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    text = [line for line in _stderr(tmp_path).splitlines() if line.strip()]
    plain = [line for line in text if not line.startswith("{")]
    assert plain == [], "every log line is JSON"
    lines = [json.loads(line) for line in text]
    access: dict[str, dict[str, Any]] = {
        e["request_id"]: e for e in lines if e.get("event") == "request" and e["path"] == "/runs"
    }
    for i in range(N):
        line = access[f"req-{i}"]
        assert (line["method"], line["status"]) == ("GET", 200)
        assert line["duration_ms"] >= 0
    assert replaced in access
    assert any(e["event"].startswith("Listening at") for e in lines)
    shared = next(e["directory"] for e in lines if e["event"] == "worker metrics shared")
    assert not Path(shared).exists(), "etl serve leaves its metrics directory behind"


def test_sighup_replaces_the_workers_while_every_request_is_answered(
    db: Database, tmp_path: Path
) -> None:
    """A graceful restart: each worker that answers a request leaves its metrics file
    (named by its pid) in the shared directory; after SIGHUP new workers answer, and
    no request in between fails."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    base, proc = _start(db, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(shared))
    try:

        def pids() -> set[str]:
            return {p.stem.rsplit("_", 1)[-1] for p in shared.glob("histogram_*.db")}

        for _ in range(N):
            assert _get(f"{base}/health/live")[0] == 200
        before = pids()
        assert before
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 90
        while not pids() - before:
            assert _get(f"{base}/health/live")[0] == 200
            assert proc.poll() is None, _stderr(tmp_path)
            assert time.monotonic() < deadline, "no new worker answered after SIGHUP"
            time.sleep(0.05)
    finally:
        _stop(proc)
    lines = _stderr(tmp_path).splitlines()
    events = [json.loads(line)["event"] for line in lines if line.strip()]
    assert any("HUP signal received" in e for e in events)
    assert shared.exists(), "a directory the operator gave is left in place"


def test_a_port_another_server_listens_on_is_refused(db: Database, tmp_path: Path) -> None:
    # granian binds with SO_REUSEPORT: without the check it would start beside the
    # other server and the kernel would split the requests between the two.
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as granian binds
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
        env |= {"DATABASE_URL": db.url, "ETL_HOME": str(tmp_path / "home")}
        done = subprocess.run(
            [sys.executable, "-m", "etl_toolkit", "serve", "--no-auth", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: port {port} on 127.0.0.1 is already in use (Address already in use) "
        f"(stop the other server on port {port}, or choose another --port)"
    ]
