"""kill -9 in the middle of `etl sales`: the database stays consistent and the
next run completes the load exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from etl_toolkit.db.connect import Database
from etl_toolkit.sales.generate import generate
from etl_toolkit.sales.pipeline import run_sales
from tests.processes import scalar, wait_for


@pytest.mark.slow
def test_kill_9_mid_load_then_the_next_run_loads_exactly_once(db: Database, tmp_path: Path) -> None:
    data = tmp_path / "sales"
    generate(data, scale="small", seed=5, dirty=0.001)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE"))}
    env["DATABASE_URL"] = db.url
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl_toolkit", "sales", "--data-dir", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dbname = conninfo_to_dict(db.url)["dbname"]
    in_items = (
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE state = 'active' "
        f"AND datname = '{dbname}' AND query LIKE 'COPY \"sales\".\"order_items\"%'"
    )
    try:
        wait_for(db, in_items)
        time.sleep(1.0)  # well inside the items file (several seconds of COPY)
        assert proc.poll() is None, "the load finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # The server notices the dead client and rolls its transaction back.
    wait_for(
        db,
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE state <> 'idle' "
        f"AND datname = '{dbname}' AND pid <> pg_backend_pid()",
    )
    # Consistent: the files before items are complete and ledgered; items left no row.
    ledgered = scalar(db, "SELECT string_agg(entity, ',' ORDER BY entity) FROM sales.files")
    assert ledgered == "customers,orders,product_categories,products"
    assert scalar(db, "SELECT count(*) FROM sales.order_items") == 0
    assert scalar(db, "SELECT count(*) FROM sales.rejects WHERE file = 'order_items.csv'") == 0
    assert (
        scalar(db, "SELECT count(*) FROM pg_indexes WHERE tablename = 'order_items'") == 2
    )  # the indexes a bulk load drops came back with the rollback
    orders = scalar(db, "SELECT count(*) FROM sales.orders")
    assert scalar(db, "SELECT status FROM etl.runs ORDER BY id DESC LIMIT 1") == "running"

    r = run_sales(db, data, incremental=True)
    assert r.status == "succeeded"
    loaded = [f for f in r.load.files if f.status == "loaded"]
    assert [f.entity for f in loaded] == ["order_items"]
    items = loaded[0]
    assert items.balanced and items.mode == "bulk"
    assert scalar(db, "SELECT count(*) FROM sales.order_items") == items.inserted
    assert scalar(db, "SELECT count(*) FROM sales.orders") == orders
    assert scalar(db, "SELECT count(*) FROM sales.files") == 5
    assert scalar(db, "SELECT count(*) FROM sales.rejects WHERE file = 'order_items.csv'") == (
        items.rejected
    )
    abandoned = scalar(db, "SELECT error FROM etl.runs ORDER BY id LIMIT 1")
    assert abandoned.startswith("abandoned")
    assert scalar(db, "SELECT sum(items) FROM sales.order_totals") == items.inserted
