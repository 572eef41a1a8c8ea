"""Cross-unit actors: a post is held in a unit, and a case runs in one unit.

A person of another unit who holds the same post id (a village committee director is a ``deputy`` too) may not
complete the case's steps (rule ``other-unit``), unless the step names that unit in ``af:step/@units`` (征求意见
of other bureaus). ``validate --org``, the simulator's replay and ``log check`` follow the same rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from approvalflow import FakeClock, StepRefused, load_process_string, organisation_from_dict, start_case
from approvalflow.engine import Policy
from approvalflow.simulation.replay import Trace, replay_traces
from approvalflow.supervision.conformance import check_trace
from approvalflow.supervision.eventlog import LogEvent
from approvalflow.supervision.eventlog import Trace as LogTrace
from approvalflow.supervision.procnet import load_model
from approvalflow.validation import validate_string

START = "2026-06-01T09:00:00+08:00"


def process(units: str = "", decide_units: str = "") -> str:
    consult = f' units="{units}"' if units else ""
    decide = f' units="{decide_units}"' if decide_units else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"
                  id="d" targetNamespace="urn:test">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="receive"><bpmn:extensionElements><af:step posts="clerk"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="consult"><bpmn:extensionElements><af:step posts="reviewer"{consult}/></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="decide"><bpmn:extensionElements><af:step posts="deputy" domain="approval"{decide}/>
      <af:risk id="R1" level="high"><af:description>越权审批</af:description></af:risk></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="receive"/>
    <bpmn:sequenceFlow id="f2" sourceRef="receive" targetRef="consult"/>
    <bpmn:sequenceFlow id="f3" sourceRef="consult" targetRef="decide"/>
    <bpmn:sequenceFlow id="f4" sourceRef="decide" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


ORG: dict[str, Any] = {
    "units": [
        {"id": "bureau", "principal": "bz", "deputies": {"bd": ["approval"]}},
        {"id": "village", "principal": "vs", "deputies": {"vd": ["approval"]}},
        {"id": "planning", "principal": "pz", "deputies": {"pd": ["approval"]}},
    ],
    "people": {
        "bz": {"unit": "bureau", "posts": ["principal", "deputy"]},
        "bd": {"unit": "bureau", "posts": ["deputy"]},
        "bc": {"unit": "bureau", "posts": ["clerk", "reviewer"]},
        "vs": {"unit": "village", "posts": ["principal"]},
        "vd": {"unit": "village", "posts": ["deputy"]},  # 村委会主任: a "deputy" too
        "vc": {"unit": "village", "posts": ["clerk", "reviewer"]},
        "pz": {"unit": "planning", "posts": ["principal", "deputy", "reviewer"]},
        "pd": {"unit": "planning", "posts": ["deputy"]},
        "pr": {"unit": "planning", "posts": ["reviewer"]},
    },
}
ORGANISATION = organisation_from_dict(ORG)


def new_case(policy: Policy = Policy.ENFORCE, **kw: str) -> Any:
    case = start_case(
        load_process_string(process(**kw)), ORGANISATION, unit="bureau", clock=FakeClock(START), policy=policy
    )
    case.complete("receive", "bc", at="2026-06-01T10:00:00+08:00")
    return case


def snapshot(case: Any) -> tuple[Any, ...]:
    return ([(r.id, r.since) for r in case.ready_steps()], list(case.history), dict(case.data), list(case.findings))


def refused(case: Any, step: str, actor: str) -> list[str]:
    before = snapshot(case)
    with pytest.raises(StepRefused) as exc:
        case.complete(step, actor, at="2026-06-02T10:00:00+08:00")
    assert snapshot(case) == before
    return list(exc.value.rules)


@pytest.mark.parametrize("actor", ["vd", "pd", "pz"])
def test_a_deputy_of_another_unit_may_not_decide(actor: str) -> None:
    case = new_case()
    case.complete("consult", "bc", at="2026-06-01T11:00:00+08:00")
    assert "other-unit" in refused(case, "decide", actor)
    case.complete("decide", "bd", at="2026-06-02T10:00:00+08:00")
    assert case.is_completed


@pytest.mark.parametrize("actor", ["vc", "pr"])
def test_a_step_naming_no_unit_is_for_the_case_unit_only(actor: str) -> None:
    assert refused(new_case(), "consult", actor) == ["other-unit"]


def test_under_record_the_other_unit_is_a_finding_naming_both_units() -> None:
    case = new_case(Policy.RECORD)
    case.complete("consult", "bc", at="2026-06-01T11:00:00+08:00")
    found = case.complete("decide", "vd", at="2026-06-02T10:00:00+08:00")
    assert [f.rule for f in found] == ["other-unit"]
    assert "'village'" in found[0].message and "'bureau'" in found[0].message


def test_a_step_naming_a_unit_admits_its_people_and_no_others() -> None:
    case = new_case(units="planning")
    assert refused(case, "consult", "vc") == ["other-unit"]
    assert case.complete("consult", "pr", at="2026-06-01T11:00:00+08:00") == []


def test_several_units_may_be_named() -> None:
    for actor in ("pr", "vc"):
        case = new_case(units="planning village")
        assert case.complete("consult", actor, at="2026-06-01T11:00:00+08:00") == []
    # a step naming units is theirs (issue 16): the case's unit joins them only with caseUnit="true"
    assert refused(new_case(units="planning village"), "consult", "bc") == ["other-unit"]
    for actor in ("pr", "vc", "bc"):
        case = new_case(units='planning village" caseUnit="true')
        assert case.complete("consult", actor, at="2026-06-01T11:00:00+08:00") == []


def test_a_named_unit_still_needs_the_post() -> None:
    case = new_case(units="planning")
    assert refused(case, "consult", "pd") == ["unauthorized"]


def test_the_principal_of_a_named_unit_is_bound_by_five_not_direct() -> None:
    case = new_case(decide_units="planning")
    case.complete("consult", "bc", at="2026-06-01T11:00:00+08:00")
    assert refused(case, "decide", "pz") == ["five-not-direct"]
    assert case.complete("decide", "pd", at="2026-06-02T10:00:00+08:00") == []


def test_the_units_attribute_is_read() -> None:
    info = load_process_string(process(units=" planning  village ")).steps["consult"]
    assert info.units == ("planning", "village")
    assert load_process_string(process()).steps["consult"].units == ()


# -- validate --org -----------------------------------------------------------------------------------------
ONLY_PLANNING_REVIEWS: dict[str, Any] = {
    **ORG,
    "people": {k: v for k, v in ORG["people"].items() if k not in {"bc", "vc"}}
    | {"bc": {"unit": "bureau", "posts": ["clerk"]}},
}


def staffing(text: str, org: dict[str, Any]) -> list[Any]:
    found = validate_string(text, org=organisation_from_dict(org), unit="bureau")
    return [f for f in found if f.rule == "staffing"]


def test_validate_does_not_count_holders_of_other_units() -> None:
    found = staffing(process(), ONLY_PLANNING_REVIEWS)
    assert [f.element for f in found] == ["consult"]
    assert "nobody in unit 'bureau'" in found[0].message


def test_validate_counts_holders_of_a_named_unit() -> None:
    assert staffing(process(units="planning"), ONLY_PLANNING_REVIEWS) == []


def test_validate_reports_a_unit_the_organisation_lacks() -> None:
    found = staffing(process(units="planing"), ORG)
    assert [f.element for f in found] == ["consult"]
    assert "'planing'" in found[0].message


def test_validate_keeps_the_principal_of_a_named_unit_off_a_domain_step() -> None:
    only_pz: dict[str, Any] = {
        **ORG,
        "units": [{"id": "bureau", "principal": "bz"}, {"id": "planning", "principal": "pz"}],
        "people": {
            "bz": {"unit": "bureau", "posts": ["principal"]},
            "bc": {"unit": "bureau", "posts": ["clerk", "reviewer"]},
            "pz": {"unit": "planning", "posts": ["principal", "deputy"]},
        },
    }
    assert [f.element for f in staffing(process(decide_units="planning"), only_pz)] == ["decide"]


# -- the simulator's replay and log check -------------------------------------------------------------------
def test_replay_finds_an_actor_in_a_named_unit() -> None:
    definition = load_process_string(process(units="planning"))
    org = organisation_from_dict(ONLY_PLANNING_REVIEWS)
    report = replay_traces(definition, org, [Trace(("receive", "consult", "decide"), {})], unit="bureau")
    assert report.all_accepted, report.summary()


def test_replay_does_not_borrow_an_actor_from_another_unit() -> None:
    definition = load_process_string(process())
    org = organisation_from_dict(ONLY_PLANNING_REVIEWS)
    report = replay_traces(definition, org, [Trace(("receive", "consult", "decide"), {})], unit="bureau")
    assert not report.all_accepted


def at(hour: int) -> datetime:
    return datetime.fromisoformat(f"2026-06-0{1 + hour // 24}T{hour % 24:02d}:00:00+08:00")


def test_log_check_reports_an_actor_of_another_unit() -> None:
    trace = LogTrace(
        "c1",
        [
            LogEvent("receive", at(10), at(9), "bc", "bureau"),
            LogEvent("consult", at(11), resource="bc", unit="bureau"),
            LogEvent("decide", at(30), resource="vd", unit="bureau"),
        ],
    )
    result = check_trace(trace, load_model(process()), ORGANISATION, unit="bureau")
    assert [(f.rule, f.actor) for f in result.findings] == [("other-unit", "vd")]
