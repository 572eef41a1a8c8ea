"""The indexed 待办 equals the one found by brute force: every person asked about every ready step of every case.

Random cases of the licensing process (random actors, some refused, random data, either policy, an applicant some
reviewer must recuse from, a head who holds the deciding post) are saved in a MemoryStore and a SQLite store; for
every person of the organisation, ``store.todo(person)`` must list exactly the ready steps for which
:meth:`Case.check` raises no finding of a rule that can be known before completion and that refuses under the case's
policy (under ``record`` none refuses: the step's posts and units decide alone).
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, load_organisation, start_case
from approvalflow.engine.case import Case
from approvalflow.errors import ApprovalflowError
from approvalflow.store.cases import add_case
from approvalflow.store.memory import MemoryStore
from approvalflow.store.sqlite import SqliteStore

from .test_worklists import PROCESS, org_with

ORGS = [org_with(), org_with(zhang={"unit": "market-bureau", "posts": ["principal", "leader", "deputy"]})]
PEOPLE = sorted(ORGS[0].people)
START = datetime.fromisoformat("2026-09-28T09:00:00+08:00")
DATA = {
    "receive": st.fixed_dictionaries({"materials_complete": st.booleans()}),
    "review": st.fixed_dictionaries({"needs_extension": st.booleans(), "needs_hearing": st.just(False)}),
    "decide": st.fixed_dictionaries({"approved": st.booleans()}),
}

cases = st.tuples(
    st.sampled_from([0, 1]),  # which organisation
    st.sampled_from(["enforce", "record"]),
    st.sampled_from(["某餐饮有限公司", "某建筑工程有限公司"]),  # liu declared a conflict with the second
    # (which ready step, anyone or a holder of the step's posts, which one, the data)
    st.lists(st.tuples(st.integers(0, 3), st.booleans(), st.integers(0, 8), st.data()), max_size=8),
)


def run(n: int, spec: Any) -> tuple[Case, datetime]:
    org, policy, applicant, attempts = spec
    at = START
    case = start_case(PROCESS, ORGS[org], unit="market-bureau", clock=FakeClock(START.isoformat()),
                      data={"applicant": applicant}, policy=policy, case_id=f"case-{n}")  # fmt: skip
    for pick, anyone, which, data in attempts:
        ready = case.ready_steps()
        if not ready:
            break
        step = ready[pick % len(ready)].id
        posts = set(PROCESS.steps[step].posts)
        holders = [p for p in PEOPLE if anyone or not posts or ORGS[org].people[p].posts & posts]
        actor = holders[which % len(holders)]
        at += timedelta(hours=1)
        values = data.draw(DATA.get(step, st.just({})))
        with contextlib.suppress(ApprovalflowError):  # refused (under enforce): the case is as it was
            case.complete(step, actor, data=values, at=at.isoformat())
    return case, at + timedelta(minutes=1)


def brute_force(case: Case, at: datetime) -> set[tuple[str, str, str]]:
    """(case, step, person) for every person the rules let do a ready step now, asked one by one."""
    # the rules that depend only on who asks and on the case as it stands (not on the moment, data or meeting)
    known = {"unauthorized", "other-unit", "five-not-direct", "separate-actors", "same-actor", "recusal"}
    refusing = known if case.policy.value == "enforce" else {"unauthorized", "other-unit"}
    found = set()
    for r in case.ready_steps():
        for person in PEOPLE:
            if r.assignee is not None:
                may = person == r.assignee
            else:
                may = not any(f.rule in refusing for f in case.check(r.id, person, at=at.isoformat()))
            if may:
                found.add((case.id, r.id, person))
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cases, min_size=1, max_size=3))
def test_the_indexed_todo_equals_brute_force(specs: list[Any]) -> None:
    runs = [run(n, spec) for n, spec in enumerate(specs)]
    expected = set().union(*(brute_force(case, at) for case, at in runs))
    with tempfile.TemporaryDirectory() as folder:
        for store in (MemoryStore(), SqliteStore(Path(folder) / "cases.db")):
            for case, _ in runs:
                add_case(store, case)
            got = {(t.case_id, t.task, person) for person in PEOPLE for t in store.todo(person)}
            assert got == expected
            # 已办: every completion of every case, on its actor's list
            done = {(d.case_id, d.seq, person) for person in PEOPLE for d in store.done(person)}
            assert done == {(case.id, n, c.actor) for case, _ in runs for n, c in enumerate(case.history)}
            store.close()


# -- signed multi-instance steps (会签): named signers, or a number of open instances --------------------------------
def _countersign_models() -> list[Any]:
    from .test_countersign import SEQUENTIAL, load

    open_loop = (
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>n</bpmn:loopCardinality>"
        "</bpmn:multiInstanceLoopCharacteristics>"
    )
    return [
        load('<af:countersign signers="li zhao sun"/>'),
        load('<af:countersign mode="sequence" signers="sun li zhao"/>', SEQUENTIAL),
        load("", open_loop),
    ]


SIGNED = _countersign_models()
SIGNED_ORG = load_organisation(Path(__file__).parent / "data" / "countersign" / "org.yaml")
SIGNED_PEOPLE = sorted(SIGNED_ORG.people)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([0, 1, 2]),
    st.integers(1, 3),
    st.sampled_from(["宏达公司", "某公司"]),  # qian, an expert, declared a conflict with 宏达公司
    st.lists(st.sampled_from(SIGNED_PEOPLE), max_size=4),
)
def test_the_indexed_todo_of_signed_steps_equals_brute_force(
    model: int, n: int, applicant: str, signers: list[str]
) -> None:
    case = start_case(SIGNED[model], SIGNED_ORG, clock=FakeClock("2026-06-01T09:00:00+08:00"),
                      data={"applicant": applicant, "n": n})  # fmt: skip
    case.complete("receive", "clerk", at="2026-06-01T10:00:00+08:00")
    at = datetime.fromisoformat("2026-06-01T10:00:00+08:00")
    for person in signers:
        if not any(r.id == "expert_review" for r in case.ready_steps()):
            break
        at += timedelta(hours=1)
        with contextlib.suppress(ApprovalflowError):
            case.complete("expert_review", person, at=at.isoformat())
    at += timedelta(minutes=1)
    known = {"unauthorized", "other-unit", "five-not-direct", "separate-actors", "same-actor", "recusal"}
    expected = set()
    for r in case.ready_steps():
        for person in SIGNED_PEOPLE:
            if r.assignee is not None:
                may = person == r.assignee
            else:  # an open instance: the rules, and nobody signs a round twice
                found = case.check(r.id, person, at=at.isoformat())
                may = not any(f.rule in known | {"signed-twice", "not-signer"} for f in found)
            if may:
                expected.add((r.id, r.instance if r.assignee is not None else None, person))
    store = MemoryStore()
    add_case(store, case)
    got = {(t.task, t.instance, person) for person in SIGNED_PEOPLE for t in store.todo(person)}
    assert got == expected
