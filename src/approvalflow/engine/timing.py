"""Deadlines, alerts and time accounting of a case (限时办结, SPEC section 5).

The engine records facts only: when each step became ready and was
completed, when the case clock started (``af:timeLimit/@startsAfter``), when
each ``af:suspendsClock`` step was open, and the extension granted. This
module derives everything else from those facts at any moment, so nothing
here is stored and a restored case gives the same answers. It reads a case
through :class:`TimedCase` (what it needs of
:class:`~approvalflow.engine.case.Case`, never the class itself); the
arithmetic is :mod:`approvalflow.time.deadlines`, from plain values
(:func:`approvalflow.time.caseclock.case_deadlines`), the same the case store
and the simulator use.

Choices where SPEC is silent (see docs/time.md):

- a suspension moves the case deadlines only if it began before the deadline
  as already moved by earlier suspensions (a case already late cannot be made
  on time by suspending it afterwards);
- a suspension still open at the moment asked about counts up to that moment;
- step limits run from the moment the step became ready and are not suspended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal, Protocol

from ..time.caseclock import CASE_SUSPENSION, CaseDeadlines, Suspension, suspension_intervals
from ..time.caseclock import case_deadlines as deadlines_of
from ..time.periods import (
    Deadline,
    alert_level,
    case_deadline,
    elapsed_working_days,
    period_deadline,
    remaining_working_days,
    suspended_working_days,
)

if TYPE_CHECKING:
    from ..bpmn.loader import ProcessDefinition
    from ..time.calendar import WorkingCalendar
    from ..time.clock import Clock

__all__ = [
    "Alert",
    "CaseDeadlines",
    "CaseTime",
    "StepTime",
    "Suspension",
    "TimeReport",
    "TimedCase",
    "alert_json",
    "alerts",
    "case_deadlines",
    "case_time",
    "step_deadline",
    "time_report",
]


class _Ready(Protocol):
    """A ready step as :meth:`approvalflow.engine.case.Case.ready_steps` lists it."""

    @property
    def id(self) -> str: ...
    @property
    def since(self) -> datetime: ...


class _Done(Protocol):
    """A completed step (:class:`approvalflow.rules.checks.Completion`)."""

    @property
    def step(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def since(self) -> datetime: ...


class TimedCase(Protocol):
    """What the time functions read of a case (:class:`approvalflow.engine.case.Case` is one)."""

    @property
    def definition(self) -> ProcessDefinition: ...
    @property
    def calendar(self) -> WorkingCalendar: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def clock_start(self) -> datetime | None: ...
    @property
    def suspensions(self) -> Sequence[Suspension]: ...
    @property
    def extension_days(self) -> int | None: ...
    @property
    def yellow_days(self) -> int: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def history(self) -> Sequence[_Done]: ...
    @property
    def is_completed(self) -> bool: ...
    def ready_steps(self) -> Sequence[_Ready]: ...


@dataclass(frozen=True)
class Alert:
    """A yellow (黄牌) or red (红牌) card for an open step or the open case."""

    level: Literal["yellow", "red"]
    scope: Literal["case", "step"]
    limit: Literal["promised", "statutory", "step"]
    task: str | None
    deadline: Deadline
    #: who answers for the open step's delay (延时追责): its holder (签收, 转办, 委派: the delegator), else the named
    #: signer of its instance; None for the case's cards and for a step open to everyone authorised
    responsible: str | None = None

    def to_json(self) -> dict[str, str | None]:
        """The card's JSON (:func:`alert_json`), with ``responsible`` when someone holds the step."""
        out = alert_json(self.level, self.scope, self.limit, self.task, self.deadline.day)
        if self.responsible is not None:
            out["responsible"] = self.responsible
        return out


def alert_json(level: str, scope: str, limit: str, task: str | None, day: date) -> dict[str, str | None]:
    """An alert as ``approvalflow run`` writes it and the supervision sweep reports it: the one JSON shape of a card."""
    return {"level": level, "scope": scope, "limit": limit, "task": task, "deadline": day.isoformat()}


def case_deadlines(case: TimedCase, at: datetime | None = None) -> CaseDeadlines | None:
    """The case deadlines as of ``at`` (default: the clock's now); None when the process has no limit."""
    return deadlines_of(
        case.calendar,
        case.definition.time_limit,
        case.clock_start,
        case.suspensions,
        case.extension_days,
        at or case.clock.now(),
    )


def step_deadline(case: TimedCase, step: str, since: datetime, *, until: datetime | None = None) -> Deadline | None:
    """The deadline of a step that became ready at ``since``; None when the step has no limit.

    ``until``: when the step was completed; a case suspension (中止) that began after it does not move the deadline
    of a step already done."""
    info = case.definition.steps.get(step)
    if info is None or info.time_limit is None:
        return None
    paused = case_pauses(case, since, until=until)
    if paused:  # the case was suspended (中止) while the step was open: its limit moves later as the case's does
        return case_deadline(case.calendar, since, info.time_limit, info.unit, paused)
    return period_deadline(case.calendar, since, info.time_limit, info.unit)


