"""The report of an `etl sales` run: what each stage did, as one typed value.

`SalesReport` implements etl_toolkit.report.Report: its body (the JSON the run
ledger stores, `--json` prints and `--report-file` writes) is computed once per
run; its summary, details and errors are what the CLI shows. Pure: no database,
no printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from etl_toolkit.report import Detail, Section
from etl_toolkit.sales.checks import FILES_FAILED, CheckResult, describe, file_error
from etl_toolkit.sales.load_results import LoadResult
from etl_toolkit.sales.refresh import RefreshResult

FILE_COLUMNS = (
    "file",
    "status",
    "mode",
    "read",
    "inserted",
    "updated",
    "unchanged",
    "rejected",
    "cleaned",
    "ok",
)
CHECK_COLUMNS = ("check", "subject", "severity", "observed", "threshold", "passed")


@dataclass(frozen=True)
class SalesReport:
    run_id: int
    load: LoadResult
    checks: CheckResult | None
    refresh: RefreshResult | None
    seconds: float

    @property
    def status(self) -> str:
        if self.checks is None:
            return "nothing new"
        return "succeeded" if self.checks.passed else "failed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def error(self) -> str | None:
        """The run's error in the ledger (None when the gate passed): each failed
        check with its detail (which files, why)."""
        if not self.failed or self.checks is None:
            return None
        failed = "; ".join(describe(r) for r in self.checks.failed_errors)
        return "data-quality gate failed: " + failed

    @cached_property
    def counts(self) -> dict[str, Any]:
        """The run's totals (etl.runs.counts, and `totals` in the body)."""
        files = self.load.processed
        retries = self.load.retries.values()
        return {
            "files": len(files),
            "files_skipped": len(self.load.files) - len(files),
            "files_failed": sum(f.status == "failed" for f in files),
            "read": sum(f.read for f in files),
            "inserted": sum(f.inserted for f in files),
            "updated": sum(f.updated for f in files),
            "unchanged": sum(f.unchanged for f in files),
            "rejected": sum(f.rejected for f in files),
            "cleaned": sum(sum(f.cleaned.values()) for f in files),
            "parked": sum(f.parked for f in files),
            "retried": sum(x.retried for x in retries),
            "retried_loaded": sum(x.loaded for x in retries),
        }

    @cached_property
    def body(self) -> dict[str, Any]:
        r = self
        return {
            "run_id": r.run_id,
            "status": r.status,
            "data_dir": r.load.data_dir,
            "incremental": r.load.incremental,
            "totals": r.counts,
            "files": [
                {
                    "file": f.file,
                    "entity": f.entity,
                    "delivery": f.delivery,
                    "status": f.status,
                    "mode": f.mode,
                    "read": f.read,
                    "inserted": f.inserted,
                    "updated": f.updated,
                    "unchanged": f.unchanged,
                    "rejected": f.rejected,
                    "parked": f.parked,
                    "superseded": f.superseded,
                    "flagged": f.flagged,
                    "balanced": f.balanced,
                    "reasons": dict(sorted(f.reasons.items(), key=lambda kv: -kv[1])),
                    "cleaned": dict(sorted(f.cleaned.items())),
                    "error": f.error,
                    "seconds": round(f.seconds, 3),
                }
                for f in r.load.files
            ],
            "ignored_files": r.load.ignored,
            "retried": {
                x.entity: {
                    "retried": x.retried,
                    "inserted": x.inserted,
                    "updated": x.updated,
                    "unchanged": x.unchanged,
                    "rejected": x.rejected,
                    "error": x.error,
                }
                for x in r.load.retries.values()
                if x.retried or x.error
            },
            "parked": r.load.parked,
            "checks": [vars(c) for c in r.checks.results] if r.checks else [],
            "checks_seconds": round(r.checks.seconds, 3) if r.checks else None,
            "load_seconds": round(r.load.seconds, 3),
            "wal_level": r.load.wal_level,
            "refresh": (
                {
                    "mode": r.refresh.mode,
                    "orders": r.refresh.orders,
                    "seconds": round(r.refresh.seconds, 3),
                    "steps": {k: round(v, 3) for k, v in r.refresh.steps.items()},
                }
                if r.refresh
                else None
            ),
            "seconds": round(r.seconds, 3),
        }

    def headline(self) -> str:
        t = self.counts
        if self.status == "nothing new":
            skipped = t["files_skipped"]
            return f"sales run {self.run_id}: nothing new ({skipped} file(s) already loaded)"
        return (
            f"sales run {self.run_id}: {self.status}: {t['files']} file(s), read {t['read']}, "
            f"inserted {t['inserted']}, updated {t['updated']}, unchanged {t['unchanged']}, "
            f"rejected {t['rejected']}"
            + (f", cleaned {t['cleaned']} value(s)" if t["cleaned"] else "")
            + f" in {self.seconds:.1f}s"
        )

    def retry_summary(self) -> str:
        """What the re-try of parked rows did, per entity ("" when nothing was re-tried)."""
        parts = []
        for x in self.load.retries.values():
            if not x.retried:
                continue
            still = x.retried - x.loaded - x.unchanged - x.rejected
            parts.append(
                f"{x.entity} re-tried {x.retried}, loaded {x.loaded}"
                + (f", unchanged {x.unchanged}" if x.unchanged else "")
                + (f", rejected {x.rejected}" if x.rejected else "")
                + (f", still parked {still}" if still else "")
                + (f" (failed: {x.error})" if x.error else "")
            )
        return ("parked rows: " + "; ".join(parts)) if parts else ""

    def summary(self) -> list[str]:
        lines = [self.headline() + ("" if self.failed else " (--report for details)")]
        if retried := self.retry_summary():
            lines.append(f"  {retried}")
        if self.checks:
            # Which checks failed, naming the files and why: enough to act on.
            lines += [f"  {c.severity}: {describe(c)}" for c in self.checks.failed_errors]
            lines += [f"  {c.severity}: {describe(c)}" for c in self.checks.warnings]
        return lines

    def details(self) -> list[Detail]:
        files = [
            (
                f["file"],
                f["status"],
                f["mode"],
                f["read"],
                f["inserted"],
                f["updated"],
                f["unchanged"],
                f["rejected"],
                sum(f["cleaned"].values()),
                "NO" if f["status"] == "failed" or not f["balanced"] else "yes",
            )
            for f in self.body["files"]
        ]
        out: list[Detail] = [Section(self.headline(), FILE_COLUMNS, files)]
        if retried := self.retry_summary():
            out.append(retried)
        reasons: dict[str, int] = {}
        for f in self.load.files:
            for reason, n in f.reasons.items():
                key = f"{f.entity}: {reason}"
                reasons[key] = reasons.get(key, 0) + n
        if reasons:
            rows = sorted(reasons.items(), key=lambda kv: -kv[1])
            out.append(Section("rejected rows (in sales.rejects)", ["reason", "rows"], rows))
        cleaned = [
            (f.file, what, n) for f in self.load.files for what, n in sorted(f.cleaned.items())
        ]
        if cleaned:
            title = "cleaned values (loaded, rewritten)"
            out.append(Section(title, ["file", "value", "rows"], cleaned))
        out += [f"[red]failed[/red] {f.error}" for f in self.load.files if f.error]
        if self.checks:
            checks = [
                (
                    c.check_name,
                    c.subject,
                    c.severity,
                    f"{c.observed:g}",
                    f"{c.threshold:g}",
                    "yes" if c.passed else "NO",
                )
                for c in self.checks.results
                if not c.passed or c.check_name != "null_rate"
            ]
            out.append(Section("data-quality checks (in sales.dq_results)", CHECK_COLUMNS, checks))
        if line := self._refresh_line():
            out.append(line)
        return out

    def _refresh_line(self) -> str:
        if self.refresh and self.refresh.mode == "deferred":
            return (
                "derived data: not refreshed (data was queued after the checks;"
                " the next run checks it and refreshes)"
            )
        if self.refresh:
            return f"derived data: {self.refresh.mode} refresh in {self.refresh.seconds:.1f}s" + (
                f" ({self.refresh.orders} orders)" if self.refresh.mode == "queued" else ""
            )
        if self.failed:
            return "derived data: not refreshed (the gate failed; the next run retries)"
        return ""

    def errors(self) -> list[str]:
        """One line per failed file (its error and the fix), then one per other
        failed error check (the gate's reason): stderr says what failed, as
        every command does, while stdout keeps the report."""
        out = [file_error(f) for f in self.load.files if f.status == "failed"]
        if self.checks:
            out += [describe(c) for c in self.checks.failed_errors if c.check_name != FILES_FAILED]
        return out
