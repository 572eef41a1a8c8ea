"""Hypothesis strategies: walks through a process, actors from an organisation, moments across holiday seasons.

- :func:`moments` draws office-hour moments (Asia/Shanghai) in the 2026 seasons around Spring Festival (春节),
  May Day (劳动节) and National Day (国庆节), where working days, holidays and adjusted working days (调休) meet.
- :func:`actors` draws people of an organisation who hold a post.
- :func:`walks` draws a :class:`Walk`: a case driven step by step through the process on the engine itself. At
  each step it picks a ready step, data for the gateways that follow it (searching small candidate values for
  the names their conditions use until the wanted outgoing flow is the one the engine takes), a moment, and an
  actor. With ``mode="respect"`` the actor breaks no rule (the engine is asked; a refusal changes nothing); with
  ``mode="break"`` up to ``breaks`` attempts are made by someone who breaks a segregation rule (posts,
  五不直接分管, separation, same actor, recusal), each followed by a clean retry of the same step.
- :func:`replay` runs a walk again on a new case, under either policy.

Hypothesis is needed only by this module (a test dependency); the library itself does not import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from hypothesis import strategies as st

from ..bpmn.loader import ProcessDefinition
from ..bpmn.steering import assignments, candidate_values, flows_taken, gateway_reads
from ..engine.case import Case, Policy, start_case
from ..errors import ApprovalflowError, CalendarError, InvalidInputError, RunError, StepRefused
from ..org.organisation import Organisation, Person
from ..rules.checks import keeps_off, step_units
from ..time.clock import FakeClock
from ..time.periods import SHANGHAI

__all__ = [
    "SEASONS",
    "SEGREGATION_RULES",
    "Replayed",
    "Walk",
    "WalkStep",
    "actors",
    "branch_data",
    "moments",
    "replay",
    "walks",
]

#: Windows of 2026 around the long holidays (the calendar data covers 2026): Spring Festival (holiday 02-15..02-23,
#: 调休 02-14 and 02-28), May Day (05-01..05-05, 调休 05-09), National Day (10-01..10-07, 调休 09-20 and 10-10).
SEASONS: Mapping[str, tuple[date, date]] = {
    "spring-festival": (date(2026, 2, 5), date(2026, 3, 5)),
    "may-day": (date(2026, 4, 24), date(2026, 5, 15)),
    "national-day": (date(2026, 9, 18), date(2026, 10, 15)),
}
#: The rules a ``break`` walk breaks on purpose.
SEGREGATION_RULES = frozenset({"unauthorized", "five-not-direct", "separate-actors", "same-actor", "recusal"})
_MAX_ASSIGNMENTS = 2_000
_STEP_KINDS = frozenset({"userTask", "manualTask", "task"})
_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})


@dataclass(frozen=True)
class WalkStep:
    """One attempt: complete ``task`` as ``actor`` at ``at``; ``breaks`` are the rules it breaks (empty if clean)."""

    task: str
    actor: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    meeting: Mapping[str, Any] | None = None
    breaks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Walk:
    """A case's start and the attempts made on it; ``completed`` and ``stopped`` say how it ended when drawn."""

    unit: str | None
    start: datetime
    data: Mapping[str, Any]
    steps: tuple[WalkStep, ...]
    completed: bool
    stopped: str | None = None

    def without_retries(self) -> Walk:
        """The walk in which each rule-breaking attempt goes through: its clean retry is dropped."""
        kept: list[WalkStep] = []
        for step in self.steps:
            if kept and kept[-1].breaks and kept[-1].task == step.task and not step.breaks:
                continue
            kept.append(step)
        return replace(self, steps=tuple(kept))


@dataclass
class Replayed:
    """A walk run again: the case, and per attempt index the rules refused (enforce) or recorded (record)."""

    case: Case
    refused: dict[int, list[str]] = field(default_factory=dict)
    findings: dict[int, list[str]] = field(default_factory=dict)


