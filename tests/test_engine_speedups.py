"""The engine's faster bookkeeping keeps its promises (issue 15, item 6).

A completion no longer serializes the case through SpiffWorkflow's converters, walks the task tree once, and
keeps the case deadlines between completions. What must not change:

- an action that fails or is refused changes nothing: the saved state is byte for byte the same, and the trail
  only gains the record of the attempt, which binds that same state;
- a failure after the engine has moved puts the case back exactly (engine objects, ready steps, kept JSON), and
  the case goes on and saves as before;
- the kept case deadlines are the ones computed afresh.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import load_organisation, load_process
from approvalflow.engine.case import Case, Policy, start_case
from approvalflow.engine.persistence import dump_case, load_case, state_digest
from approvalflow.engine.timing import case_deadlines
from approvalflow.errors import ApprovalflowError, EngineError
from approvalflow.time.clock import FakeClock

from .conftest import LICENSING, MARKET_ORG

PROCESS = load_process(LICENSING)
ORG = load_organisation(MARKET_ORG)
START = "2026-09-28T09:00:00+08:00"
PLAN = [
    ("receive", "wang", {"materials_complete": False}),
    ("notify_correction", "wang", {}),
    ("receive", "wang", {"materials_complete": True}),
    ("accept", "wang", {}),
    ("review", "liu", {"needs_extension": False, "needs_hearing": False}),
    ("decide", "li", {"approved": True}),
    ("deliver", "chen", {}),
]
STEPS = sorted({*PROCESS.steps, "no_such_step"})
ACTORS = sorted({*ORG.people, "nobody"})
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=4))
step_data = st.dictionaries(
    st.sampled_from(["materials_complete", "approved", "needs_hearing", "applicant", "parties", "note"]),
    st.one_of(scalars, st.lists(st.text(max_size=3), max_size=2)),
    max_size=3,
)


def saved_state(case: Case) -> str:
    """The saved case without its trail, as text: what a refused or failed action must leave byte-identical."""
    doc = json.loads(dump_case(case))
    del doc["trail"], doc["trail_head"]
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    done=st.integers(0, len(PLAN) - 1),
    attempts=st.lists(
        st.tuples(st.sampled_from(STEPS), st.sampled_from(ACTORS), step_data, st.integers(-48, 48)),
        min_size=1,
        max_size=6,
    ),
)
def test_any_attempt_that_raises_changes_nothing_but_its_trail_record(
    done: int, attempts: list[tuple[str, str, dict[str, Any], int]]
) -> None:
    clock = FakeClock(START)
    case = start_case(PROCESS, ORG, clock=clock, data={"applicant": "某餐饮有限公司"})
    for task, actor, data in PLAN[:done]:
        clock.advance("PT1H")
        case.complete(task, actor, data=data)
    for task, actor, data, hours in attempts:
        before, entries = saved_state(case), [dict(e) for e in case.trail.entries]
        digest = case.trail.entries[-1]["state"]
        at = clock.now() + timedelta(hours=hours)
        try:
            case.complete(task, actor, data=data, at=at)
        except ApprovalflowError:
            assert saved_state(case) == before
            assert case.trail.entries[: len(entries)] == entries
            added = case.trail.entries[len(entries) :]
            assert len(added) <= 1 and all(e["state"] == digest for e in added)
            assert all(e["outcome"] not in ("completed", "recorded") for e in added)
        else:
            assert case.trail.entries[-1]["state"] == state_digest(json.loads(dump_case(case)))
            clock.advance("PT1H")
    restored = load_case(dump_case(case), PROCESS, ORG)
    assert saved_state(restored) == saved_state(case)


@pytest.mark.parametrize("steps", [0, 3, 4, 6])
def test_a_failure_after_the_engine_moved_puts_everything_back(monkeypatch: pytest.MonkeyPatch, steps: int) -> None:
    clock = FakeClock(START)
    case = start_case(PROCESS, ORG, clock=clock)
    for task, actor, data in PLAN[:steps]:
        clock.advance("PT1H")
        case.complete(task, actor, data=data)
    task, actor, data = PLAN[steps]
    clock.advance("PT1H")
    before, count = saved_state(case), len(case.trail.entries)
    ready = [(r.id, r.since) for r in case.ready_steps()]
    engine = case.engine_workflow

    def broken(*args: Any) -> None:
        assert case.engine_workflow is engine and case.path[-1] == task  # the engine has moved by now
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Case, "_after_completion", broken)
    with pytest.raises(EngineError, match="disk on fire"):
        case.complete(task, actor, data=data)
    monkeypatch.undo()
    assert saved_state(case) == before
    assert [(r.id, r.since) for r in case.ready_steps()] == ready
    assert case.engine_workflow is not engine  # rebuilt from the state the last trail entry binds
    assert [e["outcome"] for e in case.trail.entries[count:]] == ["engine-error"]
    assert case.trail.entries[-1]["state"] == case.trail.entries[count - 1]["state"]
    for task, actor, data in PLAN[steps:]:
        case.complete(task, actor, data=data)
        clock.advance("PT1H")
    assert case.is_completed and case.path[-1] == "deliver"
    assert saved_state(load_case(dump_case(case), PROCESS, ORG)) == saved_state(case)


def test_the_kept_case_deadlines_are_the_ones_computed_afresh() -> None:
    clock = FakeClock(START)
    case = start_case(PROCESS, ORG, clock=clock)
    for task, actor, data in PLAN:
        clock.advance("P1D")
        moment = clock.now()
        assert case._deadlines_before(moment) == case_deadlines(case, moment)
        assert case._deadlines_before(moment) == case_deadlines(case, moment)  # again, from the memo
        case.complete(task, actor, data=data)


def test_a_refusal_under_record_policy_is_not_needed_to_keep_state(licensing: Any, org: Any) -> None:
    """Under ``record`` nothing is refused; the kept state still follows every completion exactly."""
    clock = FakeClock(START)
    case = start_case(licensing, org, clock=clock, policy=Policy.RECORD)
    for task, actor, data in PLAN:
        clock.advance("PT1H")
        case.complete(task, "wang" if task == "review" else actor, data=data)  # the acceptor reviews: recorded
        assert case.trail.entries[-1]["state"] == state_digest(json.loads(dump_case(case)))
    assert any(f.rule for f in case.findings)
