"""Deadlines, alerts and time accounting of a case (限时办结, SPEC section 5).

The engine records facts only: when each step became ready and was
completed, when the case clock started (``af:timeLimit/@startsAfter``), when
each ``af:suspendsClock`` step was open, and the extension granted. This
module derives everything else from those facts at any moment, so nothing
here is stored and a restored case gives the same answers.

Choices where SPEC is silent (see docs/time.md):

- a suspension moves the case deadlines only if it began before the deadline
  as already moved by earlier suspensions (a case already late cannot be made
  on time by suspending it afterwards);
- a suspension still open at the moment asked about counts up to that moment;
- step limits run from the moment the step became ready and are not suspended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from ..time.periods import (
    Deadline,
    alert_level,
    elapsed_working_days,
    extend,
    period_deadline,
    postpone,
    remaining_working_days,
    suspended_working_days,
)

if TYPE_CHECKING:
    from .case import Case

__all__ = [
    "Alert",
    "CaseDeadlines",
    "StepTime",
    "Suspension",
    "TimeReport",
    "alerts",
    "case_deadlines",
    "time_report",
]


@dataclass(frozen=True)
class Suspension:
    """A stretch of time during which a ``suspendsClock`` step was open; ``end`` is None while open."""

    step: str
    reason: str
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class CaseDeadlines:
    """The case's promised (承诺) and statutory (法定) deadlines; None where no limit or no clock yet."""

    promised: Deadline | None
    statutory: Deadline | None

    def __str__(self) -> str:
        return ", ".join(f"{k} {v or '-'}" for k, v in self.to_json().items())

    def to_json(self) -> dict[str, str | None]:
        return {
            "promised": self.promised.day.isoformat() if self.promised else None,
            "statutory": self.statutory.day.isoformat() if self.statutory else None,
        }


@dataclass(frozen=True)
class Alert:
    """A yellow (黄牌) or red (红牌) card for an open step or the open case."""

    level: Literal["yellow", "red"]
    scope: Literal["case", "step"]
    limit: Literal["promised", "statutory", "step"]
    task: str | None
    deadline: Deadline

    def to_json(self) -> dict[str, str | None]:
        return {
            "level": self.level,
            "scope": self.scope,
            "limit": self.limit,
            "task": self.task,
            "deadline": self.deadline.day.isoformat(),
        }


def _intervals(case: Case, at: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    for s in case.suspensions:
        end = s.end if s.end is not None else at
        if end > s.start:
            out.append((s.start, end))
    return sorted(out)


def _with_suspensions(case: Case, base: Deadline, start: datetime, at: datetime) -> Deadline:
    tl = case.definition.time_limit
    unit = tl.unit if tl else "workday"
    included: list[tuple[datetime, datetime]] = []
    deadline = base
    for interval in _intervals(case, at):
        if interval[0] >= deadline.end:
            break
        included.append(interval)
        deadline = postpone(case.calendar, base, included, start, unit)
    return deadline


def case_deadlines(case: Case, at: datetime | None = None) -> CaseDeadlines | None:
    """The case deadlines as of ``at`` (default: the clock's now); None when the process has no limit."""
    tl = case.definition.time_limit
    if tl is None or (tl.promised is None and tl.statutory is None):
        return None
    start = case.clock_start
    if start is None:
        return CaseDeadlines(None, None)
    moment = at or case.clock.now()

    def one(amount: int | None) -> Deadline | None:
        if amount is None:
            return None
        d = _with_suspensions(case, period_deadline(case.calendar, start, amount, tl.unit), start, moment)
        return extend(case.calendar, d, case.extension_days, tl.unit) if case.extension_days else d

    return CaseDeadlines(one(tl.promised), one(tl.statutory))


def step_deadline(case: Case, step: str, since: datetime) -> Deadline | None:
    """The deadline of a step that became ready at ``since``; None when the step has no limit."""
    info = case.definition.steps.get(step)
    if info is None or info.time_limit is None:
        return None
    return period_deadline(case.calendar, since, info.time_limit, info.unit)


def alerts(case: Case, at: datetime, *, yellow_days: int | None = None) -> list[Alert]:
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
    for ready in case.ready_steps():
        deadline = step_deadline(case, ready.id, ready.since)
        level = alert_level(case.calendar, deadline, at, yellow_days=days) if deadline else None
        if level and deadline:
            found.append(Alert(level, "step", "step", ready.id, deadline))
    return found


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


def time_report(case: Case, at: datetime | None = None) -> TimeReport:
    """The time accounting of a case at ``at`` (default: the clock's now, or when the case ended)."""
    moment = at or case.clock.now()
    end = case.ended_at if case.ended_at is not None and case.ended_at < moment else moment
    start = case.clock_start
    suspended = suspended_working_days(case.calendar, _intervals(case, end), start) if start else 0
    elapsed = elapsed_working_days(case.calendar, start, end) - suspended if start else None
    deadlines = case_deadlines(case, end)

    def left(d: Deadline | None) -> int | None:
        return remaining_working_days(case.calendar, d, end) if d else None

    steps = []
    for c in case.history:
        dl = step_deadline(case, c.step, c.since)
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
        start,
        elapsed,
        suspended,
        deadlines,
        left(deadlines.promised) if deadlines else None,
        left(deadlines.statutory) if deadlines else None,
        tuple(steps),
    )
