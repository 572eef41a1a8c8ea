"""The store's index record of a case saved after every action is the one computed afresh (issue 15, item 6).

``store.index.record_of`` keeps, per case, what cannot change once computed (a completed step's deadline and
summary row, deadlines and working-day counts from the same inputs, the trail entries already decoded) so that
saving after every step no longer recomputes the whole history. Here a case is indexed after every attempt of a
random walk (refusals, recorded findings, a change of parties, failures injected after the engine moved, which
roll the trail back) and each record must equal the record of a fresh copy of the case, restored from its saved
document, which has nothing kept.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import load_organisation, load_process
from approvalflow.engine.case import Case, Policy, start_case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.errors import ApprovalflowError, StepRefused
from approvalflow.store.base import CaseRecord
from approvalflow.store.index import record_of
from approvalflow.testing.strategies import Walk, walks
from approvalflow.time.calendar import WeekendCalendar
from approvalflow.time.clock import FakeClock

from .conftest import LICENSING, ROOT

ORG = load_organisation(ROOT / "processes" / "org" / "sample_county.yaml")
PROCESS = load_process(LICENSING)
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fresh_record(case: Case, state: str) -> CaseRecord:
    """The record of a copy of ``case`` restored from ``state``: a new case object, so nothing kept is reused."""
    copy = load_case(state, case.definition, case.organisation, clock=FakeClock(case.clock.now()))
    assert dump_case(copy) == state
    return record_of(copy, state)


def check_record(case: Case) -> None:
    state = dump_case(case)
    assert record_of(case, state) == fresh_record(case, state)
    assert record_of(case, state) == fresh_record(case, state)  # twice: the second from what was kept


class Broken(RuntimeError):
    pass


@SETTINGS
@given(
    walk=walks(PROCESS, ORG, unit="market-bureau", mode="break", breaks=2),
    policy=st.sampled_from([Policy.ENFORCE, Policy.RECORD]),
    failures=st.sets(st.integers(0, 25), max_size=4),
    change_at=st.integers(0, 25),
)
def test_the_record_after_every_attempt_is_the_one_computed_afresh(
    walk: Walk, policy: Policy, failures: set[int], change_at: int
) -> None:
    clock = FakeClock(walk.start)
    case = start_case(PROCESS, ORG, unit=walk.unit, clock=clock, data=dict(walk.data), policy=policy)
    check_record(case)
    original = Case._after_completion
    for n, step in enumerate(walk.steps):
        if n == change_at:
            with contextlib.suppress(ApprovalflowError):
                case.change_parties("wang", parties=["某餐饮有限公司", "甲"], reason="补充当事人", at=step.at)
            check_record(case)

        def failing(self: Case, *args: Any, _n: int = n) -> None:
            if _n in failures:
                raise Broken("injected after the engine moved")
            original(self, *args)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Case, "_after_completion", failing)
            with contextlib.suppress(ApprovalflowError):
                case.complete(step.task, step.actor, data=step.data, meeting=step.meeting, at=step.at)
        check_record(case)


def test_a_replaced_trail_is_decoded_afresh(licensing: Any, org: Any) -> None:
    clock = FakeClock("2026-09-28T09:00:00+08:00")
    case = start_case(licensing, org, clock=clock)
    with pytest.raises(StepRefused):
        case.complete("receive", "li")  # a refusal early in this case's trail
    case.complete("receive", "wang", data={"materials_complete": True})
    check_record(case)
    assert record_of(case, dump_case(case)).summary["refusals"] == 1
    other = start_case(licensing, org, clock=FakeClock("2026-09-28T10:00:00+08:00"))
    other.complete("receive", "wang", data={"materials_complete": True})
    other.complete("accept", "wang")
    case.complete("accept", "wang")
    other.complete("review", "liu", data={"needs_extension": False, "needs_hearing": False})
    assert other.trail.count == case.trail.count
    case.trail = other.trail  # as long, another chain: nothing kept of the old one may be reused
    record = record_of(case, dump_case(case))
    assert record.summary["refusals"] == 0 and record.anomalies == ()
    assert record.trail_head == other.trail.head


def test_a_replaced_calendar_recomputes_what_was_kept(licensing: Any, org: Any) -> None:
    """Across China's National Day holiday a weekends-only calendar gives other deadlines and working days."""
    clock = FakeClock("2026-09-28T09:00:00+08:00")
    case = start_case(licensing, org, clock=clock)
    for task, actor, data in [
        ("receive", "wang", {"materials_complete": True}),
        ("accept", "wang", {}),
        ("review", "liu", {"needs_extension": False, "needs_hearing": False}),
    ]:
        clock.advance("P3D")
        case.complete(task, actor, data=data)
        check_record(case)
    china = record_of(case, dump_case(case))
    case.calendar = WeekendCalendar()
    state = dump_case(case)
    weekends = record_of(case, state)
    copy = load_case(state, licensing, org, clock=FakeClock(clock.now()), calendar=WeekendCalendar())
    assert weekends == record_of(copy, state)
    assert weekends.summary["completions"] != china.summary["completions"]
    assert weekends.deadlines != china.deadlines
