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

A step held by someone (claimed, transferred or delegated: :attr:`~approvalflow.engine.case.ReadyStep.held`) is
also on the list of each standing proxy (委托, :class:`~approvalflow.org.organisation.Proxy`) of its assignee whose
posts and processes match the step, as an item ``on_behalf_of`` the assignee shown only within the proxy's period
(``valid_from`` to ``valid_to``, the store filters on the moment asked); under ``enforce``, not to a proxy a rule
known before completion refuses (a proxy is judged as themselves), and never for a step returned to its doer
(``returned``: no proxy completes it) or for the named signer's instance of a signed step (only they sign it).

Rules that depend on the moment, the data or the meeting record of the completion (``backdated``,
``min-duration``, ``quorum``, ``extension``...) cannot be known before it and do not keep anyone off the list:
:meth:`Case.check <approvalflow.engine.case.Case.check>` answers them for one attempt.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..bpmn.model import StepInfo
from ..rules.checks import PERSON_RULES, StepAttempt, five_not_direct, keeps_off, other_unit, step_units, unauthorized
from .base import DeadlineEntry, DoneEntry, TodoEntry

if TYPE_CHECKING:
    from ..engine.case import Case, ReadyStep
    from ..org.organisation import Organisation, Person

__all__ = ["KNOWN_BEFORE", "PROXIED", "done_rows", "implied", "proxies_of", "todo_rows", "who_may"]

#: What keeps a person off a 待办: the person rules (:data:`~approvalflow.rules.checks.PERSON_RULES`), whose findings
#: depend only on the person and the case as it stands, not on the moment, data or meeting record of a completion.
#: (Checked here with a loop of their own that stops at the first finding: this runs for every candidate at every
#: save, where :func:`approvalflow.engine.eligibility.person_findings` would collect them all.)
KNOWN_BEFORE = PERSON_RULES
#: The holdings whose assignee's standing proxies (委托) may complete the step (:func:`handover.may_complete`): not a
#: step returned to its doer (``returned``), which only they complete.
PROXIED = ("claimed", "transferred", "delegated")

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


#: The person rules that decide by :func:`~approvalflow.rules.checks.keeps_off` alone (post, unit, 五不直接分管): the
#: built-in function of each and its id. For a case whose rules are these very functions, whether one keeps a person
#: off a step is read from keeps_off, kept for the step and person (:func:`_kept_off`), not from a run of the rule.
_BY_KEEPS_OFF: dict[Any, str] = {
    unauthorized: "unauthorized",
    other_unit: "other-unit",
    five_not_direct: "five-not-direct",
}

#: What a case's organisation and definition imply, by the two objects' ids, each referred to weakly (so that an id
#: is never taken for another's and nothing is kept alive): who holds a step's posts in its units
#: (:func:`approvalflow.store.index._responsible`), whom :func:`~approvalflow.rules.checks.keeps_off` keeps off a step
#: (:func:`_kept_off`). Pure functions of the two objects and the plain values of each answer's key; at most 64 pairs,
#: each table started afresh past 65,536 answers.
_IMPLIED: dict[tuple[int, int], tuple[weakref.ref[Any], weakref.ref[Any], dict[tuple[Any, ...], Any]]] = {}


def implied(case: Case) -> dict[tuple[Any, ...], Any] | None:
    """The table of answers kept for the case's organisation and definition while both are the same objects (see
    :data:`_IMPLIED`); None when one cannot be referred to weakly (then nothing is kept)."""
    org, definition = case.organisation, case.definition
    kept = _IMPLIED.get((id(org), id(definition)))
    if kept is None or kept[0]() is not org or kept[1]() is not definition:
        try:
            kept = (weakref.ref(org), weakref.ref(definition), {})
        except TypeError:  # an object that cannot be referred to weakly: not kept
            return None
        if len(_IMPLIED) >= 64:
            _IMPLIED.clear()
        _IMPLIED[(id(org), id(definition))] = kept
    elif len(kept[2]) >= 65536:
        kept[2].clear()
    return kept[2]


