"""Deadlines and alert levels (限时办结, SPEC section 5): the one definition, over plain values.

Every deadline and every yellow or red card of approvalflow is computed here, once, whatever the
representation of time:

- the engine and the case store count in timezone-aware :class:`~datetime.datetime` moments and
  Shanghai dates (:class:`approvalflow.time.periods.ShanghaiTimeline` over a
  :class:`~approvalflow.time.calendar.WorkingCalendar`);
- the simulator counts in float seconds since its epoch and day offsets
  (:class:`approvalflow.simulation.deadlines.SecondsTimeline` over its cached working-day index).

The functions below take a :class:`Timeline` that says how moments map to days, how elapsed time is
added and which days are working days; a deadline is a :data:`Due` pair ``(day, end)``: the number of
its last day and the moment it ends (exclusive: anything before ``end`` is on time). A day-unit
deadline ends with its day (``end == timeline.day_end(day)``); an hour deadline at an exact moment
inside its day.

The rules (SPEC section 5, docs/time.md):

- a period of N working days (``"workday"``) or calendar days (``"day"``) that starts on day D ends
  when the N-th such day after D ends, D not counted; N hours (``"hour"``) end N elapsed hours later;
- a suspension (S, E) removes the days after S's day up to and including E's day (working days for
  ``"workday"``; for hours, the elapsed time), only after the clock start (S taken as
  ``max(S, clock_start)``), overlaps counted once; it moves the case deadline only if it began
  before the deadline as already moved by earlier suspensions;
- the approved extension moves the (postponed) deadline later by its units;
- red once ``at >= end``; yellow when at most ``yellow_days`` working days are left after ``at``'s
  day up to and including the deadline day (hour deadlines: at most ``yellow_days`` × 24 hours).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol, TypeAlias, TypeVar

from approvalflow.bpmn.model import Unit
from approvalflow.errors import CalendarError

__all__ = [
    "Due",
    "Level",
    "Timeline",
    "alert",
    "case_deadline",
    "extended",
    "is_whole_day",
    "period_end",
    "postponed",
    "suspended_day_set",
    "suspended_pieces",
    "yellow_start",
]


class _Ordered(Protocol):
    """A totally ordered moment."""

    def __lt__(self, other: Any, /) -> bool: ...
    def __le__(self, other: Any, /) -> bool: ...
    def __gt__(self, other: Any, /) -> bool: ...
    def __ge__(self, other: Any, /) -> bool: ...


M = TypeVar("M", bound=_Ordered)  # a moment: datetime (engine and store) or float seconds (simulator)
Due: TypeAlias = tuple[int, M]  # (number of the deadline's last day, the moment it ends)
Level = Literal["yellow", "red"]
_MAX_BACK = 800  # days to look back for working days before a deadline (yellow_start)


class Timeline(Protocol[M]):
    """How a representation of time answers the few questions deadline arithmetic asks.

    Days are integers (a date's ordinal, or an offset from an epoch); ``day(m)`` is the day a moment
    falls on, ``day_end(d)`` the moment day ``d`` ends (the start of ``d + 1``).
    """

    @property
    def name(self) -> str:
        """The name of the working-day calendar, for messages."""
        ...

    def describe(self, day: int) -> str:
        """Day ``day`` as people read it (a date), for messages."""
        ...

    def day(self, moment: M) -> int:
        """The day ``moment`` falls on."""
        ...

    def day_end(self, day: int) -> M:
        """The moment ``day`` ends."""
        ...

    def plus_hours(self, moment: M, hours: int) -> M:
        """``moment`` plus ``hours`` elapsed hours."""
        ...

    def plus_spans(self, moment: M, spans: Sequence[tuple[M, M]]) -> M:
        """``moment`` plus the summed elapsed time of ``spans`` (each ``(a, b)`` with ``a <= b``)."""
        ...

    def within_days(self, at: M, end: M, days: int) -> bool:
        """Whether at most ``days`` × 24 hours are left from ``at`` to ``end``."""
        ...

    def days_before(self, end: M, days: int) -> M:
        """The moment ``days`` × 24 hours before ``end``."""
        ...

    def is_working(self, day: int) -> bool:
        """Whether ``day`` is a working day."""
        ...

    def working_between(self, after: int, upto: int) -> int:
        """The number of working days ``d`` with ``after < d <= upto`` (0 if ``upto <= after``)."""
        ...

    def add_working(self, start: int, n: int) -> int:
        """The ``n``-th working day after ``start`` (``start`` not counted; ``n == 0`` gives ``start``)."""
        ...


def is_whole_day(tl: Timeline[M], due: Due[M]) -> bool:
    """True for a day-unit deadline (it ends with its day), False for an exact moment (hours)."""
    return due[1] == tl.day_end(due[0])


def extended(tl: Timeline[M], due: Due[M], amount: int, unit: Unit) -> Due[M]:
    """``due`` moved later by ``amount`` more units (a suspension, an approved extension).

    Working and calendar days are counted after the deadline's day and the result ends with its day,
    even if ``due`` was an exact moment; hours are added to its end.
    """
    if amount < 0:
        raise ValueError(f"cannot extend by {amount} {unit}s: give a number >= 0")
    if unit == "workday":
        day = tl.add_working(due[0], amount)
        return day, tl.day_end(day)
    if unit == "day":
        day = due[0] + amount
        return day, tl.day_end(day)
    if unit == "hour":
        end = tl.plus_hours(due[1], amount)
        return tl.day(end), end
    raise ValueError(f"unknown unit {unit!r}: expected workday, day or hour")


def period_end(tl: Timeline[M], start: M, amount: int, unit: Unit) -> Due[M]:
    """The deadline of a period of ``amount`` units that starts at ``start``."""
    if amount < 0:
        raise ValueError(f"a period of {amount} {unit}s: give a number >= 0")
    return extended(tl, (tl.day(start), start), amount, unit)


def _clipped(intervals: Iterable[tuple[M, M]], clock_start: M) -> list[tuple[M, M]]:
    """The suspensions that lie after ``clock_start``, each cut to start no earlier, in the given order."""
    kept = []
    for s, e in intervals:
        if e < s:
            raise ValueError(f"suspension ends ({e}) before it starts ({s})")
        s = max(s, clock_start)
        if e > s:
            kept.append((s, e))
    return kept


def suspended_day_set(tl: Timeline[M], intervals: Iterable[tuple[M, M]], clock_start: M) -> set[int]:
    """The days suspensions (S, E) remove: after S's day up to and including E's day, after the clock start."""
    days: set[int] = set()
    for s, e in _clipped(intervals, clock_start):
        days.update(range(tl.day(s) + 1, tl.day(e) + 1))
    return days


def suspended_pieces(intervals: Iterable[tuple[M, M]], clock_start: M) -> list[tuple[M, M]]:
    """The union of the suspensions after ``clock_start`` as disjoint pieces (for hour periods)."""
    pieces: list[tuple[M, M]] = []
    reached: M | None = None
    for s, e in sorted(_clipped(intervals, clock_start)):
        s = s if reached is None else max(s, reached)
        if e > s:
            pieces.append((s, e))
        reached = e if reached is None else max(reached, e)
    return pieces


def _count(tl: Timeline[M], days: Iterable[int], unit: Unit) -> int:
    return sum(1 for d in days if unit == "day" or tl.is_working(d))


def postponed(tl: Timeline[M], due: Due[M], intervals: Iterable[tuple[M, M]], clock_start: M, unit: Unit) -> Due[M]:
    """``due`` moved later by all the suspensions, counted in the period's ``unit``."""
    if unit == "hour":
        end = tl.plus_spans(due[1], suspended_pieces(intervals, clock_start))
        return tl.day(end), end
    return extended(tl, due, _count(tl, suspended_day_set(tl, intervals, clock_start), unit), unit)


def case_deadline(
    tl: Timeline[M],
    start: M,
    amount: int,
    unit: Unit,
    suspensions: Iterable[tuple[M, M]] = (),
    extension: int = 0,
) -> Due[M]:
    """A case deadline: ``amount`` units from the clock ``start``, postponed, then extended.

    ``suspensions`` are closed intervals ``(S, E)`` (an open one is passed with E = the moment asked
    about). In order of their start, each moves the deadline only if it began before the deadline as
    already moved by the ones before it; overlaps count once. ``extension`` (0: none granted) moves
    the result later by that many units.
    """
    base = due = period_end(tl, start, amount, unit)
    counted: set[int] = set()
    n = 0
    pieces: list[tuple[M, M]] = []
    reached = start
    for s, e in sorted(suspensions):
        if s >= due[1]:
            break
        s = max(s, start)
        if e <= s:
            continue
        if unit == "hour":
            s = max(s, reached)
            if e > s:
                pieces.append((s, e))
            reached = max(reached, e)
            end = tl.plus_spans(base[1], pieces)
            due = tl.day(end), end
            continue
        for d in range(tl.day(s) + 1, tl.day(e) + 1):
            if d not in counted:
                counted.add(d)
                n += unit == "day" or tl.is_working(d)
        due = extended(tl, base, n, unit)
    return extended(tl, due, extension, unit) if extension else due


def alert(tl: Timeline[M], due: Due[M], at: M, yellow_days: int = 1) -> Level | None:
    """The card for something open at ``at`` that is due by ``due``: red, yellow or none.

    Red (红牌) once ``at >= end``. Yellow (黄牌) when at most ``yellow_days`` working days are left,
    counting those after ``at``'s day up to and including the deadline day (with 1: on the deadline
    day and the working day before it). For an exact-moment (hour) deadline, yellow when at most
    ``yellow_days`` × 24 hours are left, since hour periods ignore the calendar.
    """
    day, end = due
    if at >= end:
        return "red"
    if end == tl.day_end(day):
        return "yellow" if tl.working_between(tl.day(at), day) <= yellow_days else None
    return "yellow" if tl.within_days(at, end, yellow_days) else None


def yellow_start(tl: Timeline[M], due: Due[M], yellow_days: int = 1) -> M:
    """The first moment at which :func:`alert` gives at least yellow (the inverse of its yellow rule).

    Day deadlines: the start of the (``yellow_days`` + 1)-th working day counted back from the
    deadline day (inclusive), the first day with at most ``yellow_days`` working days left after it.
    Hour deadlines: ``yellow_days`` × 24 hours before the end.
    """
    day, end = due
    if end != tl.day_end(day):
        return tl.days_before(end, yellow_days)
    found = 0
    for _ in range(_MAX_BACK * (yellow_days + 1)):
        if tl.is_working(day):
            found += 1
            if found == yellow_days + 1:
                return tl.day_end(day - 1)
        day -= 1
    raise CalendarError(f"calendar {tl.name!r} has no {yellow_days + 1} working days before {tl.describe(due[0])}")
