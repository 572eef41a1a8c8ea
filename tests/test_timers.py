"""Timers on the case clock (issue 16, item 2): boundary and intermediate timers fire by the case's clock only.

``tests/data/timers/review.bpmn``: after ``accept`` (受理), ``review`` (审查) carries a non-interrupting boundary timer
``remind`` (``PT4H``, starts the reminder step ``notify``) and an interrupting one ``overdue`` (``af:timer
workdays="5"``, takes the case to ``escalate``, 督办). A finished review waits at the intermediate timer ``cooling``
(``P1D``, 公示期) before ``decide``. Expected moments are derived from the model and the calendar in the comments.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepNotReady, dump_case, load_case, load_organisation, load_process, start_case
from approvalflow.bpmn.loader import ProcessDefinition, load_process_string
from approvalflow.engine.case import Case
from approvalflow.errors import CaseFormatError, InvalidInputError, NotExecutableError
from approvalflow.org.organisation import Organisation
from approvalflow.validation import validate_string

DATA = Path(__file__).parent / "data"
BPMN = DATA / "timers" / "review.bpmn"
ORG = DATA / "market_bureau.yaml"
CST = "+08:00"


@pytest.fixture(scope="module")
def process() -> ProcessDefinition:
    return load_process(BPMN)


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(ORG)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text + CST)


def _reviewing(process: ProcessDefinition, org: Organisation, ready: str = "2026-09-29T10:00:00") -> Case:
    case = start_case(process, org, clock=FakeClock(f"2026-09-28T09:00:00{CST}"), case_id="c1")
    case.complete("accept", "wang", at=ready + CST)
    return case


def _ready(case: Case) -> list[str]:
    return sorted(s.id for s in case.ready_steps())


def test_the_five_working_day_timer_fires_across_national_day_and_not_before(
    process: ProcessDefinition, org: Organisation
) -> None:
    # 'review' becomes ready on Tue 2026-09-29. The working days after that day (SPEC section 5: day D itself is
    # not counted) are Wed 09-30 (1); Oct 1-7 are the National Day holidays; Thu 10-08 (2), Fri 10-09 (3),
    # Sat 10-10 (4: an adjusted working day, 调休), Sun 10-11 is a rest day, Mon 10-12 (5). The fifth working day
    # ends at 2026-10-13T00:00+08:00: the timer is due then, and not a moment before.
    case = _reviewing(process, org)
    overdue = next(t for t in case.timers() if t.element == "overdue")
    assert overdue.due == _at("2026-10-13T00:00:00")
    case.advance(f"2026-09-29T13:59:59{CST}")  # before 'remind' too
    assert _ready(case) == ["review"]
    fired = case.advance(f"2026-10-12T23:59:59{CST}")
    assert [f.element for f in fired] == ["remind"]  # the reminder, 4 hours after 10:00 on 09-29; not 'overdue'
    assert _ready(case) == ["notify", "review"]
    fired = case.advance(f"2026-10-13T00:00:00{CST}")
    assert [(f.element, f.due, f.interrupted) for f in fired] == [("overdue", _at("2026-10-13T00:00:00"), ("review",))]
    assert _ready(case) == ["escalate", "notify"]
    assert case.trail.verify().ok


def test_a_completion_after_an_interrupting_timer_was_due_is_refused_and_only_the_firing_changed_the_case(
    process: ProcessDefinition, org: Organisation
) -> None:
    case = _reviewing(process, org)
    with pytest.raises(StepNotReady):
        case.complete("review", "liu", at=f"2026-10-14T09:00:00{CST}")
    actions = [(e["action"], e["outcome"]) for e in case.trail.entries[-3:]]
    # both timers fired first, in order of their due moments, then the completion was refused as not ready
    assert actions == [("timer", "fired"), ("timer", "fired"), ("complete", "not-ready")]
    assert [e["data"]["timer"] for e in case.trail.entries if e["action"] == "timer"] == ["remind", "overdue"]
    assert _ready(case) == ["escalate", "notify"]
    assert case.history[-1].step == "accept"


def test_a_completion_before_the_timer_cancels_it_and_the_intermediate_timer_waits_a_day(
    process: ProcessDefinition, org: Organisation
) -> None:
    case = _reviewing(process, org)
    case.complete("review", "liu", at=f"2026-09-29T11:00:00{CST}")  # before 'remind' (14:00): neither fires
    assert [t.element for t in case.timers()] == ["cooling"]
    assert case.next_timer() is not None and case.next_timer().due == _at("2026-09-30T11:00:00")  # type: ignore[union-attr]
    assert _ready(case) == [] and not case.is_completed  # waiting only on a timer: not stuck, the host knows when
    assert ("timer", _at("2026-09-30T11:00:00").isoformat(), "cooling") in case.waiting_for()
    assert case.advance(f"2026-09-30T10:59:59{CST}") == []
    [fired] = case.advance(f"2026-09-30T11:00:00{CST}")
    assert fired.element == "cooling" and _ready(case) == ["decide"]
    assert case.ready_steps()[0].since == _at("2026-09-30T11:00:00")  # ready from the due moment
    case.complete("decide", "li", at=f"2026-10-08T09:00:00{CST}")
    assert case.is_completed and case.timers() == []


def test_the_next_action_fires_what_is_due_first(process: ProcessDefinition, org: Organisation) -> None:
    case = _reviewing(process, org)
    case.complete("review", "liu", at=f"2026-09-29T15:00:00{CST}")  # 'remind' was due at 14:00: fired first
    entries = case.trail.entries
    assert [(e["action"], e["at"]) for e in entries[-2:]] == [
        ("timer", f"2026-09-29T14:00:00{CST}"),
        ("complete", f"2026-09-29T15:00:00{CST}"),
    ]
    assert _ready(case) == ["notify"]


def test_a_saved_case_waiting_on_timers_loads_and_fires_after_loading(
    process: ProcessDefinition, org: Organisation
) -> None:
    case = _reviewing(process, org)
    text = dump_case(case)
    again = load_case(text, process, org)
    assert again.timers() == case.timers()
    assert dump_case(again) == text
    fired = again.advance(f"2026-10-13T00:00:00{CST}")
    assert [f.element for f in fired] == ["remind", "overdue"]
    assert again.trail.verify().ok


def test_a_forged_due_moment_in_a_saved_case_is_refused(process: ProcessDefinition, org: Organisation) -> None:
    case = _reviewing(process, org)
    doc = json.loads(dump_case(case))
    key = next(k for k, t in doc["timers"].items() if t["element"] == "overdue")
    doc["timers"][key]["due"] = f"2026-12-31T00:00:00{CST}"
    with pytest.raises(CaseFormatError):  # the state no longer matches its trail
        load_case(json.dumps(doc), process, org)
    # rebind the trail to the forged state (what someone who can recompute hashes could do): still refused
    with pytest.raises(CaseFormatError, match="due moment is not the one the model gives"):
        load_case(json.dumps(_rebound(doc)), process, org)


def _rebound(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with its last trail entry bound to its (edited) state again, hashes recomputed (no trail key)."""
    from approvalflow.engine.state import state_digest
    from approvalflow.engine.trail import entry_hash

    last = doc["trail"][-1]
    last["state"] = state_digest(doc)
    last["hash"] = entry_hash({k: v for k, v in last.items() if k not in ("hash", "mac")})
    doc["trail_head"]["hash"] = last["hash"]
    return doc


