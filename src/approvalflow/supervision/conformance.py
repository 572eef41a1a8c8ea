"""``log check``: replay an event log from another system through the engine and report where it deviates.

Each trace is replayed as a case under the ``record`` policy, event by event, at the event's own moment and
by its resource, with the data the event carries (so exclusive gateways take the branch the other system
took; without data a gateway takes its default flow). Deviations (stable ``kind`` names):

- ``out-of-order``: the activity was not ready, but the steps that were ready come later in the trace; the
  event is held back and replayed as soon as it is ready;
- ``skipped``: the activity was not ready and the ready steps never come: the trace skips them. The replay
  completes the skipped steps itself (by someone holding their posts; their findings are not reported) to
  reach the activity;
- ``unexpected``: the activity cannot be reached from where the case stands;
- ``unknown-activity``: not a step of the process; ``unknown-resource``: not a person of the organisation;
- ``early-end``: the trace ends while steps are still due (listed in ``expected``);
- ``not-replayable``: the engine could not take the event (e.g. a collective step without a meeting record).

Rule findings are those the engine records under ``record`` for the trace's own events: segregation
(``separate-actors``, ``five-not-direct``, ``other-unit`` …), time (``step-overdue``, ``case-overdue``) and
``backdated``: an event whose timestamp goes backwards in its trace (earlier than the event replayed before it),
or precedes the moment its step became ready in the replay, or the case's start (the trace's first event). Such
an event is still replayed at its own moment, so ``case-overdue`` is judged on the dates the other system wrote;
the finding says the dates cannot be trusted. An out-of-order event held back and replayed after the steps it
overtook is ``backdated`` too, when its moment is earlier than theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..bpmn.loader import ProcessDefinition
from ..engine.case import Case, Policy, start_case
from ..errors import CalendarError, RunError, UnknownActorError
from ..org.organisation import Organisation
from ..rules.checks import Finding, keeps_off
from ..time.calendar import WorkingCalendar
from ..time.clock import FakeClock
from .eventlog import LogEvent, Trace

__all__ = ["Deviation", "TraceCheck", "check_log", "check_trace"]

_MAX_FORCED = 20
_KEYWORDS = frozenset({"True", "False", "None", "and", "or", "not", "in", "is", "get", "len"})


@dataclass(frozen=True)
class Deviation:
    """Where a trace leaves the process: the kind, the event (0-based index), and what the model expected."""

    kind: str
    index: int | None
    activity: str | None
    expected: tuple[str, ...] = ()
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "event": self.index,
            "activity": self.activity,
            "expected": list(self.expected),
            "message": self.message,
        }


@dataclass
class TraceCheck:
    """The outcome of replaying one trace."""

    case: str
    deviations: list[Deviation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    completed: bool = False

    @property
    def conforms(self) -> bool:
        return not self.deviations

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "conforms": self.conforms,
            "completed": self.completed,
            "path": self.path,
            "deviations": [d.to_json() for d in self.deviations],
            "findings": [
                {"rule": f.rule, "task": f.step, "actor": f.actor, "at": f.at.isoformat() if f.at else None}
                for f in self.findings
            ],
        }


class _Replay:
    def __init__(self, case: Case, trace: Trace, result: TraceCheck) -> None:
        self.case, self.trace, self.result = case, trace, result
        self.pending: list[tuple[int, LogEvent]] = []

    def ready(self) -> list[str]:
        return [r.id for r in self.case.ready_steps()]

    def complete(self, index: int, ev: LogEvent) -> None:
        try:
            found = self.case.complete(ev.activity, ev.resource or "?", data=ev.data, at=ev.end)
        except UnknownActorError:
            self.deviate("unknown-resource", index, ev, f"'{ev.resource}' is not a person of the organisation")
            return
        except (RunError, CalendarError) as exc:
            self.deviate("not-replayable", index, ev, str(exc))
            return
        self.result.findings.extend(found)
        self.result.path.append(ev.activity)
        self.flush()

    def flush(self) -> None:
        progress = True
        while progress:
            progress = False
            for item in list(self.pending):
                if item[1].activity in self.ready():
                    self.pending.remove(item)
                    self.complete(*item)
                    progress = True
                    break

    def deviate(self, kind: str, index: int | None, ev: LogEvent | None, message: str) -> None:
        activity = ev.activity if ev else None
        self.result.deviations.append(Deviation(kind, index, activity, tuple(self.ready()), message))

    def force(self, ev: LogEvent) -> bool:
        """Complete ready steps on the trace's behalf until ``ev`` is ready; False if it never is."""
        for _ in range(_MAX_FORCED):
            ready = self.case.ready_steps()
            if not ready or ev.activity in [r.id for r in ready]:
                break
            step = ready[0]
            info, org = self.case.definition.steps[step.id], self.case.organisation
            holders = [
                p.id
                for p in org.people.values()
                if p.posts & set(step.posts) and not keeps_off(info, p, self.case.unit, org)
            ]
            try:
                self.case.complete(
                    step.id, holders[0] if holders else ev.resource or "?", data=self.guess(ev), at=ev.end
                )
            except (RunError, CalendarError):
                return False
        return ev.activity in self.ready()

    def guess(self, ev: LogEvent) -> dict[str, Any]:
        """Data for a step the trace skipped: every name in a condition False, then the event's own data."""
        names = {
            n
            for f in self.case.definition.flows.values()
            if f.condition
            for n in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", f.condition)
            if n not in _KEYWORDS
        }
        return {**dict.fromkeys(sorted(names - set(self.case.data)), False), **ev.data}

    def event(self, index: int, ev: LogEvent) -> None:
        if ev.activity not in self.case.definition.steps:
            self.deviate("unknown-activity", index, ev, f"'{ev.activity}' is not a step of the process")
            return
        if ev.activity in self.ready():
            self.complete(index, ev)
            return
        later = {e.activity for e in self.trace.events[index + 1 :]}
        if set(self.ready()) & later:
            self.deviate("out-of-order", index, ev, f"'{ev.activity}' came before {', '.join(self.ready())}")
            self.pending.append((index, ev))
            return
        skipped = self.ready()
        self.deviate("skipped", index, ev, f"'{ev.activity}' without {', '.join(skipped) or 'its predecessors'}")
        if self.force(ev):
            self.complete(index, ev)
        else:
            self.deviate("unexpected", index, ev, f"'{ev.activity}' cannot happen where the case stands")


