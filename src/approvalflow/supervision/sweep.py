"""The supervision sweep (电子监察): every yellow and red card of every open case at a moment T.

A sweep reads the store's index only (:mod:`approvalflow.store.index`): the deadline rows whose yellow moment
is at or before T, plus the few open cases whose case deadlines move with time (an open ``suspendsClock`` step),
which it computes from their indexed clock facts. No case is deserialized. The cards are the ones
:meth:`approvalflow.engine.case.Case.alerts` gives for the same cases at the same moment.

Each card names the rule (``case-overdue`` for the case's own limits, ``step-overdue`` for a step's), the
deadline, the unit, the posts and the people responsible (who hold the posts of the open steps in the case's
unit), the years its deadline was counted on provisionally from the law (``provisional``, when the official
arrangement of a year is not known: :meth:`approvalflow.time.calendar.ChinaCalendar.year_status`) and, when a
``responsibility`` mapping is given, the catalog's 责任事项 and 追责情形 of the power::

    sweep_store(store, at, responsibility={"140500-XK-0001": ("受理、审查、决定、送达", "不在法定期限内作出决定的")})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from ..engine.timing import alert_json
from ..store.anomalies import refusals_by_person
from ..store.base import AnomalyEntry, CaseRecord, CaseStore, DeadlineEntry
from ..store.index import clock_deadlines
from ..time.calendar import ChinaCalendar, WorkingCalendar, provisional_years
from ..time.periods import Deadline, alert_level, local_date
from .cardrules import CardRule, is_default
from .rulesweep import CaseCard, Definitions, rule_sweep

__all__ = ["AlertCard", "CaseCard", "Responsibility", "SweepResult", "sweep_store"]

#: power code -> (责任事项 responsibility item, 追责情形 accountability clause), e.g. from the catalog.
Responsibility = Mapping[str, tuple[str, str]]
_LIMIT_ORDER = {"promised": 0, "statutory": 1, "step": 2}


@dataclass(frozen=True)
class AlertCard:
    """A yellow (黄牌) or red (红牌) card for an open case or step at the sweep's moment."""

    case: str
    level: Literal["yellow", "red"]
    scope: Literal["case", "step"]
    limit: Literal["promised", "statutory", "step"]
    task: str | None
    deadline: date
    unit: str
    power: str | None
    posts: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    responsibility: str | None = None
    accountability: str | None = None
    ordinal: int = 0
    provisional: tuple[int, ...] = ()
    card_rule: str = "deadline"  # the card rule that gave it (cardrules.DEFAULT_RULES: ``deadline``)

    @property
    def rule(self) -> str:
        """The rule id of SPEC section 4 the card is about."""
        return "case-overdue" if self.scope == "case" else "step-overdue"

    def alert_json(self) -> dict[str, str | None]:
        """The card as ``approvalflow run`` writes an alert (SPEC section 6)."""
        return alert_json(self.level, self.scope, self.limit, self.task, self.deadline)

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            **self.alert_json(),
            "rule": self.rule,
            "card_rule": self.card_rule,
            "unit": self.unit,
            "power": self.power,
            "posts": list(self.posts),
            "people": list(self.people),
            "responsibility": self.responsibility,
            "accountability": self.accountability,
            **({"provisional": list(self.provisional)} if self.provisional else {}),
        }

    @property
    def sort_key(self) -> tuple[str, int, int, int]:
        return (self.case, 0 if self.scope == "case" else 1, _LIMIT_ORDER[self.limit], self.ordinal)


@dataclass
class SweepResult:
    """The cards at ``at``, and the anomalies recorded up to it."""

    at: datetime
    open_cases: int
    cards: list[AlertCard] = field(default_factory=list)
    anomalies: list[AnomalyEntry] = field(default_factory=list)
    #: the count rules' cards (refusal without reason, repeated 补正, 催办): only with a rules file that has them
    case_cards: list[CaseCard] = field(default_factory=list)
    #: what the card rules could not judge, case by case (``card_notes`` in the JSON, only when not empty)
    notes: list[str] = field(default_factory=list)

    def cards_of(self, case_id: str) -> list[AlertCard]:
        return [c for c in self.cards if c.case == case_id]

    def all_cards(self) -> list[AlertCard | CaseCard]:
        """The deadline cards and the count rules' cards, case by case (a case's deadline cards first)."""
        both: list[AlertCard | CaseCard] = [*self.cards, *self.case_cards]
        return sorted(both, key=lambda c: (c.case, 0, *c.sort_key[1:]) if isinstance(c, AlertCard) else
                      (c.case, 1, c.order, 0, 0))  # fmt: skip

    def counts(self) -> dict[str, int]:
        every = self.all_cards()
        return {
            "yellow": sum(c.level == "yellow" for c in every),
            "red": sum(c.level == "red" for c in every),
            "cases_with_cards": len({c.case for c in every}),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "open_cases": self.open_cases,
            "counts": self.counts(),
            "cards": [c.to_json() for c in self.all_cards()],
            "anomalies": [_anomaly_json(a) for a in self.anomalies],
            "refusals_by_person": refusals_by_person(self.anomalies),
            **({"card_notes": list(self.notes)} if self.notes else {}),
        }


