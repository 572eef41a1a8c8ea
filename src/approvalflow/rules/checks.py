"""The run-time rules of SPEC section 4, as small pure functions registered under their ids.

Each rule takes the facts of one attempted completion (:class:`StepAttempt`) and
returns the findings it raises; :func:`check` runs every registered rule and
collects all findings, so a refusal names every rule broken, not just the
first. Hosts may register rules of their own with :func:`register_rule`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from ..bpmn.model import StepInfo
from ..org.meetings import Meeting
from ..org.organisation import Organisation, OrgUnit, Person, party_key
from ..time.calendar import WorkingCalendar
from ..time.periods import period_deadline
from .findings import Finding, Severity
from .registry import Registry

__all__ = [
    "OPINION_RULES",
    "PERSON_RULES",
    "RULES",
    "RUNTIME",
    "Completion",
    "Finding",
    "Meeting",
    "Rule",
    "StepAttempt",
    "check",
    "keeps_off",
    "register_rule",
    "step_units",
]


@dataclass(frozen=True, slots=True)
class Completion:
    """A step completed in a case, by whom and when."""

    step: str
    actor: str
    at: datetime
    since: datetime  # when the step became ready
    decided: bool = True  # False for a signature of a multi-instance step (会签...) that left its round undecided


@dataclass(frozen=True)
class StepAttempt:
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
        """Every completion of the step, each signature of a multi-instance step included (who did it)."""
        return [c for c in self.history if c.step == step_id]

    def finished(self, step_id: str) -> list[Completion]:
        """The completions after which the step was done: a multi-instance step's only once its round decided."""
        return [c for c in self.history if c.step == step_id and c.decided]

    @functools.cached_property
    def kept_off(self) -> tuple[str, ...]:
        """:func:`keeps_off` for this attempt's step, actor and unit (computed once for the rules that ask)."""
        return keeps_off(self.step, self.actor, self.unit, self.organisation)


Rule = Callable[[StepAttempt], Iterable[Finding]]

#: The run-time rules: a rule registered without a severity is an ``error`` (a refusal under ``enforce``); the
#: time rules and the engine's own checks are declared here too, with the severity they are recorded with.
RUNTIME: Registry[StepAttempt] = Registry(
    "run-time",
    {
        "step-overdue": "warning",
        "case-overdue": "warning",
        "parties-changed": "error",
        "not-signer": "error",
        "signed-twice": "error",
        # 加签 / 减签 (approvalflow.engine.addsign): engine checks, refused under either policy
        "already-signer": "error",
        "signer-signed": "error",
        "no-signer-left": "error",
        # 一次告知 and 补正 (approvalflow.engine.materials)
        "notice-incomplete": "error",
        "supplement-incomplete": "warning",
        # going back, ending early, pausing (approvalflow.engine.flowcontrol): engine checks
        "case-status": "error",
        "flow-authority": "error",
        "take-back": "error",
        "return-target": "error",
        "not-assignee": "error",
        "outcome": "error",
        # 好差评 (approvalflow.engine.evaluation): engine check, refused under either policy
        "evaluated-once": "error",
        # handing work on (approvalflow.engine.handover): engine checks, refused under either policy
        "claimed": "error",
        "delegated": "error",
    },
    default="error",
)
#: rule id -> rule function (the registry's checks): what :func:`check` runs.
RULES: dict[str, Rule] = RUNTIME.checks


def register_rule(*rule_ids: str, severity: Severity | None = None) -> Callable[[Rule], Rule]:
    """Register a rule function under a stable id (never rename an id); see :meth:`Registry.register`."""
    return RUNTIME.register(*rule_ids, severity=severity)


def check(attempt: StepAttempt, rules: Mapping[str, Rule] | None = None) -> list[Finding]:
    """Run every rule on the attempt and return all findings, in rule registration order."""
    found: list[Finding] = []
    for fn in (rules if rules is not None else RULES).values():
        found.extend(fn(attempt))
    return found


def _finding(a: StepAttempt, rule: str, message: str) -> Finding:
    return RUNTIME.finding(rule, message, element=a.step.id, actor=a.actor.id, at=a.at)