def _kept_off(case: Case, table: dict[tuple[Any, ...], Any] | None, info: StepInfo, person: Person) -> tuple[str, ...]:
    """``keeps_off(info, person, case.unit, case.organisation)``, kept in ``table`` (:func:`implied`; ``info`` is the
    definition's step of its id, ``person`` the organisation's of theirs, the unit the organisation's of its id)."""
    key = ("keeps_off", info.id, person.id, case.unit.id)
    found: tuple[str, ...] | None = table.get(key) if table is not None else None
    if found is None:
        found = keeps_off(info, person, case.unit, case.organisation)
        if table is not None:
            table[key] = found
    return found


def _refused(
    case: Case, info: StepInfo, ready: ReadyStep, people: list[Person], known: tuple[str, ...] = KNOWN_BEFORE
) -> list[Person]:
    """Those of ``people`` none of the rules ``known`` refuses (everyone under ``record``)."""
    if case.policy.value != "enforce":
        return people
    found = case.rules
    rules = [fn for fn in (found.get(rule) for rule in known) if fn is not None]  # whether any refuses: any order
    if not rules or not people:
        return people
    by_keeps_off = tuple(_BY_KEEPS_OFF[fn] for fn in rules if fn in _BY_KEEPS_OFF)
    rules = [fn for fn in rules if fn not in _BY_KEEPS_OFF]
    # one attempt built, then copied for each candidate (what ``dataclasses.replace`` gives, without running the
    # constructor again: this runs for every candidate of every ready step at every save); the copies are made of
    # its fields before any rule ran, so that no value a rule cached for one actor (``kept_off``) reaches another
    fields: dict[str, Any] = {}
    if rules:
        fields = StepAttempt(info, people[0], case.unit, case.organisation, tuple(case.history), case.parties,
                             ready.since, None, {}, case.data, ready.since, case.calendar).__dict__  # fmt: skip
    table = implied(case) if by_keeps_off else None
    kept = []
    for p in people:
        if by_keeps_off:
            off = _kept_off(case, table, info, p)
            if off and any(rule in off for rule in by_keeps_off):
                continue
        if rules:
            attempt = object.__new__(StepAttempt)
            attempt.__dict__.update(fields, actor=p)
            if _finds(rules, attempt):
                continue
        kept.append(p)
    return kept


def _finds(rules: list[Any], attempt: StepAttempt) -> bool:
    """Whether one of ``rules`` finds anything in ``attempt`` (each stops at its first finding)."""
    for fn in rules:
        for _ in fn(attempt):
            return True
    return False


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
    candidates = _refused(case, info, ready, candidates)
    return tuple(sorted(dict.fromkeys(p.id for p in candidates)))


def _named_signer(case: Case, ready: ReadyStep) -> bool:
    """Whether ``ready`` is an instance of a signed step that names its signer (only they sign it: ``not-signer``)."""
    from ..engine.signing import instance_of

    for task in case._scan.ready:
        if task.task_spec.bpmn_id == ready.id:
            where = instance_of(task)
            if where is not None and where[0] == ready.instance and where[1] is not None:
                return True
    return False


