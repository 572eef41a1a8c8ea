"""Going back, ending early and pausing (issue 17 items 3 and 4): 退回, 撤回, 撤销申请, 终止, 中止 / 恢复, outcomes.

Processes: ``tests/data/flowcontrol/block.bpmn`` (受理, then a parallel block: 初审 -> 复审 on one branch and a 会签 of
li, zhao and sun on the other, then 决定) with ``tests/data/countersign/org.yaml``; ``tests/data/parallel.bpmn``
(two ``suspendsClock`` steps in parallel) with ``tests/data/market_bureau.yaml``. Dates are worked out on the 2026
calendar in the comments (docs/time.md: 国庆 Oct 1-7 off, Saturday Oct 10 a working day).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.bpmn.loader import ProcessDefinition, load_process_string
from approvalflow.engine import case_state
from approvalflow.engine.case import Case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.errors import InvalidInputError, StepNotReady, StepRefused, UnknownReferenceError
from approvalflow.org.organisation import Organisation

DATA = Path(__file__).parent / "data"
START = "2026-06-01T09:00:00+08:00"  # a Monday


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DATA / "countersign" / "org.yaml")


@pytest.fixture(scope="module")
def block() -> ProcessDefinition:
    return load_process(DATA / "flowcontrol" / "block.bpmn")


def new(block: ProcessDefinition, org: Organisation, at: str = START) -> Case:
    return start_case(block, org, clock=FakeClock(at), data={"applicant": "宏达公司"})


def ready(case: Case) -> list[tuple[str, int | None, str | None]]:
    return [(r.id, r.instance, r.assignee) for r in case.ready_steps()]


def refused(case: Case, call: Any, *args: Any, **kwargs: Any) -> list[str]:
    """The rule ids of a refusal; the case is exactly as it was, the trail has one more (refused) entry."""
    before, count = case_state(case), case.trail.count
    with pytest.raises(StepRefused) as exc:
        call(*args, **kwargs)
    assert case_state(case) == before
    assert case.trail.count == count + 1 and case.trail.entries[-1]["outcome"] == "refused"
    return list(exc.value.rules)


def reloaded(case: Case, definition: ProcessDefinition, org: Organisation) -> Case:
    again = load_case(dump_case(case), definition, org, clock=case.clock)
    assert case_state(again) == case_state(case)
    assert again.status == case.status and again.outcome == case.outcome
    assert ready(again) == ready(case)
    return again


# -- status and outcome ----------------------------------------------------------------------------------------
def test_a_case_runs_then_completes_and_records_its_outcome(block: ProcessDefinition, org: Organisation) -> None:
    case = new(block, org)
    assert (case.status, case.outcome) == ("running", None)
    case.complete("accept", "clerk")
    for who in ("li", "zhao", "sun"):
        case.complete("experts", who)
    case.complete("check1", "wu")
    case.complete("check2", "clerk")
    case.complete("decide", "deputy")
    assert (case.status, case.outcome) == ("completed", None)
    with pytest.raises(InvalidInputError):
        case.record_outcome("deputy", "denied")  # a refusal states its reasons (行政许可法 art. 38)
    with pytest.raises(InvalidInputError):
        case.record_outcome("deputy", "maybe", reason="?")
    case.record_outcome("deputy", "approved", basis="《行政许可法》第三十八条")
    assert (case.status, case.outcome) == ("completed", "approved")
    assert refused(case, case.record_outcome, "deputy", "denied", reason="又改了") == ["outcome"]
    assert case.trail.entries[-2]["action"] == "outcome" and case.trail.verify().ok
    reloaded(case, block, org)


# -- 撤销申请 and 终止 ----------------------------------------------------------------------------------------------
def test_withdraw_cancels_every_open_step_and_nothing_can_be_done_after(
    block: ProcessDefinition, org: Organisation
) -> None:
    case = new(block, org)
    case.complete("accept", "clerk")
    case.complete("experts", "li")
    case.withdraw("clerk", reason="申请人书面申请撤回", at="2026-06-02T10:00:00+08:00")
    assert (case.status, case.outcome) == ("withdrawn", "withdrawn")
    assert case.ready_steps() == [] and case.is_completed
    assert case.ended_at is not None and case.ended_at.date() == date(2026, 6, 2)
    assert case.alerts("2026-12-01T09:00:00+08:00") == []  # a withdrawn case gets no card, however late
    with pytest.raises(StepNotReady, match="withdrawn"):
        case.complete("check1", "wu")
    assert refused(case, case.withdraw, "clerk", reason="again") == ["case-status"]
    assert refused(case, case.terminate, "deputy", reason="x", basis="y") == ["case-status"]
    assert refused(case, case.suspend, "deputy", reason="x") == ["case-status"]
    entry = next(e for e in case.trail.entries if e["action"] == "withdraw")
    assert entry["outcome"] == "withdrawn" and entry["data"] == {"reason": "申请人书面申请撤回"}
    assert [h.step for h in case.history] == ["accept", "experts"]  # the work done stays
    again = reloaded(case, block, org)
    with pytest.raises(StepNotReady):
        again.complete("check1", "wu")


def test_terminate_needs_a_basis_and_the_unit_head(block: ProcessDefinition, org: Organisation) -> None:
    case = new(block, org)
    case.complete("accept", "clerk")
    with pytest.raises(InvalidInputError):
        case.terminate("deputy", reason="申请人死亡", basis="")
    assert refused(case, case.terminate, "clerk", reason="申请人死亡", basis="某法第X条") == ["flow-authority"]
    case.terminate("deputy", reason="申请人死亡", basis="某法第X条")
    assert (case.status, case.outcome) == ("terminated", "terminated")
    assert case.ready_steps() == []
    with pytest.raises(StepNotReady, match="terminated"):
        case.complete("check1", "wu")
    assert refused(case, case.record_outcome, "deputy", "approved") == ["case-status"]
    reloaded(case, block, org)


# -- 中止 / 恢复 ----------------------------------------------------------------------------------------------------
def test_suspend_stops_the_case_clock_and_every_completion(block: ProcessDefinition, org: Organisation) -> None:
    case = new(block, org, "2026-09-28T09:00:00+08:00")
    case.complete("accept", "clerk", at="2026-09-28T10:00:00+08:00")
    # Accepted Monday 09-28: promised 10 working days end 10-16, statutory 20 end 10-30 (docs/time.md).
    first = case.deadlines("2026-09-28T12:00:00+08:00")
    assert first is not None and first.promised is not None and first.statutory is not None
    assert (first.promised.day, first.statutory.day) == (date(2026, 10, 16), date(2026, 10, 30))
    assert refused(case, case.suspend, "clerk", reason="等待鉴定") == ["flow-authority"]
    case.suspend("deputy", reason="等待司法鉴定结论", basis="某条例第X条", at="2026-09-29T10:00:00+08:00")
    assert case.status == "suspended"
    with pytest.raises(StepNotReady, match="suspended"):
        case.complete("check1", "wu", at="2026-09-29T11:00:00+08:00")
    assert refused(case, case.return_to, "check1", "wu", to="accept", reason="x") == ["case-status"]
    # While suspended no step card: check1's 3 working days from 09-28 ended 10-09; on 10-12 it would be red.
    assert all(a.scope == "case" for a in case.alerts("2026-10-12T09:00:00+08:00"))
    again = reloaded(case, block, org)
    with pytest.raises(StepNotReady):
        again.complete("check1", "wu", at="2026-09-29T11:00:00+08:00")
    case.resume("deputy", at="2026-09-30T10:00:00+08:00")
    assert case.status == "running"
    # Suspended 09-29 to 09-30: the working days after 09-29 up to 09-30 are one (Wed 09-30), so promised moves to
    # the next working day after 10-16 (Fri): Mon 10-19; statutory from Fri 10-30 to Mon 11-02.
    moved = case.deadlines("2026-10-01T09:00:00+08:00")
    assert moved is not None and moved.promised is not None and moved.statutory is not None
    assert (moved.promised.day, moved.statutory.day) == (date(2026, 10, 19), date(2026, 11, 2))
    # check1 (3 working days, ready 09-28 10:00: 09-29, 09-30, 10-08 -> 10-08) moves one working day: 10-09.
    step = case.step_deadline("check1", case.ready_steps()[0].since)
    assert step is not None and step.day == date(2026, 10, 9)
    case.complete("check1", "wu", at="2026-10-09T17:00:00+08:00")
    assert not any(f.rule == "step-overdue" for f in case.findings)
    assert refused(case, case.resume, "deputy") == ["case-status"]
    reloaded(case, block, org)


def test_a_case_suspension_and_a_suspends_clock_step_overlapping_count_once() -> None:
    org = load_organisation(DATA / "market_bureau.yaml")
    definition = load_process(DATA / "parallel.bpmn")
    case = start_case(definition, org, clock=FakeClock("2026-09-28T09:00:00+08:00"))
    case.complete("accept", "wang", at="2026-09-28T10:00:00+08:00")  # hearing and inspection suspend from now
    case.suspend("li", reason="等待鉴定", at="2026-09-29T09:00:00+08:00")
    case.resume("li", at="2026-09-30T09:00:00+08:00")
    case.complete("hearing", "wang", at="2026-10-09T09:00:00+08:00")
    case.complete("inspection", "chen", at="2026-10-09T10:00:00+08:00")
    # The steps suspended the clock from 09-28 to 10-09, the case 09-29..09-30 inside it: counted once, the working
    # days after 09-28 up to 10-09: 09-29, 09-30, 10-08, 10-09 = 4. Promised 10-16 + 4 working days: 10-19 (Mon),
    # 10-20, 10-21, 10-22 -> 10-22; statutory 10-30 + 4: 11-02..11-05 -> 11-05.
    d = case.deadlines("2026-10-09T12:00:00+08:00")
    assert d is not None and d.promised is not None and d.statutory is not None
    assert (d.promised.day, d.statutory.day) == (date(2026, 10, 22), date(2026, 11, 5))
    assert case.time_report("2026-10-09T12:00:00+08:00").suspended == 4


# -- 撤回 --------------------------------------------------------------------------------------------------------
def test_take_back_while_the_next_step_is_untouched(block: ProcessDefinition, org: Organisation) -> None:
    case = new(block, org)
    case.complete("accept", "clerk", at="2026-06-01T10:00:00+08:00")
    case.complete("check1", "wu", data={"note": "初审通过"}, at="2026-06-02T10:00:00+08:00")
    assert refused(case, case.take_back, "check1", "clerk", reason="x") == ["take-back"]  # not who completed it
    assert refused(case, case.take_back, "accept", "clerk", reason="x") == ["take-back"]  # not the last completion
    case.take_back("check1", "wu", reason="意见写错", at="2026-06-02T11:00:00+08:00")
    assert ("check1", None, "wu") in ready(case)
    assert "note" not in case.data and [h.step for h in case.history] == ["accept"]
    check1 = next(r for r in case.ready_steps() if r.id == "check1")
    assert check1.since.isoformat() == "2026-06-01T10:00:00+08:00"  # its clock as it was: no time bought
    assert refused(case, case.complete, "check1", "clerk", at="2026-06-02T11:30:00+08:00") == ["not-assignee"]
    case.complete("check1", "wu", data={"note": "初审通过(更正)"}, at="2026-06-02T12:00:00+08:00")
    case.complete("check2", "clerk", at="2026-06-02T13:00:00+08:00")
    # the next step was acted on (check2 completed): check1 can no longer be taken back; check2 can
    assert refused(case, case.take_back, "check1", "wu", reason="x") == ["take-back"]
    case.complete("experts", "li", at="2026-06-02T14:00:00+08:00")
    assert refused(case, case.take_back, "experts", "li", reason="x") == ["take-back"]  # a signature: never
    entries = case.trail.entries
    assert [e["data"].get("note") for e in entries if e["step"] == "check1" and e["outcome"] == "completed"] == [
        "初审通过",
        "初审通过(更正)",
    ]  # the taken-back completion stays in the trail
    assert case.trail.verify().ok
    reloaded(case, block, org)


# -- 退回 --------------------------------------------------------------------------------------------------------
def test_return_inside_a_branch_resets_that_branch_only(block: ProcessDefinition, org: Organisation) -> None:
    case = new(block, org)
    case.complete("accept", "clerk")
    case.complete("experts", "li")
    case.complete("check1", "wu")
    # check2 declares returnTo="previous": check1, for wu who did it (首办负责); the 会签 round goes on.
    assert case.return_to("check2", "clerk", reason="初审意见不全") == "check1"
    assert ready(case) == [("check1", None, "wu"), ("experts", 1, "zhao"), ("experts", 2, "sun")]
    assert [h.step for h in case.history] == ["accept", "experts", "check1"]  # the history keeps the work
    assert refused(case, case.complete, "check1", "clerk") == ["not-assignee"]
    reloaded(case, block, org)


def test_return_from_a_countersign_instance_returns_the_whole_block(
    block: ProcessDefinition, org: Organisation
) -> None:
    case = new(block, org)
    case.complete("accept", "clerk")
    case.complete("experts", "li", comment="同意")
    case.complete("check1", "wu")
    assert refused(case, case.return_to, "experts", "qian", reason="x") == ["not-signer"]  # not a signer
    assert refused(case, case.return_to, "experts", "zhao", to="experts", reason="x") == ["return-target"]
    # experts declares returnTo="start": accept, before the split: both branches go back, the round is dropped.
    assert case.return_to("experts", "zhao", reason="材料不实") == "accept"
    assert ready(case) == [("accept", None, "clerk")]
    case.complete("accept", "clerk")
    assert ("experts", 0, "li") in ready(case) and ("check1", None, None) in ready(case)
    assert case.data["experts_opinions"] == []  # a new round: no opinions of the dropped one
    signed = [e for e in case.trail.entries if e["action"] == "complete" and e["step"] == "experts"]
    assert [e["actor"] for e in signed] == ["li"]  # li's opinion is kept in the trail
    reloaded(case, block, org)


def test_returns_the_block_cannot_make(block: ProcessDefinition, org: Organisation) -> None:
    case = new(block, org)
    case.complete("accept", "clerk")
    case.complete("check1", "wu")
    for who in ("li", "zhao", "sun"):
        case.complete("experts", who)
    assert refused(case, case.return_to, "check2", "clerk", to="experts", reason="x") == ["return-target"]
    assert refused(case, case.return_to, "check2", "clerk", to="nowhere", reason="x") == ["return-target"]
    assert refused(case, case.return_to, "check2", "clerk", to="decide", reason="x") == ["return-target"]
    assert refused(case, case.return_to, "check2", "li", to="check1", reason="x") == ["unauthorized"]
    with pytest.raises(StepNotReady):
        case.return_to("decide", "deputy", to="accept", reason="x")
    case.complete("check2", "clerk")
    # decide follows the join; check1 and the 会签 lie inside the joined block: refused by name
    assert refused(case, case.return_to, "decide", "deputy", to="check1", reason="x") == ["return-target"]
    assert refused(case, case.return_to, "decide", "deputy", to="experts", reason="x") == ["return-target"]
    assert refused(case, case.return_to, "decide", "deputy", reason="x") == ["return-target"]  # none declared
    # to a step before the split: the whole block again, 会签 included
    assert case.return_to("decide", "deputy", to="accept", reason="重新受理") == "accept"
    assert ready(case) == [("accept", None, "clerk")]


def test_return_restarts_the_target_clock_and_keeps_the_case_clock(block: ProcessDefinition, org: Organisation) -> None:
    case = new(block, org, "2026-09-28T09:00:00+08:00")
    case.complete("accept", "clerk", at="2026-09-28T10:00:00+08:00")
    case.complete("check1", "wu", at="2026-09-29T10:00:00+08:00")
    case.return_to("check2", "clerk", to="accept", reason="补正", at="2026-09-30T10:00:00+08:00")
    accept = case.ready_steps()[0]
    assert accept.since.isoformat() == "2026-09-30T10:00:00+08:00"  # the target's clock restarts
    case.complete("accept", "clerk", at="2026-10-08T10:00:00+08:00")
    d = case.deadlines("2026-10-08T12:00:00+08:00")
    assert d is not None and d.promised is not None
    assert d.promised.day == date(2026, 10, 16)  # no restartOnReturn: still counted from 09-28


def test_restart_on_return_restarts_the_case_clock(org: Organisation) -> None:
    text = (DATA / "flowcontrol" / "block.bpmn").read_text(encoding="utf-8")
    text = text.replace('startsAfter="accept"/>', 'startsAfter="accept" restartOnReturn="true"/>')
    definition = load_process_string(text, filename="block.bpmn")
    case = new(definition, org, "2026-09-28T09:00:00+08:00")
    case.complete("accept", "clerk", at="2026-09-28T10:00:00+08:00")
    case.complete("check1", "wu", at="2026-09-29T10:00:00+08:00")
    case.return_to("check2", "clerk", to="accept", reason="补正通知", at="2026-09-30T10:00:00+08:00")
    case.complete("accept", "clerk", at="2026-10-08T10:00:00+08:00")
    # Received again Thu 10-08 (政府信息公开条例 art. 30: the period restarts on receipt of the 补正): 10 working
    # days after 10-08: 10-09, 10-10 (Sat, a working day), 10-12..16 (5), 10-19..21 (3) -> 10-21.
    d = case.deadlines("2026-10-08T12:00:00+08:00")
    assert d is not None and d.promised is not None
    assert d.promised.day == date(2026, 10, 21)


def test_return_to_names_a_step_at_load() -> None:
    text = (DATA / "flowcontrol" / "block.bpmn").read_text(encoding="utf-8")
    with pytest.raises(UnknownReferenceError, match="returnTo"):
        load_process_string(text.replace('returnTo="previous"', 'returnTo="nowhere"'), filename="bad.bpmn")


# -- scenario actions --------------------------------------------------------------------------------------------
SCENARIO = """
process: {data}/flowcontrol/block.bpmn
org: {data}/countersign/org.yaml
start: 2026-09-28T09:00:00+08:00
data: {{applicant: 宏达公司}}
steps:
  - {{task: accept, actor: clerk, at: 2026-09-28T10:00:00+08:00}}
  - {{task: check1, actor: wu, at: 2026-09-28T11:00:00+08:00}}
  - {{action: take-back, task: check1, actor: wu, at: 2026-09-28T11:30:00+08:00, reason: 写错了}}
  - {{task: check1, actor: wu, at: 2026-09-28T12:00:00+08:00}}
  - {{action: return, task: check2, to: previous, actor: clerk, at: 2026-09-28T13:00:00+08:00, reason: 退回初审}}
  - {{action: return, task: check1, to: experts, actor: wu, at: 2026-09-28T13:30:00+08:00, reason: 另一分支}}
  - {{action: suspend, actor: deputy, at: 2026-09-29T09:00:00+08:00, reason: 等待鉴定, basis: 某条例}}
  - {{action: resume, actor: deputy, at: 2026-09-30T09:00:00+08:00}}
  - {{action: terminate, actor: clerk, at: 2026-09-30T10:00:00+08:00, reason: x, basis: y}}
  - {{action: withdraw, actor: clerk, at: 2026-09-30T11:00:00+08:00, reason: 申请人撤回}}
  - {{action: outcome, actor: deputy, at: 2026-09-30T12:00:00+08:00, outcome: approved}}
