"""Scenario tests of processes/seal/seal_use.bpmn (印章使用审批 in 县人民政府).

People of the sample county (county-government): 用印经办人 gz-jingban (staff) applies; 用印申请部门负责人
gz-kezhang (dept-head) reviews; 县政府办主任 gz-bangong (office-director) approves; 印章管理员 gz-yinguan
(seal-keeper) registers and stamps; 文书 gz-wenshu holds both staff and seal-keeper, so only the separation rule keeps
him from sealing his own application; 县政府办秘书 gz-mishu archives. The 三重一大 meeting has four members
(county-head, deputy-a, deputy-b, deputy-c): 3 of 4 make the 2/3 quorum, the county head speaks last.

Time: promised 5 working days from the application (no statutory limit: no statute on seal use in REFERENCE.md);
the wait for the 三重一大 meeting does not count. 2026 calendar: Dragon Boat Festival Fri 06-19 is a holiday.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree

from approvalflow import (
    FakeClock,
    StepNotReady,
    StepRefused,
    load_organisation,
    load_process,
    load_process_string,
    start_case,
    validate_file,
)
from approvalflow.testing.scenario import run_scenario
from approvalflow.testing.strategies import walks
from approvalflow.validation import validate_string

from .process_checks import assert_expect_block_holds, refused, violations

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "seal_use"
PROCESS = ROOT / "processes" / "seal" / "seal_use.bpmn"
ORG = ROOT / "processes" / "org" / "sample_county.yaml"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ORDINARY = ["apply", "dept_review", "office_approve", "register", "stamp", "archive"]
MAJOR = ["apply", "dept_review", "office_approve", "collective", "register_major", "stamp_major", "archive"]
MEETING = {
    "members": ["county-head", "deputy-a", "deputy-b", "deputy-c"],
    "present": ["county-head", "deputy-a", "deputy-b"],
    "votes": [["deputy-a", "for"], ["deputy-b", "for"], ["county-head", "for"]],
}


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def approved_major_case(process_text: str | None = None) -> Any:
    """A 三重一大 case up to the office's approval on Tue 06-02 10:00."""
    definition = load_process_string(process_text, filename="redrawn.bpmn") if process_text else load_process(PROCESS)
    case = start_case(
        definition, load_organisation(ORG), unit="county-government", clock=FakeClock("2026-06-01T09:00:00+08:00")
    )
    case.complete("apply", "gz-jingban", data={"major_matter": True}, at="2026-06-01T10:00:00+08:00")
    case.complete("dept_review", "gz-kezhang", at="2026-06-01T15:00:00+08:00")
    case.complete("office_approve", "gz-bangong", data={"approved": True}, at="2026-06-02T10:00:00+08:00")
    return case


def test_metadata() -> None:
    d = load_process(PROCESS)
    assert d.power is not None and d.power.category.value == "internal" and d.power.body == "县人民政府"
    tl = d.time_limit
    assert tl is not None and (tl.promised, tl.statutory, tl.unit, tl.starts_after) == (5, None, "workday", "apply")
    # seal use is none of the five domains of 五不直接分管
    assert all(s.domain is None for s in d.steps.values())
    assert d.step("register").separate_from == ("apply", "dept_review", "office_approve")
    assert d.step("register_major").separate_from == ("apply", "dept_review", "office_approve")
    assert d.step("stamp").same_actor_as == "register" and d.step("stamp_major").same_actor_as == "register_major"
    assert d.step("stamp_major").requires == ("office_approve", "collective")
    rule = d.step("collective").collective
    assert rule is not None and rule.last_speaker == "principal" and str(rule.quorum) == "2/3"
    assert d.step("collective").suspends_clock is not None
    assert all(s.node.risks and s.posts and s.time_limit for s in d.steps.values())
    risks = {r.id: r for s in d.steps.values() for r in s.node.risks}
    assert len(risks) == 11 and {r.level.value for r in risks.values()} == {"high", "medium", "low"}


def test_validates_clean_with_the_sample_county() -> None:
    assert validate_file(PROCESS, org=load_organisation(ORG)) == []


