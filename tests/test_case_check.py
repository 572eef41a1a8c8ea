"""``Case.check(step, actor)``: "may 李 do this?" answered without trying it on a copy (issue 17, item 1).

The findings a completion would raise, computed as ``complete`` computes them, and nothing changes: no trail entry,
no timer fired. A Hypothesis property holds ``check`` equal to what ``complete`` then does, on random attempts.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, load_organisation, load_process, start_case
from approvalflow.engine.case import Case
from approvalflow.engine.state import case_state
from approvalflow.errors import ApprovalflowError, StepNotReady, UnknownActorError

from .conftest import LICENSING, MARKET_ORG

DATA = Path(__file__).parent / "data"
PROCESS = load_process(LICENSING)
ORG = load_organisation(MARKET_ORG)
START = "2026-09-28T09:00:00+08:00"


def opened() -> Case:
    clock = FakeClock(START)
    case = start_case(PROCESS, ORG, unit="market-bureau", clock=clock, data={"applicant": "某餐饮有限公司"})
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    case.complete("accept", "wang", at="2026-09-28T11:00:00+08:00")
    case.complete("review", "liu", data={"needs_extension": False, "needs_hearing": False},
                  at="2026-09-29T10:00:00+08:00")  # fmt: skip
    return case


def test_the_head_may_not_decide_and_the_deputy_may_and_nothing_changes() -> None:
    case = opened()
    before, entries = case_state(case), case.trail.count
    # zhang is the principal: deciding an approval himself breaks 五不直接分管 (and he holds no post for it)
    assert sorted(f.rule for f in case.check("decide", "zhang", at="2026-09-29T11:00:00+08:00")) == [
        "five-not-direct", "unauthorized"
    ]  # fmt: skip
    assert case.check("decide", "li", at="2026-09-29T11:00:00+08:00") == []  # the deputy in charge: clean
    assert case_state(case) == before and case.trail.count == entries


def test_a_late_completion_is_answered_with_its_step_overdue_warning() -> None:
    case = opened()
    found = case.check("decide", "li", at="2026-12-01T11:00:00+08:00")  # long after decide's own limit
    assert [f.rule for f in found] == ["step-overdue"] and found[0].severity == "warning"


def test_what_complete_would_refuse_before_the_rules_is_raised_and_not_recorded() -> None:
    case = opened()
    entries = case.trail.count
    with pytest.raises(StepNotReady):
        case.check("deliver", "chen")
    with pytest.raises(UnknownActorError):
        case.check("decide", "nobody")
    assert case.trail.count == entries  # complete would have recorded both attempts; check records nothing


ACTORS = ["wang", "liu", "li", "zhang", "chen", "zhao", "sun"]
STEPS = ["receive", "accept", "review", "decide", "deliver", "notify_correction"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(STEPS), st.sampled_from(ACTORS), st.integers(0, 30 * 24)), max_size=6))
def test_check_says_what_complete_then_does(attempts: list[tuple[str, str, int]]) -> None:
    """Property: for any attempt, check() changes nothing, and complete() then refuses exactly when check() found
    a rule finding (the case runs under enforce; step-overdue is a time warning, never a refusal), with the same
    rules; otherwise it completes and records what check() found (and case-overdue if the step ended the case)."""
    case = opened()
    at = case.started_at + timedelta(days=1, hours=2)
    for step, actor, hours in attempts:
        moment = at + timedelta(hours=hours)
        before, entries = case_state(case), case.trail.count
        try:
            found = case.check(step, actor, at=moment)
        except ApprovalflowError as exc:
            assert case_state(case) == before and case.trail.count == entries
            with pytest.raises(type(exc)):
                case.complete(step, actor, at=moment)
            continue
        assert case_state(case) == before and case.trail.count == entries
        errors = sorted({f.rule for f in found if f.rule != "step-overdue"})
        try:
            recorded = case.complete(step, actor, at=moment)
        except StepRefused as refused:
            assert sorted(set(refused.rules)) == errors
            continue
        except ApprovalflowError:
            continue  # a failure inside the engine after the rules (e.g. a gateway's data): not check's to say
        # case-overdue is recorded only when the completion ends the case, which only the engine's move tells
        assert errors == [] and sorted(f.rule for f in recorded if f.rule != "case-overdue") == sorted(
            f.rule for f in found
        )
        at = max(at, moment)


def test_case_overdue_is_not_predicted_since_only_the_move_says_whether_the_case_ends() -> None:
    case = opened()
    case.complete("decide", "li", data={"approved": True}, at="2026-09-29T11:00:00+08:00")
    late = "2026-12-01T11:00:00+08:00"  # deliver, the last step, long after its own and the case's limits
    assert [f.rule for f in case.check("deliver", "chen", at=late)] == ["step-overdue"]
    recorded = sorted(f.rule for f in case.complete("deliver", "chen", at=late))
    assert case.is_completed and recorded == ["case-overdue", "case-overdue", "step-overdue"]  # promised, statutory
