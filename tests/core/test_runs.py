from __future__ import annotations

import pytest

from etl_toolkit.db.connect import Database
from etl_toolkit.errors import InputError, NotFound
from etl_toolkit.runs import get_run, list_runs, track_run


def test_successful_run_is_recorded_with_counts_and_report(db: Database) -> None:
    with track_run(db, "demo", {"path": "x.csv", "n": 3}) as run:
        run.counts = {"read": 3, "loaded": 3}
        run.report = {"files": ["x.csv"]}
    rec = get_run(db, run.id)
    assert rec.status == "succeeded"
    assert rec.arguments == {"path": "x.csv", "n": 3}
    assert rec.counts == {"read": 3, "loaded": 3}
    assert rec.report == {"files": ["x.csv"]}
    assert rec.finished_at is not None and rec.finished_at >= rec.started_at
    assert rec.error is None


def test_failed_run_records_the_error_and_reraises(db: Database) -> None:
    with pytest.raises(InputError), track_run(db, "demo", {}) as run:
        run.counts = {"read": 1}
        raise InputError("bad file x.csv")
    rec = get_run(db, run.id)
    assert rec.status == "failed"
    assert rec.error == "bad file x.csv"
    assert rec.counts == {"read": 1}


def test_run_survives_rollback_of_the_pipeline_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError), track_run(db, "demo", {}) as run, db.connect() as conn:
        conn.execute("CREATE TABLE etl.scratch (id int PRIMARY KEY)")
        raise RuntimeError("crash")
    assert get_run(db, run.id).status == "failed"
    with db.connect() as conn:
        assert conn.execute("SELECT to_regclass('etl.scratch') AS t").fetchone() == {"t": None}


def test_list_runs_filters_by_pipeline_newest_first(db: Database) -> None:
    ids = []
    for name in ("a", "b", "a"):
        with track_run(db, name, {}) as run:
            ids.append(run.id)
    assert [r.id for r in list_runs(db, pipeline="a")] == [ids[2], ids[0]]
    assert [r.id for r in list_runs(db, limit=2)] == [ids[2], ids[1]]


def test_unknown_run_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        get_run(db, 424242)
