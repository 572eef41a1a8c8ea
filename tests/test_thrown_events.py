"""Error, escalation and terminate events, and events thrown that nothing in the case catches (issue 16, item 3).

BPMN 2.0 (section 10.5): an error ends the activity it is thrown in and is caught by an error boundary event of
the nearest enclosing sub-process or call activity (or an error event sub-process); what follows an error nothing
catches is left unspecified, so the engine refuses the action that led to it and the case stays as it was. An
escalation is caught the same way, but one nothing catches lets the process go on. A terminate end event ends the
whole case. Signals and messages thrown with nothing in the case waiting for them are meant for the outside: the
action's trail entry records them (``thrown``), and the case still saves and loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, load_process, load_process_string, organisation_from_dict, start_case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.engine.state import case_state
from approvalflow.errors import EngineError, NotExecutableError

DATA = Path(__file__).parent / "data" / "bpmn_events"
ORG = organisation_from_dict({"units": [{"id": "u"}], "people": {"a": {"unit": "u"}, "b": {"unit": "u"}}})
START = "2026-03-02T09:00:00+08:00"


def ready(case: Any) -> list[str]:
    return sorted(s.id for s in case.ready_steps())


def new_case(name: str) -> Any:
    return start_case(load_process(DATA / name), ORG, clock=FakeClock(START))


def test_an_error_end_event_in_a_sub_process_takes_the_interrupting_error_boundary() -> None:
    case = new_case("review_errors.bpmn")
    case.complete("check", "a", data={"verdict": "reject"})
    assert ready(case) == ["refuse"]  # the sub-process is left by its error boundary, not by its normal flow
    case.complete("refuse", "b")
    assert case.is_completed and case.path == ["check", "refuse"]
    assert case.trail.verify().ok


def test_an_escalation_takes_the_non_interrupting_boundary_and_the_sub_process_goes_on() -> None:
    case = new_case("review_errors.bpmn")
    case.complete("check", "a", data={"verdict": "late"})
    assert ready(case) == ["approve", "remind"]  # both: the boundary does not interrupt
    case.complete("remind", "b")
    case.complete("approve", "b")
    assert case.is_completed and sorted(case.path) == ["approve", "check", "remind"]


def test_the_normal_way_out_of_the_sub_process_takes_neither_boundary() -> None:
    case = new_case("review_errors.bpmn")
    case.complete("check", "a", data={"verdict": "ok"})
    assert ready(case) == ["approve"]
    assert "thrown" not in case.trail.entries[-1]


def test_an_error_of_a_called_process_is_caught_at_the_call_activity() -> None:
    case = new_case("call_error.bpmn")
    case.complete("check", "a", data={"complete": False})
    assert ready(case) == ["notify"]
    case.complete("notify", "b")
    assert case.is_completed and case.path == ["check", "notify"]


def test_an_escalation_and_a_signal_nothing_catches_are_recorded_and_the_case_saves_and_loads() -> None:
    case = new_case("call_error.bpmn")
    case.complete("check", "a", data={"complete": True})
    # the called process threw escalation 'note' (code NOTE): nothing catches it, so the process went on
    assert ready(case) == ["decide"]
    assert case.trail.entries[-1]["thrown"] == [{"kind": "escalation", "name": "note", "code": "NOTE"}]
    case.complete("decide", "b")
    assert case.is_completed
    assert case.trail.entries[-1]["thrown"] == [{"kind": "signal", "name": "published", "code": None}]
    # SpiffWorkflow keeps uncaught events on the workflow; a saved case holding them could not be loaded again
    again = load_case(dump_case(case), case.definition, ORG)
    assert again.is_completed and again.trail.verify().ok and case_state(again) == case_state(case)


def test_an_error_nothing_catches_is_refused_and_changes_nothing() -> None:
    case = new_case("terminate_or_throw.bpmn")
    before, entries = case_state(case), len(case.trail.entries)
    with pytest.raises(EngineError, match=r"error 'x' \(code X\) and nothing in the case catches it"):
        case.complete("a", "a", data={"v": "boom"})
    assert case_state(case) == before
    assert len(case.trail.entries) == entries + 1 and case.trail.entries[-1]["outcome"] == "engine-error"
    case.complete("a", "a", data={"v": "none"})  # another way still goes
    assert ready(case) == ["b"]


def test_a_terminate_end_event_ends_the_whole_case() -> None:
    case = new_case("terminate_or_throw.bpmn")
    assert ready(case) == ["a", "b"]
    case.complete("a", "a", data={"v": "stop"}, at="2026-03-02T10:00:00+08:00")
    assert case.is_completed and ready(case) == []  # 'b' of the other branch is cancelled
    assert case.ended_at is not None and case.ended_at.isoformat() == "2026-03-02T10:00:00+08:00"


def test_a_case_whose_start_throws_an_error_nothing_catches_does_not_start() -> None:
    text = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">
<bpmn:error id="E" name="bad" errorCode="BAD"/>
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="s"/><bpmn:endEvent id="e"><bpmn:errorEventDefinition errorRef="E"/></bpmn:endEvent>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>
</bpmn:process></bpmn:definitions>"""
    with pytest.raises(EngineError, match="error 'bad'"):
        start_case(load_process_string(text, filename="bad.bpmn"), ORG, clock=FakeClock(START))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["boom", "none", "stop", "boom"]), min_size=1, max_size=4))
