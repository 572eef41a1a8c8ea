"""Card rules (监察规则): which yellow (黄牌) and red (红牌) cards supervision gives, read from a rules file.

Without a rules file the cards are exactly those of the one-day yellow and the red of an overrun deadline
(:meth:`approvalflow.engine.case.Case.alerts`), under the one rule :data:`DEFAULT_RULES` (id ``deadline``). A rules
file (YAML) lists card rules instead, each with an ``id``, a ``kind`` and a ``level`` and the thresholds of its kind::

    rules:
      - {id: yellow-90, kind: share-of-period, level: yellow, share: 0.9}
      - {id: stage-overrun, kind: stage-overrun, level: red}
      - {id: case-overrun, kind: case-overrun, level: red}
      - {id: no-reason, kind: refusal-without-reason, level: red}
      - {id: supplements, kind: repeated-supplement, level: yellow, more_than: 1}
      - {id: urged, kind: urges, level: yellow, more_than: 2}

Kinds (:data:`KINDS`):

* ``deadline``: the one-day yellow and the red of every open deadline (``yellow_days``: the case's own by default;
  ``scope``: ``case``, ``step`` or ``both``);
* ``share-of-period``: ``level`` once ``share`` (0 < share <= 1) of a deadline's period has elapsed
  (:func:`share_moment`);
* ``stage-overrun``: an open step past its own limit (环节超时); ``case-overrun``: the open case past its promised
  or statutory limit (超期);
* ``refusal-without-reason``: a 不予受理 or 不予许可 outcome recorded without a reason (or one shorter than
  ``min_chars``);
* ``repeated-supplement``: more than ``more_than`` 一次告知 补正 notices on the case (:attr:`Case.notices`);
* ``urges``: more than ``more_than`` 催办 of the case's steps (:attr:`Case.urges`).

For each open deadline the card is the highest level any rule gives at the moment, named by the first rule (in the
file's order) that gives it; the count rules give one card per case and rule. :func:`cards` evaluates one case;
:func:`approvalflow.supervision.sweep.sweep_store` (``rules=``) a whole store from its index.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import CalendarError, DefinitionError
from ..io.yamlio import Lines, load_yaml
from ..store.cardfacts import CaseFacts, facts_of
from ..time.calendar import WorkingCalendar
from ..time.periods import Deadline, alert_level, end_of_day

if TYPE_CHECKING:
    from ..engine.case import Case

__all__ = [
    "DEFAULT_RULES",
    "KINDS",
    "CardRule",
    "CardRulesError",
    "RuleCard",
    "cards",
    "count_card",
    "deadline_level",
    "load_card_rules",
    "rules_from_data",
    "share_moment",
]

Level = Literal["yellow", "red"]
Scope = Literal["case", "step", "both"]
#: Every kind of card rule, in the order the docs list them.
KINDS = (
    "deadline",
    "share-of-period",
    "stage-overrun",
    "case-overrun",
    "refusal-without-reason",
    "repeated-supplement",
    "urges",
)
#: Kinds about a deadline (a card per open deadline) and about counts on the case (a card per case).
DEADLINE_KINDS = frozenset({"deadline", "share-of-period", "stage-overrun", "case-overrun"})
COUNT_KINDS = frozenset({"refusal-without-reason", "repeated-supplement", "urges"})
#: A rule id: what a card names (``card_rule`` in the sweep's JSON).
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_RULES = 100
#: Which keys each kind takes besides id, kind and level (level is required for every kind but ``deadline``).
_KEYS: dict[str, frozenset[str]] = {
    "deadline": frozenset({"yellow_days", "scope"}),
    "share-of-period": frozenset({"share", "scope"}),
    "stage-overrun": frozenset(),
    "case-overrun": frozenset(),
    "refusal-without-reason": frozenset({"min_chars"}),
    "repeated-supplement": frozenset({"more_than"}),
    "urges": frozenset({"more_than"}),
}
_RANK = {None: 0, "yellow": 1, "red": 2}


class CardRulesError(DefinitionError):
    """A card rules file that is not valid: names the file, the line and the key."""


@dataclass(frozen=True)
class CardRule:
    """One card rule of a rules file (see the module's docstring for the kinds and their keys)."""

    id: str
    kind: str
    level: Level | None = None  # None only for ``deadline``, which gives both
    scope: Scope = "both"
    share: Fraction | None = None
    yellow_days: int | None = None
    more_than: int = 0
    min_chars: int = 1

    def applies_to(self, scope: Literal["case", "step"]) -> bool:
        """Whether this deadline rule judges deadlines of ``scope``."""
        if self.kind == "stage-overrun":
            return scope == "step"
        if self.kind == "case-overrun":
            return scope == "case"
        return self.kind in DEADLINE_KINDS and self.scope in (scope, "both")

    def to_json(self) -> dict[str, Any]:
        """The rule as a rules file would give it (share as a number)."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "level": self.level}
        if self.kind in ("deadline", "share-of-period"):
            out["scope"] = self.scope
        if self.share is not None:
            out["share"] = float(self.share)
        if self.kind == "deadline":
            out["yellow_days"] = self.yellow_days
        if self.kind in ("repeated-supplement", "urges"):
            out["more_than"] = self.more_than
        if self.kind == "refusal-without-reason":
            out["min_chars"] = self.min_chars
        return out


#: The rules without a rules file: today's cards (one-day yellow, red once the deadline passed), rule ``deadline``.
DEFAULT_RULES: tuple[CardRule, ...] = (CardRule("deadline", "deadline"),)


def is_default(rules: Sequence[CardRule] | None) -> bool:
    """Whether ``rules`` give exactly today's cards (no rules file, or one that says the same)."""
    return rules is None or tuple(rules) == DEFAULT_RULES


# -- reading a rules file ---------------------------------------------------------------------------------------


def load_card_rules(path: str | Path) -> tuple[CardRule, ...]:
    """Read a card rules file (YAML); any problem is a :class:`CardRulesError` naming the file, line and key."""
    data, lines, name = load_yaml(path, error=CardRulesError)
    return rules_from_data(data, file=name, lines=lines)


def rules_from_data(data: Any, *, file: str = "<card rules>", lines: Lines | None = None) -> tuple[CardRule, ...]:
    """The card rules of already-loaded data (``{"rules": [...]}``), checked as :func:`load_card_rules` does."""
    lines = lines or Lines()

    def fail(message: str, path: tuple[str | int, ...]) -> CardRulesError:
        shown = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path).lstrip(".")
        return CardRulesError(message, file=file, line=lines.of(path), element=shown or None)

    if not isinstance(data, Mapping) or set(data) != {"rules"}:
        raise fail("a card rules file is a mapping with one key, 'rules': a list of rules", ())
    items = data["rules"]
    if not isinstance(items, list) or not items:
        raise fail("'rules' is a non-empty list of rules", ("rules",))
    if len(items) > MAX_RULES:
        raise fail(f"{len(items)} rules: at most {MAX_RULES}", ("rules",))
    rules: list[CardRule] = []
    for n, item in enumerate(items):
        rule = _rule(item, ("rules", n), fail)
        if any(r.id == rule.id for r in rules):
            raise fail(f"rule id '{rule.id}' is given twice", ("rules", n, "id"))
        rules.append(rule)
    return tuple(rules)


