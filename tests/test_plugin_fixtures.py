"""The plugin's fixtures, assertions and coverage report, as a user's own test file uses them (pytester)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import LICENSING

pytest_plugins = ["pytester"]

# A user's test file, using only the documented plugin: a clean path and a rule-breaking one on a fake clock.
USER_TESTS = f"""
from approvalflow.testing import assert_refused, assert_that

LICENSING = {str(LICENSING)!r}


def test_clean_path(af_cases, af_clock):
    case = af_cases(LICENSING, data={{"applicant": "某餐饮有限公司"}})
    case.complete("receive", "wang", data={{"materials_complete": True}})
    case.complete("accept", "wang")
    af_clock.advance_workdays(3)                      # Mon 09-28 -> Thu 10-08 (National Day in between)
    assert af_clock.now().isoformat() == "2026-10-08T09:00:00+08:00"
    case.complete("review", "liu", data={{"needs_extension": False}})
    case.complete("decide", "li")
    af_clock.advance("P1D")
    case.complete("deliver", "chen")
    assert_that(case).passed_in_order("receive", "accept", "review", "decide", "deliver").is_completed()
    assert_that(case).not_passed("notify_correction").has_no_findings()


def test_rule_breaking_path(af_cases, af_clock):
    case = af_cases(LICENSING, data={{"applicant": "某餐饮有限公司"}}, policy="record")
    case.complete("receive", "wang", data={{"materials_complete": False}})
    case.complete("notify_correction", "wang")
    af_clock.to("2026-10-09T10:00:00+08:00")
    case.complete("receive", "wang", data={{"materials_complete": True}})
    case.complete("accept", "wang")
    case.complete("review", "wang", data={{"needs_extension": False}})   # recorded: not a reviewer, and the acceptor
    assert_that(case).has_finding("separate-actors", "review").has_finding("unauthorized", "review", actor="wang")
    assert_that(case).is_waiting_at("decide").has_no_alerts()


def test_refusal_under_enforce(af_cases):
    case = af_cases(LICENSING, data={{"applicant": "某餐饮有限公司"}})
    assert_refused(case, "receive", "liu", ["unauthorized"], data={{"materials_complete": True}})
    assert_that(case).is_waiting_at("receive").not_passed("receive")


def test_a_failing_assertion(af_cases):
    case = af_cases(LICENSING, data={{"applicant": "某餐饮有限公司"}})
    assert_that(case).passed("accept")
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_user=USER_TESTS)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "approvalflow.pytest_plugin", "-p", "no:cacheprovider", *args)


def test_user_suite_runs_clean_and_rule_breaking_paths(inner: pytest.Pytester) -> None:
    result = run(inner)
    result.assert_outcomes(passed=3, failed=1)
    # The failure names the process, the step id and name, and what happened instead.
    result.stdout.fnmatch_lines(
        [
            "*of process 'general_licensing' (一般行政许可): expected to have passed 'accept' (受理); "
            "passed: nothing; waiting at: 'receive' (收件)"
        ]
    )
    assert "BPMN coverage" not in result.stdout.str()  # coverage is off unless asked for


def test_coverage_summary_and_report(inner: pytest.Pytester, tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = run(inner, "--af-coverage", f"--af-coverage-report={report}")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*approvalflow BPMN coverage*", "*general_licensing*4*"])
    doc = json.loads((report / "coverage.json").read_text(encoding="utf-8"))
    lic = next(p for p in doc["processes"] if p["id"] == "general_licensing")
    assert lic["cases"] == 4 and len(lic["tests"]) == 4
    # Worked out from the four cases: every node but the hearing call activity and the extension step was reached
    # (notify_correction in the rule-breaking case, deliver and end in the clean one): 13 of 15.
    assert lic["nodes"]["missed_ids"] == ["hearing", "extend"]
    assert lic["nodes"]["covered"] == 13 and lic["nodes"]["total"] == 15
    # Flows not taken: into and out of the hearing, into and out of the extension.
    assert sorted(lic["flows"]["missed_ids"]) == ["f_extend_join", "f_gwh_hearing", "f_gwx_extend", "f_hearing_join"]
    hearing = next(p for p in doc["processes"] if p["id"] == "licensing_hearing")
    assert hearing["cases"] == 0 and hearing["nodes"]["covered"] == 0
    page = (report / "index.html").read_text(encoding="utf-8")
    assert 'class="miss" data-element-id="extend"' in page and 'class="hit" data-element-id="decide"' in page


def test_af_start_and_af_org_ini_options(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    org = pytester.path / "org.yaml"
    org.write_text(
        "units:\n  - {id: only, name: 单位, principal: boss, deputies: {dep: [approval]}}\n"
        "people:\n  boss: {unit: only, posts: [principal]}\n  dep: {unit: only, posts: [deputy]}\n",
        encoding="utf-8",
    )
    pytester.makeini("[pytest]\naf_org = org.yaml\naf_start = 2026-02-13T10:00:00+08:00\n")
    pytester.makepyfile(
        test_ini="""
def test_ini(af_org, af_clock, af_sample_org):
    assert list(af_org.units) == ["only"]
    assert "market-bureau" in af_sample_org.units
    # Friday 2026-02-13 + 1 working day: Saturday 02-14 is an adjusted working day (调休) before Spring Festival.
    assert af_clock.advance_workdays(1).isoformat() == "2026-02-14T10:00:00+08:00"
    # + 1 more: the holiday runs 02-15..02-23, so the next working day is Tuesday 02-24.
    assert af_clock.advance_workdays(1).isoformat() == "2026-02-24T10:00:00+08:00"
"""
    )
    pytester.syspathinsert()
    result = pytester.runpytest(
        "-p", "approvalflow.pytest_plugin", "-p", "no:cacheprovider", f"--rootdir={pytester.path}"
    )
    result.assert_outcomes(passed=1)