def test_an_unchanged_saved_case_rebound_loads(process: ProcessDefinition, org: Organisation) -> None:
    # the check that _rebound gives a document load_case accepts when nothing in it was forged
    case = _reviewing(process, org)
    assert load_case(json.dumps(_rebound(json.loads(dump_case(case)))), process, org).timers() == case.timers()


def test_a_saved_case_without_its_waiting_timers_is_refused(process: ProcessDefinition, org: Organisation) -> None:
    from approvalflow.engine.state import apply_state

    case = _reviewing(process, org)
    doc = json.loads(dump_case(case))
    del doc["timers"]
    fresh = start_case(process, org, clock=FakeClock(f"2026-09-28T09:00:00{CST}"))
    with pytest.raises(ValueError, match="timers"):
        apply_state(fresh, doc)


@pytest.mark.parametrize("moment", ["yesterday", "2026-10-13T00:00:00", "99999-01-01T00:00:00+08:00", ""])
def test_a_bad_moment_to_advance_to_is_refused_and_changes_nothing(
    process: ProcessDefinition, org: Organisation, moment: str
) -> None:
    case = _reviewing(process, org)
    before = dump_case(case)
    with pytest.raises(InvalidInputError):
        case.advance(moment)
    assert dump_case(case) == before


HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
    ' xmlns:af="urn:approvalflow:bpmn:1" id="D" targetNamespace="urn:t">\n<bpmn:process id="p" isExecutable="true">\n'
    '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n'
)