# -- who may do a step: the one decision the engine, validate's staffing and the simulator share ----------------
#: The run-time rules that judge who acts, from the person and the case as it stands (unit, history, parties), not
#: from the moment, data or meeting record of a completion: what is checked when a step is claimed, handed on,
#: signed by an added signer or returned, what keeps a person off a 待办, and what a migrated holder must still meet.
PERSON_RULES = ("unauthorized", "other-unit", "five-not-direct", "separate-actors", "same-actor", "recusal")
#: The person rules for whoever gives an opinion a decision rests on but does not decide it (a delegate, an added
#: signer): 首办负责 (``same-actor``) binds the one who decides.
OPINION_RULES = tuple(r for r in PERSON_RULES if r != "same-actor")


def step_units(step: StepInfo, case_unit: str) -> tuple[str, ...]:
    """The units whose people may do ``step`` in a case of ``case_unit``.

    A step that names units (``af:step/@units``: 征求意见 of the 住建局 inside a 自然资源局 case) is done by their
    people; the case's unit joins them only with ``af:step/@caseUnit="true"``. A step that names none is done by
    the case's unit."""
    if not step.units:
        return (case_unit,)
    return tuple(dict.fromkeys((*step.units, case_unit) if step.case_unit else step.units))


def keeps_off(step: StepInfo, person: Person, unit: OrgUnit, organisation: Organisation) -> tuple[str, ...]:
    """Who may do a step (unit and post): the ids of the rules that keep ``person`` off ``step`` in a case of ``unit``.

    ``other-unit``: the person's unit is not one of :func:`step_units`; ``unauthorized``: they hold none of the
    step's posts (a step without posts admits any); ``five-not-direct``: the step has a domain and they are the
    principal of the case's unit or of their own (五不直接分管). Empty when they may. The run-time rules of those
    ids, ``validate``'s ``staffing`` and the simulator (its pools and its replay) all decide by this function."""
    kept: list[str] = []
    if step.posts and not (person.posts & set(step.posts)):
        kept.append("unauthorized")
    if person.unit not in step_units(step, unit.id):
        kept.append("other-unit")
    if step.domain is not None and _principal_of(person, unit, organisation) is not None:
        kept.append("five-not-direct")
    return tuple(kept)


def _principal_of(person: Person, unit: OrgUnit, organisation: Organisation) -> OrgUnit | None:
    """The unit (the case's, else the person's own) whose principal ``person`` is, if any."""
    own = organisation.units.get(person.unit)
    return next((u for u in (unit, own) if u is not None and u.principal == person.id), None)


def _kept(a: StepAttempt, rule: str) -> bool:
    return rule in a.kept_off


@register_rule("unauthorized")
def unauthorized(a: StepAttempt) -> Iterator[Finding]:
    posts = a.step.posts
    if _kept(a, "unauthorized"):
        held = ", ".join(sorted(a.actor.posts)) or "none"
        yield _finding(
            a,
            "unauthorized",
            f"{a.actor.id} holds {held}; step '{a.step.id}' may be done by " + ", ".join(posts),
        )


@register_rule("other-unit")
def other_unit(a: StepAttempt) -> Iterator[Finding]:
    """The actor belongs to a unit that does the step (:func:`step_units`): the case's, or those it names."""
    if not _kept(a, "other-unit"):
        return
    allowed = ", ".join(step_units(a.step, a.unit.id))
    if not a.step.units:
        why = f"not to the case's unit '{a.unit.id}'; step '{a.step.id}' names no other unit (af:step/@units)"
    else:
        how = "af:step/@units and @caseUnit" if a.step.case_unit else 'af:step/@units; caseUnit="true" adds the case\'s'
        why = f"while step '{a.step.id}' (case of unit '{a.unit.id}') is done by people of {allowed} ({how})"
    yield _finding(a, "other-unit", f"{a.actor.id} belongs to unit '{a.actor.unit}', {why}")


@register_rule("five-not-direct")
def five_not_direct(a: StepAttempt) -> Iterator[Finding]:
    unit = _principal_of(a.actor, a.unit, a.organisation)
    if a.step.domain is not None and unit is not None and _kept(a, "five-not-direct"):
        yield _finding(
            a,
            "five-not-direct",
            f"{a.actor.id} is the principal of {unit.id} and may not directly "
            f"handle the {a.step.domain.value} domain (五不直接分管): a deputy in charge handles it",
        )


@register_rule("separate-actors")
def separate_actors(a: StepAttempt) -> Iterator[Finding]:
    for other in a.step.separate_from:
        if other == a.step.id and a.step.countersign is not None:
            continue  # a signed step: one person per round is the engine's own check (signed-twice)
        if any(c.actor == a.actor.id for c in a.completed(other)):
            yield _finding(
                a,
                "separate-actors",
                f"{a.actor.id} already completed '{other}' in this case; "
                f"'{a.step.id}' must be done by someone else (不相容岗位分离)",
            )


