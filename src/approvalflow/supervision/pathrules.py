"""The reform's rules on the aligned path of a trace: who did each step, and when.

After :mod:`approvalflow.supervision.alignment` has found the run of the model that best explains a trace,
each synchronous move is a step the other system really did, by the event's resource at the event's moment.
The rules are evaluated on those moves with :func:`approvalflow.rules.checks.check`, the function the engine
calls, on the facts the engine would have given it:

- ``history``: the synchronous moves before, each with its actor, moment and ``since``;
- ``since`` (when the step became ready): the latest moment among the tokens the step consumed; a token
  carries the moment of the move that produced it: a synchronous move its event's moment, a silent or model
  move the latest moment among its own input tokens (it happened at once), the first token the case's start
  (the first event's start, else its end);
- the case's unit: the one given, else the first event's unit the organisation knows, else its only unit.

The rules run are every registered run-time rule except those that need facts a log does not carry (the
meeting record: ``quorum``, ``last-speaker``, ``meeting-members``; the extension request: ``extension``).
Time: ``step-overdue`` when a step's ``af:step/@timeLimit`` from ``since`` ended before the event, on the
case's working-day calendar (China's by default); ``case-overdue`` when the trace is a complete run and its
last event came after the case's promised or statutory deadline (the case clock starts at the case's start or
at the completion of ``af:timeLimit/@startsAfter``; ``suspendsClock`` steps suspend it from ``since`` to their
event). Model moves (skipped steps) have no actor and are not judged.

Data quality, never a control-flow deviation: an event without a resource (``missing-resource``), a resource
that is no person of the organisation (``unknown-resource``): the rules are not evaluated for that event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import CalendarError
from ..org.organisation import Organisation, OrgUnit
from ..rules.checks import RULES, Completion, Finding, StepAttempt, check
from ..time.calendar import WorkingCalendar
from ..time.caseclock import Suspension, case_deadlines
from ..time.periods import period_deadline
from .alignment import Move
from .eventlog import Trace
from .procnet import ProcessNet

__all__ = ["LOG_RULES", "PathFacts", "Quality", "path_findings"]

#: The run-time rules evaluated on a log: all but those needing a meeting record or an extension request.
LOG_RULES = frozenset(RULES) - {"quorum", "last-speaker", "meeting-members", "extension"}


@dataclass(frozen=True)
class Quality:
    """A data-quality finding of one event: ``missing-resource``, ``unknown-resource`` or ``time-not-checked``."""

    kind: str
    index: int
    activity: str
    message: str

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "event": self.index, "activity": self.activity, "message": self.message}


@dataclass
class PathFacts:
    """What the walk along the aligned path found."""

    findings: list[Finding] = field(default_factory=list)
    quality: list[Quality] = field(default_factory=list)


class _Walk:
    def __init__(self, net: ProcessNet, trace: Trace, org: Organisation, unit: OrgUnit, cal: WorkingCalendar) -> None:
        self.net, self.trace, self.org, self.unit, self.cal = net, trace, org, unit, cal
        first = trace.events[0]
        self.started = first.start or first.end
        self.tokens: dict[int, list[datetime]] = {p: [self.started] for p in net.initial}
        self.history: list[Completion] = []
        self.facts = PathFacts()
        self.clock_start: datetime | None = self.started
        tl = net.time_limit
        if tl is not None and tl.starts_after is not None:
            self.clock_start = None
        self.suspensions: list[Suspension] = []
        self.parties = tuple(str(p) for e in trace.events for p in _parties(e.data))

    def fire(self, move: Move, moment: datetime | None) -> datetime:
        assert move.transition is not None
        t = self.net.transitions[move.transition]
        taken = [self.tokens[p].pop(0) for p in t.consume]
        since = max(taken, default=self.started)
        for p in t.clear:
            self.tokens.pop(p, None)
        for p in t.produce:
            self.tokens.setdefault(p, []).append(moment or since)
        return since

    def sync(self, move: Move, since: datetime) -> None:
        assert move.event is not None and move.step is not None
        ev = self.trace.events[move.event]
        step = self.net.steps[move.step]
        where = (move.event, ev.activity)
        if not ev.resource:
            self.quality("missing-resource", where, "the event names no resource: its rules are not checked")
        elif (person := self.org.person(ev.resource)) is None:
            shown = ev.resource[:80]
            self.quality("unknown-resource", where, f"'{shown}' is not a person of the organisation")
        else:
            attempt = StepAttempt(
                step, person, self.unit, self.org, tuple(self.history), self.parties, ev.end, since=since,
                calendar=self.cal,
            )  # fmt: skip
            rules = {k: v for k, v in RULES.items() if k in LOG_RULES}
            self.facts.findings += check(attempt, rules)
            self.facts.findings += self.step_overdue(move, since, ev.end, ev.resource)
            self.history.append(Completion(step.id, ev.resource, ev.end, since))
        tl = self.net.time_limit
        if tl is not None and tl.starts_after == step.id:
            self.clock_start = ev.end
        if step.suspends_clock:
            self.suspensions.append(Suspension(step.id, step.suspends_clock, since, ev.end))

    def quality(self, kind: str, where: tuple[int, str], message: str) -> None:
        self.facts.quality.append(Quality(kind, where[0], where[1], message))

    def step_overdue(self, move: Move, since: datetime, at: datetime, actor: str) -> list[Finding]:
        info = self.net.steps[move.step or ""]
        if info.time_limit is None:
            return []
        try:
            deadline = period_deadline(self.cal, since, info.time_limit, info.unit)
        except CalendarError as exc:
            self.quality("time-not-checked", (move.event or 0, info.id), exc.message)
            return []
        if not deadline.is_late(at):
            return []
        message = (
            f"'{info.id}' was completed after its limit of {info.time_limit} {info.unit}(s), "
            f"which ended with {deadline.day} (环节超时)"
        )
        return [Finding("step-overdue", info.id, actor, message, at, "warning")]

    def case_overdue(self, last: Move) -> None:
        ev = self.trace.events[last.event or 0]
        try:
            before = case_deadlines(self.cal, self.net.time_limit, self.clock_start, self.suspensions, None, ev.end)
        except CalendarError as exc:
            self.quality("time-not-checked", (last.event or 0, ev.activity), exc.message)
            return
        if before is None:
            return
        for name, d in (("promised", before.promised), ("statutory", before.statutory)):
            if d is not None and d.is_late(ev.end):
                message = f"the case ended after its {name} deadline {d.day} (超期)"
                self.facts.findings.append(
                    Finding("case-overdue", last.step or "", ev.resource or "", message, ev.end, "warning")
                )


def _parties(data: object) -> list[object]:
    found = data.get("parties") if isinstance(data, dict) else None
    return list(found) if isinstance(found, list) else []


def path_findings(
    net: ProcessNet,
    trace: Trace,
    moves: Sequence[Move],
    organisation: Organisation,
    unit: OrgUnit,
    calendar: WorkingCalendar,
    *,
    complete: bool,
) -> PathFacts:
    """The rule findings and data-quality findings of ``trace`` along its aligned ``moves``.

    ``complete``: the trace itself ends the run (no early end), so the case deadlines are judged at its last event.
    """
    if not trace.events:
        return PathFacts()
    walk = _Walk(net, trace, organisation, unit, calendar)
    last: Move | None = None
    for move in moves:
        if move.kind == "log":
            continue
        moment = trace.events[move.event].end if move.kind == "sync" and move.event is not None else None
        since = walk.fire(move, moment)
        if move.kind == "sync":
            walk.sync(move, since)
            last = move
    if complete and last is not None and trace.events[last.event or 0].resource:
        walk.case_overdue(last)
    return walk.facts