def _anomaly_json(a: AnomalyEntry) -> dict[str, Any]:
    return {
        "case": a.case_id,
        "kind": a.kind,
        "at": a.at.isoformat(),
        "step": a.step,
        "actor": a.actor,
        "rules": list(a.rules),
        "unit": a.unit,
        "power": a.power,
        "detail": a.detail,
    }


def _provisional(cal: WorkingCalendar, day: date, at: datetime) -> tuple[int, ...]:
    """The years a card's deadline ``day`` was counted on from the law (from ``at``'s year, or ``day``'s)."""
    return provisional_years(cal, min(local_date(at), day), day)


def _card(d: DeadlineEntry, at: datetime, duty: Responsibility, cal: WorkingCalendar) -> AlertCard:
    item, clause = duty.get(d.power or "", (None, None))
    level: Literal["yellow", "red"] = "red" if at >= d.end else "yellow"
    base = (d.case_id, level, d.scope, d.limit, d.task, d.day, d.unit, d.power, d.posts, d.people)
    return AlertCard(*base, item, clause, d.ordinal, provisional=_provisional(cal, d.day, at))


def _moving_cards(record: CaseRecord, cal: WorkingCalendar, at: datetime, duty: Responsibility) -> list[AlertCard]:
    facts = record.clock or {}
    deadlines = clock_deadlines(facts, cal, at)
    if deadlines is None:
        return []
    item, clause = duty.get(record.power or "", (None, None))
    posts, people = tuple(facts.get("posts", ())), tuple(facts.get("people", ()))
    cards = []
    pairs: tuple[tuple[Literal["promised", "statutory"], Deadline | None], ...] = (
        ("promised", deadlines.promised),
        ("statutory", deadlines.statutory),
    )
    for limit, d in pairs:
        level = alert_level(cal, d, at, yellow_days=int(facts.get("yellow_days", 1))) if d else None
        if level and d:
            years = tuple(sorted(set(deadlines.provisional) | set(_provisional(cal, d.day, at))))
            card = AlertCard(record.id, level, "case", limit, None, d.day, record.unit, record.power, posts, people)
            cards.append(replace(card, responsibility=item, accountability=clause, provisional=years))
    return cards


def sweep_store(
    store: CaseStore,
    at: datetime | str,
    *,
    calendar: WorkingCalendar | None = None,
    responsibility: Responsibility | None = None,
    anomalies: bool = True,
    rules: Sequence[CardRule] | None = None,
    definitions: Definitions | None = None,
) -> SweepResult:
    """Every card of every open case and step at ``at``, with the anomalies recorded up to ``at``.

    ``calendar`` must be the one the cases run with (default: China's official calendar); it is only used for
    the cases whose deadlines move with an open suspension. ``responsibility`` maps a power code to its
    responsibility item and accountability clause (责任事项, 追责情形), e.g. from the catalog. ``rules``: card
    rules (:func:`approvalflow.supervision.cardrules.load_card_rules`; default: today's, rule ``deadline``);
    ``definitions`` finds a process by digest for the share rules on steps (default: none; ``supervise`` passes
    the processes given and the store's registry).
    """
    from ..time.clock import parse_moment

    at = parse_moment(at)  # text or datetime, as Case.alerts takes it; naive or out of range: ValueError
    duty = responsibility or {}
    cal = calendar if calendar is not None else ChinaCalendar()
    case_cards: list[CaseCard] = []
    notes: list[str] = []
    if is_default(rules):
        cards = [_card(d, at, duty, cal) for d in store.due(at)]
        for record in store.moving():
            cards += _moving_cards(record, cal, at, duty)
    else:
        judged = rule_sweep(store, at, tuple(rules or ()), cal, definitions=definitions, duty=duty)
        cards = [replace(_card(d, at, duty, cal), level=lvl, card_rule=rule.id) for d, rule, lvl in judged.levels]
        for record, limit, d, rule, lvl in judged.moving:
            cards.append(_moving_card(record, cal, at, duty, limit, d, lvl, rule.id))
        case_cards, notes = judged.case_cards, judged.notes
    cards.sort(key=lambda c: c.sort_key)
    found = store.anomalies(at) if anomalies else []
    # open cases: running and suspended (中止); a withdrawn or terminated case has no deadline row and no card
    return SweepResult(at, store.count("open") + store.count("suspended"), cards, found, case_cards, notes)


def _moving_card(
    record: CaseRecord,
    cal: WorkingCalendar,
    at: datetime,
    duty: Responsibility,
    limit: str,
    d: Deadline,
    level: Literal["yellow", "red"],
    rule: str,
) -> AlertCard:
    """A case card of a case whose deadlines move (as :func:`_moving_cards`), at the level a card rule gave."""
    facts = record.clock or {}
    deadlines = clock_deadlines(facts, cal, at)
    item, clause = duty.get(record.power or "", (None, None))
    posts, people = tuple(facts.get("posts", ())), tuple(facts.get("people", ()))
    lim: Literal["promised", "statutory"] = "promised" if limit == "promised" else "statutory"
    earlier = deadlines.provisional if deadlines else ()
    years = tuple(sorted(set(earlier) | set(_provisional(cal, d.day, at))))
    card = AlertCard(record.id, level, "case", lim, None, d.day, record.unit, record.power, posts, people)
    return replace(card, responsibility=item, accountability=clause, provisional=years, card_rule=rule)


# The names before issue 15, kept so that code written against them keeps working.
Card = AlertCard
sweep = sweep_store