# -- moments and actors ----------------------------------------------------------------------------------------
def moments(seasons: Sequence[str] = tuple(SEASONS)) -> st.SearchStrategy[datetime]:
    """Office-hour moments (08:30-17:30, Asia/Shanghai) in the given holiday seasons of 2026."""
    unknown = [s for s in seasons if s not in SEASONS]
    if unknown:
        raise InvalidInputError(f"unknown season(s) {', '.join(unknown)}; known: {', '.join(SEASONS)}")
    days = st.one_of(*(st.dates(SEASONS[s][0], SEASONS[s][1]) for s in seasons))
    minutes = st.integers(8 * 60 + 30, 17 * 60 + 30)
    return st.builds(lambda d, m: datetime.combine(d, time(m // 60, m % 60), SHANGHAI), days, minutes)


def actors(organisation: Organisation, posts: Sequence[str] = (), unit: str | None = None) -> st.SearchStrategy[str]:
    """People (ids) of ``organisation`` holding one of ``posts`` (any post if empty), in ``unit`` if given."""
    found = [
        p.id
        for p in organisation.people.values()
        if (not posts or set(posts) & p.posts) and (unit is None or p.unit == unit)
    ]
    if not found:
        raise InvalidInputError(f"nobody holds {', '.join(posts) or 'any post'}" + (f" in unit {unit}" if unit else ""))
    return st.sampled_from(sorted(found))


# -- data that steers gateways ---------------------------------------------------------------------------------
def _region(definition: ProcessDefinition, start: Sequence[str]) -> list[str]:
    """The exclusive and inclusive gateways reachable from ``start`` nodes before the next step."""
    outgoing: dict[str, list[str]] = {}
    for flow in definition.flows.values():
        outgoing.setdefault(flow.source, []).append(flow.target)
    seen: set[str] = set()
    found: list[str] = []
    todo = [t for s in start for t in outgoing.get(s, [])]
    while todo:
        node = todo.pop(0)
        info = definition.nodes.get(node)
        if node in seen or info is None or info.kind in _STEP_KINDS:
            continue
        seen.add(node)
        if info.kind in _GATEWAYS:
            found.append(node)
        todo += outgoing.get(node, [])
    return found


def _outcome(definition: ProcessDefinition, gateway: str, data: Mapping[str, object]) -> tuple[str, ...] | None:
    """Which outgoing flows the engine takes with these data (an exclusive gateway: the first that holds)."""
    flows = [f for f in definition.flows.values() if f.source == gateway]
    taken = flows_taken(flows, data)
    if taken is None or definition.nodes[gateway].kind == "inclusiveGateway":
        return taken
    return taken[:1]


@st.composite
def branch_data(
    draw: st.DrawFn, definition: ProcessDefinition, after: Sequence[str], base: Mapping[str, Any]
) -> dict[str, Any]:
    """Data that steers the gateways after the nodes ``after`` down a drawn branch each (a feasible one)."""
    chosen: dict[str, Any] = {}
    for gateway in _region(definition, after):
        by_outcome: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        names, constants = gateway_reads(f for f in definition.flows.values() if f.source == gateway)
        free = [n for n in names if n not in chosen]
        values = candidate_values(constants) if free else []
        for assignment in assignments(free, values, partial=False, limit=_MAX_ASSIGNMENTS):
            outcome = _outcome(definition, gateway, {**base, **chosen, **assignment})
            if outcome:
                by_outcome.setdefault(outcome, []).append(assignment)
        if by_outcome:
            outcome = draw(st.sampled_from(sorted(by_outcome)))
            chosen.update(draw(st.sampled_from(by_outcome[outcome])))
    return chosen


# -- walks ----------------------------------------------------------------------------------------------------
def _meeting(definition: ProcessDefinition, case: Case, task: str) -> dict[str, Any] | None:
    """A consistent, well-attended meeting record for a collective step, the ``lastSpeaker`` post last."""
    info = definition.steps[task]
    if info.collective is None:
        return None
    group = case.unit.groups.get(info.collective.group)
    if group is not None:  # who meets is the organisation's group (rule meeting-members), not whoever holds a post
        members = sorted(group.members)
    else:
        posts = set(info.posts) or {"leader"}
        people = case.organisation.people.values()
        members = sorted(p.id for p in people if p.unit == case.unit.id and posts & p.posts)
    last = info.collective.last_speaker
    order = sorted(members, key=lambda m: bool(last and last in case.organisation.people[m].posts))
    return {"members": members, "present": members, "votes": [[m, "for"] for m in order]}


def _people(case: Case, task: str, clean: bool) -> list[Person]:
    step = case.definition.steps[task]
    units = {case.unit.id, *step_units(step, case.unit.id)}  # a step naming units (征求意见) is done by theirs
    unit = [p for p in case.organisation.people.values() if p.unit in units]
    if clean:  # the unit and post part of keeps_off, the engine's decision (five-not-direct is left to the walk)
        kept = {"unauthorized", "other-unit"}
        return [p for p in unit if not kept & set(keeps_off(step, p, case.unit, case.organisation))]
    return unit


def _try(case: Case, attempt: WalkStep) -> list[str] | None:
    """Complete the attempt; the rules refused (the case unchanged), or None when it went through."""
    try:
        case.complete(attempt.task, attempt.actor, data=attempt.data, meeting=attempt.meeting, at=attempt.at)
    except StepRefused as refused:
        return refused.rules
    return None


@dataclass
class _Walker:
    draw: st.DrawFn
    case: Case
    mode: Literal["respect", "break"]
    breaks_left: int
    steps: list[WalkStep] = field(default_factory=list)

    def one(self, at: datetime) -> str | None:
        """Take one step; the reason to stop, or None."""
        ready = sorted(s.id for s in self.case.ready_steps())
        if not ready:
            return "no step is ready"
        task = self.draw(st.sampled_from(ready))
        data = self.draw(branch_data(self.case.definition, [task], self.case.data))
        base = WalkStep(task, "", at, data, _meeting(self.case.definition, self.case, task))
        if self.mode == "break" and self.breaks_left and self.draw(st.booleans()):
            self._break(base)
        for person in self.draw(st.permutations(_people(self.case, task, clean=True))):
            attempt = replace(base, actor=person.id)
            if _try(self.case, attempt) is None:
                self.steps.append(attempt)
                return None
        return f"nobody may complete '{task}' without breaking a rule"

    def _break(self, base: WalkStep) -> None:
        for person in self.draw(st.permutations(_people(self.case, base.task, clean=False))):
            attempt = replace(base, actor=person.id)
            rules = _try(self.case, attempt)
            if rules is None:  # it went through after all: a clean step
                raise _Done(attempt)
            if set(rules) & SEGREGATION_RULES:
                self.steps.append(replace(attempt, breaks=tuple(rules)))
                self.breaks_left -= 1
                return


class _Done(ApprovalflowError):  # a private signal, caught in walks()
    def __init__(self, attempt: WalkStep) -> None:
        self.attempt = attempt


def _parties(organisation: Organisation) -> list[str]:
    return ["某餐饮有限公司", *sorted({c for cs in organisation.conflicts.values() for c in cs})]


@st.composite
def walks(
    draw: st.DrawFn,
    definition: ProcessDefinition,
    organisation: Organisation,
    *,
    unit: str | None = None,
    mode: Literal["respect", "break"] = "respect",
    breaks: int = 1,
    max_steps: int = 25,
    start: st.SearchStrategy[datetime] | None = None,
    gap_hours: int = 24,
) -> Walk:
    """A walk through ``definition`` in ``unit``, driven on the engine under the ``enforce`` policy."""
    begin = draw(start if start is not None else moments())
    data = {"applicant": draw(st.sampled_from(_parties(organisation)))}
    starts = [n for n in definition.nodes if _is_start(definition, n)]
    data.update(draw(branch_data(definition, starts, data)))
    case = start_case(definition, organisation, unit=unit, clock=FakeClock(begin), data=data, policy=Policy.ENFORCE)
    walker = _Walker(draw, case, mode, breaks)
    moment, stopped = begin, None
    while stopped is None and not case.is_completed and len(walker.steps) < max_steps:
        moment += timedelta(minutes=draw(st.integers(10, gap_hours * 60)))
        try:
            stopped = walker.one(moment)
        except _Done as done:
            walker.steps.append(done.attempt)
        except InvalidInputError:  # the walk gave the engine bad input: a bug here or in the engine, never a stop
            raise
        except (CalendarError, RunError) as exc:
            stopped = f"{type(exc).__name__}: {exc}"
    return Walk(unit, begin, data, tuple(walker.steps), case.is_completed, stopped)


def _is_start(definition: ProcessDefinition, node: str) -> bool:
    info = definition.nodes[node]
    return info.kind == "startEvent" and info.process == definition.id


def replay(
    walk: Walk, definition: ProcessDefinition, organisation: Organisation, *, policy: Policy | str = Policy.ENFORCE
) -> Replayed:
    """Run ``walk`` on a new case; under ``enforce`` refused attempts are skipped (and listed in ``refused``)."""
    case = start_case(
        definition, organisation, unit=walk.unit, clock=FakeClock(walk.start), data=walk.data, policy=policy
    )
    out = Replayed(case)
    for i, step in enumerate(walk.steps):
        try:
            found = case.complete(step.task, step.actor, data=step.data, meeting=step.meeting, at=step.at)
        except StepRefused as refused:
            out.refused[i] = list(refused.rules)
            continue
        rules = [f.rule for f in found]
        if rules:
            out.findings[i] = rules
    return out