def _wait(definition: str, ext: str = "") -> str:
    return (
        HEAD
        + f'<bpmn:intermediateCatchEvent id="wait">{ext}<bpmn:incoming>f1</bpmn:incoming>'
        + f"<bpmn:outgoing>f2</bpmn:outgoing>\n{definition}</bpmn:intermediateCatchEvent>\n"
        + '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>\n'
        + '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>\n'
        + '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>\n</bpmn:process>\n</bpmn:definitions>\n'
    )


def _timer(tag: str, value: str) -> str:
    return f"<bpmn:timerEventDefinition><bpmn:{tag}>{value}</bpmn:{tag}></bpmn:timerEventDefinition>"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (_wait(_timer("timeDuration", '"P99999Y"')), "longer than"),
        (_wait(_timer("timeDuration", '"PT99999999999999999999S"')), "longer than"),
        (_wait(_timer("timeDuration", '"P1.5M"')), "fraction of a year or month"),
        (_wait(_timer("timeDate", '"0001-01-01T00:00:00+08:00"')), "outside the years"),
        (_wait(_timer("timeDate", '"9999-12-31T23:59:59+08:00"')), "outside the years"),
        (_wait(_timer("timeCycle", '"R3/PT1H"')), "repeating timers"),
        (_wait("<bpmn:timerEventDefinition/>"), "no bpmn:timeDate"),
        (
            _wait(
                _timer("timeDuration", '"P1D"'),
                '<bpmn:extensionElements><af:timer workdays="3"/></bpmn:extensionElements>',
            ),
            "both",
        ),
    ],
)
def test_timers_the_engine_cannot_run_right_are_refused_at_load_at_their_event(text: str, words: str) -> None:
    with pytest.raises(NotExecutableError) as caught:
        load_process_string(text, filename="t.bpmn")
    assert caught.value.element == "wait" and words in caught.value.message
    found = [f for f in validate_string(text, filename="t.bpmn") if f.rule == "not-executable"]
    assert [f.element for f in found] == ["wait"]


@pytest.mark.parametrize("workdays", ["0", "-3", "2501", "1e9", "many"])
def test_a_working_day_count_out_of_range_is_refused_by_the_schema(workdays: str) -> None:
    text = _wait(
        "<bpmn:timerEventDefinition/>",
        f'<bpmn:extensionElements><af:timer workdays="{workdays}"/></bpmn:extensionElements>',
    )
    with pytest.raises(Exception) as caught:
        load_process_string(text, filename="t.bpmn")
    assert "t.bpmn" in str(caught.value) and "workdays" in str(caught.value)


def test_a_date_timer_without_offset_is_read_in_shanghai_and_a_past_date_fires_at_once(org: Organisation) -> None:
    process = load_process_string(_wait(_timer("timeDate", '"2026-10-09T09:00:00"')), filename="d.bpmn")
    case = start_case(process, org, clock=FakeClock(f"2026-10-01T08:00:00{CST}"))
    assert case.next_timer() is not None and case.next_timer().due == _at("2026-10-09T09:00:00")  # type: ignore[union-attr]
    assert case.advance(f"2026-10-09T08:59:59{CST}") == [] and not case.is_completed
    assert [f.element for f in case.advance(f"2026-10-09T09:00:00{CST}")] == ["wait"] and case.is_completed
    late = start_case(process, org, clock=FakeClock(f"2026-11-01T08:00:00{CST}"))
    [fired] = late.advance(f"2026-11-01T08:00:00{CST}")  # due before it started waiting: fires when waiting starts
    assert fired.at == _at("2026-11-01T08:00:00") and fired.due == _at("2026-10-09T09:00:00")


