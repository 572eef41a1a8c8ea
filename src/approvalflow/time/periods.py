"""Period arithmetic (限时办结): deadlines, suspensions, alerts (SPEC section 5).

Pure functions over a :class:`~approvalflow.time.calendar.WorkingCalendar`. Every
moment is a timezone-aware :class:`~datetime.datetime` (a naive one raises
ValueError); days are the dates of those moments in Asia/Shanghai.

Units: ``"workday"`` (working days of the calendar), ``"day"`` (calendar
days) and ``"hour"`` (elapsed hours). A period of N days that starts on day D
ends when the N-th (working) day after D ends; D itself is not counted. A
period of N hours ends exactly N elapsed hours after its start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from approvalflow.bpmn.model import Unit
from approvalflow.errors import CalendarError
from approvalflow.time.calendar import WorkingCalendar

__all__ = [
    "SHANGHAI",
    "Alert",
    "Deadline",
    "Interval",
    "Unit",
    "add_working_days",
    "alert_level",
    "elapsed_working_days",
    "end_of_day",
    "extend",
    "local_date",
    "overdue_working_days",
    "period_deadline",
    "postpone",
    "remaining_working_days",
    "suspended_days",
    "suspended_time",
    "suspended_working_days",
    "working_days_between",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
Alert = Literal["yellow", "red"]
Interval = tuple[datetime, datetime]  # a suspension (S, E), both timezone-aware
_MAX_GAP = 366  # consecutive days off after which a calendar is taken to be broken


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give moments with a timezone")
    return moment


def local_date(moment: datetime) -> date:
    """The date of ``moment`` in Asia/Shanghai."""
    return _aware(moment).astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """The moment ``day`` ends in Asia/Shanghai: the start of the next day."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=SHANGHAI)


def _plus_hours(moment: datetime, hours: float | timedelta) -> datetime:
    """``moment`` plus elapsed time (not wall-clock time), in Shanghai time."""
    delta = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
    return (_aware(moment).astimezone(UTC) + delta).astimezone(SHANGHAI)


@dataclass(frozen=True)
class Deadline:
    """When a period ends.

    ``day`` is the date written in output (the last day of the period);
    ``end`` is the moment the period ends: the end of ``day`` for day units
    (:attr:`whole_day`), the exact moment for hours (then ``day`` is the
    Shanghai date of ``end``). Build them with :meth:`end_of` and :meth:`at`.
    """

    day: date
    end: datetime

    def __post_init__(self) -> None:
        if self.end != end_of_day(self.day) and local_date(self.end) != self.day:
            raise ValueError(f"deadline end {self.end.isoformat()} is neither the end nor a moment of {self.day}")

    @classmethod
    def end_of(cls, day: date) -> Deadline:
        """A deadline at the end of ``day`` (Shanghai)."""
        return cls(day, end_of_day(day))

    @classmethod
    def at(cls, moment: datetime) -> Deadline:
        """A deadline at an exact moment."""
        return cls(local_date(moment), _aware(moment))

    @property
    def whole_day(self) -> bool:
        """True for a day-unit deadline (ends with its day), False for an exact moment."""
        return self.end == end_of_day(self.day)

    def is_late(self, moment: datetime) -> bool:
        """Whether something done at ``moment`` is late; anything on the deadline day is on time."""
        return _aware(moment) >= self.end


def _next_working_day(cal: WorkingCalendar, day: date) -> date:
    for _ in range(_MAX_GAP):
        day += timedelta(days=1)
        if cal.is_working_day(day):
            return day
    raise CalendarError(f"calendar {cal.name!r} has no working day in the {_MAX_GAP} days up to {day}")


def add_working_days(cal: WorkingCalendar, start: date, n: int) -> date:
    """The date of the ``n``-th working day after ``start`` (``start`` not counted; 0 gives ``start``)."""
    if n < 0:
        raise ValueError(f"cannot add {n} working days: give a number >= 0")
    day = start
    for _ in range(n):
        day = _next_working_day(cal, day)
    return day


def working_days_between(cal: WorkingCalendar, after: date, upto: date) -> int:
    """The number of working days d with ``after < d <= upto`` (0 if ``upto <= after``)."""
    return sum(cal.is_working_day(after + timedelta(days=k)) for k in range(1, (upto - after).days + 1))


def period_deadline(cal: WorkingCalendar, start: datetime, amount: int, unit: Unit) -> Deadline:
    """The deadline of a period of ``amount`` units that starts at ``start``."""
    if amount < 0:
        raise ValueError(f"a period of {amount} {unit}s: give a number >= 0")
    return extend(cal, Deadline.at(start), amount, unit)


