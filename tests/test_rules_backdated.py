"""``backdated`` (倒签): a completion dated before its step became ready or before the case's last completion.

Backdating would hide ``case-overdue`` (a late case dated back within its limit) and reorder the audit trail, so
the engine refuses it under ``enforce`` and records it under ``record``; ``log check`` reports it for events of
another system whose timestamps go backwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, load_process, load_process_string, organisation_from_dict, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine import Policy
from approvalflow.engine.case import Case
from approvalflow.rules.findings import Finding
from approvalflow.supervision.conformance import check_trace
from approvalflow.supervision.eventlog import LogEvent, Trace

from .conftest import DATA

START = datetime.fromisoformat("2026-11-02T09:00:00+08:00")  # a Monday
ORG = organisation_from_dict(
    {
        "units": [{"id": "u"}],
        "people": {p: {"unit": "u", "posts": ["clerk"]} for p in ("a", "b", "c")},
    }
)


@pytest.fixture(scope="module")
def parallel() -> ProcessDefinition:
    return load_process(DATA / "parallel.bpmn")


def new_case(parallel: ProcessDefinition, policy: Policy = Policy.ENFORCE) -> Case:
    return start_case(parallel, ORG, clock=FakeClock(START), policy=policy)


def snapshot(case: Case) -> tuple[Any, ...]:
    return (
        [(r.id, r.since) for r in case.ready_steps()],
        list(case.history),
        dict(case.data),
        list(case.findings),
        case.clock_start,
        list(case.suspensions),
    )


def findings_of(error: StepRefused) -> list[Finding]:
    """The findings of a refusal, as :class:`Finding` (``errors.py``, the bottom layer, types them ``object``)."""
    assert all(isinstance(f, Finding) for f in error.findings)
    return [f for f in error.findings if isinstance(f, Finding)]


def refused(case: Case, step: str, actor: str, at: datetime) -> StepRefused:
    before = snapshot(case)
    with pytest.raises(StepRefused) as exc:
        case.complete(step, actor, at=at)
    assert snapshot(case) == before
    return exc.value


H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.mark.parametrize("early", [timedelta(seconds=1), H, D, 400 * D])
def test_a_first_step_dated_before_the_case_started_is_refused(parallel: ProcessDefinition, early: timedelta) -> None:
    case = new_case(parallel)
    exc = refused(case, "accept", "a", START - early)
    assert exc.rules == ["backdated"]
    assert "before it became ready" in findings_of(exc)[0].message


@pytest.mark.parametrize("early", [timedelta(seconds=1), H, 3 * D])
def test_a_step_dated_before_it_became_ready_is_refused(parallel: ProcessDefinition, early: timedelta) -> None:
    case = new_case(parallel)
    case.complete("accept", "a", at=START + D)
    assert refused(case, "hearing", "b", START + D - early).rules == ["backdated"]


def test_a_step_dated_before_the_last_completion_is_refused(parallel: ProcessDefinition) -> None:
    case = new_case(parallel)
    case.complete("accept", "a", at=START + H)
    case.complete("hearing", "b", at=START + 5 * D)
    # inspection became ready with the hearing (START + H) but is dated before the hearing's completion
    exc = refused(case, "inspection", "b", START + 2 * D)
    assert exc.rules == ["backdated"]
    assert "'hearing'" in findings_of(exc)[0].message


def test_the_same_moment_is_not_backdated(parallel: ProcessDefinition) -> None:
    case = new_case(parallel)
    assert case.complete("accept", "a", at=START) == []
    assert case.complete("hearing", "b", at=START) == []
    assert case.complete("inspection", "b", at=START) == []


@pytest.mark.parametrize(
    "moments",
    [
        (-H, H, 2 * H),  # before the start
        (H, 0 * H, 2 * H),  # before accept
        (H, 3 * H, 2 * H),  # before the hearing
    ],
)
def test_under_record_a_backdated_completion_is_a_finding(
    parallel: ProcessDefinition, moments: tuple[timedelta, ...]
) -> None:
    case = new_case(parallel, Policy.RECORD)
    found = []
    for step, actor, offset in zip(("accept", "hearing", "inspection"), "abb", moments, strict=True):
        found += case.complete(step, actor, at=START + offset)
    assert [f.rule for f in found] == ["backdated"]


TWO_STEPS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"
                  id="d" targetNamespace="urn:test">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:extensionElements><af:timeLimit statutory="5" promised="2"/></bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="first"><bpmn:extensionElements><af:step posts="clerk"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="last"><bpmn:extensionElements><af:step posts="clerk"/></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="last"/>
    <bpmn:sequenceFlow id="f3" sourceRef="last" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("policy", [Policy.ENFORCE, Policy.RECORD])
def test_backdating_cannot_hide_case_overdue(policy: Policy) -> None:
    """A case whose steps ran late cannot be closed with a date inside its limit (2 working days here)."""
    definition = load_process_string(TWO_STEPS)
    case = start_case(definition, ORG, clock=FakeClock(START), policy=policy)
    case.complete("first", "a", at=START + 9 * D)  # late already
    if policy is Policy.ENFORCE:
        assert refused(case, "last", "b", START + D).rules == ["backdated"]
        assert not case.is_completed
        assert "case-overdue" in [f.rule for f in case.complete("last", "b", at=START + 9 * D + H)]
    else:
        found = [f.rule for f in case.complete("last", "b", at=START + D)]
        assert "backdated" in found


@settings(max_examples=60, deadline=None)
@given(st.integers(-10_000, 10_000), st.integers(0, 10_000), st.integers(-10_000, 10_000))
def test_backdated_exactly_when_earlier_than_ready_or_last(first: int, second: int, third: int) -> None:
    parallel = load_process(DATA / "parallel.bpmn")
    case = new_case(parallel, Policy.RECORD)
    t1, t2, t3 = (START + timedelta(minutes=m) for m in (first, first + second, first + third))
    rules = [f.rule for f in case.complete("accept", "a", at=t1)]
    assert ("backdated" in rules) == (t1 < START)
    ready = case.history[-1].at
    rules = [f.rule for f in case.complete("hearing", "b", at=t2)]
    assert ("backdated" in rules) == (t2 < ready)
    rules = [f.rule for f in case.complete("inspection", "b", at=t3)]
    assert ("backdated" in rules) == (t3 < ready or t3 < t2)


# -- log check --------------------------------------------------------------------------------------------------
def log(*events: tuple[str, str, timedelta]) -> Trace:
    return Trace("c1", [LogEvent(step, START + offset, resource=who, unit="u") for step, who, offset in events])


def backdated_events(trace: Trace, parallel: ProcessDefinition) -> list[tuple[str | None, str | None]]:
    result = check_trace(trace, parallel, ORG)
    return [(f.step, f.actor) for f in result.findings if f.rule == "backdated"]


def test_log_check_passes_a_trace_in_time_order(parallel: ProcessDefinition) -> None:
    trace = log(("accept", "a", H), ("hearing", "b", 2 * H), ("inspection", "b", 3 * H), ("decide", "c", 4 * H))
    assert backdated_events(trace, parallel) == []


def test_log_check_reports_a_timestamp_going_backwards(parallel: ProcessDefinition) -> None:
    trace = log(("accept", "a", H), ("hearing", "b", 5 * H), ("inspection", "b", 3 * H), ("decide", "c", 6 * H))
    assert backdated_events(trace, parallel) == [("inspection", "b")]


def test_log_check_reports_an_event_before_its_step_was_ready(parallel: ProcessDefinition) -> None:
    trace = log(("accept", "a", 5 * H), ("hearing", "b", 2 * H), ("inspection", "b", 6 * H), ("decide", "c", 7 * H))
    assert backdated_events(trace, parallel) == [("hearing", "b")]


def test_log_check_reports_an_event_before_the_case_started(parallel: ProcessDefinition) -> None:
    # the case starts at the first event's moment; a later event dated before it is backdated
    trace = log(("accept", "a", 5 * H), ("hearing", "b", 6 * H), ("inspection", "b", 7 * H), ("decide", "c", -D))
    assert backdated_events(trace, parallel) == [("decide", "c")]
