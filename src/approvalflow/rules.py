"""The run-time rules of SPEC section 4, as small pure functions registered under their ids.

Each rule takes the facts of one attempted completion (:class:`Attempt`) and
returns the findings it raises; :func:`check` runs every registered rule and
collects all findings, so a refusal names every rule broken, not just the
first. Hosts may register rules of their own with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from .calendar import WorkingCalendar
from .meetings import Meeting
from .model import StepInfo
from .org import Organisation, OrgUnit, Person
from .periods import period_deadline

__all__ = [
    "RULES",
    "Attempt",
    "Completion",
    "Finding",
    "Meeting",
    "check",
    "register",
]


@dataclass(frozen=True)
class Finding:
    """A rule broken (or a time limit passed): the rule id, where, who and why."""

    rule: str
    step: str | None
    actor: str | None
    message: str
    at: datetime | None = None
    severity: str = "error"

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "task": self.step,
            "actor": self.actor,
            "message": self.message,
            "at": self.at.isoformat() if self.at else None,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class Completion:
    """A step completed in a case, by whom and when."""

    step: str
    actor: str
    at: datetime
    since: datetime  # when the step became ready


@dataclass(frozen=True)
class Attempt:
    """The facts of one attempted completion, all a rule may look at."""

    step: StepInfo
    actor: Person
    unit: OrgUnit
    organisation: Organisation
    history: tuple[Completion, ...]
    parties: tuple[str, ...]
    at: datetime
    meeting: Meeting | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    data: Mapping[str, object] = field(default_factory=dict)  # the case data with this completion's data
    since: datetime | None = None  # when the step became ready
    calendar: WorkingCalendar | None = None  # the case's working-day calendar

    def completed(self, step_id: str) -> list[Completion]:
        return [c for c in self.history if c.step == step_id]


Rule = Callable[[Attempt], Iterable[Finding]]
RULES: dict[str, Rule] = {}


def register(rule_id: str) -> Callable[[Rule], Rule]:
    """Register a rule function under a stable id (never rename an id)."""

    def deco(fn: Rule) -> Rule:
        RULES[rule_id] = fn
        return fn

    return deco


def check(attempt: Attempt, rules: Mapping[str, Rule] | None = None) -> list[Finding]:
    """Run every rule on the attempt and return all findings, in rule registration order."""
    found: list[Finding] = []
    for fn in (rules if rules is not None else RULES).values():
        found.extend(fn(attempt))
    return found


def _finding(a: Attempt, rule: str, message: str) -> Finding:
    return Finding(rule, a.step.id, a.actor.id, message, a.at)


@register("unauthorized")
def unauthorized(a: Attempt) -> Iterator[Finding]:
    posts = a.step.posts
    if posts and not (a.actor.posts & set(posts)):
        held = ", ".join(sorted(a.actor.posts)) or "none"
        yield _finding(
            a,
            "unauthorized",
            f"{a.actor.id} holds {held}; step '{a.step.id}' may be done by " + ", ".join(posts),
        )


@register("five-not-direct")
def five_not_direct(a: Attempt) -> Iterator[Finding]:
    if a.step.domain is not None and a.unit.principal == a.actor.id:
        yield _finding(
            a,
            "five-not-direct",
            f"{a.actor.id} is the principal of {a.unit.id} and may not directly "
            f"handle the {a.step.domain.value} domain (五不直接分管): a deputy in charge handles it",
        )


@register("separate-actors")
def separate_actors(a: Attempt) -> Iterator[Finding]:
    for other in a.step.separate_from:
        if any(c.actor == a.actor.id for c in a.completed(other)):
            yield _finding(
                a,
                "separate-actors",
                f"{a.actor.id} already completed '{other}' in this case; "
                f"'{a.step.id}' must be done by someone else (不相容岗位分离)",
            )


@register("same-actor")
def same_actor(a: Attempt) -> Iterator[Finding]:
    ref = a.step.same_actor_as
    done = a.completed(ref) if ref else []
    if done and done[-1].actor != a.actor.id:
        yield _finding(
            a,
            "same-actor",
            f"'{a.step.id}' must be done by {done[-1].actor}, who completed '{ref}' (首办负责)",
        )


@register("recusal")
def recusal(a: Attempt) -> Iterator[Finding]:
    conflicts = a.organisation.conflicts.get(a.actor.id, frozenset())
    for party in a.parties:
        if party in conflicts:
            yield _finding(
                a,
                "recusal",
                f"{a.actor.id} has a declared conflict of interest with {party}, a party "
                "of this case, and must recuse (回避)",
            )


@register("once")
def once(a: Attempt) -> Iterator[Finding]:
    if a.step.once and a.completed(a.step.id):
        yield _finding(
            a,
            "once",
            f"'{a.step.id}' may be completed once per case (一次告知: name every missing "
            "item in one notice); it was already completed",
        )


@register("precedence")
def precedence(a: Attempt) -> Iterator[Finding]:
    missing = [s for s in a.step.requires if not a.completed(s)]
    if missing:
        yield _finding(a, "precedence", f"'{a.step.id}' requires {', '.join(missing)} to be completed first")


@register("min-duration")
def min_duration(a: Attempt) -> Iterator[Finding]:
    least = a.step.min_duration
    if least is None or a.since is None or a.calendar is None:
        return
    period = period_deadline(a.calendar, a.since, least.value, least.unit)
    if not period.is_late(a.at):
        what = f" ({least.reason})" if least.reason else ""
        unit = {"workday": "working days", "day": "days", "hour": "hours"}[least.unit]
        yield _finding(
            a,
            "min-duration",
            f"'{a.step.id}'{what} must stay open at least {least.value} {unit} from "
            f"{a.since.isoformat()}: it may be completed from {period.end.isoformat()} on",
        )


def _holds(person: str, post: str, a: Attempt) -> bool:
    p = a.organisation.person(person)
    if post == "principal" and a.unit.principal == person:
        return True
    return p is not None and post in p.posts


@register("quorum")
def quorum(a: Attempt) -> Iterator[Finding]:
    rule = a.step.collective
    if rule is None:
        return
    m = a.meeting
    if m is None:
        yield _finding(
            a,
            "quorum",
            f"'{a.step.id}' is a collective decision; completing it needs the meeting record (members, present, votes)",
        )
        return
    share = Fraction(len(set(m.present)), len(set(m.members))) if m.members else Fraction(0)
    if share < rule.quorum:
        yield _finding(
            a,
            "quorum",
            f"{len(set(m.present))} of {len(set(m.members))} members attended; "
            f"'{a.step.id}' needs at least {rule.quorum} of the members",
        )


@register("last-speaker")
def last_speaker(a: Attempt) -> Iterator[Finding]:
    rule = a.step.collective
    if rule is None or rule.last_speaker is None or a.meeting is None:
        return
    post = rule.last_speaker
    holders = [p for p in a.meeting.present if _holds(p, post, a)]
    if not holders:
        return
    last = a.meeting.votes[-1][0] if a.meeting.votes else None
    if last not in holders:
        who = ", ".join(holders)
        yield _finding(
            a,
            "last-speaker",
            f"{who} ({post}) must speak last (末位表态); the last to speak was {last or 'nobody'}",
        )


@register("extension")
def extension(a: Attempt) -> Iterator[Finding]:
    if not a.step.extension:
        return
    allowed = a.extra.get("extension_allowed")
    requested = a.extra.get("extension_days")
    if a.extra.get("extensions_granted"):
        yield _finding(a, "extension", "the case already had its one extension (延期, 行政许可法 art. 42 allows one)")
    elif not isinstance(allowed, int):
        yield _finding(a, "extension", "the process allows no extension (af:timeLimit has no extension attribute)")
    elif isinstance(requested, int) and requested > allowed:
        yield _finding(a, "extension", f"an extension of {requested} days was granted; at most {allowed} are allowed")
