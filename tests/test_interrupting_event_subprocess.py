"""Interrupting event sub-processes (issue 16): the engine ends the rest of the process when one starts.

SpiffWorkflow 3.2 starts an event sub-process beside the process whatever ``isInterrupting`` says; approvalflow
cancels the process's other open work itself (``_spiff.interrupt_for_event_subprocesses``). Process:
``tests/data/bpmn_events/withdraw_interrupts.bpmn`` (受理, then 审查 with a one-day reminder timer beside 听证, which
stops the case clock; a message "withdraw" starts 撤回, a signal "recall" thrown after 审查 starts 召回, both
interrupting) with ``tests/data/market_bureau.yaml``. Dates are worked out on the 2026 calendar.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.bpmn.loader import load_process_string
from approvalflow.engine.case import Case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.engine.state import case_state
from approvalflow.errors import NotExecutableError, StepNotReady
from approvalflow.validation import validate_string

DATA = Path(__file__).parent / "data"
PROCESS = load_process(DATA / "bpmn_events" / "withdraw_interrupts.bpmn")
ORG = load_organisation(DATA / "market_bureau.yaml")
START = "2026-09-28T09:00:00+08:00"  # Monday


def new() -> Case:
    case = start_case(PROCESS, ORG, clock=FakeClock(START), data={"recall": False})
    case.complete("accept", "wang", at="2026-09-28T10:00:00+08:00")
    return case


def ready(case: Case) -> list[str]:
    return sorted(r.id for r in case.ready_steps())


def test_a_delivered_message_ends_the_rest_of_the_process() -> None:
    case = new()
    assert ready(case) == ["hearing", "review"] and [t.element for t in case.timers()] == ["remind"]
    case.claim("review", "liu", at="2026-09-28T11:00:00+08:00")
    assert case.send_message("withdraw", at="2026-09-28T15:00:00+08:00") == ["withdraw_start"]
    # 审查 (claimed), 听证 and the reminder are gone; only 登记撤回 is left, and nothing else waits
    assert ready(case) == ["register"] and case.timers() == [] and case.waiting_for() == []
    assert case._holdings == {}
    entry = case.trail.entries[-1]
    assert (entry["action"], entry["outcome"], entry["interrupted"]) == ("message", "delivered", ["withdrawal"])
    # 听证 stopped the case clock from 10:00; the interruption closed that suspension at 15:00 the same day, so no
    # working day is removed (a suspension removes the days after its start's date up to its end's date) and the
    # deadlines are those of 28 September: 10 working days end on 16 October, 20 on 30 October
    [suspension] = case.suspensions
    assert suspension.end is not None and suspension.end.isoformat() == "2026-09-28T15:00:00+08:00"
    deadlines = case.deadlines("2026-09-29T09:00:00+08:00")
    assert deadlines is not None and str(deadlines).startswith("promised 2026-10-16, statutory 2026-10-30")
    again = load_case(dump_case(case), PROCESS, ORG)
    assert case_state(again) == case_state(case) and ready(again) == ["register"]
    with pytest.raises(StepNotReady):  # the interrupted steps cannot be completed
        again.complete("review", "liu", at="2026-09-28T16:00:00+08:00")
    again.complete("register", "wang", at="2026-09-28T16:00:00+08:00")
    assert again.is_completed and again.path == ["accept", "register"] and again.trail.verify().ok


def test_a_signal_thrown_inside_the_case_interrupts_too() -> None:
    case = new()
    case.complete("review", "liu", data={"recall": True}, at="2026-09-28T11:00:00+08:00")
    assert ready(case) == ["notify"] and case.waiting_for() == []  # 听证 cancelled, 撤回 no longer possible
    with pytest.raises(StepNotReady):
        case.send_message("withdraw", at="2026-09-28T12:00:00+08:00")
    case.complete("notify", "wang", at="2026-09-28T13:00:00+08:00")
    assert case.is_completed and case.path == ["accept", "review", "notify"]


def test_without_the_event_the_process_runs_as_drawn() -> None:
    case = new()
    case.complete("review", "liu", at="2026-09-28T11:00:00+08:00")
    case.complete("hearing", "wang", at="2026-09-28T12:00:00+08:00")
    case.complete("decide", "li", at="2026-09-28T13:00:00+08:00")
    assert case.is_completed and case.path == ["accept", "review", "hearing", "decide"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(done=st.lists(st.sampled_from(["review", "hearing", "decide"]), max_size=3, unique=True))
def test_whatever_was_done_the_withdrawal_leaves_only_its_own_step(done: list[str]) -> None:
    case = new()
    for n, step in enumerate(done):
        if step in ready(case):
            who = {"review": "liu", "hearing": "wang", "decide": "li"}[step]
            case.complete(step, who, at=f"2026-09-28T1{n + 1}:00:00+08:00")
    if case.is_completed:  # decided before anyone withdrew: nothing waits for the message
        assert case.waiting_for() == []
        return
    case.send_message("withdraw", at="2026-09-28T15:00:00+08:00")
    assert ready(case) == ["register"] and case.timers() == [] and case.waiting_for() == []
    assert all(s.end is not None for s in case.suspensions) and case.trail.verify().ok
    case.complete("register", "wang", at="2026-09-28T16:00:00+08:00")
    assert case.is_completed


def _with_start(event: str, *, where: str = "process") -> str:
    esp = (
        f'<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="es">{event}</bpmn:startEvent>'
        '<bpmn:userTask id="h"/><bpmn:endEvent id="ee"/><bpmn:sequenceFlow id="e1" sourceRef="es" targetRef="h"/>'
        '<bpmn:sequenceFlow id="e2" sourceRef="h" targetRef="ee"/></bpmn:subProcess>'
    )
    inner = esp if where == "sub" else ""
    outer = esp if where == "process" else ""
    return (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">'
        '<bpmn:message id="M" name="m"/><bpmn:error id="E" errorCode="e"/><bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="s"/><bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/><bpmn:userTask id="a"/>'
        '<bpmn:endEvent id="se"/><bpmn:sequenceFlow id="g1" sourceRef="ss" targetRef="a"/>'
        f'<bpmn:sequenceFlow id="g2" sourceRef="a" targetRef="se"/>{inner}</bpmn:subProcess><bpmn:endEvent id="x"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/><bpmn:sequenceFlow id="f2" sourceRef="sub" '
        f'targetRef="x"/>{outer}</bpmn:process></bpmn:definitions>'
    )


MESSAGE = '<bpmn:messageEventDefinition messageRef="M"/>'


def test_what_the_engine_cannot_start_is_still_refused_by_name() -> None:
    assert load_process_string(_with_start(MESSAGE), filename="x.bpmn").interrupting == {"esp"}
    for text in (_with_start(MESSAGE, where="sub"), _with_start('<bpmn:errorEventDefinition errorRef="E"/>')):
        with pytest.raises(NotExecutableError, match="interrupting event sub-process") as info:
            load_process_string(text, filename="x.bpmn")
        assert info.value.element == "esp"
        assert [f.element for f in validate_string(text, filename="x.bpmn") if f.rule == "not-executable"] == ["esp"]
    # a message-started one interrupts the embedded sub-process's step as well (the whole process is its scope)
    case = start_case(load_process_string(_with_start(MESSAGE), filename="x.bpmn"), ORG, clock=FakeClock(START))
    assert ready(case) == ["a"]
    case.send_message("m", at="2026-09-28T10:00:00+08:00")
    assert ready(case) == ["h"]
    case.complete("h", "wang", at="2026-09-28T11:00:00+08:00")
    assert case.is_completed


def _lapse(interrupting: bool) -> Case:
    text = (DATA / "bpmn_events" / "lapse_timer.bpmn").read_text(encoding="utf-8")
    definition = load_process_string(text.replace("INTERRUPT", str(interrupting).lower()), filename="lapse.bpmn")
    return start_case(definition, ORG, clock=FakeClock(START))


def test_a_timer_started_event_sub_process_fires_on_the_case_clock_and_interrupts() -> None:
    # 5 working days after Monday 28 September 2026: 29, 30 September, then (National Day 1-7 October) 8, 9 and the
    # working Saturday 10 October; the period ends when 10 October ends, so the timer is due at 11 October 00:00
    case = _lapse(True)
    assert [(t.element, t.due.isoformat()) for t in case.timers()] == [("lapse_start", "2026-10-11T00:00:00+08:00")]
    assert case.advance("2026-10-10T23:59:00+08:00") == [] and ready(case) == ["review"]
    again = load_case(dump_case(case), case.definition, ORG)  # a saved case waits on the same timer
    assert [t.due for t in again.timers()] == [t.due for t in case.timers()]
    [fired] = again.advance("2026-10-11T00:00:00+08:00")
    assert fired.element == "lapse_start" and ready(again) == ["escalate"]  # the review is cancelled
    again.complete("escalate", "li", at="2026-10-12T09:00:00+08:00")
    assert again.is_completed and again.path == ["escalate"]


def test_a_non_interrupting_one_runs_beside_and_the_process_ends_without_it_if_done_first() -> None:
    beside = _lapse(False)
    beside.advance("2026-10-11T00:00:00+08:00")
    assert ready(beside) == ["escalate", "review"]
    beside.complete("review", "liu", at="2026-10-12T09:00:00+08:00")
    assert not beside.is_completed  # the escalation still runs
    beside.complete("escalate", "li", at="2026-10-12T10:00:00+08:00")
    assert beside.is_completed
    for interrupting in (True, False):  # the review done before the lapse: the case ends, the timer with it
        early = _lapse(interrupting)
        early.complete("review", "liu", at="2026-09-29T09:00:00+08:00")
        assert early.is_completed and early.timers() == [] and early.waiting_for() == []


def test_a_timer_started_event_sub_process_inside_a_sub_process_is_refused_by_name() -> None:
    text = _with_start('<bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration>'
                       "</bpmn:timerEventDefinition>", where="sub")  # fmt: skip
    with pytest.raises(NotExecutableError, match="started by a timer is run only directly") as info:
        load_process_string(text, filename="x.bpmn")
    assert info.value.element == "es"
