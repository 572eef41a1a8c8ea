"""The sweep of a store under card rules (:mod:`approvalflow.supervision.cardrules`), from the index.

No case is deserialized. What each rule reads:

* ``deadline`` (the case's own ``yellow_days``), ``stage-overrun``, ``case-overrun``: the deadline rows due at T
  (``yellow_from <= T``), as the default sweep does;
* ``deadline`` with its own ``yellow_days``, ``share-of-period``: every deadline row of every open case (their yellow
  moment under the rule may come before the indexed one), and for a share the period's length: a case deadline's
  from the case row's summary (promised or statutory limit plus the extension, the unit), a step's from its
  process (by the case's digest: given, or deployed in the store's registry); a step whose process is neither is
  named in :attr:`RuleSweep.notes` and its share rules are not judged;
* the count rules: the case rows' summaries (``card_facts``, :mod:`approvalflow.store.cardfacts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..store.base import CaseRecord, CaseStore, DeadlineEntry
from ..store.cardfacts import CaseFacts
from ..store.index import clock_deadlines
from ..time.calendar import WorkingCalendar
from ..time.periods import Deadline, yellow_from
from .cardrules import COUNT_KINDS, CardRule, Level, count_card, deadline_level, pick, share_moment

if TYPE_CHECKING:
    from ..bpmn.loader import ProcessDefinition

__all__ = ["CaseCard", "RuleSweep", "needs_every_row", "rule_sweep"]

#: Far enough to ask the index for every deadline row (``yellow_from`` is never later than the deadline's end).
EVERY_ROW = datetime(9999, 12, 30, tzinfo=UTC)
Definitions = Callable[[str], "ProcessDefinition | None"]


@dataclass(frozen=True)
class CaseCard:
    """A card a count rule gives a case (refusal without reason, repeated 补正, 催办), with who is responsible."""

    case: str
    level: Level
    card_rule: str
    kind: str
    count: int
    unit: str
    power: str | None
    posts: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    responsibility: str | None = None
    accountability: str | None = None
    order: int = 0  # the rule's place in the rules file

    @property
    def rule(self) -> str:
        """What the card is about, as a finding's rule id would name it: the kind."""
        return self.kind

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "level": self.level,
            "scope": "case",
            "limit": None,
            "task": None,
            "deadline": None,
            "rule": self.rule,
            "card_rule": self.card_rule,
            "count": self.count,
            "unit": self.unit,
            "power": self.power,
            "posts": list(self.posts),
            "people": list(self.people),
            "responsibility": self.responsibility,
            "accountability": self.accountability,
        }


@dataclass
class RuleSweep:
    """What the rules give besides the deadline cards: the count cards, and what could not be judged."""

    levels: list[tuple[DeadlineEntry, CardRule, Level]] = field(default_factory=list)
    moving: list[tuple[CaseRecord, str, Deadline, CardRule, Level]] = field(default_factory=list)
    case_cards: list[CaseCard] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def needs_every_row(rules: Sequence[CardRule]) -> bool:
    """Whether a rule may give a card before the indexed yellow moment, or is a count rule whose card names the
    posts of every open deadline: then the sweep reads every deadline row."""
    return any(
        r.kind in ("share-of-period", *COUNT_KINDS) or (r.kind == "deadline" and r.yellow_days is not None)
        for r in rules
    )


def _needs_summaries(rules: Sequence[CardRule]) -> bool:
    return any(r.kind == "share-of-period" or r.kind in COUNT_KINDS for r in rules)


def _case_period(summary: dict[str, Any], limit: str) -> tuple[int, str] | None:
    amount = summary.get("promised_limit" if limit == "promised" else "statutory_limit")
    unit = summary.get("limit_unit")
    ext = summary.get("extension_days") or 0
    if type(amount) is not int or unit not in ("workday", "day", "hour") or type(ext) is not int:
        return None
    return amount + ext, unit


def _step_period(record: CaseRecord, task: str | None, definitions: Definitions | None) -> tuple[int, str] | None:
    definition = definitions(record.digest) if definitions is not None and task is not None else None
    info = definition.steps.get(task) if definition is not None and task is not None else None
    if info is None or info.time_limit is None:
        return None
    return info.time_limit, info.unit


def _row_level(
    rule: CardRule, cal: WorkingCalendar, row: DeadlineEntry, at: datetime, period: tuple[int, str] | None, memo: Memo
) -> Level | None:
    d = Deadline(row.day, row.end)
    if rule.kind == "deadline" and rule.yellow_days is None:  # the indexed moments, computed with the case's days
        return "red" if at >= row.end else "yellow" if at >= row.yellow_from else None
    if rule.kind == "deadline":
        return "red" if at >= row.end else "yellow" if at >= yellow_from(cal, d, rule.yellow_days or 1) else None
    if rule.kind == "share-of-period":
        if period is None or rule.share is None:
            return None
        return rule.level if at >= _share_moment(cal, d, period, rule.share, memo) else None
    return deadline_level(rule, cal, d, at, case_yellow_days=1, period=period)