def test_clean_ordinary_use_across_the_dragon_boat_holiday() -> None:
    out = run("clean")
    assert out["completed"] is True and out["path"] == ORDINARY
    assert out["refused"] == [] and out["violations"] == []
    # applied Wed 06-17; 5 working days: Thu 06-18, (Fri 06-19 holiday, weekend) Mon 06-22 .. Thu 06-25
    assert out["deadlines"] == {"promised": "2026-06-25", "statutory": None}


def test_the_seal_keeper_may_not_seal_his_own_application() -> None:
    out = run("keeper_is_applicant")
    # 3: gz-wenshu applied and holds seal-keeper; 5: only gz-yinguan, who registered, may stamp
    assert refused(out) == [(3, ["separate-actors"]), (5, ["same-actor"])]
    assert out["completed"] is True and out["path"] == ORDINARY


def test_major_matter_needs_the_collective_decision_first() -> None:
    out = run("major_matter")
    assert refused(out) == [(3, ["quorum"]), (4, ["last-speaker"])]  # 2 of 4 present; the county head first
    assert out["completed"] is True and out["path"] == MAJOR and out["violations"] == []
    # promised from Mon 06-01: 06-02..06-05, 06-08; the clock stood still 06-02 10:00 .. 06-05 16:00, which
    # removes 06-03, 06-04, 06-05: three working days later, 06-11
    assert out["deadlines"] == {"promised": "2026-06-11", "statutory": None}


def test_a_matter_the_meeting_rejects_is_not_sealed() -> None:
    out = run("not_passed")
    assert out["completed"] is True and out["path"] == MAJOR[:4]
    # ready Mon 06-01 15:00, 1 working day: due Tue 06-02; approved Wed 06-03
    assert violations(out) == [("step-overdue", "office_approve", "gz-bangong")]
    # the wait for the meeting (06-03 10:00 .. 06-05 15:00) removes 06-04 and 06-05: 06-08 -> 06-10
    assert out["deadlines"]["promised"] == "2026-06-10"


def test_alerts_while_the_keeper_waits() -> None:
    out = run("waiting_keeper")
    cards = {(a["level"], a["scope"], a["task"], a["deadline"]) for a in out["alerts"]}
    # registration ready Thu 06-18, due Mon 06-22, red on Wed 06-24; the case (due Thu 06-25) yellow
    assert cards == {("red", "step", "register", "2026-06-22"), ("yellow", "case", None, "2026-06-25")}


def test_without_approval_nothing_is_sealed() -> None:
    case = start_case(
        load_process(PROCESS),
        load_organisation(ORG),
        unit="county-government",
        clock=FakeClock("2026-06-17T09:00:00+08:00"),
    )
    case.complete("apply", "gz-jingban", data={"major_matter": False})
    case.complete("dept_review", "gz-kezhang")
    case.complete("office_approve", "gz-bangong")  # no approved: the default flow is 不予用印
    assert case.is_completed and case.path == ORDINARY[:3]


def test_the_seal_is_not_offered_before_the_meeting() -> None:
    case = approved_major_case()
    assert [s.id for s in case.ready_steps()] == ["collective"]
    with pytest.raises(StepNotReady):
        case.complete("stamp_major", "gz-yinguan", at="2026-06-02T11:00:00+08:00")
    with pytest.raises(StepNotReady):
        case.complete("register", "gz-yinguan", at="2026-06-02T11:00:00+08:00")


def test_the_head_may_not_approve_as_the_office() -> None:
    case = start_case(
        load_process(PROCESS),
        load_organisation(ORG),
        unit="county-government",
        clock=FakeClock("2026-06-17T09:00:00+08:00"),
    )
    case.complete("apply", "gz-jingban", data={"major_matter": False})
    case.complete("dept_review", "gz-kezhang")
    with pytest.raises(StepRefused) as exc:
        case.complete("office_approve", "county-head", data={"approved": True})
    assert exc.value.rules == ["unauthorized"]  # not five-not-direct: seal use is none of the five domains