def test_a_duration_of_months_keeps_the_day_or_takes_the_last_day_of_the_month(org: Organisation) -> None:
    process = load_process_string(_wait(_timer("timeDuration", '"P1M"')), filename="m.bpmn")
    # 2026-01-31 plus one month: February 2026 has 28 days, so the 28th, same time of day
    case = start_case(process, org, clock=FakeClock(f"2026-01-31T10:00:00{CST}"))
    assert case.timers()[0].due == _at("2026-02-28T10:00:00")


def test_the_wall_clock_never_fires_a_timer(org: Organisation) -> None:
    # PT1S from a moment years ago on the case clock: the wall clock is far past it, yet nothing fires until the
    # case clock is moved (the issue: "with a FakeClock moved three days on, a PT1S timer has not fired").
    process = load_process_string(_wait(_timer("timeDuration", '"PT1S"')), filename="s.bpmn")
    case = start_case(process, org, clock=FakeClock(f"2020-01-01T00:00:00{CST}"))
    assert not case.is_completed and case.advance(f"2020-01-01T00:00:00{CST}") == []
    assert [f.element for f in case.advance(f"2020-01-01T00:00:01{CST}")] == ["wait"]


# -- a property: the firings equal a reference computed from the timer definitions ------------------------------------
_START = _at("2026-09-28T09:00:00")
# The model's working-day due moment, by the day 'review' becomes ready: the day after the 5th working day after it
# (the 5th ends at midnight). From the calendar of 2026 (holidays Oct 1-7; Sat Oct 10 an adjusted working day):
# ready 09-28: 09-29, 09-30, 10-08, 10-09, 10-10 -> ends 10-11; ready 09-29: 09-30, 10-08, 10-09, 10-10, 10-12 ->
# ends 10-13; ready 09-30: 10-08, 10-09, 10-10, 10-12, 10-13 -> ends 10-14.
_FIFTH_WORKDAY_END = {
    "2026-09-28": "2026-10-11",
    "2026-09-29": "2026-10-13",
    "2026-09-30": "2026-10-14",
}


def _overdue_due(ready: datetime) -> datetime:
    day = _FIFTH_WORKDAY_END[ready.date().isoformat()]
    return datetime.fromisoformat(day + "T00:00:00" + CST)


@settings(max_examples=60, deadline=None)
@given(
    accept_after=st.integers(min_value=0, max_value=40 * 60),
    moves=st.lists(
        st.tuples(st.sampled_from(["advance", "review"]), st.integers(min_value=1, max_value=5 * 24 * 60)),
        max_size=6,
    ),
)
def test_firings_match_the_reference_and_nothing_fires_before_it_is_due(
    accept_after: int, moves: list[tuple[str, int]]
) -> None:
    process, org = load_process(BPMN), load_organisation(ORG)
    case = start_case(process, org, clock=FakeClock(_START))
    ready = _START + timedelta(minutes=accept_after)
    case.complete("accept", "wang", at=ready)
    # The reference, from the timer definitions alone: while 'review' is open, 'remind' is due at ready + 4h and
    # 'overdue' at the end of the 5th working day; 'overdue' firing cancels 'review' and its other timer; completing
    # 'review' cancels both and starts 'cooling', due a day later. At each move, what is due fires, earliest first.
    pending = {"remind": ready + timedelta(hours=4), "overdue": _overdue_due(ready)}
    review_open, now = True, ready
    expected: list[tuple[str, datetime]] = []
    for kind, minutes in moves:
        now += timedelta(minutes=minutes)
        while due_now := sorted((m, n) for n, m in pending.items() if m <= now):
            moment, name = due_now[0]
            del pending[name]
            expected.append((name, moment))
            if name == "overdue":
                review_open = False
                pending.pop("remind", None)
        if kind == "review" and review_open:
            case.complete("review", "liu", at=now)
            review_open = False
            pending = {"cooling": now + timedelta(days=1)}
        elif kind == "review":
            with pytest.raises(StepNotReady):
                case.complete("review", "liu", at=now)
        else:
            case.advance(now)
    fired = [
        (e["data"]["timer"], datetime.fromisoformat(e["at"])) for e in case.trail.entries if e["action"] == "timer"
    ]
    assert fired == expected
    assert all(at <= now for _, at in fired)
    assert all(t.due > now for t in case.timers())  # nothing due is left waiting


