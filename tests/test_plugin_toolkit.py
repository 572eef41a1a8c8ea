"""The testing toolkit without pytest's machinery: the movable clock, assertion messages, coverage, expect checks."""

from __future__ import annotations

import pytest

from approvalflow import StepRefused, load_process, organisation_from_dict, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.org.organisation import Organisation
from approvalflow.pytest_plugin.scenario_items import compare
from approvalflow.testing import Coverage, MovableClock, assert_refused, assert_that, exercised
from approvalflow.testing.scenario import load_scenario
from approvalflow.time.clock import FakeClock

from .conftest import DATA

APPLICANT = {"applicant": "某餐饮有限公司"}


def test_clock_moves_by_durations_moments_and_working_days() -> None:
    clock = MovableClock("2026-09-30T09:00:00+08:00")
    # Wednesday 09-30 + 1 working day: 10-01..10-07 are National Day holidays, Thursday 10-08 works.
    assert clock.advance_workdays(1).isoformat() == "2026-10-08T09:00:00+08:00"
    # + 2: Friday 10-09, then Saturday 10-10 (an adjusted working day, 调休).
    assert clock.advance_workdays(2).isoformat() == "2026-10-10T09:00:00+08:00"
    assert clock.advance("P3D").isoformat() == "2026-10-13T09:00:00+08:00"  # calendar days
    assert clock.advance("PT4H30M").isoformat() == "2026-10-13T13:30:00+08:00"
    assert clock.to("2026-05-01T08:00:00+08:00").isoformat() == "2026-05-01T08:00:00+08:00"
    assert len(clock.moves) == 5
    with pytest.raises(ValueError, match="no timezone"):
        clock.to("2026-05-01T08:00:00")
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        clock.advance("3 days")


def test_assertion_messages_name_steps_and_what_happened(
    licensing: ProcessDefinition, org: Organisation, clock: FakeClock
) -> None:
    case = start_case(licensing, org, clock=clock, data=APPLICANT)
    case.complete("receive", "wang", data={"materials_complete": True})
    with pytest.raises(AssertionError) as info:
        assert_that(case).passed("receive").passed_in_order("accept", "receive")
    assert "expected to have passed 'accept' (受理)" in str(info.value)
    assert "passed: receive; waiting at: 'accept' (受理)" in str(info.value)
    with pytest.raises(AssertionError, match=r"expected not to have passed 'receive' \(收件\)"):
        assert_that(case).not_passed("receive")
    with pytest.raises(AssertionError, match="no such node in the process: nowhere"):
        assert_that(case).is_waiting_at("nowhere")
    with pytest.raises(AssertionError, match=r"expected a 'recusal' finding at 'receive'.*findings: none"):
        assert_that(case).has_finding("recusal", "receive")
    with pytest.raises(AssertionError, match="expected the case to be completed"):
        assert_that(case).is_completed()


def test_passed_in_order_allows_steps_between(
    licensing: ProcessDefinition, org: Organisation, clock: FakeClock
) -> None:
    case = start_case(licensing, org, clock=clock, data=APPLICANT)
    case.complete("receive", "wang", data={"materials_complete": False})
    case.complete("notify_correction", "wang")
    case.complete("receive", "wang", data={"materials_complete": True})
    assert_that(case).passed_in_order("receive", "receive").passed_in_order("notify_correction", "receive")
    with pytest.raises(AssertionError, match="in this order"):
        assert_that(case).passed_in_order("notify_correction", "notify_correction")


def test_alert_assertions(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = start_case(licensing, org, clock=clock, data=APPLICANT)
    case.complete("receive", "wang", data={"materials_complete": True})
    case.complete("accept", "wang")  # 09-28: promised 10-23, statutory 10-30 (worked out in docs/time.md)
    # 10-22: one working day before the promised deadline -> yellow; the step 'review' (8 working days from 09-28:
    # 09-29, 09-30, 10-08, 10-09, 10-10, 10-12, 10-13, 10-14) is past its limit -> red.
    assert_that(case).has_alert("yellow", "case", limit="promised", at="2026-10-22T09:00:00+08:00")
    assert_that(case).has_alert("red", "step", task="review", at="2026-10-22T09:00:00+08:00")
    with pytest.raises(AssertionError, match=r"expected a red case alert.*alerts: yellow case promised"):
        assert_that(case).has_alert("red", "case", at="2026-10-22T09:00:00+08:00")
    assert_that(case).has_no_alerts(at="2026-09-29T09:00:00+08:00")
    assert_that(case).has_deadlines(promised="2026-10-23", statutory="2026-10-30")
    with pytest.raises(AssertionError, match="expected deadlines"):
        assert_that(case).has_deadlines(promised="2026-10-16")


def test_assert_refused_checks_rules_and_that_nothing_changed(
    licensing: ProcessDefinition, org: Organisation, clock: FakeClock
) -> None:
    case = start_case(licensing, org, clock=clock, data=APPLICANT)
    refused = assert_refused(case, "receive", "liu", ["unauthorized"], data={"materials_complete": True})
    assert isinstance(refused, StepRefused)
    with pytest.raises(AssertionError, match=r"refused for \['unauthorized'\], not \['recusal'\]"):
        assert_refused(case, "receive", "liu", ["recusal"])
    with pytest.raises(AssertionError, match="to be refused; it completed"):
        assert_refused(case, "receive", "wang", data={"materials_complete": True})


def test_coverage_of_a_parallel_split_and_join(clock: FakeClock) -> None:
    process = load_process(DATA / "parallel.bpmn")
    people = {"a": ["clerk", "reviewer", "deputy", "inspector", "leader"]}
    org = organisation_from_dict(
        {
            "units": [{"id": "u", "principal": "boss", "deputies": {"a": ["approval"]}}],
            "people": {
                "boss": {"unit": "u", "posts": ["principal"]},
                **{p: {"unit": "u", "posts": v} for p, v in people.items()},
            },
        }
    )
    case = start_case(process, org, clock=clock, policy="record")
    for step in ("accept", "hearing", "inspection"):
        case.complete(step, "a")
    nodes, flows = exercised(case)
    # start -> accept -> split -> (hearing | inspection) -> join -> decide (ready): every flow but f4 (decide -> end).
    assert {f for _, f in flows} == {"f1", "f2", "fa", "fb", "fa2", "fb2", "f3"}
    assert {n for _, n in nodes} == {"start", "accept", "split", "hearing", "inspection", "join", "decide"}
    cov = Coverage()
    cov.record(case, "t")
    [entry] = cov.processes.values()
    assert entry.missed_nodes == ["end"] and entry.missed_flows == ["f4"]


def test_compare_reports_nothing_for_a_match_and_deadline_dates() -> None:
    scenario = load_scenario(DATA / "plugin" / "clean.yaml")[0]
    actual = {
        "completed": True,
        "path": ["receive", "accept", "review", "decide", "deliver"],
        "refused": [{"step": 3, "task": "decide", "actor": "zhang", "rules": ["unauthorized", "five-not-direct"]}],
        "violations": [],
        "alerts": [],
        "deadlines": {"promised": "2026-10-23", "statutory": "2026-10-30"},
    }
    assert scenario.expect is not None
    assert compare(scenario, scenario.expect, actual) == []
    wrong = {**actual, "deadlines": {"promised": "2026-10-24", "statutory": "2026-10-30"}}
    assert compare(scenario, scenario.expect, wrong) == ["deadlines: promised expected 2026-10-23, got 2026-10-24"]
    assert compare(scenario, {"finished": True}, actual)[0].startswith("unknown key in expect: 'finished'")
