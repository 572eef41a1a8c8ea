"""Serialized cases restore exactly; unknown versions, other processes and broken trails are refused."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, dump_case, load_case, load_organisation, load_process, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine import Policy, case_state
from approvalflow.engine.case import Case
from approvalflow.errors import CaseFormatError
from approvalflow.org.organisation import Organisation

from .conftest import DATA, LICENSING, MARKET_ORG

ACTORS = ["wang", "chen", "liu", "zhou", "li", "zhao", "zhang"]


def walk(case: Case, rng: random.Random, steps: int, moment: list[int]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """Random completions through the licensing process; returns what happened."""
    seen: list[tuple[str, str, str, tuple[str, ...]]] = []
    for _ in range(steps):
        ready = case.ready_steps()
        if not ready:
            break
        step = rng.choice(ready).id
        actor = rng.choice(ACTORS)
        data = {"materials_complete": rng.random() < 0.6, "needs_extension": rng.random() < 0.3}
        moment[0] += rng.randint(1, 40)
        at = f"2026-09-{28 + moment[0] // 100 % 3:02d}T{8 + moment[0] % 10:02d}:00:00+08:00"
        try:
            found = case.complete(step, actor, data=data, at=at)
            seen.append(("done", step, actor, tuple(f.rule for f in found)))
        except StepRefused as exc:
            seen.append(("refused", step, actor, tuple(exc.rules)))
    return seen


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 12), st.sampled_from(list(Policy)))
def test_restored_case_behaves_exactly_like_the_original(seed: int, cut: int, policy: Policy) -> None:
    licensing, org = load_process(LICENSING), load_organisation(MARKET_ORG)
    clock = FakeClock("2026-09-28T09:00:00+08:00")
    original = start_case(licensing, org, clock=clock, data={"applicant": "甲公司"}, policy=policy, case_id="c1")
    walk(original, random.Random(seed), cut, [0])
    restored = load_case(dump_case(original), licensing, org, clock=clock)
    # our own state is identical; the engine's internal bookkeeping (data deltas) may differ, behaviour may not
    ours = [{k: v for k, v in case_state(c).items() if k != "workflow"} for c in (original, restored)]
    assert ours[0] == ours[1]
    assert restored.ready_steps() == original.ready_steps()
    # continue both with the same random choices: same paths, findings and refusals
    a = walk(original, random.Random(seed + 1), 12, [500])
    b = walk(restored, random.Random(seed + 1), 12, [500])
    assert a == b
    assert restored.path == original.path
    assert [f.to_dict() for f in restored.findings] == [f.to_dict() for f in original.findings]
    assert restored.is_completed == original.is_completed
    assert restored.trail.verify()


def test_call_activity_case_round_trip(org: Organisation) -> None:
    from approvalflow import organisation_from_dict

    definition = load_process(DATA / "calls" / "main.bpmn")
    people = {
        "r": {"unit": "u", "posts": ["reviewer"]},
        "s": {"unit": "u", "posts": ["reviewer"]},
        "d": {"unit": "u", "posts": ["deputy"]},
    }
    o = organisation_from_dict({"units": [{"id": "u"}], "people": people})
    case = start_case(definition, o, clock=FakeClock("2026-01-05T09:00:00+08:00"))
    case.complete("review", "r")
    restored = load_case(dump_case(case), definition, o)
    with pytest.raises(StepRefused, match="separate-actors"):
        restored.complete("preside", "r")  # the presider may not be the reviewer
    restored.complete("preside", "s")
    restored.complete("decide", "d")
    assert restored.is_completed and restored.path == ["review", "preside", "decide"]


def test_unknown_version_is_refused(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    doc = json.loads(dump_case(start_case(licensing, org, clock=clock)))
    doc["version"] = 99
    with pytest.raises(CaseFormatError, match="unknown case format version 99"):
        load_case(json.dumps(doc), licensing, org, name="case.json")


def test_not_a_case(licensing: ProcessDefinition, org: Organisation) -> None:
    with pytest.raises(CaseFormatError, match="not JSON"):
        load_case("{oops", licensing, org)
    with pytest.raises(CaseFormatError, match="not a serialized approvalflow case"):
        load_case("[]", licensing, org)


def test_other_process_is_refused(
    licensing: ProcessDefinition, org: Organisation, clock: FakeClock, meeting_process: ProcessDefinition
) -> None:
    text = dump_case(start_case(licensing, org, clock=clock))
    with pytest.raises(CaseFormatError, match="digest"):
        load_case(text, meeting_process, org)


def test_tampered_trail_is_refused(licensing: ProcessDefinition, org: Organisation, clock: FakeClock) -> None:
    case = start_case(licensing, org, clock=clock, data={"applicant": "甲公司"})
    case.complete("receive", "wang", data={"materials_complete": True})
    doc = json.loads(dump_case(case))
    doc["trail"][1]["actor"] = "chen"
    with pytest.raises(CaseFormatError, match="audit trail is broken"):
        load_case(json.dumps(doc), licensing, org)
    doc = json.loads(dump_case(case))
    doc["trail"].pop()  # cut off the tail: caught by the head
    with pytest.raises(CaseFormatError, match="cut off"):
        load_case(json.dumps(doc), licensing, org)


def test_a_path_that_is_not_the_history_does_not_load(
    licensing: ProcessDefinition, org: Organisation, clock: FakeClock
) -> None:
    # the case keeps its completions once (Case.path is read from Case.history): a document whose path says
    # otherwise is refused, whether or not its trail was rechained to match
    from approvalflow.engine.state import apply_state

    case = start_case(licensing, org, clock=clock, data={"applicant": "甲公司"})
    case.complete("receive", "wang", data={"materials_complete": True})
    assert case.path == ["receive"] == [c.step for c in case.history]
    doc = json.loads(dump_case(case))
    assert doc["path"] == ["receive"]
    for path in ([], ["accept"], ["receive", "receive"], "receive"):
        edited = {**doc, "path": path}
        with pytest.raises(CaseFormatError):
            load_case(json.dumps(edited), licensing, org)
        fresh = start_case(licensing, org, clock=clock)
        with pytest.raises(ValueError, match="'path' is not the steps of 'history'"):
            apply_state(fresh, edited)
        assert fresh.path == [] and fresh.history == []  # nothing was set


def test_each_completion_is_saved_with_its_own_moments(licensing: ProcessDefinition, org: Organisation) -> None:
    # a completion's state is made once and listed by every later state: two cases completing the same steps at
    # other moments, each saved after every step, hold each their own
    clocks = [FakeClock("2026-09-28T09:00:00+08:00"), FakeClock("2026-10-12T15:30:00+08:00")]
    cases = [start_case(licensing, org, unit="market-bureau", clock=c) for c in clocks]
    plan = [("receive", "wang", {"materials_complete": True}), ("accept", "chen", {})]
    for step, actor, data in plan:
        for case, clock in zip(cases, clocks, strict=True):
            clock.advance("PT2H")
            case.complete(step, actor, data=data)
            dump_case(case)
    for case, start in zip(cases, ("2026-09-28", "2026-10-12"), strict=True):
        saved = json.loads(dump_case(case))["history"]
        expected = [{"step": c.step, "actor": c.actor, "at": c.at.isoformat(), "since": c.since.isoformat()}
                    for c in case.history]  # fmt: skip
        assert saved == expected and [h["step"] for h in saved] == ["receive", "accept"]
        assert all(h["at"].startswith(start) for h in saved)


def test_a_signature_that_left_its_round_open_is_saved_undecided() -> None:
    from datetime import datetime

    from approvalflow.engine.state import _completion_state
    from approvalflow.rules.checks import Completion

    at, since = datetime.fromisoformat("2026-09-29T10:00:00+08:00"), datetime.fromisoformat("2026-09-28T09:00:00+08:00")
    open_round = Completion("countersign", "li", at, since, decided=False)
    decided = Completion("countersign", "li", at, since)
    expected = {"step": "countersign", "actor": "li", "at": at.isoformat(), "since": since.isoformat()}
    assert _completion_state(open_round) == {**expected, "decided": False}
    assert _completion_state(decided) == expected  # equal completions, other objects: each its own state
    assert _completion_state(open_round) == {**expected, "decided": False}
