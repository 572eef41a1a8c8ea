"""What the console shows, gathered from the store: the card wall, one case, search hits and the efficiency figures.

Everything here reads; nothing writes. The wall comes from the supervision sweep over the store's index
(:func:`~approvalflow.supervision.sweep.sweep_store`, through a :class:`~approvalflow.store.base.CollectingStore` so
that a case whose index does not tie is listed, not shown), a case from the store with its trail verified
(:func:`~approvalflow.store.cases.load_case_from`). ``unit`` is the scope of the caller: None for a supervisor (every
unit), the platform's unit otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..bpmn.loader import ProcessDefinition
from ..engine.case import Case, ReadyStep
from ..engine.timing import Alert
from ..errors import ApprovalflowError
from ..store.base import CaseRecord, CollectingStore, IndexProblem, StoreError
from ..store.cases import load_case_from
from ..store.listing import applicant_of
from ..store.registry import KnownDefinitions, definition_of, versions
from ..supervision.efficiency import Evaluation, Period, evaluate_efficiency
from ..supervision.sweep import AlertCard, sweep_store
from ..time.caseclock import CaseDeadlines
from ..time.periods import Deadline, local_date
from .console_flow import States, colour_svg, flowcharts
from .context import ServiceContext

__all__ = [
    "CaseView",
    "Hit",
    "Names",
    "Wall",
    "WallCard",
    "case_view",
    "efficiency",
    "names_of",
    "search",
    "wall",
]

GroupBy = Literal["unit", "power", "person"]
MAX_HITS = 200
"""Most search hits shown (the page says when there are more)."""


@dataclass(frozen=True)
class Names:
    """What people call a process and its steps: its title, its power's code and name, each step's name."""

    title: str
    power: str | None
    power_name: str | None
    steps: dict[str, str] = field(default_factory=dict)


_NAMES: dict[str, Names] = {}  # digest -> names (a digest names one definition)


def names_of(definition: ProcessDefinition) -> Names:
    """The names of a definition (kept by digest)."""
    found = _NAMES.get(definition.digest)
    if found is None:
        power = definition.power
        title = (power.name if power else None) or definition.name or definition.id
        steps = {k: s.name for k, s in definition.steps.items() if s.name}
        found = Names(title, power.code if power else None, power.name if power else None, steps)
        if len(_NAMES) > 1024:
            _NAMES.clear()
        _NAMES[definition.digest] = found
    return found


def _deployed(context: ServiceContext) -> list[Names]:
    """The names of every definition the console knows: the host's own, then each deployed in the store."""
    out = [names_of(d) for d in context.processes]
    try:
        deployed = versions(context.store)
    except StoreError:  # a store without a registry
        deployed = []
    for d in deployed:
        if d.digest in _NAMES:
            out.append(_NAMES[d.digest])
            continue
        try:
            definition = definition_of(context.store, d.digest)
        except StoreError:
            definition = None
        if definition is not None:
            out.append(names_of(definition))
    return out


def _by_power(context: ServiceContext) -> dict[str, Names]:
    """Names by power code (the first definition of each code; a card names its power, not its definition)."""
    out: dict[str, Names] = {}
    for n in _deployed(context):
        if n.power is not None:
            out.setdefault(n.power, n)
    return out


def _person_name(context: ServiceContext, unit: str, person: str) -> str:
    org = context.organisation_of(unit)
    found = org.person(person) if org is not None else None
    if found is None:  # a cross-department step: the person may be of another unit's organisation
        found = next((o.person(person) for o in context.organisations.values() if o.person(person)), None)
    return found.name if found is not None else person


def unit_name(context: ServiceContext, unit: str) -> str:
    """The unit's name in its organisation (the id when unknown)."""
    org = context.organisation_of(unit)
    found = org.units.get(unit) if org is not None else None
    return found.name if found is not None and found.name else unit


# -- the card wall --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WallCard:
    """A card of the wall with the names people read: step, power, unit and the people responsible."""

    card: AlertCard
    step_name: str | None
    power_name: str | None
    unit_name: str
    people: tuple[tuple[str, str], ...]  # (id, name)
    late_days: int  # calendar days since the deadline day (red cards), else 0

    @property
    def key(self) -> str:
        """What identifies the card (its case, level, limit, step and deadline)."""
        c = self.card
        return f"{c.case}|{c.level}|{c.scope}|{c.limit}|{c.task or ''}|{c.deadline.isoformat()}"