def check_trace(
    trace: Trace,
    definition: ProcessDefinition,
    organisation: Organisation,
    *,
    unit: str | None = None,
    calendar: WorkingCalendar | None = None,
) -> TraceCheck:
    """Replay one trace; see the module docstring for what is reported."""
    result = TraceCheck(trace.case)
    if not trace.events:
        result.deviations.append(Deviation("early-end", None, None, (), "the trace has no events"))
        return result
    first = trace.events[0]
    chosen = unit or next((e.unit for e in trace.events if e.unit in organisation.units), None)
    case = start_case(
        definition,
        organisation,
        unit=chosen,
        clock=FakeClock(first.start or first.end),
        policy=Policy.RECORD,
        case_id=trace.case,
        calendar=calendar,
    )
    replay = _Replay(case, trace, result)
    for index, ev in enumerate(trace.events):
        replay.event(index, ev)
    result.completed = case.is_completed
    if not case.is_completed:
        replay.deviate("early-end", None, None, f"the trace ends while {', '.join(replay.ready())} are due")
    return result


def check_log(
    traces: list[Trace],
    definition: ProcessDefinition,
    organisation: Organisation,
    *,
    unit: str | None = None,
    calendar: WorkingCalendar | None = None,
) -> list[TraceCheck]:
    """Replay every trace of a log."""
    return [check_trace(t, definition, organisation, unit=unit, calendar=calendar) for t in traces]
