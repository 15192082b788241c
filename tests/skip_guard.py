"""Under CI=true a skip fails the run unless the allow-list names it (issue 14).

A skipped test is a test that did not run, and a green run that skipped the PDF
corpus or the browser tests says nothing about them. So where CI=true (as
`.ci/run` and GitHub Actions run), a skip, an xfail and a module-level skip
(`pytest.importorskip`, `allow_module_level`) become failures unless
tests/skips.toml (the `skip_allowlist` ini setting) names the test with a reason.
Without CI a skip stays a skip: a developer's machine may lack Chromium or the
corpus. Every run ends with a "skips" section that lists what was skipped, why,
and whether CI would accept it.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _pytest.reports import CollectReport, TestReport

ALLOWLIST_INI = "skip_allowlist"


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Allowed:
    test: str  # an fnmatch pattern over node ids, e.g. "tests/core/test_x.py::test_y*"
    reason: str
    env: str | None  # the entry applies only where this variable is set (e.g. GITHUB_ACTIONS)


def load_allowlist(path: Path) -> list[Allowed]:
    if not path.is_file():
        raise pytest.UsageError(f"{path}: the skip allow-list is missing")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise pytest.UsageError(f"{path}: {exc}") from exc
    out = []
    for i, entry in enumerate(data.get("allow", []), 1):
        test, reason, env = entry.get("test"), entry.get("reason"), entry.get("env")
        unknown = set(entry) - {"test", "reason", "env"}
        if not (isinstance(test, str) and test and isinstance(reason, str) and reason.strip()):
            raise pytest.UsageError(
                f"{path}: [[allow]] entry {i} needs a non-empty `test` pattern and `reason`"
            )
        if unknown or not (env is None or isinstance(env, str)):
            raise pytest.UsageError(
                f"{path}: [[allow]] entry {i}: only test, reason and env are known"
            )
        out.append(Allowed(test, reason.strip(), env))
    return out


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        ALLOWLIST_INI,
        "TOML file of the skips that CI=true accepts ([[allow]] test = pattern, reason = why)",
        default="tests/skips.toml",
    )


def skip_reason(report: TestReport | CollectReport) -> str:
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


REFUSAL = "skipped under CI=true and not in the allow-list"


def _refuse(report: TestReport | CollectReport, allowlist: str) -> None:
    report.longrepr = (
        f"{REFUSAL} ({allowlist}): {skip_reason(report)}\n"
        "A skip in CI is a test that did not run: make it run here (install what it "
        "needs from the Makefile), or allow it in that file with why."
    )
    report.outcome = "failed"
    if hasattr(report, "wasxfail"):
        del report.wasxfail  # else the terminal would still count it as an xfail


def _refused_reason(report: TestReport | CollectReport) -> str | None:
    text = report.longrepr
    if report.failed and isinstance(text, str) and text.startswith(REFUSAL):
        return text.split("\n", 1)[0].split("): ", 1)[1]
    return None


@dataclass(frozen=True)
class Seen:
    nodeid: str
    reason: str
    verdict: str


class SkipGuard:
    """The hooks, bound to one session's config and allow-list."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.path = config.rootpath / str(config.getini(ALLOWLIST_INI))
        self.allowlist = load_allowlist(self.path)  # a broken file stops the run first
        self.seen: list[Seen] = []

    def allowed_reason(self, nodeid: str) -> str | None:
        for entry in self.allowlist:
            if entry.env is not None and not os.environ.get(entry.env):
                continue
            if fnmatch.fnmatchcase(nodeid, entry.test):
                return entry.reason
        return None

    def _check(self, report: TestReport | CollectReport) -> None:
        if report.skipped and under_ci() and self.allowed_reason(report.nodeid) is None:
            _refuse(report, self.path.relative_to(self.config.rootpath).as_posix())

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, TestReport, TestReport]:
        # The outermost wrapper: it sees the report after xfail has made it a skip.
        report = yield
        self._check(report)
        return report

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, CollectReport, CollectReport]:
        report = yield
        self._check(report)  # refused, it is a collection error: the run stops
        return report

    def _record(self, report: TestReport | CollectReport) -> None:
        refused = _refused_reason(report)
        if refused is not None:
            self.seen.append(Seen(report.nodeid, refused, "FAILS CI: not allow-listed"))
        elif report.skipped:
            allowed = self.allowed_reason(report.nodeid)
            verdict = (
                f"allowed: {allowed}"
                if allowed is not None
                else "not allow-listed: would fail under CI=true"
            )
            self.seen.append(Seen(report.nodeid, skip_reason(report), verdict))

    # Under xdist these two run in the controller too, with every worker's reports.
    def pytest_runtest_logreport(self, report: TestReport) -> None:
        self._record(report)

    def pytest_collectreport(self, report: CollectReport) -> None:
        self._record(report)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.config.option.collectonly:
            return
        terminalreporter.section("skips")
        mode = "CI=true: a skip not allow-listed fails" if under_ci() else "CI unset"
        if not self.seen:
            terminalreporter.write_line(f"no test skipped ({mode})")
            return
        terminalreporter.write_line(f"{len(self.seen)} skips ({mode}):")
        for s in sorted(self.seen, key=lambda s: s.nodeid):
            terminalreporter.write_line(f"  {s.nodeid}: {s.reason} [{s.verdict}]")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipGuard(config), "etl-skip-guard")