@dataclass
class Wall:
    """The cards at ``at`` in the caller's scope, most urgent first, and the cases left out (index problems)."""

    at: datetime
    open_cases: int | None
    cards: list[WallCard]
    problems: list[IndexProblem]

    def counts(self) -> dict[str, int]:
        """Red and yellow cards, and the cases that have one."""
        return {
            "red": sum(c.card.level == "red" for c in self.cards),
            "yellow": sum(c.card.level == "yellow" for c in self.cards),
            "cases": len({c.card.case for c in self.cards}),
        }

    def groups(self, by: GroupBy) -> list[tuple[str, str, int, int]]:
        """``(key, label, red, yellow)`` per unit, power or person (a card counts for each person responsible),
        most red first."""
        found: dict[str, list[Any]] = {}
        for c in self.cards:
            if by == "unit":
                keys = [(c.card.unit, c.unit_name)]
            elif by == "power":
                keys = [(c.card.power or "-", c.power_name or c.card.power or "-")]
            else:
                keys = list(c.people) or [("-", "(无人在岗 nobody)")]
            for key, label in keys:
                row = found.setdefault(key, [label, 0, 0])
                row[1 if c.card.level == "red" else 2] += 1
        rows = [(k, str(v[0]), int(v[1]), int(v[2])) for k, v in found.items()]
        return sorted(rows, key=lambda r: (-r[2], -r[3], r[0]))

    @property
    def signature(self) -> str:
        """A digest of the cards shown: changes exactly when a card appears, changes level or goes."""
        return hashlib.sha256("\n".join(c.key for c in self.cards).encode()).hexdigest()[:16]


def _on_lists(store: CollectingStore, cards: list[AlertCard], at: datetime) -> dict[tuple[str, str], set[str]]:
    """(case, step) -> who of the cards' people has it on their 待办 now (the store's worklist index): its holder or
    assignee when someone holds it (签收, 转办, 委派), else whoever of the post may do it (回避 and the other rules
    known before completion applied). One indexed query per person."""
    wanted = {(c.case, c.task or "") for c in cards}
    found: dict[tuple[str, str], set[str]] = {}
    for person in sorted({p for c in cards for p in c.people}):
        for item in store.todo(person, at=at):
            if (item.case_id, item.task) in wanted:
                found.setdefault((item.case_id, item.task), set()).add(person)
    return found


def _urgency(c: WallCard) -> tuple[int, str, str, int]:
    return (0 if c.card.level == "red" else 1, c.card.deadline.isoformat(), c.card.case, c.card.ordinal)


def wall(
    context: ServiceContext,
    unit: str | None,
    *,
    at: datetime | None = None,
    only_unit: str | None = None,
    power: str | None = None,
    person: str | None = None,
) -> Wall:
    """The cards now (or at ``at``) in scope ``unit`` (None: every unit), filtered by ``only_unit``, ``power`` and
    ``person`` when given; red first, then the earliest deadline."""
    moment = at or context.clock.now()
    checked = CollectingStore(context.store)
    swept = sweep_store(checked, moment, responsibility=context.responsibility(), anomalies=False)
    untied = {p.case_id for p in checked.problems}
    names = _by_power(context)
    today = local_date(moment)
    on_lists = _on_lists(checked, [c for c in swept.cards if c.scope == "step"], moment)
    cards = []
    for card in swept.cards:
        if card.case in untied or (unit is not None and card.unit != unit):
            continue
        if (only_unit and card.unit != only_unit) or (power and card.power != power):
            continue
        holders = on_lists.get((card.case, card.task or ""))
        chosen = tuple(sorted(holders)) if holders else card.people
        if person and person not in chosen:
            continue
        n = names.get(card.power or "")
        step = n.steps.get(card.task) if n is not None and card.task else None
        people = tuple((p, _person_name(context, card.unit, p)) for p in chosen)
        late = (today - card.deadline).days if card.level == "red" else 0
        cards.append(
            WallCard(card, step, n.power_name if n else None, unit_name(context, card.unit), people, max(late, 0))
        )
    cards.sort(key=_urgency)
    return Wall(moment, swept.open_cases if unit is None else None, cards, list(dict.fromkeys(checked.problems)))


# -- one case -------------------------------------------------------------------------------------------------------
@dataclass
class CaseView:
    """A case as its page shows it."""

    record: CaseRecord
    case: Case
    names: Names
    at: datetime
    alerts: list[Alert]
    deadlines: CaseDeadlines | None
    ready: list[ReadyStep]
    step_deadlines: dict[str, Deadline | None]
    states: States
    svgs: list[str]
    trail: list[dict[str, Any]]
    chart_error: str | None = None

    @property
    def applicant(self) -> str | None:
        value = self.case.data.get("applicant")
        return value if isinstance(value, str) else None


