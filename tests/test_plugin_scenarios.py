"""Scenario files collected as test items by the pytest plugin, run in inner pytest sessions (pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ROOT

pytest_plugins = ["pytester"]

PLUGIN = Path(__file__).resolve().parent / "data" / "plugin"


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """An inner session that loads only our plugin (the entry point may or may not be installed yet)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return pytester


def put(pytester: pytest.Pytester, name: str, target: str) -> Path:
    """Copy a fixture scenario into the inner session's folder, pointing its paths at the project."""
    text = (PLUGIN / f"{name}.yaml").read_text(encoding="utf-8").replace("../../../processes", str(ROOT / "processes"))
    path = pytester.path / target
    path.write_text(text, encoding="utf-8")
    return path


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "approvalflow.pytest_plugin", "-p", "no:cacheprovider", *args)


def test_scenario_with_met_expect_passes(inner: pytest.Pytester) -> None:
    put(inner, "clean", "clean.scenario.yaml")
    result = run(inner, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*clean.scenario.yaml::clean PASSED*"])


def test_scenario_without_expect_passes_when_it_runs(inner: pytest.Pytester) -> None:
    put(inner, "no_expect", "no_expect.scenario.yaml")
    run(inner).assert_outcomes(passed=1)


def test_wrong_expect_lists_every_difference_with_step_index(inner: pytest.Pytester) -> None:
    put(inner, "wrong", "wrong.scenario.yaml")
    result = run(inner)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    # The case stops after review (nobody decides): not completed, path receive, accept, review.
    assert "completed: expected True, the case is not completed" in out
    assert "path differs at position 2:" in out
    result.stdout.fnmatch_lines(["*expected: receive, accept, decide*", "*actual:   receive, accept, review*"])
    # steps[1] (accept by wang) was not refused; steps[2] (review by wang) was, for both rules, and is not listed.
    assert "steps[1] (accept by wang at 2026-09-28T10:00:00+08:00): expected a refusal (unauthorized)" in out
    assert "steps[2] (review by wang at 2026-10-09T10:00:00+08:00) was refused (unauthorized, separate-actors)" in out
    # At check_at 2026-10-22 the promised deadline 10-23 is one working day away: yellow, not red (SPEC section 5).
    assert "alerts: expected {level: red, scope: case}, not found" in out
    assert "wrong.scenario.yaml: the run does not meet its expect: block" in out


def test_invalid_scenario_fails_naming_file_and_line(inner: pytest.Pytester) -> None:
    put(inner, "invalid", "invalid.scenario.yaml")
    result = run(inner)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "invalid.scenario.yaml: the scenario is not valid: " in out
    assert "invalid.scenario.yaml:8, element 'steps[0]': steps[0]: actor 'nobody' is not a person" in out


def test_scenarios_can_be_switched_off(inner: pytest.Pytester) -> None:
    put(inner, "wrong", "wrong.scenario.yaml")
    inner.makeini("[pytest]\naf_scenarios = false\n")
    result = run(inner)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_scenario_items_count_towards_coverage(inner: pytest.Pytester, tmp_path: Path) -> None:
    put(inner, "clean", "clean.scenario.yaml")
    result = run(inner, f"--af-coverage-report={tmp_path / 'cov'}")
    result.assert_outcomes(passed=1)
    # receive, gw_materials, accept, review, gw_hearing, gw_hearing_join, gw_extension, gw_extension_join, decide,
    # deliver, start, end: 12 of the 15 nodes (not notify_correction, hearing, extend).
    result.stdout.fnmatch_lines(["*general_licensing*1*12/15*"])
    assert (tmp_path / "cov" / "coverage.json").is_file()