def extend(cal: WorkingCalendar, deadline: Deadline, amount: int, unit: Unit) -> Deadline:
    """Move ``deadline`` later by ``amount`` more units (a suspension, an approved extension).

    Working and calendar days are counted after ``deadline.day`` and the
    result ends with its day, even if ``deadline`` was an exact moment;
    hours are added to ``deadline.end``.
    """
    if amount < 0:
        raise ValueError(f"cannot extend by {amount} {unit}s: give a number >= 0")
    if unit == "workday":
        return Deadline.end_of(add_working_days(cal, deadline.day, amount))
    if unit == "day":
        return Deadline.end_of(deadline.day + timedelta(days=amount))
    if unit == "hour":
        return Deadline.at(_plus_hours(deadline.end, amount))
    raise ValueError(f"unknown unit {unit!r}: expected workday, day or hour")


def _clipped(intervals: Iterable[Interval], clock_start: datetime) -> list[Interval]:
    """The suspensions that lie after ``clock_start``, each cut to start no earlier."""
    start = _aware(clock_start)
    kept = []
    for s, e in intervals:
        if _aware(e) < _aware(s):
            raise ValueError(f"suspension ends ({e.isoformat()}) before it starts ({s.isoformat()})")
        s = max(s, start)
        if e > s:
            kept.append((s, e))
    return kept


def _suspended_dates(intervals: Iterable[Interval], clock_start: datetime) -> set[date]:
    days: set[date] = set()
    for s, e in _clipped(intervals, clock_start):
        first, last = local_date(s), local_date(e)
        days.update(first + timedelta(days=k) for k in range(1, (last - first).days + 1))
    return days


def suspended_working_days(cal: WorkingCalendar, intervals: Iterable[Interval], clock_start: datetime) -> int:
    """Working days removed by suspensions (S, E): those after S's date up to and including E's date.

    Overlapping suspensions count once (the union of their days). Only time
    after ``clock_start`` counts: each S is taken as ``max(S, clock_start)``,
    so a suspension that ended by then removes nothing and one that began
    before removes only days after the clock start's date. A suspension
    still open is passed with E = now.
    """
    return sum(cal.is_working_day(d) for d in _suspended_dates(intervals, clock_start))


def suspended_days(intervals: Iterable[Interval], clock_start: datetime) -> int:
    """Like :func:`suspended_working_days`, for calendar days."""
    return len(_suspended_dates(intervals, clock_start))


def suspended_time(intervals: Iterable[Interval], clock_start: datetime) -> timedelta:
    """Elapsed time under suspension after ``clock_start`` (for hour periods), overlaps counted once."""
    total, reached = timedelta(), None
    for s, e in sorted(_clipped(intervals, clock_start)):
        s = s if reached is None else max(s, reached)
        if e > s:
            total += e - s
        reached = e if reached is None else max(reached, e)
    return total


def postpone(
    cal: WorkingCalendar,
    deadline: Deadline,
    intervals: Iterable[Interval],
    clock_start: datetime,
    unit: Unit,
) -> Deadline:
    """``deadline`` moved later by the suspensions, counted in the period's ``unit``."""
    intervals = list(intervals)
    if unit == "hour":
        return Deadline.at(_plus_hours(deadline.end, suspended_time(intervals, clock_start)))
    if unit == "day":
        return extend(cal, deadline, suspended_days(intervals, clock_start), unit)
    return extend(cal, deadline, suspended_working_days(cal, intervals, clock_start), unit)


def alert_level(cal: WorkingCalendar, deadline: Deadline, at: datetime, *, yellow_days: int = 1) -> Alert | None:
    """The alert for something open at ``at`` that is due by ``deadline``.

    Red (红牌) once ``at >= deadline.end``. Yellow (黄牌) when at most
    ``yellow_days`` working days are left, counting those after ``at``'s date
    up to and including ``deadline.day`` (with 1: on the deadline day and the
    working day before it). For an exact-moment (hour) deadline, yellow when
    at most ``yellow_days`` × 24 hours are left, since hour periods ignore the
    calendar.
    """
    if deadline.is_late(at):
        return "red"
    if deadline.whole_day:
        left = working_days_between(cal, local_date(at), deadline.day)
        return "yellow" if left <= yellow_days else None
    return "yellow" if deadline.end - at <= timedelta(days=yellow_days) else None


def remaining_working_days(cal: WorkingCalendar, deadline: Deadline, at: datetime) -> int:
    """Working days left after ``at``'s date up to and including the deadline day; 0 once late.

    Never negative: 0 means "due by the end of today"
    or "late"; tell them apart with :meth:`Deadline.is_late`, and count the
    lateness with :func:`overdue_working_days`.
    """
    if deadline.is_late(at):
        return 0
    return working_days_between(cal, local_date(at), deadline.day)


def overdue_working_days(cal: WorkingCalendar, deadline: Deadline, at: datetime) -> int:
    """Working days after the deadline day up to and including ``at``'s date; 0 unless late.

    Late on a day off right after the deadline day gives 0 (no working day lost yet).
    """
    if not deadline.is_late(at):
        return 0
    return working_days_between(cal, deadline.day, local_date(at))


def elapsed_working_days(cal: WorkingCalendar, start: datetime, at: datetime) -> int:
    """Working days after ``start``'s date up to and including ``at``'s date (0 if ``at`` is earlier)."""
    return working_days_between(cal, local_date(start), local_date(at))
