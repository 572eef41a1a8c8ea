"""Who may do each ready step now (待办) and who did each completed step (已办): the worklist index rows.

Computed when a case is saved (:func:`~approvalflow.store.index.record_of`), written in the same transaction as
the case row, so that a person's 待办 is one indexed query, never a scan of the cases.

For each ready step of an open case, the people who may do it now:

- its assignee when the step has one (:attr:`~approvalflow.engine.case.ReadyStep.assignee`: the signer of an
  instance of a multi-instance step), and nobody else;
- otherwise every person of the units that do the step (:func:`~approvalflow.rules.checks.step_units`) who holds
  one of its posts (any person of those units for a step without posts), less, under the ``enforce`` policy,
  those a rule known before completion refuses (:data:`KNOWN_BEFORE`: 五不直接分管, recusal, separation of
  duties, 首办负责); for a signed step whose instances name no signer, less those who already signed the round.

Rules that depend on the moment, the data or the meeting record of the completion (``backdated``,
``min-duration``, ``quorum``, ``extension``...) cannot be known before it and do not keep anyone off the list:
:meth:`Case.check <approvalflow.engine.case.Case.check>` answers them for one attempt.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..rules.checks import StepAttempt, step_units
from .base import DeadlineEntry, DoneEntry, TodoEntry

if TYPE_CHECKING:
    from ..engine.case import Case, ReadyStep
    from ..org.organisation import Organisation, Person

__all__ = ["KNOWN_BEFORE", "done_rows", "todo_rows", "who_may"]

#: The run-time rules whose findings depend only on the person and the case as it stands (its unit, history and
#: parties), not on the moment, data or meeting record of the completion: what keeps a person off a 待办.
KNOWN_BEFORE = ("unauthorized", "other-unit", "five-not-direct", "separate-actors", "same-actor", "recusal")

#: The people of each unit of an organisation, by unit id, in id order (kept while the organisation lives).
_BY_UNIT: dict[int, tuple[weakref.ref[Organisation], dict[str, tuple[Person, ...]]]] = {}


def _people_of(org: Organisation, unit: str) -> tuple[Person, ...]:
    kept = _BY_UNIT.get(id(org))
    if kept is None or kept[0]() is not org:
        grouped: dict[str, list[Person]] = {}
        for p in sorted(org.people.values(), key=lambda p: p.id):
            grouped.setdefault(p.unit, []).append(p)
        if len(_BY_UNIT) > 64:
            _BY_UNIT.clear()
        kept = (weakref.ref(org), {u: tuple(ps) for u, ps in grouped.items()})
        _BY_UNIT[id(org)] = kept
    return kept[1].get(unit, ())


def _signed_in_round(case: Case, step: str) -> set[str]:
    """Who already signed the current round of a signed step (they may not sign it again: ``signed-twice``)."""
    from .._spiff import countersign_round

    for task in case._scan.ready:
        if task.task_spec.bpmn_id == step:
            round_ = countersign_round(task)
            if round_ is not None:
                return {str(o.get("signer")) for o in round_.get("opinions") or []}
    return set()


def who_may(case: Case, ready: ReadyStep) -> tuple[str, ...]:
    """The ids of the people who may do ``ready`` now (see the module docstring), sorted."""
    if ready.assignee is not None:
        return (ready.assignee,)
    info = case.definition.steps[ready.id]
    posts = set(info.posts)
    candidates = [
        p
        for unit in step_units(info, case.unit.id)
        for p in _people_of(case.organisation, unit)
        if not posts or p.posts & posts
    ]
    if info.countersign is not None:
        signed = _signed_in_round(case, ready.id)
        candidates = [p for p in candidates if p.id not in signed]
    if case.policy.value == "enforce":
        rules = [fn for rule, fn in case.rules.items() if rule in KNOWN_BEFORE]
        if rules:
            history, parties = tuple(case.history), case.parties
            kept = []
            for p in candidates:
                attempt = StepAttempt(info, p, case.unit, case.organisation, history, parties, ready.since,
                                      None, {}, case.data, ready.since, case.calendar)  # fmt: skip
                if not any(True for fn in rules for _ in fn(attempt)):
                    kept.append(p)
            candidates = kept
    return tuple(sorted(dict.fromkeys(p.id for p in candidates)))


def _deadline_of(rows: Sequence[DeadlineEntry], task: str) -> tuple[DeadlineEntry | None, datetime | None]:
    """The deadline that turns red first among the case's and the step's own, and the earliest yellow moment."""
    applying = [d for d in rows if d.scope == "case" or d.task == task]
    if not applying:
        return None, None
    first = min(applying, key=lambda d: (d.end, d.ordinal))
    return first, min(d.yellow_from for d in applying)


def todo_rows(
    case: Case, ready: Sequence[ReadyStep], deadlines: Sequence[DeadlineEntry], *, process: str, power: str | None
) -> tuple[TodoEntry, ...]:
    """The 待办 rows of a case: one for each ready step and each person who may do it; none unless it is running.

    A signed step's instances that name no signer give one row a person (``instance`` None): whichever open
    instance they sign. ``deadlines`` are the case's indexed deadline rows (the step's own are matched by task).
    """
    if case.status != "running":  # completed, ended early (撤回, 终止) or suspended (中止): nothing to do now
        return ()
    rows: list[TodoEntry] = []
    seen: set[tuple[str, str]] = set()
    for r in ready:
        first, yellow = _deadline_of(deadlines, r.id)
        instance = r.instance if r.assignee is not None else None
        for person in who_may(case, r):
            if instance is None and (r.id, person) in seen:
                continue
            seen.add((r.id, person))
            rows.append(
                TodoEntry(
                    case.id,
                    len(rows),
                    person,
                    r.id,
                    instance,
                    r.name,
                    r.since,
                    first.day if first else None,
                    first.limit if first else None,
                    first.end if first else None,
                    yellow,
                    case.unit.id,
                    power,
                    process,
                )
            )
    return tuple(rows)


def done_rows(case: Case, *, process: str, power: str | None) -> tuple[DoneEntry, ...]:
    """The 已办 rows of a case: one for each completion of its history (each signature included), in order."""
    steps: Mapping[str, Any] = case.definition.steps
    return tuple(
        DoneEntry(
            case.id,
            n,
            c.actor,
            c.step,
            steps[c.step].name if c.step in steps else c.step,
            c.at,
            c.since,
            case.unit.id,
            power,
            process,
        )
        for n, c in enumerate(case.history)
    )