def test_each_action_either_moves_the_case_or_changes_nothing(choices: list[str]) -> None:
    """Property: over any sequence of attempts, an attempt that fails leaves the state as it was, and the trail
    still verifies; the case ends only by the terminate end event or both branches."""
    case = new_case("terminate_or_throw.bpmn")
    for v in choices:
        if "a" not in ready(case):
            break
        before = case_state(case)
        try:
            case.complete("a", "a", data={"v": v})
        except EngineError:
            assert v == "boom" and case_state(case) == before
        else:
            assert v != "boom"
            assert case.is_completed == (v == "stop")
        assert case.trail.verify().ok


# -- validate: uncaught-error -----------------------------------------------------------------------------------
def sub_with_error(boundary: str, errors: str = '<bpmn:error id="E" errorCode="A"/><bpmn:error id="F" errorCode="B"/>',
                   inside: str = "") -> str:  # fmt: skip
    """A process with a sub-process whose end event throws error E (code A), and ``boundary`` on the sub-process."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">
{errors}
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="s"/>
<bpmn:subProcess id="sub">
  <bpmn:startEvent id="ss"/>
  <bpmn:endEvent id="throw"><bpmn:errorEventDefinition errorRef="E"/></bpmn:endEvent>
  <bpmn:sequenceFlow id="sf" sourceRef="ss" targetRef="throw"/>
  {inside}
</bpmn:subProcess>
{boundary}
<bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/>
<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="e"/>
</bpmn:process></bpmn:definitions>"""


def uncaught(text: str) -> list[str | None]:
    from approvalflow.validation import validate_string

    return [f.element for f in validate_string(text, filename="x.bpmn") if f.rule == "uncaught-error"]


def boundary(ref: str) -> str:
    return (
        f'<bpmn:boundaryEvent id="b" attachedToRef="sub"><bpmn:errorEventDefinition {ref}/></bpmn:boundaryEvent>'
        '<bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="e2"/>'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (sub_with_error(""), ["throw"]),  # nothing catches it
        (sub_with_error(boundary('errorRef="E"')), []),  # the same error
        (sub_with_error(boundary('errorRef="F"')), ["throw"]),  # another code: not caught
        (sub_with_error(boundary("")), []),  # a boundary without an error catches every error
        (
            sub_with_error(
                "",
                inside='<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="es">'
                '<bpmn:errorEventDefinition errorRef="E"/></bpmn:startEvent><bpmn:endEvent id="ee"/>'
                '<bpmn:sequenceFlow id="esf" sourceRef="es" targetRef="ee"/></bpmn:subProcess>',
            ),
            ["throw", "es"],  # an error event sub-process: never started by the engine (next test), so reported
        ),
    ],
)
def test_validate_warns_of_an_error_end_event_nothing_in_the_file_catches(text: str, expected: list[str]) -> None:
    assert uncaught(text) == expected


def test_an_error_event_sub_process_is_refused_at_load() -> None:
    """SpiffWorkflow 3.2 never starts an error event sub-process for an error thrown inside the case (and would not
    interrupt the process if it did): an event sub-process started by an error is interrupting, so the loader
    refuses it by name; validate also reports it under uncaught-error (test above)."""
    esp = (
        '<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="es"><bpmn:errorEventDefinition '
        'errorRef="E"/></bpmn:startEvent><bpmn:userTask id="handle"/><bpmn:endEvent id="ee"/><bpmn:sequenceFlow '
        'id="esf" sourceRef="es" targetRef="handle"/><bpmn:sequenceFlow id="esf2" sourceRef="handle" targetRef="ee"/>'
        "</bpmn:subProcess>"
    )
    for text in (sub_with_error("", inside=esp), sub_with_error(esp)):  # inside the sub-process, at process level
        with pytest.raises(NotExecutableError, match="interrupting event sub-process") as info:
            load_process_string(text, filename="x.bpmn")
        assert info.value.element == "esp"