def case_pauses(case: TimedCase, since: datetime, *, until: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """The case suspensions (中止) that began at or after ``since`` (and before ``until``, if given), as intervals
    (one still open ends now)."""
    found = [
        s for s in case.suspensions
        if s.step == CASE_SUSPENSION and s.start >= since and (until is None or s.start < until)
    ]  # fmt: skip
    return suspension_intervals(found, case.clock.now()) if found else []


def alerts(case: TimedCase, at: datetime, *, yellow_days: int | None = None) -> list[Alert]:
    """Every yellow and red card at moment ``at``: the open case's limits first, then open steps."""
    days = case.yellow_days if yellow_days is None else yellow_days
    found: list[Alert] = []
    if not case.is_completed:
        deadlines = case_deadlines(case, at)
        if deadlines is not None:
            for limit, deadline in (("promised", deadlines.promised), ("statutory", deadlines.statutory)):
                level = alert_level(case.calendar, deadline, at, yellow_days=days) if deadline else None
                if level and deadline:
                    found.append(Alert(level, "case", limit, None, deadline))  # type: ignore[arg-type]
    suspended = getattr(case, "status", "running") == "suspended"
    for ready in () if suspended else case.ready_steps():  # 中止: nobody may act, no step card
        deadline = step_deadline(case, ready.id, ready.since)
        level = alert_level(case.calendar, deadline, at, yellow_days=days) if deadline else None
        if level and deadline:
            found.append(Alert(level, "step", "step", ready.id, deadline, _responsible(ready)))
    return found


def _responsible(ready: _Ready) -> str | None:
    """The holder of a ready step (the delegator of a delegated one), else its named signer, else None."""
    owner = getattr(ready, "owner", None)
    return owner if isinstance(owner, str) else getattr(ready, "assignee", None)


@dataclass(frozen=True)
class StepTime:
    """Time spent on one step instance (working days), and its limit."""

    step: str
    since: datetime
    done: datetime | None
    actor: str | None
    elapsed: int
    limit: int | None
    deadline: Deadline | None
    on_time: bool | None


@dataclass(frozen=True)
class TimeReport:
    """Elapsed, suspended and remaining working days of a case and each of its steps at a moment."""

    at: datetime
    clock_start: datetime | None
    elapsed: int | None
    suspended: int
    deadlines: CaseDeadlines | None
    remaining_promised: int | None
    remaining_statutory: int | None
    steps: tuple[StepTime, ...]


@dataclass(frozen=True)
class CaseTime:
    """A case's own time at a moment, without its steps: what a store's summary of a finished case needs."""

    end: datetime
    elapsed: int | None
    suspended: int
    deadlines: CaseDeadlines | None


def case_time(case: TimedCase, at: datetime | None = None) -> CaseTime:
    """Elapsed and suspended working days and the deadlines of the case at ``at`` (as in :func:`time_report`)."""
    moment = at or case.clock.now()
    end = case.ended_at if case.ended_at is not None and case.ended_at < moment else moment
    start = case.clock_start
    suspended = (
        suspended_working_days(case.calendar, suspension_intervals(case.suspensions, end), start) if start else 0
    )
    elapsed = elapsed_working_days(case.calendar, start, end) - suspended if start else None
    return CaseTime(end, elapsed, suspended, case_deadlines(case, end))


def time_report(case: TimedCase, at: datetime | None = None) -> TimeReport:
    """The time accounting of a case at ``at`` (default: the clock's now, or when the case ended)."""
    moment = at or case.clock.now()
    totals = case_time(case, moment)
    deadlines = totals.deadlines

    def left(d: Deadline | None) -> int | None:
        return remaining_working_days(case.calendar, d, totals.end) if d else None

    steps = []
    for c in case.history:
        dl = step_deadline(case, c.step, c.since, until=c.at)
        steps.append(
            StepTime(
                c.step,
                c.since,
                c.at,
                c.actor,
                elapsed_working_days(case.calendar, c.since, c.at),
                case.definition.steps[c.step].time_limit,
                dl,
                None if dl is None else not dl.is_late(c.at),
            )
        )
    for r in case.ready_steps():
        dl = step_deadline(case, r.id, r.since)
        steps.append(
            StepTime(
                r.id,
                r.since,
                None,
                None,
                elapsed_working_days(case.calendar, r.since, moment),
                case.definition.steps[r.id].time_limit,
                dl,
                None if dl is None else not dl.is_late(moment),
            )
        )
    return TimeReport(
        moment,
        case.clock_start,
        totals.elapsed,
        totals.suspended,
        deadlines,
        left(deadlines.promised) if deadlines else None,
        left(deadlines.statutory) if deadlines else None,
        tuple(steps),
    )
