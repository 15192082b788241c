"""The check stage of `etl sales`: data-quality gates, stored per run in sales.dq_results.

Per file (from the load report): the file was readable, its rows balance
(read = loaded + unchanged + rejected), its reject rate (a warning above 5%, an
error when nearly every row is rejected, parked late arrivals included), its
null rates; and every re-try of parked rows ran. Over
the data not yet reflected in the derived tables (the refresh queue, or
everything after a bulk load): references resolve, order totals match their
items, no negative revenue, no duplicate order ids; and how fresh the newest
order is. A failed `error` check fails the run once everything is recorded;
`warn` checks are reported.

The data checks read one snapshot, and the result carries the digest of the
refresh queue they covered (`queue`): the refresh compares it with the queue it
finds and publishes nothing the checks did not see (a load between the check
and refresh stages of an orchestrated run, an API change).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from etl_toolkit.db.connect import Database
from etl_toolkit.db.queries import query
from etl_toolkit.sales.load_results import FileReport, LoadResult

Severity = Literal["error", "warn"]
REJECT_RATE = 0.05
# Above this share of rejected rows a file is not dirty but wrong (its parent
# file empty or missing, a column in a spelling we refuse, another format):
# loading its few survivors and refreshing would publish figures that are
# mostly missing, so the run fails and the derived tables wait. Dirty real
# exports reject a few percent (the warning above); a tenth of the rows
# surviving is far past any of them. Parked rows count: a file whose rows all
# wait for another file's is as incomplete as one whose rows are bad.
REJECTED_MAX = 0.9
TOTAL_MISMATCH_RATE = 0.01
FRESHNESS_DAYS = 7.0
# Null rates above which a column of loaded rows is suspicious.
NULL_RATES = {
    "products": {"description": 0.2, "cost": 0.05, "inventory_count": 0.05, "created_at": 0.05},
    "customers": {
        "first_name": 0.05,
        "last_name": 0.05,
        "street_address": 0.1,
        "city": 0.1,
        "country": 0.05,
        "registration_date": 0.05,
    },
    "orders": {
        "payment_method": 0.05,
        "shipping_address": 0.05,
        "shipping_city": 0.05,
        "shipping_country": 0.05,
    },
}


@dataclass(frozen=True)
class DqResult:
    check_name: str
    subject: str
    severity: Severity
    observed: float
    threshold: float
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class CheckResult:
    run_id: int
    results: list[DqResult]
    queue: str = ""  # digest of the refresh queue the data checks covered (queue_digest)
    seconds: float = 0.0

    @property
    def failed_errors(self) -> list[DqResult]:
        return [r for r in self.results if r.severity == "error" and not r.passed]

    @property
    def warnings(self) -> list[DqResult]:
        return [r for r in self.results if r.severity == "warn" and not r.passed]

    @property
    def passed(self) -> bool:
        return not self.failed_errors


def _at_most(
    name: str, subject: str, severity: Severity, observed: float, threshold: float, detail: str = ""
) -> DqResult:
    return DqResult(name, subject, severity, observed, threshold, observed <= threshold, detail)


# How a check's figure reads when it is a share or an age (the others are counts).
SHARES = {
    "reject_rate": "of rows rejected",
    "file_rejected": "of rows rejected",
    "null_rate": "of values empty",
    "order_totals_vs_items": "of orders whose total differs from their items'",
}
DAYS = {"freshness": "old"}


def describe(r: DqResult) -> str:
    """One line for a check, its detail included: `files_failed = 2 (max 0): a.csv: …`,
    `reject_rate orders.csv = 50.0% of rows rejected (max 5.0%)`."""
    if r.check_name in SHARES:
        figure = f"{r.observed:.1%} {SHARES[r.check_name]} (max {r.threshold:.1%})"
    elif r.check_name in DAYS:
        figure = f"{r.observed:.1f} days {DAYS[r.check_name]} (max {r.threshold:g} days)"
    else:
        figure = f"{r.observed:g} (max {r.threshold:g})"
    head = f"{r.check_name} {r.subject}".strip()
    return f"{head} = {figure}" + (f": {r.detail}" if r.detail else "")


FILES_FAILED = "files_failed"  # the gate over the files that failed as a whole

# Failed files named in a gate's detail (and so in the run's error and the CLI
# summary): enough to act on, short enough for a ledger line.
FAILED_SHOWN = 3


def file_error(f: FileReport) -> str:
    """A failed file's error, starting with the file's name."""
    return f.error if f.error and f.error.startswith(f.file) else f"{f.file}: {f.error or 'failed'}"


def failed_files(files: list[FileReport]) -> str:
    """Each failed file with its error, the first FAILED_SHOWN, then `and N more`."""
    named = [file_error(f) for f in files]
    more = len(named) - FAILED_SHOWN
    return "; ".join(named[:FAILED_SHOWN]) + (f"; and {more} more" if more > 0 else "")


def file_checks(load: LoadResult) -> list[DqResult]:
    out: list[DqResult] = []
    failed = [f for f in load.files if f.status == "failed"]
    out.append(_at_most(FILES_FAILED, "", "error", len(failed), 0, failed_files(failed)))
    broken = [r for r in load.retries.values() if r.error]
    if broken:
        out.append(
            _at_most(
                "retries_failed",
                "",
                "error",
                len(broken),
                0,
                "; ".join(f"{r.entity}: {r.error}" for r in broken),
            )
        )
    for f in load.processed:
        if f.status != "loaded":
            continue
        out.append(
            _at_most(
                "row_count_reconciliation",
                f.file,
                "error",
                abs(f.read - f.loaded - f.unchanged - f.rejected),
                0,
                f"read {f.read} = loaded {f.loaded} + unchanged {f.unchanged}"
                f" + rejected {f.rejected}",
            )
        )
        rate = f.rejected / f.read if f.read else 0.0
        top = sorted(f.reasons.items(), key=lambda kv: -kv[1])[:3]
        out.append(
            _at_most(
                "reject_rate",
                f.file,
                "warn",
                round(rate, 6),
                REJECT_RATE,
                ", ".join(f"{r} ({n})" for r, n in top),
            )
        )
        out.append(
            _at_most(
                "file_rejected",
                f.file,
                "error",
                round(rate, 6),
                REJECTED_MAX,
                f"{f.rejected} of {f.read} rows rejected"
                + (
                    f" ({f.parked} parked: re-tried when the rows they reference load)"
                    if f.parked
                    else ""
                )
                + (": " + ", ".join(f"{r} ({n})" for r, n in top) if top else ""),
            )
        )
        kept = f.read - f.rejected
        for column, limit in NULL_RATES.get(f.entity, {}).items():
            if kept:
                out.append(
                    _at_most(
                        "null_rate",
                        f"{f.file}:{column}",
                        "warn",
                        round(f.nulls.get(column, 0) / kept, 6),
                        limit,
                    )
                )
    return out


def data_checks(db: Database) -> tuple[list[DqResult], str]:
    """The checks over the data not yet refreshed, and the digest of that queue."""
    with db.connect() as conn:
        # One snapshot: the digest names exactly the queue the checks read.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.execute(query("sales", "tune_session"))
        digest = conn.execute(query("sales", "queue_digest")).fetchone()
        assert digest is not None
        scope = conn.execute(query("sales", "dq_scope")).fetchone()
        assert scope is not None
        params = {"full": bool(scope["full"])}
        if not params["full"] and not scope["queued"]:
            integrity: dict[str, Any] = {}
            orders: dict[str, Any] = {"orders": 0}
        else:
            suffix = "" if params["full"] else "_queued"
            integrity = conn.execute(query("sales", f"dq_integrity{suffix}")).fetchone() or {}
            orders = conn.execute(query("sales", f"dq_orders{suffix}")).fetchone() or {}
        fresh = conn.execute(query("sales", "dq_freshness")).fetchone() or {}
    where = "all orders" if params["full"] else f"{scope['queued']} orders not yet refreshed"
    out = [
        _at_most("fk_integrity", name, "error", float(n), 0, where) for name, n in integrity.items()
    ]
    n = int(orders.get("orders") or 0)
    if n:
        out.append(
            _at_most(
                "order_totals_vs_items",
                "orders",
                "warn",
                round(int(orders["total_mismatch"]) / n, 6),
                TOTAL_MISMATCH_RATE,
                f"{orders['total_mismatch']} of {n} orders ({where}) report a total"
                " that differs from their items",
            )
        )
        out.append(
            _at_most(
                "non_negative_revenue",
                "order_items",
                "error",
                float(orders["negative_lines"]),
                0,
                where,
            )
        )
        if params["full"]:  # a scan of every partition: see dq_orders_queued
            out.append(
                _at_most(
                    "duplicates",
                    "orders.order_id",
                    "error",
                    float(orders["duplicate_ids"]),
                    0,
                    where,
                )
            )
    age = fresh.get("age_days")
    if age is not None:
        out.append(
            _at_most(
                "freshness",
                "orders.order_date",
                "warn",
                round(float(str(age)), 2),
                FRESHNESS_DAYS,
                f"newest order {fresh['newest']:%Y-%m-%d %H:%M}",
            )
        )
    return out, str(digest["digest"])


def record(
    db: Database, run_id: int, results: list[DqResult], queue: str = "", seconds: float = 0.0
) -> CheckResult:
    with db.connect() as conn, conn.cursor() as cur:
        cur.executemany(
            query("sales", "dq_record"),
            [
                {
                    "run_id": run_id,
                    "check_name": r.check_name,
                    "subject": r.subject,
                    "severity": r.severity,
                    "observed": r.observed,
                    "threshold": r.threshold,
                    "passed": r.passed,
                    "detail": r.detail or None,
                }
                for r in results
            ],
        )
    return CheckResult(run_id, results, queue, seconds)


def check(db: Database, load: LoadResult) -> CheckResult:
    """Run every check, store the results, return them (the caller decides the gate)."""
    started = time.perf_counter()
    results, queue = data_checks(db)
    seconds = time.perf_counter() - started
    return record(db, load.run_id, file_checks(load) + results, queue, seconds)