# -- what stays refused, by name -----------------------------------------------------------------------------------
_TIMER = '<bpmn:timerEventDefinition><bpmn:timeDuration>"P2D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
_END = '<bpmn:endEvent id="e"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>\n'
_TAIL = '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="e"/>\n'


def _doc(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
        'MODEL" id="D" targetNamespace="urn:t">\n<bpmn:process id="p" isExecutable="true">\n'
        + body
        + "</bpmn:process>\n</bpmn:definitions>\n"
    )


REFUSED = {
    # (a timer-started event sub-process of the process itself runs: tests/test_interrupting_event_subprocess.py)
    "process start": (
        _doc(f'<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing>{_TIMER}</bpmn:startEvent>\n' + _END + _TAIL),
        "s",
        "timer start event",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_timers_the_engine_does_not_run_stay_refused_by_name(name: str) -> None:
    text, element, words = REFUSED[name]
    with pytest.raises(NotExecutableError) as caught:
        load_process_string(text, filename="r.bpmn")
    assert caught.value.element == element and words in caught.value.message
    found = [f for f in validate_string(text, filename="r.bpmn") if f.rule == "not-executable"]
    assert [(f.element, f.message) for f in found] == [(element, caught.value.message)]


# -- timers elsewhere: a called process, a suspending step ------------------------------------------------------------
CALLED = _doc(
    '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n'
    + '<bpmn:callActivity id="call" calledElement="sub"><bpmn:incoming>f1</bpmn:incoming>'
    + "<bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>\n"
    + '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>\n'
    + '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>\n'
    + '<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e"/>\n'
).replace(
    "</bpmn:definitions>",
    '<bpmn:process id="sub" isExecutable="true">\n'
    + '<bpmn:startEvent id="ss"><bpmn:outgoing>h1</bpmn:outgoing></bpmn:startEvent>\n'
    + '<bpmn:intermediateCatchEvent id="subwait"><bpmn:incoming>h1</bpmn:incoming><bpmn:outgoing>h2</bpmn:outgoing>'
    + f"{_TIMER}</bpmn:intermediateCatchEvent>\n"
    + '<bpmn:endEvent id="se"><bpmn:incoming>h2</bpmn:incoming></bpmn:endEvent>\n'
    + '<bpmn:sequenceFlow id="h1" sourceRef="ss" targetRef="subwait"/>\n'
    + '<bpmn:sequenceFlow id="h2" sourceRef="subwait" targetRef="se"/>\n'
    + "</bpmn:process>\n</bpmn:definitions>",
)


def test_a_timer_in_a_called_process_fires_on_the_case_clock_and_survives_saving(org: Organisation) -> None:
    process = load_process_string(CALLED, filename="c.bpmn")
    case = start_case(process, org, clock=FakeClock(f"2026-09-28T09:00:00{CST}"))
    assert [(t.element, t.due) for t in case.timers()] == [("subwait", _at("2026-09-30T09:00:00"))]  # P2D
    again = load_case(dump_case(case), process, org)
    assert again.advance(f"2026-09-30T08:59:59{CST}") == [] and not again.is_completed
    assert [f.element for f in again.advance(f"2026-09-30T09:00:00{CST}")] == ["subwait"]
    assert again.is_completed and again.ended_at == _at("2026-09-30T09:00:00")


def test_an_interrupted_suspending_step_ends_its_suspension_when_the_timer_fires(org: Organisation) -> None:
    text = BPMN.read_text(encoding="utf-8").replace(
        '<af:step posts="reviewer"/>', '<af:step posts="reviewer"/><af:suspendsClock reason="补正"/>'
    )
    process = load_process_string(text, filename="s.bpmn")
    case = _reviewing(process, org)
    assert [(s.step, s.end) for s in case.suspensions] == [("review", None)]
    case.advance(f"2026-10-13T00:00:00{CST}")
    # the working-day timer is not moved by the suspension it runs in: still the end of 10-12
    assert [(s.step, s.end) for s in case.suspensions] == [("review", _at("2026-10-13T00:00:00"))]


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t.update(since="2026-01-01T00:00:00+08:00"),  # before the case started
        lambda t: t.update(element="cooling"),  # another event than the one waiting
        lambda t: t.update(due="not a moment"),
        lambda t: t.update(extra=1),
        lambda t: t.clear(),
    ],
)
def test_hostile_timer_records_in_a_saved_state_are_refused(
    process: ProcessDefinition, org: Organisation, forge: Any
) -> None:
    from approvalflow.engine.state import apply_state

    case = _reviewing(process, org)
    doc = json.loads(dump_case(case))
    forge(next(iter(doc["timers"].values())))
    fresh = start_case(process, org, clock=FakeClock(f"2026-09-28T09:00:00{CST}"))
    with pytest.raises(ValueError):
        apply_state(fresh, doc)