@register_rule("same-actor")
def same_actor(a: StepAttempt) -> Iterator[Finding]:
    ref = a.step.same_actor_as
    done = a.completed(ref) if ref else []
    if done and done[-1].actor != a.actor.id:
        yield _finding(
            a,
            "same-actor",
            f"'{a.step.id}' must be done by {done[-1].actor}, who completed '{ref}' (首办负责)",
        )


@register_rule("recusal")
def recusal(a: StepAttempt) -> Iterator[Finding]:
    """Parties and declared conflicts compare by :func:`~approvalflow.org.organisation.party_key`."""
    seen: set[str] = set()
    for party in a.organisation.conflicted(a.actor.id, a.parties):
        if party_key(party) in seen:
            continue  # the same party named twice (e.g. as applicant and among parties): one finding
        seen.add(party_key(party))
        yield _finding(
            a,
            "recusal",
            f"{a.actor.id} has a declared conflict of interest with {party.strip()}, a party "
            "of this case, and must recuse (回避)",
        )


@register_rule("once")
def once(a: StepAttempt) -> Iterator[Finding]:
    if a.step.once and a.completed(a.step.id):
        yield _finding(
            a,
            "once",
            f"'{a.step.id}' may be completed once per case (一次告知: name every missing "
            "item in one notice); it was already completed",
        )


@register_rule("precedence")
def precedence(a: StepAttempt) -> Iterator[Finding]:
    missing = [s for s in a.step.requires if not a.finished(s)]
    if missing:
        yield _finding(a, "precedence", f"'{a.step.id}' requires {', '.join(missing)} to be completed first")


@register_rule("backdated")
def backdated(a: StepAttempt) -> Iterator[Finding]:
    """A completion may not be dated before its step became ready, nor before the case's last completion."""
    if a.since is not None and a.at < a.since:
        yield _finding(
            a,
            "backdated",
            f"'{a.step.id}' is dated {a.at.isoformat()}, before it became ready at {a.since.isoformat()} "
            "(倒签: a moment earlier than the step was ready)",
        )
        return
    last = a.history[-1] if a.history else None
    if last is not None and a.at < last.at:
        yield _finding(
            a,
            "backdated",
            f"'{a.step.id}' is dated {a.at.isoformat()}, before the case's last completion "
            f"('{last.step}' at {last.at.isoformat()}); completions are recorded in time order (倒签)",
        )


@register_rule("min-duration")
def min_duration(a: StepAttempt) -> Iterator[Finding]:
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


def _holds(person: str, post: str, a: StepAttempt) -> bool:
    p = a.organisation.person(person)
    if post == "principal" and a.unit.principal == person:
        return True
    return p is not None and post in p.posts


@register_rule("quorum")
def quorum(a: StepAttempt) -> Iterator[Finding]:
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


@register_rule("last-speaker")
def last_speaker(a: StepAttempt) -> Iterator[Finding]:
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


@register_rule("meeting-members")
def meeting_members(a: StepAttempt) -> Iterator[Finding]:
    """The record's members are exactly the members of the step's group in the case's unit (organisation file)."""
    rule = a.step.collective
    if rule is None or a.meeting is None:
        return  # without a record, ``quorum`` already refuses
    group = a.unit.groups.get(rule.group)
    if group is None:
        known = ", ".join(sorted(a.unit.groups)) or "none"
        yield _finding(
            a,
            "meeting-members",
            f"unit '{a.unit.id}' defines no group '{rule.group}' (units[].groups in the organisation file; its "
            f"groups: {known}): who may meet for '{a.step.id}' is unknown, so the meeting cannot be accepted",
        )
        return
    listed, wanted = set(a.meeting.members), set(group.members)
    if listed != wanted:
        parts = []
        if wanted - listed:
            parts.append("leaves out " + ", ".join(m for m in group.members if m not in listed))
        if listed - wanted:
            parts.append("adds " + ", ".join(sorted(listed - wanted)))
        yield _finding(
            a,
            "meeting-members",
            f"the members of '{a.step.id}' are the {group.name} ('{group.id}') of {a.unit.id}: "
            f"{', '.join(group.members)}; the record {' and '.join(parts)}",
        )


@register_rule("extension")
def extension(a: StepAttempt) -> Iterator[Finding]:
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


# The names before issue 15, kept so that code written against them keeps working.
Attempt = StepAttempt
register = register_rule
