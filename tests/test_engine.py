"""The engine: ready steps, every run-time rule, enforce and record, loops, errors that change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepNotReady, StepRefused, load_process, organisation_from_dict, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine import Policy, case_state
from approvalflow.engine.case import Case
from approvalflow.errors import EngineError, LoopLimitError, MeetingRecordError, UnknownActorError
from approvalflow.org.organisation import Organisation

from .conftest import DATA

APPLICANT = {"applicant": "某餐饮有限公司"}


def licensing_case(licensing: ProcessDefinition, org: Organisation, clock: FakeClock, **kw: Any) -> Case:
    return start_case(licensing, org, clock=clock, data=kw.pop("data", APPLICANT), **kw)


def to_review(case: Case, acceptor: str = "wang") -> None:
    case.complete("receive", acceptor, data={"materials_complete": True})
    case.complete("accept", acceptor)


def refused(case: Case, step: str, actor: str, **kw: Any) -> list[str]:
    with pytest.raises(StepRefused) as info:
        case.complete(step, actor, **kw)
    assert info.value.case == case.id and info.value.step == step and info.value.actor == actor
    return info.value.rules


def test_ready_steps_name_posts_and_lane(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock)
    [ready] = case.ready_steps()
    assert (ready.id, ready.name, ready.posts, ready.lane) == ("receive", "收件", ("clerk",), "政务服务窗口")
    assert ready.since == clock.now()


def test_clean_path_with_correction_loop(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock)
    case.complete("receive", "wang", data={"materials_complete": False})
    assert [s.id for s in case.ready_steps()] == ["notify_correction"]
    case.complete("notify_correction", "wang")
    to_review(case)
    case.complete("review", "liu", data={"needs_extension": True})
    case.complete("extend", "zhang")  # the head approves the extension (行政许可法 art. 42)
    case.complete("decide", "li")
    case.complete("deliver", "chen")
    assert case.path == [
        "receive",
        "notify_correction",
        "receive",
        "accept",
        "review",
        "extend",
        "decide",
        "deliver",
    ]
    assert case.is_completed and case.findings == []


def test_unauthorized(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock)
    assert refused(case, "receive", "liu", data={"materials_complete": True}) == ["unauthorized"]


def test_five_not_direct(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock)
    to_review(case)
    case.complete("review", "liu", data={"needs_extension": False})
    rules = refused(case, "decide", "zhang")
    assert "five-not-direct" in rules
    case.complete("decide", "li")


def test_five_not_direct_alone_when_the_principal_holds_the_post(
    licensing: ProcessDefinition, clock: FakeClock
) -> None:
    org = organisation_from_dict(
        {
            "units": [{"id": "u", "principal": "boss", "deputies": {"dep": ["approval"]}}],
            "people": {
                "boss": {"unit": "u", "posts": ["deputy"]},
                "dep": {"unit": "u", "posts": ["deputy"]},
                "c1": {"unit": "u", "posts": ["clerk"]},
                "r": {"unit": "u", "posts": ["reviewer"]},
            },
        }
    )
    case = start_case(licensing, org, clock=clock, data=APPLICANT)
    case.complete("receive", "c1", data={"materials_complete": True})
    case.complete("accept", "c1")
    case.complete("review", "r", data={"needs_extension": False})
    assert refused(case, "decide", "boss") == ["five-not-direct"]


def test_separate_actors(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock)
    to_review(case, acceptor="zhou")  # zhou is clerk and reviewer
    assert refused(case, "review", "zhou", data={"needs_extension": False}) == ["separate-actors"]
    case.complete("review", "liu", data={"needs_extension": False})


def test_recusal(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(
        licensing, org, clock, data={"applicant": "某餐饮有限公司", "parties": ["某建筑工程有限公司"]}
    )
    to_review(case)
    assert refused(case, "review", "liu", data={"needs_extension": False}) == ["recusal"]


def test_once(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock)
    case.complete("receive", "wang", data={"materials_complete": False})
    case.complete("notify_correction", "wang")
    case.complete("receive", "wang", data={"materials_complete": False})
    assert refused(case, "notify_correction", "chen") == ["once"]


def meeting_case(
    meeting_process: ProcessDefinition, meeting_org: Organisation, clock: FakeClock, policy: Policy = Policy.ENFORCE
) -> Case:
    return start_case(meeting_process, meeting_org, clock=clock, policy=policy)


GOOD_MEETING = {
    "members": ["boss", "dep1", "dep2"],
    "present": ["boss", "dep1", "dep2"],
    "votes": [["dep1", "for"], ["dep2", "against"], ["boss", "for"]],
}


def test_precedence(meeting_process: ProcessDefinition, meeting_org: Organisation, clock: FakeClock) -> None:
    case = meeting_case(meeting_process, meeting_org, clock)
    case.complete("prepare", "clerk1", data={"review": False})
    # the meeting is ready (the review was skipped) but it requires the legality review
    rules = refused(case, "meeting", "boss", meeting=GOOD_MEETING)
    assert rules == ["precedence"]


def test_collective_rules_and_outcome(
    meeting_process: ProcessDefinition, meeting_org: Organisation, clock: FakeClock
) -> None:
    case = meeting_case(meeting_process, meeting_org, clock)
    case.complete("prepare", "clerk1", data={"review": True})
    case.complete("legality_review", "lawyer")
    # only 1 of 3 attended: quorum 2/3 broken
    thin = {"members": ["boss", "dep1", "dep2"], "present": ["boss"], "votes": [["boss", "for"]]}
    assert refused(case, "meeting", "boss", meeting=thin) == ["quorum"]
    # the principal spoke first (定调): last-speaker broken
    early = {**GOOD_MEETING, "votes": [["boss", "for"], ["dep1", "for"], ["dep2", "for"]]}
    assert refused(case, "meeting", "boss", meeting=early) == ["last-speaker"]
    # no record at all
    assert refused(case, "meeting", "boss") == ["quorum"]
    case.complete("meeting", "boss", meeting=GOOD_MEETING)
    assert case.findings == []
    assert case.data["meeting_passed"] is True  # 2 of 3 present voted for (majority-of-present)


def test_meeting_outcome_rejected(
    meeting_process: ProcessDefinition, meeting_org: Organisation, clock: FakeClock
) -> None:
    case = meeting_case(meeting_process, meeting_org, clock)
    case.complete("prepare", "clerk1", data={"review": True})
    case.complete("legality_review", "lawyer")
    votes = {**GOOD_MEETING, "votes": [["dep1", "against"], ["dep2", "against"], ["boss", "for"]]}
    case.complete("meeting", "boss", meeting=votes)
    assert case.data["meeting_passed"] is False


def test_same_actor(meeting_process: ProcessDefinition, meeting_org: Organisation, clock: FakeClock) -> None:
    case = meeting_case(meeting_process, meeting_org, clock, policy=Policy.RECORD)
    case.complete("prepare", "clerk1", data={"review": True})
    case.complete("legality_review", "lawyer")
    case.complete("meeting", "dep1", meeting=GOOD_MEETING)
    strict = start_case(case.definition, case.organisation, clock=clock)
    strict.complete("prepare", "clerk1", data={"review": True})
    strict.complete("legality_review", "lawyer")
    strict.complete(
        "meeting",
        "dep3",
        meeting={
            **GOOD_MEETING,
            "members": ["boss", "dep1", "dep2"],
            "present": ["dep1", "dep2", "boss"],
        },
    )
    assert refused(strict, "sign", "clerk2") == ["same-actor"]
    strict.complete("sign", "clerk1")
    assert strict.is_completed


@pytest.mark.parametrize(
    ("meeting", "words"),
    [
        ({"members": ["boss"], "present": ["boss", "dep1"], "votes": []}, "not members"),
        ({"members": ["boss", "dep1"], "present": ["boss"], "votes": [["dep1", "for"]]}, "not present"),
        ({"members": ["boss", "ghost"], "present": ["boss"], "votes": []}, "ghost"),
        ({"members": ["boss"], "present": ["boss"], "votes": [["boss", "for"], ["boss", "for"]]}, "twice"),
    ],
)
def test_inconsistent_meeting_record(
    meeting_process: ProcessDefinition,
    meeting_org: Organisation,
    clock: FakeClock,
    meeting: dict[str, list[str] | list[list[str]]],
    words: str,
) -> None:
    case = meeting_case(meeting_process, meeting_org, clock)
    case.complete("prepare", "clerk1", data={"review": True})
    case.complete("legality_review", "lawyer")
    before = case_state(case)
    with pytest.raises(MeetingRecordError, match=words):
        case.complete("meeting", "boss", meeting=meeting)
    assert case_state(case) == before


def test_meeting_record_on_a_plain_step(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock)
    with pytest.raises(MeetingRecordError, match="not a collective step"):
        case.complete("receive", "wang", data={"materials_complete": True}, meeting=GOOD_MEETING)


def test_record_policy_keeps_findings(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock, policy="record")
    to_review(case, acceptor="zhou")
    found = case.complete("review", "zhou", data={"needs_extension": False})
    assert [(f.rule, f.step, f.actor) for f in found] == [("separate-actors", "review", "zhou")]
    case.complete("decide", "zhang")
    assert [f.rule for f in case.findings] == ["separate-actors", "unauthorized", "five-not-direct"]
    assert case.trail.entries[-1]["outcome"] == "recorded"


def test_step_not_ready_and_unknown_step(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock)
    with pytest.raises(StepNotReady, match="ready now: receive") as info:
        case.complete("decide", "li")
    assert info.value.ready == ["receive"]
    with pytest.raises(StepNotReady, match="not a step of this process"):
        case.complete("fly", "li")


def test_unknown_actor(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock)
    with pytest.raises(UnknownActorError, match="nobody"):
        case.complete("receive", "nobody", data={"materials_complete": True})


def test_engine_error_is_wrapped_and_changes_nothing(
    licensing: ProcessDefinition, org: Organisation, clock: FakeClock
) -> None:
    case = licensing_case(licensing, org, clock)
    before = case_state(case)
    with pytest.raises(EngineError, match="materials_complete") as info:
        case.complete("receive", "wang")  # the gateway needs materials_complete
    assert info.value.case == case.id and info.value.step == "receive"
    assert case_state(case) == before
    case.complete("receive", "wang", data={"materials_complete": True})
    assert case.path == ["receive"]


def test_naive_moment_is_refused(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = licensing_case(licensing, org, clock)
    with pytest.raises(ValueError, match="timezone"):
        case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00")


def loop_case(max_depth: int | None = None) -> Case:
    definition = load_process(DATA / "loop.bpmn")
    org = organisation_from_dict({"units": [{"id": "u"}], "people": {"a": {"unit": "u"}}})
    kwargs: dict[str, Any] = {} if max_depth is None else {"max_depth": max_depth}
    return start_case(definition, org, clock=FakeClock("2026-01-05T09:00:00+08:00"), **kwargs)


@pytest.mark.slow
def test_deep_loop_is_stopped_before_the_engine_stalls() -> None:
    # Bare SpiffWorkflow stops iterating its task tree at depth 1000: this 2-task loop (check, gateway) would
    # stall after ~500 rounds with is_completed() True while 'check' is still ready. We must stop before.
    case = loop_case()
    rounds = 0
    with pytest.raises(LoopLimitError, match="looped too deep") as info:
        for rounds in range(1, 600):  # noqa: B007
            case.complete("check", "a", data={"redo": True})
    assert info.value.step == "check"
    assert 300 < rounds < 500  # well before the engine's own limit
    assert not case.is_completed and [s.id for s in case.ready_steps()] == ["check"]


def test_loop_limit_is_configurable_and_changes_nothing() -> None:
    case = loop_case(max_depth=30)
    for _ in range(9):
        case.complete("check", "a", data={"redo": True})
    before = case_state(case)
    with pytest.raises(LoopLimitError):
        for _ in range(10):
            case.complete("check", "a", data={"redo": True})
    assert len(case.path) < 15
    snapshot = case_state(case)
    with pytest.raises(LoopLimitError):
        case.complete("check", "a", data={"redo": False})
    assert case_state(case) == snapshot != before


ACTORS = ["wang", "chen", "liu", "zhou", "li", "zhao", "zhang", "sun"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(ACTORS), st.booleans()), min_size=1, max_size=12))
def test_a_refused_step_changes_nothing(
    licensing: ProcessDefinition, org: Organisation, moves: list[tuple[int, str, bool]]
) -> None:
    """Random attempts: whenever one is refused, the serialized case is exactly as before."""
    case = start_case(
        licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data={"applicant": "某建筑工程有限公司"}
    )
    for pick, actor, flag in moves:
        ready = case.ready_steps()
        if not ready:
            break
        step = ready[pick % len(ready)].id
        data = {"materials_complete": flag, "needs_extension": flag}
        before = json.dumps(case_state(case), sort_keys=True)
        entries = len(case.trail.entries)
        try:
            case.complete(step, actor, data=data)
        except StepRefused as exc:
            assert exc.rules
            assert json.dumps(case_state(case), sort_keys=True) == before
            assert len(case.trail.entries) == entries + 1
            assert case.trail.entries[-1]["outcome"] == "refused"
    assert case.trail.verify()


MIN_DURATION_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"
    id="d" targetNamespace="urn:t">
  <bpmn:process id="notice" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="publicity" name="公示">
      <bpmn:extensionElements>
        <af:step posts="clerk"/>
        <af:minDuration value="{value}" unit="{unit}" reason="公示期"/>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="publicity"/>
    <bpmn:sequenceFlow id="f2" sourceRef="publicity" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize(
    ("value", "unit", "too_early", "in_time"),
    [
        # ready Wed 2026-09-30 09:00. 5 working days after 09-30: 10-01..10-07 are National Day holidays and
        # Sat 10-10 is a 调休 working day, so they are 10-08, 10-09, 10-10, 10-12, 10-13; closable from 10-14.
        ("5", "workday", "2026-10-13T17:00:00+08:00", "2026-10-14T08:30:00+08:00"),
        # 7 calendar days counted from 10-01 end with 10-07; closable from 10-08.
        ("7", "day", "2026-10-07T23:00:00+08:00", "2026-10-08T00:00:00+08:00"),
        # 24 hours from the exact moment.
        ("24", "hour", "2026-10-01T08:59:00+08:00", "2026-10-01T09:00:00+08:00"),
    ],
)
def test_min_duration_refuses_closing_a_step_too_early(
    org: Organisation, value: str, unit: str, too_early: str, in_time: str
) -> None:
    from approvalflow import load_process_string

    process = load_process_string(MIN_DURATION_BPMN.replace("{value}", value).replace("{unit}", unit))
    case = start_case(process, org, clock=FakeClock("2026-09-30T09:00:00+08:00"))
    before = case_state(case)
    with pytest.raises(StepRefused) as exc:
        case.complete("publicity", "wang", at=too_early)
    assert exc.value.rules == ["min-duration"]
    assert case_state(case) == before
    case.complete("publicity", "wang", at=in_time)
    assert case.is_completed


def test_min_duration_is_recorded_under_record(org: Organisation) -> None:
    from approvalflow import load_process_string

    process = load_process_string(MIN_DURATION_BPMN.replace("{value}", "7").replace("{unit}", "day"))
    case = start_case(process, org, clock=FakeClock("2026-09-30T09:00:00+08:00"), policy=Policy.RECORD)
    case.complete("publicity", "wang", at="2026-10-02T10:00:00+08:00")
    assert [f.rule for f in case.findings] == ["min-duration"]
