"""The trail binds the state at rest, and a failed action rolls back without encoding anything (issue 15, item 6).

- an entry binds the digest of the state after its action when that state is observed (the trail read, the case
  saved) before the next action, ``null`` otherwise; the last entry of a saved case always binds the saved state;
- a version-3 document whose last entry binds no state is refused; a version-2 document still loads;
- a failure anywhere after the engine moved (inside SpiffWorkflow, in our bookkeeping) puts the case back exactly,
  through the structural snapshot of the task tree, on paths with a sub-process, loops and nested data;
- a trail keeps at most ``MAX_PENDING`` entries unhashed, and its chain is the same as if each had been hashed at once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import _spiff
from approvalflow.engine.case import Case, Policy, start_case
from approvalflow.engine.persistence import case_state, dump_case, load_case, state_digest
from approvalflow.engine.trail import MAX_PENDING, AuditTrail, verify_trail
from approvalflow.errors import CaseFormatError, EngineError, StepNotReady
from approvalflow.time.clock import FakeClock

from .test_engine_speedups import ORG, PLAN, PROCESS, START, saved_state

#: The path through the hearing (a call activity, so a sub-process), under ``record`` (no hearing officer exists in
#: this organisation: the preside step goes through with a finding).
HEARING: list[tuple[str, str, dict[str, Any]]] = [
    ("receive", "wang", {"materials_complete": False, "note": {"pages": [1, {"missing": ["seal"]}]}}),
    ("notify_correction", "wang", {}),
    ("receive", "wang", {"materials_complete": True, "note": {"pages": [1, 2]}}),
    ("accept", "wang", {}),
    ("review", "liu", {"needs_extension": False, "needs_hearing": True}),
    ("hearing_notice", "wang", {"witnesses": [["甲", "乙"], {"甲": {"late": True}}]}),
    ("hearing_preside", "zhou", {}),
    ("hearing_record", "wang", {}),
    ("decide", "li", {"approved": True}),
    ("deliver", "chen", {}),
]
INITIAL = {"applicant": "某餐饮有限公司", "parties": ["某餐饮有限公司"], "meta": {"refs": [{"id": 1, "tags": ["a"]}]}}


def hearing_case(done: int) -> tuple[Case, FakeClock]:
    clock = FakeClock(START)
    case = start_case(PROCESS, ORG, clock=clock, data=INITIAL, policy=Policy.RECORD)
    for task, actor, data in HEARING[:done]:
        clock.advance("PT1H")
        case.complete(task, actor, data=data)
    return case, clock


def test_unobserved_entries_bind_null_and_the_last_one_binds_the_state() -> None:
    clock = FakeClock(START)
    case = start_case(PROCESS, ORG, clock=clock)
    for task, actor, data in PLAN[:3]:
        clock.advance("PT1H")
        case.complete(task, actor, data=data)
    entries = case.trail.entries  # the first observation
    assert [e["state"] for e in entries[:-1]] == [None, None, None]
    assert entries[-1]["state"] == state_digest(case_state(case))
    assert verify_trail(entries, head=case.trail.head).ok


def test_entries_observed_after_each_action_each_bind_their_state() -> None:
    clock = FakeClock(START)
    case = start_case(PROCESS, ORG, clock=clock)
    digests = [state_digest(case_state(case))]
    assert case.trail.head.count == 1
    for task, actor, data in PLAN[:4]:
        clock.advance("PT1H")
        case.complete(task, actor, data=data)
        digests.append(state_digest(case_state(case)))
        assert case.trail.head.count == len(digests)  # reading the head observes the state
    assert [e["state"] for e in case.trail.entries] == digests
    assert len(set(digests)) == len(digests)


def test_a_saved_case_binds_its_state_and_loads_again() -> None:
    case, _clock = hearing_case(6)
    text = dump_case(case)
    doc = json.loads(text)
    assert doc["version"] == 4 and doc["trail"][-1]["state"] == state_digest(doc)
    assert any(e["state"] is None for e in doc["trail"])  # the actions between were never observed
    restored = load_case(text, PROCESS, ORG)
    assert dump_case(restored) == text  # loaded and saved again without an action: byte for byte
    assert restored.path == case.path and [r.id for r in restored.ready_steps()] == ["hearing_preside"]


def _rechained(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    trail = AuditTrail()
    for entry in entries:
        trail.append(**{k: v for k, v in entry.items() if k not in ("seq", "prev", "hash", "mac")})
    return trail.entries


def test_a_version_3_document_whose_last_entry_binds_nothing_is_refused() -> None:
    case, _clock = hearing_case(3)
    doc = json.loads(dump_case(case))
    for state in (None, "0" * 64):
        forged = dict(doc)
        forged["trail"] = _rechained([*doc["trail"][:-1], {**doc["trail"][-1], "state": state}])
        forged["trail_head"] = {"hash": forged["trail"][-1]["hash"], "count": len(forged["trail"])}
        with pytest.raises(CaseFormatError, match=r"binds no case state|does not match its audit trail"):
            load_case(json.dumps(forged), PROCESS, ORG)
    missing = dict(doc)
    missing["trail"] = _rechained([{k: v for k, v in e.items() if k != "state"} for e in doc["trail"][:-1]])
    missing["trail"] = _rechained([*missing["trail"], doc["trail"][-1]])
    missing["trail_head"] = {"hash": missing["trail"][-1]["hash"], "count": len(missing["trail"])}
    with pytest.raises(CaseFormatError, match="binds no case state"):
        load_case(json.dumps(missing), PROCESS, ORG)


def test_a_version_2_document_still_loads_and_one_with_an_unbound_entry_does_not() -> None:
    clock = FakeClock(START)
    case = start_case(PROCESS, ORG, clock=clock)
    assert case.trail.head.count
    for task, actor, data in PLAN[:3]:
        clock.advance("PT1H")
        case.complete(task, actor, data=data)
        assert case.trail.head.count  # observed after every action, as version 2 bound every entry
    doc = json.loads(dump_case(case))
    old = {**doc, "version": 2}
    old["trail"] = _rechained([*doc["trail"][:-1], {**doc["trail"][-1], "state": state_digest(old)}])
    old["trail_head"] = {"hash": old["trail"][-1]["hash"], "count": len(old["trail"])}
    restored = load_case(json.dumps(old), PROCESS, ORG)
    assert restored.path == case.path and json.loads(dump_case(restored))["version"] == 2  # kept as it was
    restored.complete(*PLAN[3][:2], data=PLAN[3][2])
    assert json.loads(dump_case(restored))["version"] == 4
    unbound = {**old, "trail": _rechained([{**old["trail"][0], "state": None}, *old["trail"][1:]])}
    unbound["trail_head"] = {"hash": unbound["trail"][-1]["hash"], "count": len(unbound["trail"])}
    with pytest.raises(CaseFormatError, match="bind no case state"):
        load_case(json.dumps(unbound), PROCESS, ORG)


def _break(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"injected failure in {where}")

    if where == "engine":  # inside SpiffWorkflow: a gateway's condition, after the completed task moved on
        monkeypatch.setattr(_spiff.SafeScriptEngine, "evaluate", fail)
    else:
        monkeypatch.setattr(Case, where, fail)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    done=st.integers(0, len(HEARING) - 1),
    where=st.sampled_from(["engine", "_after_completion", "_mark_ready", "_case_overdue"]),
    observed=st.booleans(),
)
def test_a_failure_after_the_engine_moved_puts_everything_back(
    monkeypatch: pytest.MonkeyPatch, done: int, where: str, observed: bool
) -> None:
    case, clock = hearing_case(done)
    if observed:
        assert case.trail.head.count
    task, actor, data = HEARING[done]
    before, count = saved_state(case), case.trail.count
    entries = case.trail.entries[:count] if observed else None
    engine = case.engine_workflow
    ready = [(r.id, r.since) for r in case.ready_steps()]
    clock.advance("PT1H")
    with monkeypatch.context() as patch:
        _break(patch, where)
        try:
            case.complete(task, actor, data=data)
        except EngineError as exc:
            assert "injected failure" in str(exc)
        else:  # the broken part was not reached on this step (no condition, the case did not end...)
            return
    assert case.engine_workflow is engine
    assert saved_state(case) == before
    assert [(r.id, r.since) for r in case.ready_steps()] == ready
    after = case.trail.entries
    assert len(after) == count + 1 and after[-1]["outcome"] == "engine-error"
    assert after[-1]["state"] == state_digest(json.loads(before))
    if entries is not None:
        assert after[:count] == entries
    for task, actor, data in HEARING[done:]:
        clock.advance("PT1H")
        case.complete(task, actor, data=data)
    assert case.is_completed
    text = dump_case(case)
    assert dump_case(load_case(text, PROCESS, ORG)) == text


def test_a_refused_attempt_between_observations_binds_the_unchanged_state() -> None:
    case, _clock = hearing_case(2)
    digest = case.trail.entries[-1]["state"]
    with pytest.raises(StepNotReady):
        case.complete("decide", "li")
    assert case.trail.entries[-1]["outcome"] == "not-ready" and case.trail.entries[-1]["state"] == digest


def test_a_long_unobserved_run_keeps_few_entries_pending_and_one_chain() -> None:
    case, _clock = hearing_case(1)
    for _ in range(3 * MAX_PENDING):
        with pytest.raises(StepNotReady):
            case.complete("decide", "li")
        assert case.trail._waiting <= MAX_PENDING
    entries = case.trail.entries
    assert len(entries) == 2 + 3 * MAX_PENDING and verify_trail(entries, head=case.trail.head).ok
    assert [e["state"] for e in entries[:-1]] == [None] * (len(entries) - 1)
    assert entries[-1]["state"] == state_digest(case_state(case))