def redrawn_without_meeting() -> str:
    """The same file with the 三重一大 branch redrawn to skip the meeting (a chart drawn wrong elsewhere): the
    flow ``f_gw_major`` leads from the gateway straight to 用印登记（三重一大）, the meeting is left unconnected."""
    tree = etree.parse(str(PROCESS))
    ns = {"bpmn": BPMN}
    [flow] = tree.xpath("//bpmn:sequenceFlow[@id='f_gw_major']", namespaces=ns)
    flow.set("targetRef", "register_major")
    [meeting_in] = tree.xpath("//bpmn:userTask[@id='collective']/bpmn:incoming", namespaces=ns)
    meeting_in.getparent().remove(meeting_in)
    [register] = tree.xpath("//bpmn:userTask[@id='register_major']", namespaces=ns)
    extra = etree.Element(f"{{{BPMN}}}incoming")
    extra.text = "f_gw_major"
    register.insert(register.index(register.find(f"{{{BPMN}}}outgoing")), extra)  # incoming before outgoing
    return str(etree.tostring(tree, encoding="unicode"))


def test_the_seal_steps_own_requires_catches_a_chart_that_skips_the_meeting() -> None:
    text = redrawn_without_meeting()
    rules = {(f.rule, f.element) for f in validate_string(text, filename="redrawn.bpmn")}
    assert ("requires-not-dominating", "stamp_major") in rules
    case = approved_major_case(text)
    case.complete("register_major", "gz-yinguan", at="2026-06-02T11:00:00+08:00")
    with pytest.raises(StepRefused) as exc:
        case.complete("stamp_major", "gz-yinguan", at="2026-06-02T11:30:00+08:00")
    assert exc.value.rules == ["precedence"]  # 三重一大事项未经集体决策用印
    assert "collective" in str(exc.value)
    assert case.path == ["apply", "dept_review", "office_approve", "register_major"]


def test_record_policy_keeps_the_precedence_finding() -> None:
    definition = load_process_string(redrawn_without_meeting(), filename="redrawn.bpmn")
    case = start_case(
        definition,
        load_organisation(ORG),
        unit="county-government",
        clock=FakeClock("2026-06-01T09:00:00+08:00"),
        policy="record",
    )
    case.complete("apply", "gz-jingban", data={"major_matter": True}, at="2026-06-01T10:00:00+08:00")
    case.complete("dept_review", "gz-kezhang", at="2026-06-01T15:00:00+08:00")
    case.complete("office_approve", "gz-bangong", data={"approved": True}, at="2026-06-02T10:00:00+08:00")
    case.complete("register_major", "gz-yinguan", at="2026-06-02T11:00:00+08:00")
    found = case.complete("stamp_major", "gz-yinguan", at="2026-06-02T11:30:00+08:00")
    assert [(f.rule, f.step) for f in found] == [("precedence", "stamp_major")]


def test_a_proper_meeting_opens_the_seal() -> None:
    case = approved_major_case()
    case.complete("collective", "county-head", meeting=MEETING, at="2026-06-05T16:00:00+08:00")
    assert case.data["collective_passed"] is True
    case.complete("register_major", "gz-yinguan", at="2026-06-08T09:30:00+08:00")
    case.complete("stamp_major", "gz-yinguan", at="2026-06-08T10:00:00+08:00")
    assert [s.id for s in case.ready_steps()] == ["archive"]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "seal_use.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
    assert out["path"] == MAJOR


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_walk_seals_a_major_matter_only_after_the_meeting_and_never_by_the_applicant(data: st.DataObject) -> None:
    walk = data.draw(walks(load_process(PROCESS), load_organisation(ORG), unit="county-government", max_steps=12))
    done = [(s.task, s.actor) for s in walk.steps if not s.breaks]
    tasks = [t for t, _ in done]
    event("三重一大 sealed" if "stamp_major" in tasks else "ordinary, refused or unfinished")
    if "stamp_major" in tasks:
        assert "collective" in tasks[: tasks.index("stamp_major")]
    who = dict(done)
    for keeper_step in ("register", "register_major"):
        if keeper_step in who:
            assert who[keeper_step] not in {who["apply"], who["dept_review"], who["office_approve"]}