def proxies_of(case: Case, ready: ReadyStep) -> tuple[tuple[str, datetime, datetime], ...]:
    """The standing proxies (委托) who may do ``ready`` for its assignee: ``(person, from, to)`` for each, sorted.

    Only for a step held by its assignee (:data:`PROXIED`), by a proxy whose posts and processes match the step
    (empty: any), who is not the assignee, is a person of the organisation, and (under ``enforce``) whom no rule
    known before completion refuses, judged as themselves (for a delegated step, as a delegate is: not under
    ``same-actor``); on a signed step, not on an instance naming its signer
    and not for a proxy who already signed the round. Periods of one proxy that overlap or touch are joined (no
    moment lists an item twice); a period that ended before the step was ready is left out. Nothing depends on the
    moment the rows are computed, so ``store check`` finds the same rows at any time.
    """
    principal = ready.assignee
    if principal is None or ready.held not in PROXIED:
        return ()
    info = case.definition.steps[ready.id]
    process = case.definition.id
    periods: dict[str, list[tuple[datetime, datetime]]] = {}
    for p in case.organisation.proxies:
        if p.principal != principal or p.proxy == principal or p.end <= ready.since:
            continue
        if (p.posts and not p.posts & set(info.posts)) or (p.processes and process not in p.processes):
            continue
        periods.setdefault(p.proxy, []).append((p.start, p.end))
    if not periods:
        return ()
    if info.countersign is not None:
        if _named_signer(case, ready):
            return ()
        signed = _signed_in_round(case, ready.id)
        periods = {who: spans for who, spans in periods.items() if who not in signed}
    people = [case.organisation.people[who] for who in sorted(periods) if who in case.organisation.people]
    # a delegate's proxy gives the delegate's opinion, not the decision: 首办负责 (same-actor) binds the holder
    known = tuple(r for r in KNOWN_BEFORE if r != "same-actor") if ready.held == "delegated" else KNOWN_BEFORE
    out: list[tuple[str, datetime, datetime]] = []
    for person in _refused(case, info, ready, people, known):
        joined: list[tuple[datetime, datetime]] = []
        for start, end in sorted(periods[person.id]):
            if joined and start <= joined[-1][1]:
                joined[-1] = (joined[-1][0], max(joined[-1][1], end))
            else:
                joined.append((start, end))
        out += [(person.id, start, end) for start, end in joined]
    return tuple(out)


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
    instance they sign. A held step also gives a row to each standing proxy of its assignee (:func:`proxies_of`),
    with ``on_behalf_of`` and the proxy's period. ``deadlines`` are the case's indexed deadline rows (the step's own
    are matched by task).
    """
    if case.status != "running":  # completed, ended early (撤回, 终止) or suspended (中止): nothing to do now
        return ()
    rows: list[TodoEntry] = []
    seen: set[tuple[str, str]] = set()
    for r in ready:
        first, yellow = _deadline_of(deadlines, r.id)
        instance = r.instance if r.assignee is not None else None
        people: list[tuple[str, str | None, datetime | None, datetime | None]] = [
            (person, None, None, None) for person in who_may(case, r)
        ]
        people += [(person, r.assignee, start, end) for person, start, end in proxies_of(case, r)]
        for person, principal, valid_from, valid_to in people:
            if principal is None:  # one ordinary row a person for the open instances of a signed step
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
                    on_behalf_of=principal,
                    valid_from=valid_from,
                    valid_to=valid_to,
                )
            )
    return tuple(rows)


#: The 已办 rows last given for a case, with what they were made of (dropped with the case): a completion's row never
#: changes once made while the completion object, the step's name, the unit, power and process are the same.
_DONE: weakref.WeakKeyDictionary[Case, tuple[Any, ...]] = weakref.WeakKeyDictionary()


def done_rows(case: Case, *, process: str, power: str | None) -> tuple[DoneEntry, ...]:
    """The 已办 rows of a case: one for each completion of its history (each signature included), in order."""
    steps: Mapping[str, Any] = case.definition.steps
    unit = case.unit.id
    history = case.history
    kept = _DONE.get(case)
    if kept is None or kept[0] is not case.definition or kept[1:4] != (unit, power, process):
        previous: tuple[Any, ...] = ()
        rows: tuple[DoneEntry, ...] = ()
    else:
        previous, rows = kept[4], kept[5]
    same = 0
    for old, new in zip(previous, history, strict=False):  # the completions kept, while they are the same objects
        if old is not new:
            break
        same += 1
    out = rows[:same] + tuple(
        DoneEntry(
            case.id,
            n,
            c.actor,
            c.step,
            steps[c.step].name if c.step in steps else c.step,
            c.at,
            c.since,
            unit,
            power,
            process,
        )
        for n, c in enumerate(history[same:], start=same)
    )
    _DONE[case] = (case.definition, unit, power, process, tuple(history), out)
    return out