Memo = dict[tuple[Any, ...], datetime]


def _share_moment(cal: WorkingCalendar, d: Deadline, period: tuple[int, str], share: Fraction, memo: Memo) -> datetime:
    """:func:`share_moment`, kept for one sweep (one calendar): many rows share a deadline and a period."""
    key = (d, period, share)
    found = memo.get(key)
    if found is None:
        found = share_moment(cal, d, period[0], period[1], share)
        memo[key] = found
    return found


def rule_sweep(
    store: CaseStore,
    at: datetime,
    rules: Sequence[CardRule],
    cal: WorkingCalendar,
    *,
    definitions: Definitions | None = None,
    duty: Any = None,
) -> RuleSweep:
    """The deadline levels and count cards ``rules`` give every case of ``store`` at ``at`` (see the module)."""
    out = RuleSweep()
    duty = duty or {}
    memo: Memo = {}  # share moments of this sweep (its calendar)
    records: dict[str, CaseRecord] = {}
    if _needs_summaries(rules):
        records = {r.id: r for r in store.summaries()}
    rows = store.due(EVERY_ROW if needs_every_row(rules) else at)
    by_case: dict[str, list[DeadlineEntry]] = {}
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
        judged = [r for r in rules if r.applies_to(row.scope)]
        period = None
        if any(r.kind == "share-of-period" for r in judged):
            record = records.get(row.case_id)
            if record is None:
                out.notes.append(f"case {row.case_id}: no case row read for its deadline rows: share rules not judged")
            elif row.scope == "case":
                period = _case_period(record.summary, row.limit)
                if period is None:
                    out.notes.append(
                        f"case {row.case_id}: its summary does not give the {row.limit} limit and its unit: "
                        "share-of-period rules not judged"
                    )
            else:
                period = _step_period(record, row.task, definitions)
                if period is None:
                    out.notes.append(
                        f"case {row.case_id}: step '{row.task}': its process (digest {record.digest[:12]}…) is "
                        "neither given (--process) nor deployed in the store: share-of-period rules not judged"
                    )
        got = pick([(r, _row_level(r, cal, row, at, period, memo)) for r in judged])
        if got is not None:
            out.levels.append((row, *got))
    for record in store.moving():
        out.moving += _moving(record, rules, cal, at)
    counted = [(n, r) for n, r in enumerate(rules) if r.kind in COUNT_KINDS]
    if counted:
        out.case_cards = _count_cards(records.values(), counted, at, by_case, duty, out.notes)
    return out


def _moving(
    record: CaseRecord, rules: Sequence[CardRule], cal: WorkingCalendar, at: datetime
) -> list[tuple[CaseRecord, str, Deadline, CardRule, Level]]:
    facts = record.clock or {}
    deadlines = clock_deadlines(facts, cal, at)
    if deadlines is None:
        return []
    found = []
    ext = int(facts.get("extension_days") or 0)
    for limit, d in (("promised", deadlines.promised), ("statutory", deadlines.statutory)):
        amount = facts.get(limit)
        if d is None or type(amount) is not int:
            continue
        period = (amount + ext, str(facts.get("unit", "workday")))
        judged = [r for r in rules if r.applies_to("case")]
        k = int(facts.get("yellow_days", 1))
        got = pick([(r, deadline_level(r, cal, d, at, case_yellow_days=k, period=period)) for r in judged])
        if got is not None:
            found.append((record, limit, d, *got))
    return found


def _count_cards(
    records: Iterable[CaseRecord],
    counted: list[tuple[int, CardRule]],
    at: datetime,
    by_case: dict[str, list[DeadlineEntry]],
    duty: Any,
    notes: list[str],
) -> list[CaseCard]:
    cards = []
    for record in records:
        try:
            facts = CaseFacts.from_json(record.summary.get("card_facts"))
        except ValueError as exc:
            notes.append(f"case {record.id}: summary: {exc}: count rules not judged")
            continue
        urged = record.summary.get("urges")
        if type(urged) is int and urged and not facts.urges:
            notes.append(
                f"case {record.id}: its 催办 were indexed before their moments were ('approvalflow store reindex' "
                "adds them): the urges rules did not judge it"
            )
        rows = by_case.get(record.id, [])
        case_rows = [r for r in rows if r.scope == "case"] or rows
        posts = tuple(sorted({p for r in case_rows for p in r.posts}))
        people = tuple(sorted({p for r in case_rows for p in r.people}))
        item, clause = duty.get(record.power or "", (None, None))
        for n, rule in counted:
            card = count_card(rule, facts, at, open_case=record.status in ("open", "suspended"))
            if card is not None and card.count is not None:
                who = (posts, people, item, clause, n)
                cards.append(
                    CaseCard(record.id, card.level, rule.id, rule.kind, card.count, record.unit, record.power, *who)
                )
    return cards