# -- a timer branch of an event-based gateway ------------------------------------------------------------------------
REPLY = DATA / "timers" / "reply.bpmn"


def _noticed(org: Organisation) -> tuple[ProcessDefinition, Case]:
    process = load_process(REPLY)
    case = start_case(process, org, clock=FakeClock(f"2026-09-28T09:00:00{CST}"))
    case.complete("notice", "wang", at=f"2026-09-29T10:00:00{CST}")
    return process, case


def test_the_timer_branch_of_an_event_gateway_fires_when_no_reply_came(org: Organisation) -> None:
    # 'notice' done on Tue 2026-09-29. The working days after that day (Oct 1-7 holidays, Sat 10-10 an adjusted
    # working day, other weekends off): 1: 09-30, 2: 10-08, 3: 10-09, 4: 10-10, 5: 10-12, 6: 10-13, 7: 10-14,
    # 8: 10-15, 9: 10-16, 10: 10-19, 11: 10-20, 12: 10-21, 13: 10-22, 14: 10-23, 15: 10-26. The 15th ends at
    # 2026-10-27T00:00+08:00: the timer is due then.
    process, case = _noticed(org)
    assert case.waiting_for() == [("message", "reply", "wait"), ("timer", f"2026-10-27T00:00:00{CST}", "no_reply")]
    again = load_case(dump_case(case), process, org)
    assert again.advance(f"2026-10-26T23:59:59{CST}") == []
    assert [f.element for f in again.advance(f"2026-10-27T00:00:00{CST}")] == ["no_reply"]
    assert _ready(again) == ["close"] and again.waiting_for() == []
    with pytest.raises(StepNotReady):  # too late: the gateway took the timer's branch
        again.send_message("reply", {"agrees": True}, at=f"2026-10-28T09:00:00{CST}")
    assert again.trail.verify().ok


def test_a_reply_before_the_timer_takes_the_gateway_and_the_timer_stops_waiting(org: Organisation) -> None:
    _process, case = _noticed(org)
    assert case.send_message("reply", {"agrees": True}, at=f"2026-10-09T10:00:00{CST}") == ["wait"]
    assert _ready(case) == ["review"] and case.timers() == [] and case.next_timer() is None
    assert case.advance(f"2027-01-01T00:00:00{CST}") == []