def case_view(
    context: ServiceContext, unit: str | None, case_id: str, *, at: datetime | None = None
) -> CaseView | None:
    """The case ``case_id`` restored from the store (trail verified) with its cards now and its coloured flowchart.

    None when the store has no such case or it is of another unit than ``unit`` (the caller is not told which); an
    :class:`~approvalflow.errors.ApprovalflowError` (``StoreError``, ``CaseFormatError``…) when it cannot be read.
    """
    try:
        record = context.store.get(case_id)
    except StoreError:
        if case_id not in context.store.ids():  # no such case; else a damaged one: its error is the answer
            return None
        raise
    if unit is not None and record.unit != unit:
        return None
    org = context.organisation_of(record.unit)
    if org is None:
        raise StoreError(f"the service has no organisation with unit '{record.unit}'", case=case_id)
    definition = KnownDefinitions(context.store, context.processes).get(record.digest)
    stored = load_case_from(context.store, case_id, definition, org)
    case = stored.case
    moment = at or context.clock.now()
    open_case = case.status in ("running", "suspended")
    alerts = case.alerts(moment) if open_case else []
    ready = case.ready_steps() if open_case else []
    trail = list(case.trail.entries)
    states = States.build(trail, [r.id for r in ready], [(a.level, a.task) for a in alerts])
    try:
        svgs, chart_error = [colour_svg(svg, states) for svg in flowcharts(context.store, case.definition)], None
    except ApprovalflowError as exc:  # the case is still shown, with why its chart is not
        svgs, chart_error = [], str(exc)
    return CaseView(
        record,
        case,
        names_of(case.definition),
        moment,
        alerts,
        case.deadlines(moment) if open_case else None,
        ready,
        {r.id: case.step_deadline(r.id, r.since) for r in ready},
        states,
        svgs,
        trail,
        chart_error,
    )


# -- search ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hit:
    """A case found by a search, and what matched (办件编号, 申请人, 职权, 流程)."""

    id: str
    unit: str
    status: str
    power: str | None
    title: str
    applicant: str | None
    started_at: datetime
    matched: str


def _records(context: ServiceContext) -> Iterator[CaseRecord]:
    yield from CollectingStore(context.store).records()


def search(context: ServiceContext, unit: str | None, query: str) -> tuple[list[Hit], bool]:
    """Cases in scope whose 办件编号, applicant, power code or name, or process id or title contains ``query``
    (case-insensitive); at most :data:`MAX_HITS`, and whether there were more."""
    needle = query.strip().lower()
    if not needle:
        return [], False
    hits: list[Hit] = []
    known = KnownDefinitions(context.store, context.processes)
    for record in _records(context):
        if unit is not None and record.unit != unit:
            continue
        try:
            definition = known.get(record.digest)
        except StoreError:
            definition = None
        names = names_of(definition) if definition is not None else Names(record.process, record.power, None)
        applicant = applicant_of(record, needle)
        fields = [
            ("办件编号", record.id),
            ("申请人", applicant or ""),
            ("职权", f"{record.power or ''} {names.power_name or ''}"),
            ("流程", f"{record.process} {names.title}"),
        ]
        matched = next((label for label, text in fields if needle in text.lower()), None)
        if matched is None:
            continue
        if len(hits) == MAX_HITS:
            return hits, True
        hits.append(
            Hit(record.id, record.unit, record.status, record.power, names.title, applicant, record.started_at, matched)
        )
    return hits, False


# -- efficiency -----------------------------------------------------------------------------------------------------
def efficiency(
    context: ServiceContext,
    unit: str | None,
    *,
    period: Period = "month",
    at: datetime | None = None,
    only_unit: str | None = None,
) -> tuple[Evaluation, list[IndexProblem]]:
    """效能评估 of the cases in scope (and of ``only_unit`` when given) as of now (or ``at``), per unit, power, post
    and period."""
    checked = CollectingStore(context.store)
    records: Iterable[CaseRecord] = checked.summaries()
    wanted = {u for u in (unit, only_unit) if u}  # a filter never widens the caller's scope
    if wanted:
        records = (r for r in records if {r.unit} == wanted)
    ev = evaluate_efficiency(records, until=at or context.clock.now(), period=period)
    return ev, list(dict.fromkeys(checked.problems))