def test_the_engine_catches_by_code_as_validate_says() -> None:
    assert start_case(load_process_string(sub_with_error(boundary('errorRef="E"')), filename="x.bpmn"), ORG,
                      clock=FakeClock(START)).is_completed  # fmt: skip
    assert start_case(load_process_string(sub_with_error(boundary("")), filename="x.bpmn"), ORG,
                      clock=FakeClock(START)).is_completed  # fmt: skip
    with pytest.raises(EngineError, match="code A"):
        start_case(load_process_string(sub_with_error(boundary('errorRef="F"')), filename="x.bpmn"), ORG,
                   clock=FakeClock(START))  # fmt: skip


def test_validate_follows_an_error_out_of_a_called_process_to_the_call_activity() -> None:
    assert uncaught((DATA / "call_error.bpmn").read_text(encoding="utf-8")) == []
    assert uncaught((DATA / "terminate_or_throw.bpmn").read_text(encoding="utf-8")) == ["boom"]


# -- event sub-processes ----------------------------------------------------------------------------------------
def test_a_non_interrupting_event_sub_process_is_started_by_the_host_and_the_process_goes_on() -> None:
    case = new_case("withdraw_notice.bpmn")
    assert ready(case) == ["a"] and case.waiting_for() == [("signal", "withdraw", "es")]
    assert case.send_signal("withdraw", at="2026-03-02T10:00:00+08:00") == ["es"]
    assert ready(case) == ["a", "b"]  # the notice beside the main step, which is not interrupted
    assert case.trail.entries[-1]["action"] == "signal" and case.trail.entries[-1]["outcome"] == "delivered"
    again = load_case(dump_case(case), case.definition, ORG)
    assert ready(again) == ["a", "b"]
    again.complete("b", "b", at="2026-03-02T11:00:00+08:00")
    assert not again.is_completed  # the main flow is still open
    again.complete("a", "a", at="2026-03-02T12:00:00+08:00")
    assert again.is_completed and again.waiting_for() == []


def test_a_process_whose_event_sub_process_never_starts_ends_with_its_main_flow() -> None:
    case = new_case("withdraw_notice.bpmn")
    case.complete("a", "a")
    assert case.is_completed and case.waiting_for() == []


def test_an_interrupting_event_sub_process_ends_the_rest_of_the_process() -> None:
    """SpiffWorkflow 3.2 starts an interrupting event sub-process beside the process and interrupts nothing; the
    engine cancels the process's other work itself (more in tests/test_interrupting_event_subprocess.py)."""
    text = (
        (DATA / "withdraw_notice.bpmn")
        .read_text(encoding="utf-8")
        .replace('isInterrupting="false"', 'isInterrupting="true"')
    )
    for variant in (text, text.replace(' isInterrupting="true"', "")):  # BPMN's default is interrupting
        definition = load_process_string(variant, filename="w.bpmn")
        assert definition.interrupting == {"esp"}
        case = start_case(definition, ORG, clock=FakeClock(START))
        case.send_signal("withdraw", at="2026-03-02T10:00:00+08:00")
        assert ready(case) == ["b"]  # the main step 'a' is cancelled
        case.complete("b", "b", at="2026-03-02T11:00:00+08:00")
        assert case.is_completed and case.path == ["b"]


def test_a_definition_shared_by_cases_is_not_changed_by_one_case_starting_its_event_sub_process() -> None:
    """SpiffWorkflow connected a started event sub-process to the process's start in the specification every case
    of a loaded definition shares: later cases then waited on it from their start and never completed."""
    definition = load_process(DATA / "withdraw_notice.bpmn")
    first = start_case(definition, ORG, clock=FakeClock(START))
    first.send_signal("withdraw", at="2026-03-02T10:00:00+08:00")
    second = start_case(definition, ORG, clock=FakeClock(START))
    assert ready(second) == ["a"] and second.waiting_for() == [("signal", "withdraw", "es")]
    second.complete("a", "a", at="2026-03-02T11:00:00+08:00")
    assert second.is_completed and second.waiting_for() == []