def test_a_repeating_reminder_is_refused_even_on_a_non_interrupting_boundary_event() -> None:
    # Run on SpiffWorkflow 3.2, each repetition's path hangs under the timer that keeps waiting: completing 'review'
    # would cancel the open 'notify' steps of the reminders. So it is refused, at the event, by name.
    text = BPMN.read_text(encoding="utf-8").replace(
        '<bpmn:timeDuration>"PT4H"</bpmn:timeDuration>', '<bpmn:timeCycle>"R3/PT4H"</bpmn:timeCycle>'
    )
    with pytest.raises(NotExecutableError) as caught:
        load_process_string(text, filename="r.bpmn")
    assert caught.value.element == "remind" and "repeating timers" in caught.value.message


@pytest.mark.parametrize("path", [BPMN, REPLY])
def test_validate_finds_nothing_wrong_with_timers_that_run_and_the_simulator_runs_them(path: Path) -> None:
    """The simulator runs intermediate and boundary timers on tasks (tests/test_simulation_timers.py); it still
    refuses an event-based gateway (reply.bpmn) by name."""
    from approvalflow.errors import BpmnError
    from approvalflow.simulation.compile import compile_bpmn
    from approvalflow.validation import validate_file

    assert [f for f in validate_file(path) if f.severity == "error"] == []
    if path == REPLY:
        with pytest.raises(BpmnError, match=r"eventBasedGateway.*not supported by the simulator"):
            compile_bpmn(path)
        return
    graph = compile_bpmn(path)
    kinds = {n.id: n.kind for n in graph.nodes}
    assert (kinds["cooling"], kinds["review"], kinds["remind"], kinds["overdue"]) == ("wait", "btask", "boundary",
                                                                                      "boundary")  # fmt: skip


@pytest.mark.parametrize("value", ['"P-5D"', '"-P5D"', '"P5D "x"', '"P1e9D"'])
def test_a_negative_or_malformed_duration_is_refused_at_its_event(value: str) -> None:
    from approvalflow.errors import DefinitionError

    with pytest.raises(DefinitionError) as caught:  # not-executable, or unsafe content for a broken string
        load_process_string(_wait(_timer("timeDuration", value)), filename="t.bpmn")
    assert caught.value.element == "wait" and "bpmn:timeDuration" in caught.value.message


def test_a_due_moment_past_the_years_the_package_accepts_refuses_the_action_and_changes_nothing(
    org: Organisation,
) -> None:
    from approvalflow.errors import ApprovalflowError

    process = load_process(BPMN)
    case = start_case(process, org, clock=FakeClock(f"2999-12-01T09:00:00{CST}"))
    before = dump_case(case)
    # 'review' would get a working-day timer in a year no calendar covers, and 'cooling' ... P1D into 3000
    with pytest.raises(ApprovalflowError):
        case.complete("accept", "wang", at=f"2999-12-31T20:00:00{CST}")
    assert [(e["action"], e["outcome"]) for e in case.trail.entries[-1:]] == [("complete", "engine-error")]
    assert json.loads(dump_case(case))["workflow"] == json.loads(before)["workflow"]


@pytest.mark.parametrize("where", ["since", "mark"])
def test_a_saved_case_with_its_trail_rebound_still_cannot_move_or_pre_fire_a_timer(
    process: ProcessDefinition, org: Organisation, where: str
) -> None:
    # Without a trail key, someone can edit the state and recompute the last entry's state digest and every hash.
    # A timer's 'since' must still be the moment of an action of the trail (with its due moment recomputed to
    # match), and a waiting timer may not carry SpiffWorkflow's "fired" mark (it would fire with no record).
    case = _reviewing(process, org)
    doc = json.loads(dump_case(case))
    key = next(k for k, t in doc["timers"].items() if t["element"] == "remind")
    if where == "since":
        doc["timers"][key].update(since=f"2026-09-29T13:00:00{CST}", due=f"2026-09-29T17:00:00{CST}")
    else:
        doc["workflow"]["tasks"][key]["internal_data"]["event_fired"] = True
    with pytest.raises(CaseFormatError, match="timer"):
        load_case(json.dumps(_rebound(doc)), process, org)