def _rule(item: Any, at: tuple[str | int, ...], fail: Any) -> CardRule:
    if not isinstance(item, Mapping):
        raise fail("a rule is a mapping with id, kind, level and its thresholds", at)
    for key in item:
        if not isinstance(key, str):
            raise fail(f"a key must be text, not {str(key)[:40]!r}", at)
    rid = item.get("id")
    if not isinstance(rid, str) or not _ID.fullmatch(rid):
        raise fail("'id' is text of lowercase letters, digits and '-' (at most 64), e.g. yellow-90", (*at, "id"))
    kind = item.get("kind", rid)
    if not isinstance(kind, str) or kind not in KINDS:
        shown = str(kind)[:40]
        raise fail(f"unknown kind {shown!r}: use one of {', '.join(KINDS)}", (*at, "kind" if "kind" in item else "id"))
    unknown = sorted(set(item) - {"id", "kind", "level"} - _KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted({"id", "kind", "level"} | _KEYS[kind]))
        raise fail(f"rule '{rid}' ({kind}) does not take '{unknown[0]}'; its keys: {allowed}", (*at, unknown[0]))
    level = item.get("level")
    if kind == "deadline":
        if level is not None:
            raise fail("a 'deadline' rule gives both yellow and red: it takes no 'level'", (*at, "level"))
    elif level not in ("yellow", "red"):
        raise fail(f"rule '{rid}': 'level' is yellow or red", (*at, "level"))
    scope = item.get("scope", "both")
    if scope not in ("case", "step", "both"):
        raise fail("'scope' is case, step or both", (*at, "scope"))
    share = _share(item, kind, at, fail)
    yellow_days = _count(item, "yellow_days", at, fail, low=1, default=None) if kind == "deadline" else None
    more_than = _count(item, "more_than", at, fail, low=0, default=None)
    if kind in ("repeated-supplement", "urges") and more_than is None:
        raise fail(f"rule '{rid}' ({kind}) needs 'more_than': a whole number >= 0", at)
    min_chars = _count(item, "min_chars", at, fail, low=1, default=1)
    return CardRule(rid, kind, level, scope, share, yellow_days, more_than or 0, min_chars or 1)


