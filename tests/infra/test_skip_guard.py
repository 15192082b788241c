"""Under CI=true a skip fails the run unless tests/skips.toml allows it: proved on a
tiny suite that pytester runs with the real plugin (alone and under xdist), and the
real allow-list checked."""

from __future__ import annotations

import fnmatch
import sys
import tomllib

import pytest

from tests.paths import ROOT
from tests.skip_guard import load_allowlist

SUITE = """
import pytest

def test_runs():
    pass

def test_needs_a_tool():
    pytest.skip("the tool is missing")

@pytest.mark.skipif(True, reason="marked away")
def test_marked():
    pass

@pytest.mark.xfail(reason="known broken")
def test_known_broken():
    assert False

def test_allowed():
    pytest.skip("cannot run on this machine")
"""

ALLOW = """
[[allow]]
test = "test_tiny.py::test_allowed"
reason = "no such machine"
"""


@pytest.fixture
def tiny(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # A subprocess imports the plugin from this checkout, as the real suite does.
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # only the plugins named
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    pytester.makeini("[pytest]\nskip_allowlist = skips.toml\n")
    pytester.path.joinpath("skips.toml").write_text(ALLOW)
    pytester.makepyfile(test_tiny=SUITE)
    return pytester


def _run(p: pytest.Pytester, *args: str) -> pytest.RunResult:
    # In this process (fast); xdist's workers need a process of their own.
    if "-n" in args:
        return p.runpytest_subprocess("-p", "tests.skip_guard", "-p", "xdist", *args)
    return p.runpytest_inprocess("-p", "tests.skip_guard", *args)


def test_without_ci_a_skip_is_a_skip_and_the_summary_says_ci_would_refuse_it(
    tiny: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    r = _run(tiny)
    assert r.ret == 0, r.stdout.str()
    r.assert_outcomes(passed=1, skipped=3, xfailed=1)
    r.stdout.fnmatch_lines(
        [
            "*= skips =*",
            "4 skips (CI unset):",
            "  test_tiny.py::test_allowed: cannot run on this machine [allowed: no such machine]",
            "  test_tiny.py::test_known_broken: xfail: known broken [not allow-listed:*",
            "  test_tiny.py::test_marked: marked away [not allow-listed: would fail under CI=true]",
            "  test_tiny.py::test_needs_a_tool: the tool is missing [not allow-listed:*",
        ]
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["alone", "xdist"])
def test_under_ci_a_skip_or_xfail_not_allow_listed_fails_the_run(
    tiny: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: list[str]
) -> None:
    monkeypatch.setenv("CI", "true")
    r = _run(tiny, *workers)
    assert r.ret == pytest.ExitCode.TESTS_FAILED
    # skipif is decided in setup (an error), pytest.skip and xfail in the call (a failure)
    r.assert_outcomes(passed=1, skipped=1, failed=2, errors=1)
    r.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_marked*",
            "skipped under CI=true and not in the allow-list (skips.toml): marked away",
            "*= FAILURES =*",
            "skipped under CI=true and not in the allow-list (skips.toml): the tool is missing",
            "skipped under CI=true and not in the allow-list (skips.toml): xfail: known broken",
            "*= skips =*",
            "4 skips (CI=true: a skip not allow-listed fails):",
            "  test_tiny.py::test_allowed: cannot run on this machine [allowed: no such machine]",
            "  test_tiny.py::test_known_broken: xfail: known broken [FAILS CI: not allow-listed]",
        ]
    )


def test_under_ci_an_allow_listed_skip_passes(
    tiny: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    r = _run(tiny, "-k", "runs or allowed")
    assert r.ret == 0, r.stdout.str()
    r.assert_outcomes(passed=1, skipped=1)


def test_under_ci_a_module_level_skip_stops_the_run(
    tiny: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny.makepyfile(test_optional='import pytest\npytest.importorskip("no_such_module_here")\n')
    monkeypatch.setenv("CI", "true")
    r = _run(tiny, "test_optional.py")
    assert r.ret == pytest.ExitCode.INTERRUPTED
    r.stdout.fnmatch_lines(["*skipped under CI=true*could not import 'no_such_module_here'*"])
    monkeypatch.setenv("CI", "false")
    assert _run(tiny, "test_optional.py").ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_an_entry_bound_to_a_variable_applies_only_where_it_is_set(
    tiny: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny.path.joinpath("skips.toml").write_text(
        '[[allow]]\ntest = "*::test_needs_a_tool"\nreason = "elsewhere"\nenv = "ON_THAT_RUNNER"\n'
    )
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("ON_THAT_RUNNER", raising=False)
    assert _run(tiny, "-k", "needs_a_tool").ret == pytest.ExitCode.TESTS_FAILED
    monkeypatch.setenv("ON_THAT_RUNNER", "true")
    assert _run(tiny, "-k", "needs_a_tool").ret == pytest.ExitCode.OK


def test_a_broken_allow_list_stops_the_run_before_any_test(tiny: pytest.Pytester) -> None:
    tiny.path.joinpath("skips.toml").write_text('[[allow]]\ntest = "test_tiny.py::*"\n')
    r = _run(tiny)
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["ERROR: *skips.toml: *entry 1 needs a non-empty `test` pattern*"])


def test_the_allow_list_names_real_test_files_each_with_a_reason() -> None:
    path = ROOT / "tests" / "skips.toml"
    entries = load_allowlist(path)
    assert len(entries) == len(tomllib.loads(path.read_text())["allow"])
    tests = [p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("test_*.py")]
    for e in entries:
        file_part = e.test.split("::", 1)[0]
        assert fnmatch.filter(tests, file_part), f"{e.test}: no such test file (stale entry?)"
        assert len(e.reason) > 20, e


def test_the_guard_is_on_for_the_whole_suite(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("etl-skip-guard")
    assert "tests.skip_guard" in sys.modules
    assert pytestconfig.getini("xfail_strict") is True  # an xfail that passes fails too
