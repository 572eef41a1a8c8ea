"""Property tests of 退回 and 撤回 inside a parallel block with a 会签 step (issue 17 item 3, Done when).

Random sequences of completions, returns (to a random step, or as the step declares) and take-backs on
``tests/data/flowcontrol/block.bpmn``: the case never stalls (a step is ready or the case is complete), the trail
only grows and verifies (no opinion is lost), a refused operation changes nothing but its refused trail entry, and
the case saves and loads to the same state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine import case_state
from approvalflow.engine.case import Case, ReadyStep
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.errors import StepNotReady, StepRefused
from approvalflow.org.organisation import Organisation

DATA = Path(__file__).parent / "data"
STEPS = ["accept", "check1", "check2", "experts", "decide", "previous", "start", None]


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DATA / "countersign" / "org.yaml")


@pytest.fixture(scope="module")
def block() -> ProcessDefinition:
    return load_process(DATA / "flowcontrol" / "block.bpmn")


def doers(case: Case, r: ReadyStep) -> list[str]:
    if r.assignee is not None:
        return [r.assignee]
    return sorted(p.id for p in case.organisation.people.values() if set(r.posts) & set(p.posts) and p.id != "chief")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.tuples(st.sampled_from(["complete", "complete", "return", "take-back", "suspend", "resume"]),
                                st.integers(0, 10), st.sampled_from(STEPS)), max_size=25))  # fmt: skip
def test_random_completions_and_returns(
    block: ProcessDefinition, org: Organisation, moves: list[tuple[str, int, str | None]]
) -> None:
    moment = datetime.fromisoformat("2026-06-01T09:00:00+08:00")
    case = start_case(block, org, clock=FakeClock(moment), data={"applicant": "宏达公司"})
    for kind, pick, target in moves:
        moment += timedelta(hours=1)
        ready = case.ready_steps()
        assert ready or case.is_completed, "the case stalled"
        if not ready:
            break
        r = ready[pick % len(ready)]
        people = doers(case, r)
        actor = people[pick % len(people)]
        before, entries, done = case_state(case), case.trail.entries, len(case.history)
        try:
            if kind == "complete":
                if r.instance is not None:  # a signature of the 会签 carries its opinion
                    case.complete(r.id, actor, comment=f"意见{pick}", at=moment)
                else:
                    case.complete(r.id, actor, data={f"{r.id}_note": f"意见{pick}"}, at=moment)
                assert len(case.history) == done + 1
            elif kind == "return":
                to = target if target not in ("previous", "start") else None
                case.return_to(r.id, actor, to=to, reason="退回", at=moment)
                assert len(case.history) == done  # the work done before stays in the history
                assert case.trail.entries[-1]["outcome"] == "returned"
            elif kind == "suspend":
                case.suspend("deputy", reason="中止", at=moment)
                assert case.status == "suspended"
            elif kind == "resume":
                case.resume("deputy", at=moment)
                assert case.status == "running"
            else:
                last = case.history[-1] if case.history else None
                step = last.step if last is not None else r.id
                who = last.actor if last is not None else actor
                case.take_back(step, who, reason="撤回", at=moment)
                assert len(case.history) == done - 1
                assert any(r2.id == step and r2.assignee == who for r2 in case.ready_steps())
        except StepRefused:
            assert case_state(case) == before, "a refused operation changed the case"
            assert case.trail.entries[-1]["outcome"] == "refused"
        except StepNotReady:  # a completion while suspended (中止)
            assert case.status == "suspended" and kind == "complete"
            assert case_state(case) == before, "a refused operation changed the case"
        after = case.trail.entries
        assert after[: len(entries)] == entries, "the trail lost or changed an entry"
        assert case.trail.verify().ok
        assert case.ready_steps() or case.is_completed, "the case stalled"
    again = load_case(dump_case(case), block, org, clock=case.clock)
    assert case_state(again) == case_state(case)
    signed = [e for e in case.trail.entries if e["step"] == "experts" and e["outcome"] in ("completed", "recorded")]
    assert len(signed) == sum(1 for h in case.history if h.step == "experts") + sum(
        1 for e in case.trail.entries if e["outcome"] == "taken-back" and e["step"] == "experts"
    )  # every signature is in the history as in the trail (never taken back)