"""


def test_scenario_actions(tmp_path: Path) -> None:
    from approvalflow.testing.scenario import run_scenario

    path = tmp_path / "flow.yaml"
    path.write_text(SCENARIO.format(data=DATA.as_posix()), encoding="utf-8")
    result = run_scenario(path)
    assert [(r["step"], r.get("action"), r["rules"]) for r in result.refused] == [
        (5, "return", ["return-target"]),  # experts is on the other branch
        (8, "terminate", ["flow-authority"]),  # a clerk is not the organ's head
        (10, "outcome", ["case-status"]),  # the case was withdrawn
    ]
    assert (result.case.status, result.case.outcome) == ("withdrawn", "withdrawn")
    actions = [e["action"] for e in result.case.trail.entries if e["outcome"] != "refused"]
    assert actions == ["start", "complete", "complete", "take-back", "complete", "return", "suspend", "resume",
                       "withdraw"]  # fmt: skip


def test_validate_names_an_unknown_return_target() -> None:
    from approvalflow.validation import validate_string

    text = (DATA / "flowcontrol" / "block.bpmn").read_text(encoding="utf-8")
    found = validate_string(text.replace('returnTo="previous"', 'returnTo="nowhere"'), filename="bad.bpmn")
    assert [(f.rule, f.element) for f in found if f.rule == "unknown-step-ref"] == [("unknown-step-ref", "check2")]
    assert not [f for f in validate_string(text, filename="block.bpmn") if f.rule == "unknown-step-ref"]


def test_returns_take_backs_and_endings_drop_the_timers_of_dropped_steps() -> None:
    org = load_organisation(DATA / "market_bureau.yaml")
    definition = load_process(DATA / "timers" / "review.bpmn")  # review carries two boundary timers
    case = start_case(definition, org, clock=FakeClock("2026-06-01T09:00:00+08:00"))
    case.complete("accept", "wang", at="2026-06-01T10:00:00+08:00")
    assert {t.element for t in case.timers()} == {"remind", "overdue"}
    case.take_back("accept", "wang", reason="撤回", at="2026-06-01T10:30:00+08:00")
    assert case.timers() == [] and ready(case) == [("accept", None, "wang")]
    case.complete("accept", "wang", at="2026-06-01T11:00:00+08:00")
    case.return_to("review", "liu", to="accept", reason="退回", at="2026-06-01T11:30:00+08:00")
    assert case.timers() == [] and ready(case) == [("accept", None, "wang")]
    case.complete("accept", "wang", at="2026-06-01T12:00:00+08:00")
    # remind is PT4H from 12:00: due 16:00, started afresh with the step
    assert {(t.element, t.due.hour) for t in case.timers()} >= {("remind", 16)}
    case.withdraw("wang", reason="申请人撤回", at="2026-06-01T13:00:00+08:00")
    assert case.timers() == [] and case.waiting_for() == []
    assert case.advance("2026-07-01T09:00:00+08:00") == []  # nothing fires after the end
    again = load_case(dump_case(case), definition, org, clock=case.clock)
    assert case_state(again) == case_state(case) and case.trail.verify().ok


def test_the_last_step_taken_back_reopens_the_case(block: ProcessDefinition, org: Organisation) -> None:
    case = new(block, org)
    case.complete("accept", "clerk")
    for who in ("li", "zhao", "sun"):
        case.complete("experts", who)
    case.complete("check1", "wu")
    case.complete("check2", "clerk")
    case.complete("decide", "deputy", at="2026-06-02T09:00:00+08:00")
    assert case.status == "completed" and case.ended_at is not None
    case.take_back("decide", "deputy", reason="决定书有误", at="2026-06-02T10:00:00+08:00")
    assert case.ended_at is None
    assert (case.status, ready(case)) == ("running", [("decide", None, "deputy")])
    case.complete("decide", "deputy", at="2026-06-02T11:00:00+08:00")
    assert case.status == "completed" and case.trail.verify().ok
    reloaded(case, block, org)


def test_under_record_an_unauthorized_return_goes_through_and_is_kept(
    block: ProcessDefinition, org: Organisation
) -> None:
    case = start_case(block, org, clock=FakeClock(START), data={"applicant": "宏达公司"}, policy="record")
    case.complete("accept", "clerk")
    case.complete("check1", "wu")
    assert case.return_to("check2", "li", to="accept", reason="越权退回") == "accept"  # li is an expert, not a clerk
    assert [f.rule for f in case.findings] == ["unauthorized"]
    assert case.trail.entries[-1]["outcome"] == "returned" and case.trail.entries[-1]["findings"][0]["rule"] == (
        "unauthorized"
    )
    # the structural refusals stay refusals under record
    assert refused(case, case.return_to, "accept", "clerk", to="check2", reason="x") == ["return-target"]


@pytest.mark.parametrize(
    "flow",
    [
        [],
        {"unknown": 1},
        {"ending": {"status": "completed", "actor": "deputy", "at": START, "reason": "x", "basis": None}},
        {"ending": {"status": "withdrawn", "actor": "nobody", "at": START, "reason": "x", "basis": None}},
        {"outcome": {"outcome": "maybe", "actor": "deputy", "at": START, "reason": None, "basis": None}},
        {"suspended": 5},
        {"suspended": True},
        {"assigned": {"t": "nobody"}},
        {"last": {"step": "nowhere", "actor": "wu", "task": "t", "history": 1, "trail": 2}},
        {"last": {"step": "check1", "actor": "wu", "task": "t", "history": 1, "trail": 2, "before": {"x": 1}}},
        {"keep_clock": "yes"},
    ],
)
def test_hostile_flow_facts_are_refused(block: ProcessDefinition, org: Organisation, flow: Any) -> None:
    from approvalflow.engine.flowcontrol import FlowState

    with pytest.raises((ValueError, TypeError)):
        FlowState.from_json(flow, 1, org.people, block.steps)


def test_a_saved_case_whose_flow_facts_were_edited_is_refused(block: ProcessDefinition, org: Organisation) -> None:
    import json

    from approvalflow.errors import CaseFormatError

    case = new(block, org)
    case.complete("accept", "clerk")
    case.withdraw("clerk", reason="撤回")
    doc = json.loads(dump_case(case))
    doc["flow"]["ending"]["status"] = "terminated"  # rewriting history without the trail
    with pytest.raises(CaseFormatError):
        load_case(json.dumps(doc), block, org)


def test_a_taken_back_completion_takes_its_opinion_with_it(block: ProcessDefinition, org: Organisation) -> None:
    case = new(block, org)
    case.complete("accept", "clerk", comment="材料齐全", at="2026-06-01T10:00:00+08:00")
    case.complete("check1", "wu", opinion="同意", comment="初审通过", at="2026-06-02T10:00:00+08:00")
    case.take_back("check1", "wu", reason="意见写错", at="2026-06-02T11:00:00+08:00")
    # the opinion panel shows only opinions of completions that stand; the trail keeps the undone one
    assert [(o.step, o.text) for o in case.opinions_of()] == [("accept", "材料齐全")]
    assert any(e.get("opinion", {}).get("text") == "初审通过" for e in case.trail.entries)
    case.complete("check1", "wu", opinion="同意", comment="初审通过(更正)", at="2026-06-02T12:00:00+08:00")
    assert [o.text for o in case.opinions_of("check1")] == ["初审通过(更正)"]


def test_a_returned_step_is_its_doers_until_they_hand_it_on(block: ProcessDefinition, org: Organisation) -> None:
    # check1 (初审, posts clerk) was done by wu and taken back: it is wu's again (首办负责), held as "returned"
    case = new(block, org)
    case.complete("accept", "clerk", at="2026-06-01T10:00:00+08:00")
    case.complete("check1", "wu", at="2026-06-02T10:00:00+08:00")
    case.take_back("check1", "wu", reason="意见写错", at="2026-06-02T11:00:00+08:00")
    check1 = next(r for r in case.ready_steps() if r.id == "check1")
    assert (check1.assignee, check1.held) == ("wu", "returned")
    # clerk holds the post but may not claim what is wu's (and a claim refused changes nothing)
    before = case_state(case)
    assert refused(case, case.claim, "check1", "clerk", at="2026-06-02T11:10:00+08:00") == ["claimed"]
    assert case_state(case) == before
    # wu hands it on (转办) to clerk: clerk holds it now and completes it, with no not-assignee finding
    case.transfer("check1", "wu", "clerk", reason="外出", at="2026-06-02T11:20:00+08:00")
    check1 = next(r for r in case.ready_steps() if r.id == "check1")
    assert (check1.assignee, check1.held) == ("clerk", "transferred")
    assert refused(case, case.complete, "check1", "wu", at="2026-06-02T11:25:00+08:00") == ["claimed"]
    assert case.complete("check1", "clerk", at="2026-06-02T11:30:00+08:00") == []
    again = reloaded(case, block, org)
    assert case_state(again) == case_state(case) and case.trail.verify().ok


def test_taking_back_the_step_that_started_the_case_clock_stops_it_again() -> None:
    # general licensing: the case clock starts after 受理 (startsAfter="accept"); taking 受理 back undoes that
    from .conftest import LICENSING, MARKET_ORG

    definition, org = load_process(LICENSING), load_organisation(MARKET_ORG)
    case = start_case(definition, org, clock=FakeClock("2026-09-28T09:00:00+08:00"))
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T09:30:00+08:00")
    assert case.clock_start is None
    case.complete("accept", "wang", at="2026-09-28T10:00:00+08:00")
    assert case.clock_start is not None and case.clock_start.isoformat() == "2026-09-28T10:00:00+08:00"
    case.take_back("accept", "wang", reason="受理有误", at="2026-09-28T10:10:00+08:00")
    deadlines = case.deadlines("2026-09-28T11:00:00+08:00")
    assert case.clock_start is None and deadlines is not None
    assert (deadlines.promised, deadlines.statutory) == (None, None)  # no clock: no deadline yet
    again = reloaded(case, definition, org)
    assert again.clock_start is None