def _share(item: Mapping[str, Any], kind: str, at: tuple[str | int, ...], fail: Any) -> Fraction | None:
    if kind != "share-of-period":
        return None
    value = item.get("share")
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise fail("'share' is a number with 0 < share <= 1, e.g. 0.9 for 90% of the period", (*at, "share"))
    share = Fraction(repr(value))  # the decimal as written: 0.7 is 7/10, not the float nearest to it
    if not 0 < share <= 1:
        raise fail(f"'share' {value} is outside 0 < share <= 1", (*at, "share"))
    if share.denominator > 10**6:
        raise fail(f"'share' {value}: at most six decimals", (*at, "share"))
    return share


def _count(
    item: Mapping[str, Any], key: str, at: tuple[str | int, ...], fail: Any, *, low: int, default: int | None
) -> int | None:
    if key not in item:
        return default
    value = item[key]
    if type(value) is not int or not low <= value <= 10_000:
        raise fail(f"'{key}' is a whole number from {low} to 10000", (*at, key))
    return value


# -- evaluation -------------------------------------------------------------------------------------------------


def working_day_back(cal: WorkingCalendar, day: date, n: int) -> date:
    """The ``n``-th working day before ``day`` (``day`` itself for 0)."""
    for _ in range(n):
        for _gap in range(367):
            day -= timedelta(days=1)
            if cal.is_working_day(day):
                break
        else:
            raise CalendarError(f"calendar {cal.name!r} has no working day in the year before it", element=str(day))
    return day


def share_moment(cal: WorkingCalendar, deadline: Deadline, amount: int, unit: str, share: Fraction) -> datetime:
    """The moment ``share`` of a period of ``amount`` ``unit`` ending with ``deadline`` has elapsed.

    Counted back from the deadline, so that a period moved by suspensions (not counted) or an extension (counted in
    ``amount``) is measured on its working time: with m = ceil(share × amount) units used and r = amount - m left,
    a ``workday`` period is at its share at the end of the r-th working day before the deadline day (for a period
    that did not move: the end of the m-th working day after its start); a ``day`` period at the end of the r-th
    day before it; an ``hour`` period (1 - share) × amount hours before its end (to the microsecond, earlier).
    """
    if amount <= 0:
        return deadline.end
    if unit == "hour":
        left = (1 - share) * amount * 3600 * 10**6
        return deadline.end - timedelta(microseconds=math.ceil(left))
    used = math.ceil(share * amount)
    left_units = amount - used
    if unit == "day":
        return end_of_day(deadline.day - timedelta(days=left_units))
    return end_of_day(working_day_back(cal, deadline.day, left_units))


def deadline_level(
    rule: CardRule,
    cal: WorkingCalendar,
    deadline: Deadline,
    at: datetime,
    *,
    case_yellow_days: int,
    period: tuple[int, str] | None,
) -> Level | None:
    """The level ``rule`` gives at ``at`` to an open deadline (``period``: its amount and unit, for a share)."""
    if rule.kind == "deadline":
        days = rule.yellow_days if rule.yellow_days is not None else case_yellow_days
        return alert_level(cal, deadline, at, yellow_days=days)
    if rule.kind in ("stage-overrun", "case-overrun"):
        return rule.level if at >= deadline.end else None
    if rule.kind == "share-of-period":
        if period is None or rule.share is None:
            raise ValueError(f"rule '{rule.id}': the period of the deadline is not known")
        return rule.level if at >= share_moment(cal, deadline, period[0], period[1], rule.share) else None
    return None


def pick(levels: Sequence[tuple[CardRule, Level | None]]) -> tuple[CardRule, Level] | None:
    """The highest level given, with the first rule that gives it; None when no rule gives one."""
    best: tuple[CardRule, Level] | None = None
    for rule, level in levels:
        if level is not None and (best is None or _RANK[level] > _RANK[best[1]]):
            best = (rule, level)
    return best


