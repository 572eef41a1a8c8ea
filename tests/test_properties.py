"""Properties of the engine over random walks (issue 7, item 2), drawn by approvalflow.testing.strategies.

- a refused step changes nothing: the case state is identical and the trail only gains the refused attempt;
- every walk ends in a completed case or with a step that is ready;
- the findings recorded under ``record`` equal the refusals under ``enforce``, attempt by attempt.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import StepRefused, load_organisation, load_process
from approvalflow.engine import Policy, case_state
from approvalflow.testing.strategies import SEASONS, Walk, branch_data, moments, replay, walks

from .conftest import LICENSING, ROOT

PROCESS = load_process(LICENSING)
ORG = load_organisation(ROOT / "processes" / "org" / "sample_county.yaml")
UNIT = "market-bureau"
TIME_RULES = {"step-overdue", "case-overdue"}
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUICK = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@SETTINGS
@given(walks(PROCESS, ORG, unit=UNIT, mode="break", breaks=2))
def test_a_refused_step_changes_nothing(walk: Walk) -> None:
    run = replay(walk, PROCESS, ORG, policy=Policy.ENFORCE)
    case = run.case
    # Replay again, stopping before each refused attempt to compare the case before and after it.
    for index in run.refused:
        prefix = replay(replace(walk, steps=walk.steps[:index]), PROCESS, ORG)
        before, trail = case_state(prefix.case), list(prefix.case.trail.entries)
        step = walk.steps[index]
        with contextlib.suppress(StepRefused):
            prefix.case.complete(step.task, step.actor, data=step.data, meeting=step.meeting, at=step.at)
        assert case_state(prefix.case) == before
        assert prefix.case.trail.entries[: len(trail)] == trail
        assert [e["outcome"] for e in prefix.case.trail.entries[len(trail) :]] == ["refused"]
    # Every attempt the walk marked as rule-breaking was refused for those rules, and no other attempt was.
    assert {i: tuple(r) for i, r in run.refused.items()} == {i: s.breaks for i, s in enumerate(walk.steps) if s.breaks}
    assert case.path == [s.task for s in walk.steps if not s.breaks]


@pytest.mark.slow
@SETTINGS
@given(walks(PROCESS, ORG, unit=UNIT, mode="respect"))
def test_every_walk_ends_completed_or_with_a_ready_step(walk: Walk) -> None:
    case = replay(walk, PROCESS, ORG).case
    assert case.is_completed or case.ready_steps(), walk.stopped
    assert case.is_completed == walk.completed
    assert all(not s.breaks for s in walk.steps)


@pytest.mark.slow
@SETTINGS
@given(walks(PROCESS, ORG, unit=UNIT, mode="break", breaks=2))
def test_findings_under_record_equal_refusals_under_enforce(walk: Walk) -> None:
    recorded_walk = walk.without_retries()  # the rule-breaking attempts go through
    recorded = replay(recorded_walk, PROCESS, ORG, policy=Policy.RECORD)
    assert recorded.refused == {}
    rule_findings = {i: r for i, rules in recorded.findings.items() if (r := [x for x in rules if x not in TIME_RULES])}
    # Under enforce, the same attempts on the same case: a refusal is noted, then the attempt is let through
    # (policy switched to record for that one completion) so that both cases stay in the same state.
    enforced_case = replay(replace(recorded_walk, steps=()), PROCESS, ORG).case
    refusals: dict[int, list[str]] = {}
    for i, step in enumerate(recorded_walk.steps):
        try:
            enforced_case.complete(step.task, step.actor, data=step.data, meeting=step.meeting, at=step.at)
        except StepRefused as refused:
            refusals[i] = list(refused.rules)
            enforced_case.policy = Policy.RECORD
            enforced_case.complete(step.task, step.actor, data=step.data, meeting=step.meeting, at=step.at)
            enforced_case.policy = Policy.ENFORCE
    assert refusals == rule_findings
    assert enforced_case.path == recorded.case.path
    # Each deliberate break shows up in both (earlier actors may differ from the generating run, never the rules
    # of a step whose actor lacks the post).
    for i, step in enumerate(recorded_walk.steps):
        if "unauthorized" in step.breaks:
            assert "unauthorized" in refusals[i]


@settings(max_examples=50, deadline=None)
@given(moments(("spring-festival",)))
def test_moments_fall_in_office_hours_of_the_season(moment: datetime) -> None:
    first, last = SEASONS["spring-festival"]
    assert first <= moment.date() <= last
    offset = moment.utcoffset()
    assert offset is not None and offset.total_seconds() == 8 * 3600

    assert (8, 30) <= (moment.hour, moment.minute) <= (17, 30)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_branch_data_steers_the_gateway_it_draws(data: st.DataObject) -> None:
    # After 'review' come gw_hearing (needs_hearing) and gw_extension (needs_extension): the data drawn must make
    # the engine take a branch at each, so both names are set, to values the conditions read as booleans.
    chosen = data.draw(branch_data(PROCESS, ["review"], {"applicant": "x"}))
    assert set(chosen) == {"needs_hearing", "needs_extension"}
    # gw_materials after 'receive': materials_complete == True takes f_gw_accept, anything else the default.
    drawn = data.draw(branch_data(PROCESS, ["receive"], {}))
    assert set(drawn) == {"materials_complete"}


@QUICK
@given(walks(PROCESS, ORG, unit=UNIT, mode="break"))
def test_quick_walks_replay_to_the_same_path(walk: Walk) -> None:
    # The fast suite's share of the slow properties above: a few walks, replayed under enforce.
    run = replay(walk, PROCESS, ORG)
    assert run.case.path == [s.task for s in walk.steps if not s.breaks]
    assert run.case.is_completed or run.case.ready_steps()
