"""Signals and messages delivered by the host (issue 16, item 3): ``case.send_signal`` and ``case.send_message``.

``tests/data/events/notice.bpmn``: after 受理 the case waits for the signal ``published`` (公告发布), then, at an
event-based gateway, for whichever comes first of the message ``reply`` (申请人答复, carrying ``agrees``) and the
signal ``withdrawn`` (撤回申请). A reply with ``agrees == True`` leads to 决定, any other reply to 说明理由; a
withdrawal ends the case.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow import (
    Case,
    FakeClock,
    StepNotReady,
    dump_case,
    load_case,
    load_organisation,
    load_process,
    load_process_string,
    start_case,
)
from approvalflow.engine.casedata import MAX_DEPTH, MAX_INT_BITS
from approvalflow.errors import InvalidInputError, UnknownActorError
from approvalflow.org.organisation import Organisation

DATA = Path(__file__).parent
BPMN = DATA / "data" / "events" / "notice.bpmn"
ORG = DATA / "data" / "cross_unit" / "org.yaml"
UNIT = "natural-resources-bureau"


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(ORG)


def accepted(org: Organisation) -> Case:
    case = start_case(load_process(BPMN), org, unit=UNIT, clock=FakeClock("2026-06-01T09:00:00+08:00"))
    case.complete("accept", "nr_qian", at="2026-06-01T10:00:00+08:00")
    return case


def state_of(case: Case) -> dict[str, Any]:
    """The saved case without its trail: what an action that is refused must leave as it was."""
    doc = json.loads(dump_case(case))
    return {k: v for k, v in doc.items() if k not in ("trail", "trail_head")}


def test_the_case_waits_for_the_signal_and_moves_when_it_comes(org: Organisation) -> None:
    case = accepted(org)
    assert case.ready_steps() == [] and not case.is_completed
    assert case.waiting_for() == [("signal", "published", "wait_published")]
    assert case.send_signal("published", actor="nr_qian", at="2026-06-02T10:00:00+08:00") == ["wait_published"]
    assert sorted(case.waiting_for()) == [("message", "reply", "wait_answer"), ("signal", "withdrawn", "wait_answer")]
    last = case.trail.entries[-1]
    assert (last["action"], last["outcome"], last["actor"], last["data"]) == (
        "signal",
        "delivered",
        "nr_qian",
        {"name": "published"},
    )


@pytest.mark.parametrize(("agrees", "next_step"), [(True, "decide"), (False, "explain")])
def test_the_messages_data_routes_the_decision(org: Organisation, agrees: bool, next_step: str) -> None:
    case = accepted(org)
    case.send_signal("published", at="2026-06-02T10:00:00+08:00")
    assert case.send_message("reply", {"agrees": agrees}, at="2026-06-03T10:00:00+08:00") == ["wait_answer"]
    assert [r.id for r in case.ready_steps()] == [next_step]
    assert case.data["agrees"] is agrees
    assert case.waiting_for() == []  # the other branch of the event-based gateway is gone
    case.complete(next_step, "nr_qian", at="2026-06-03T11:00:00+08:00")
    assert case.is_completed and case.path == ["accept", next_step]


def test_a_withdrawal_at_the_gateway_ends_the_case_at_that_moment(org: Organisation) -> None:
    case = accepted(org)
    case.send_signal("published", at="2026-06-02T10:00:00+08:00")
    case.send_signal("withdrawn", at="2026-06-04T15:00:00+08:00")
    assert case.is_completed and case.ready_steps() == [] and case.waiting_for() == []
    assert case.ended_at is not None and case.ended_at.isoformat() == "2026-06-04T15:00:00+08:00"


def test_a_signal_nothing_waits_for_is_refused_and_changes_nothing(org: Organisation) -> None:
    case = accepted(org)
    before, count = state_of(case), case.trail.count
    with pytest.raises(StepNotReady, match="waiting now: signal 'published'") as caught:
        case.send_message("reply", {"agrees": True}, at="2026-06-02T10:00:00+08:00")
    assert caught.value.ready == ["wait_published"]
    assert state_of(case) == before
    assert case.trail.count == count + 1 and case.trail.entries[-1]["outcome"] == "not-waiting"
    assert case.trail.verify().ok


def test_an_unknown_deliverer_is_refused_before_anything(org: Organisation) -> None:
    case = accepted(org)
    before, count = state_of(case), case.trail.count
    with pytest.raises(UnknownActorError):
        case.send_signal("published", actor="nobody")
    assert state_of(case) == before and case.trail.count == count


def test_a_saved_case_still_waits_and_takes_the_message_after_loading(org: Organisation) -> None:
    case = accepted(org)
    case.send_signal("published", at="2026-06-02T10:00:00+08:00")
    definition = load_process(BPMN)
    restored = load_case(dump_case(case), definition, org, clock=FakeClock("2026-06-03T09:00:00+08:00"))
    assert sorted(restored.waiting_for()) == sorted(case.waiting_for())
    restored.send_message("reply", {"agrees": True}, at="2026-06-03T10:00:00+08:00")
    assert [r.id for r in restored.ready_steps()] == ["decide"]
    again = load_case(dump_case(restored), definition, org)
    assert [r.id for r in again.ready_steps()] == ["decide"]


DELIVERIES = st.lists(
    st.tuples(st.sampled_from(["signal", "message"]), st.sampled_from(["published", "withdrawn", "reply", "other"])),
    max_size=6,
)


@settings(max_examples=40, deadline=None)
@given(deliveries=DELIVERIES, agrees=st.booleans())
def test_a_delivery_moves_the_case_exactly_when_an_event_waits_for_it(
    org: Organisation, deliveries: list[tuple[str, str]], agrees: bool
) -> None:
    case = accepted(org)
    for day, (kind, name) in enumerate(deliveries, start=2):
        waiting = {(k, n) for k, n, _e in case.waiting_for()}
        before, count = state_of(case), case.trail.count
        at = f"2026-06-{day:02d}T10:00:00+08:00"
        try:
            if kind == "signal":
                case.send_signal(name, at=at)
            else:
                case.send_message(name, {"agrees": agrees}, at=at)
        except StepNotReady:
            assert (kind, name) not in waiting
            assert state_of(case) == before and case.trail.count == count + 1
        else:
            assert (kind, name) in waiting
            assert case.trail.entries[-1]["outcome"] == "delivered"
    assert case.trail.verify().ok


RECEIVE = """<bpmn:receiveTask id="wait_published" name="公告发布" messageRef="msg_reply"/>"""
CATCH = """<bpmn:intermediateCatchEvent id="wait_published" name="公告发布">
      <bpmn:signalEventDefinition id="def_pub" signalRef="sig_published"/>
    </bpmn:intermediateCatchEvent>"""


def test_a_receive_task_waits_for_its_message(org: Organisation) -> None:
    text = BPMN.read_text(encoding="utf-8")
    assert text.count(CATCH) == 1
    definition = load_process_string(text.replace(CATCH, RECEIVE))
    case = start_case(definition, org, unit=UNIT, clock=FakeClock("2026-06-01T09:00:00+08:00"))
    case.complete("accept", "nr_qian", at="2026-06-01T10:00:00+08:00")
    assert case.ready_steps() == [] and case.waiting_for() == [("message", "reply", "wait_published")]
    with pytest.raises(StepNotReady):
        case.send_signal("published")
    assert case.send_message("reply", at="2026-06-02T10:00:00+08:00") == ["wait_published"]
    assert ("signal", "withdrawn", "wait_answer") in case.waiting_for()


BOUNDARY = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:signal id="sig_stop" name="stop"/>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="review"/>
    <bpmn:boundaryEvent id="stopped" attachedToRef="review" cancelActivity="{cancel}">
      <bpmn:signalEventDefinition id="def_stop" signalRef="sig_stop"/>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="file_away"/>
    <bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="stopped" targetRef="file_away"/>
    <bpmn:sequenceFlow id="f4" sourceRef="file_away" targetRef="e2"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize(("cancel", "ready"), [("true", ["file_away"]), ("false", ["file_away", "review"])])
def test_a_boundary_signal_interrupts_the_step_or_runs_beside_it(
    org: Organisation, cancel: str, ready: list[str]
) -> None:
    definition = load_process_string(BOUNDARY.format(cancel=cancel))
    case = start_case(definition, org, unit=UNIT, clock=FakeClock("2026-06-01T09:00:00+08:00"))
    assert [r.id for r in case.ready_steps()] == ["review"]
    assert case.waiting_for() == [("signal", "stop", "stopped")]
    case.send_signal("stop", at="2026-06-01T11:00:00+08:00")
    assert sorted(r.id for r in case.ready_steps()) == ready


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "data",
    [{"agrees": "\ud800"}, {"deep": _nested(MAX_DEPTH + 5)}, {"n": 2 ** (MAX_INT_BITS + 1)}],
    ids=["lone-surrogate", "too-deep", "huge-number"],
)
def test_hostile_message_data_is_refused_before_anything_changes(org: Organisation, data: dict[str, Any]) -> None:
    case = accepted(org)
    case.send_signal("published", at="2026-06-02T10:00:00+08:00")
    before, count = state_of(case), case.trail.count
    with pytest.raises(InvalidInputError):
        case.send_message("reply", data, at="2026-06-03T10:00:00+08:00")
    assert state_of(case) == before and case.trail.count == count
    assert sorted(case.waiting_for()) == [("message", "reply", "wait_answer"), ("signal", "withdrawn", "wait_answer")]