@dataclass(frozen=True)
class RuleCard:
    """A card a card rule gives: for an open deadline (``deadline`` set) or about the case (``count`` set)."""

    rule: str  # the card rule's id
    kind: str
    level: Level
    scope: Literal["case", "step"]
    limit: Literal["promised", "statutory", "step"] | None
    task: str | None
    deadline: date | None
    count: int | None = None

    @property
    def finding(self) -> str:
        """The rule id a finding of the same thing carries: ``case-overdue``, ``step-overdue``, else the kind."""
        if self.deadline is not None:
            return "case-overdue" if self.scope == "case" else "step-overdue"
        return self.kind

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "level": self.level,
            "scope": self.scope,
            "limit": self.limit,
            "task": self.task,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            **({"count": self.count} if self.count is not None else {}),
        }


def count_card(rule: CardRule, facts: CaseFacts, at: datetime, *, open_case: bool = True) -> RuleCard | None:
    """The card a count rule gives a case at ``at`` (what happened up to ``at`` counts), or None.

    A refusal without reason gives its card whether or not the case is still open (it is the decision's fault);
    补正 and 催办 counts only while the case is open (running or suspended).
    """
    if rule.level is None:
        return None
    if rule.kind == "refusal-without-reason":
        if facts.outcome is None or facts.outcome_at is None or facts.outcome_at > at:
            return None
        if facts.reason is not None and len(facts.reason.strip()) >= rule.min_chars:
            return None
        return RuleCard(rule.id, rule.kind, rule.level, "case", None, None, None, 1)
    if not open_case:
        return None
    moments = facts.notices if rule.kind == "repeated-supplement" else facts.urges if rule.kind == "urges" else ()
    n = sum(m <= at for m in moments)
    if rule.kind in ("repeated-supplement", "urges") and n > rule.more_than:
        return RuleCard(rule.id, rule.kind, rule.level, "case", None, None, None, n)
    return None


def cards(case: Case, rules: Sequence[CardRule] | None, at: datetime | str) -> list[RuleCard]:
    """Every card ``rules`` give ``case`` at ``at`` (default rules: exactly :meth:`Case.alerts`, rule ``deadline``).

    Deadline cards first (the case's limits, then its open steps, as :meth:`Case.alerts` orders them), then the
    count rules' cards in the rules' order.
    """
    from ..engine.timing import case_deadlines, step_deadline
    from ..time.clock import parse_moment

    at = parse_moment(at)
    rules = DEFAULT_RULES if rules is None else tuple(rules)
    out: list[RuleCard] = []
    cal = case.calendar
    tl = case.definition.time_limit

    def judge(scope: Literal["case", "step"], d: Deadline, period: tuple[int, str]) -> tuple[CardRule, Level] | None:
        found = [
            (r, deadline_level(r, cal, d, at, case_yellow_days=case.yellow_days, period=period))
            for r in rules
            if r.applies_to(scope)
        ]
        return pick(found)

    if not case.is_completed:
        deadlines = case_deadlines(case, at)
        if deadlines is not None and tl is not None:
            ext = case.extension_days or 0
            pairs: tuple[tuple[Literal["promised", "statutory"], Deadline | None, int | None], ...] = (
                ("promised", deadlines.promised, tl.promised),
                ("statutory", deadlines.statutory, tl.statutory),
            )
            for limit, d, amount in pairs:
                if d is None or amount is None:
                    continue
                got = judge("case", d, (amount + ext, tl.unit))
                if got is not None:
                    out.append(RuleCard(got[0].id, got[0].kind, got[1], "case", limit, None, d.day))
    if case.status != "suspended":  # 中止: nobody may act, no step card
        for ready in case.ready_steps():
            d = step_deadline(case, ready.id, ready.since)
            info = case.definition.steps[ready.id]
            if d is None or info.time_limit is None:
                continue
            got = judge("step", d, (info.time_limit, info.unit))
            if got is not None:
                out.append(RuleCard(got[0].id, got[0].kind, got[1], "step", "step", ready.id, d.day))
    facts = facts_of(case) if any(r.kind in COUNT_KINDS for r in rules) else CaseFacts()
    for r in rules:
        if r.kind in COUNT_KINDS:
            card = count_card(r, facts, at, open_case=case.status in ("running", "suspended"))
            if card is not None:
                out.append(card)
    return out
