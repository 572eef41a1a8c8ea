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
from approvalflow.engine.persistence import case_state, dump_case, load_case, state_digest
from approvalflow.engine.timing import case_deadlines, step_deadline
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
    """The saved case without its trail, as text: what a refused or failed action must leave byte-identical.

    ``dump_case`` writes the state the case keeps since its last action; it must be the state of the live case
    (engine objects included), computed here afresh, or a rollback that left the live case elsewhere would pass.
    """
    doc = json.loads(dump_case(case))
    del doc["trail"], doc["trail_head"]
    assert doc == case_state(case)
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
    assert case.engine_workflow is engine  # put back in place from a structural snapshot, nothing re-read
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


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    done=st.integers(0, len(PLAN)),
    change=st.integers(0, len(PLAN)),
    parties=st.lists(st.sampled_from(["甲", "乙", "某餐饮有限公司"]), min_size=1, max_size=2),
    fail_after_load=st.booleans(),
)
def test_a_loaded_case_saves_the_state_its_trail_binds(
    done: int, change: int, parties: list[str], fail_after_load: bool
) -> None:
    """Saved again before any action, a loaded case is the very document it was loaded from, and loads again.

    (The restored engine lists a task's ``deletions`` in its parent's key order, which the document sorted: with
    parties added after the case started, its state encoded afresh differs from the document's.)
    """
    clock = FakeClock(START)
    case = start_case(PROCESS, ORG, clock=clock, data={"applicant": "某餐饮有限公司"})
    for n, (task, actor, data) in enumerate(PLAN[:done]):
        if n == change:
            case.change_parties("wang", parties=parties, reason="补充当事人")
        clock.advance("PT1H")
        case.complete(task, actor, data=data)
    text = dump_case(case)
    restored = load_case(text, PROCESS, ORG, clock=clock)
    assert dump_case(restored) == text
    assert dump_case(load_case(dump_case(restored), PROCESS, ORG)) == text
    if done < len(PLAN) and fail_after_load:
        task, actor, data = PLAN[done]

        def broken(*args: Any) -> None:
            raise RuntimeError("disk on fire")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Case, "_after_completion", broken)
            with pytest.raises(EngineError):
                restored.complete(task, actor, data=data)
        again = json.loads(dump_case(restored))
        assert {k: v for k, v in again.items() if k not in ("trail", "trail_head")} == {
            k: v for k, v in json.loads(text).items() if k not in ("trail", "trail_head")
        }
        load_case(dump_case(restored), PROCESS, ORG)
    for task, actor, data in PLAN[done:]:
        clock.advance("PT1H")
        restored.complete(task, actor, data=data)
        assert dump_case(load_case(dump_case(restored), PROCESS, ORG)) == dump_case(restored)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hours=st.lists(st.integers(1, 24 * 5), min_size=len(PLAN), max_size=len(PLAN)), asked=st.booleans())
def test_kept_step_deadlines_are_the_ones_computed_afresh(hours: list[int], asked: bool) -> None:
    """A store asks each ready step's deadline when it saves; completing the step reuses it: same findings."""
    clocks = FakeClock(START), FakeClock(START)
    kept, plain = (start_case(PROCESS, ORG, clock=clock) for clock in clocks)
    for (task, actor, data), gap in zip(PLAN, hours, strict=True):
        if asked:
            for ready in kept.ready_steps():
                assert kept.step_deadline(ready.id, ready.since) == step_deadline(kept, ready.id, ready.since)
                assert kept.step_deadline(ready.id, ready.since) == step_deadline(kept, ready.id, ready.since)
        for clock in clocks:
            clock.advance(timedelta(hours=gap))
        assert kept.complete(task, actor, data=data) == plain.complete(task, actor, data=data)
    assert [f.rule for f in kept.findings] == [f.rule for f in plain.findings]
