"""Working time for the simulator: which days are working days and which hours staff work.

Simulated time is a float number of seconds since the model's epoch, midnight
(Asia/Shanghai, which has no daylight saving) of its start date; day ``k`` is
the date ``epoch + k days``.

- :class:`DayRule` says which dates are working days: China's official
  calendar (statutory holidays and 调休 included, :class:`~approvalflow.time.calendar.ChinaCalendar`),
  Monday to Friday, or every day.
- :class:`Hours` gives the working intervals of each weekday (office hours).
- :class:`WorkTime` combines both into a timetable that answers, fast and
  lazily as the simulation runs on: when is the next moment of working time,
  and when does a task of ``d`` seconds of work that starts at ``t`` end.
- :class:`DayIndex` counts working days (deadlines, cycle time in working days).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from approvalflow.errors import CalendarError

__all__ = ["DAY", "DayIndex", "DayRule", "Hours", "WorkTime"]

DAY = 86400.0
_MAX_GAP = 400  # days without working time after which a timetable is taken to be empty


@dataclass(frozen=True)
class DayRule:
    """Which dates are working days: ``china``, ``weekdays`` or ``every-day``."""

    kind: str = "china"
    supplements: tuple[str, ...] = ()
    fallback: bool = False

    def predicate(self) -> Callable[[date], bool]:
        """A function date -> is it a working day (raises CalendarError for a year not covered)."""
        if self.kind == "every-day":
            return lambda day: True
        if self.kind == "weekdays":
            return lambda day: day.weekday() < 5
        from approvalflow.time.calendar import ChinaCalendar  # imports chinesecalendar only when needed

        return ChinaCalendar(self.supplements, fallback=self.fallback).is_working_day


@dataclass(frozen=True)
class Hours:
    """Working intervals of each weekday (Monday first), in seconds after midnight."""

    weekly: tuple[tuple[tuple[float, float], ...], ...]

    @classmethod
    def daily(cls, intervals: tuple[tuple[float, float], ...]) -> Hours:
        """The same intervals every day of the week."""
        return cls((intervals,) * 7)

    @property
    def whole_day(self) -> bool:
        """True when every weekday is worked around the clock."""
        return all(day == ((0.0, DAY),) for day in self.weekly)

    @property
    def per_week(self) -> float:
        """Seconds of working time in a week with no days off."""
        return sum(b - a for day in self.weekly for a, b in day)


class DayIndex:
    """Counts working days from the epoch on, growing as asked."""

    def __init__(self, epoch: date, is_working: Callable[[date], bool]) -> None:
        self.epoch = epoch
        self._is_working = is_working
        self._cum: list[int] = []  # working days among offsets 0..k
        self._days: list[int] = []  # offsets of the working days, in order

    def _grow(self, upto: int) -> None:
        cum, days = self._cum, self._days
        while len(cum) <= upto:
            k = len(cum)
            working = self._is_working(self.epoch + timedelta(days=k))
            if working:
                days.append(k)
            cum.append((cum[-1] if cum else 0) + working)

    def is_working(self, k: int) -> bool:
        """Whether day offset ``k`` is a working day."""
        self._grow(k)
        return self._cum[k] > (self._cum[k - 1] if k else 0)

    def between(self, after: int, upto: int) -> int:
        """Working days ``d`` with ``after < d <= upto`` (offsets); 0 if ``upto <= after``."""
        if upto <= after:
            return 0
        self._grow(upto)
        return self._cum[upto] - self._cum[after]

    def add(self, start: int, n: int) -> int:
        """The offset of the ``n``-th working day after day ``start`` (``start`` itself not counted)."""
        if n <= 0:
            return start
        self._grow(start)
        k = self._cum[start] + n
        while len(self._days) < k:
            self._grow(len(self._cum))
            last = self._days[-1] if self._days else 0
            if len(self._days) < k and len(self._cum) - last > _MAX_GAP:
                raise CalendarError(f"no working day in the {_MAX_GAP} days after {self.epoch + timedelta(last)}")
        return self._days[k - 1]


class WorkTime:
    """A timetable of working intervals (days of a :class:`DayRule`, hours of :class:`Hours`).

    ``next_available(t)`` gives the first moment >= t inside working time;
    ``finish(t, work)`` the moment ``work`` seconds of working time starting at
    ``t`` are done; ``available(a, b)`` the working time between two moments.
    """

    def __init__(self, hours: Hours, days: DayIndex) -> None:
        if hours.per_week <= 0:
            raise CalendarError("a working calendar with no working hours in the week")
        self.hours = hours
        self.days = days
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.cum: list[float] = []  # working time up to the end of each interval
        self._built = 0  # days built so far

    def _grow(self) -> None:
        """Build the next days until at least one more working interval exists (never a day more)."""
        start_len, weekly, epoch_wd = len(self.ends), self.hours.weekly, self.days.epoch.weekday()
        total = self.cum[-1] if self.cum else 0.0
        empty = 0
        while len(self.ends) == start_len:
            k = self._built
            self._built += 1
            empty += 1
            if empty > _MAX_GAP:
                raise CalendarError(
                    f"no working time in {_MAX_GAP} days from {self.days.epoch}: check the calendar and hours"
                )
            if not self.days.is_working(k):
                continue
            base = k * DAY
            for a, b in weekly[(epoch_wd + k) % 7]:
                total += b - a
                self.starts.append(base + a)
                self.ends.append(base + b)
                self.cum.append(total)

    def _index(self, t: float) -> int:
        """The first interval that ends after ``t``."""
        i = bisect_right(self.ends, t)
        while i >= len(self.ends):
            self._grow()
            i = bisect_right(self.ends, t)
        return i

    def next_available(self, t: float) -> float:
        """The first moment at or after ``t`` inside working time."""
        s = self.starts[self._index(t)]
        return s if s > t else t

    def worked_before(self, t: float) -> float:
        """Working time from the epoch up to ``t``."""
        i = self._index(t)
        s = self.starts[i]
        return self.cum[i] - (self.ends[i] - (s if s > t else t))

    def finish(self, t: float, work: float) -> float:
        """When ``work`` seconds of working time, begun at ``t``, are done."""
        if work <= 0:
            return t
        target = self.worked_before(t) + work
        cum = self.cum
        while cum[-1] < target:
            self._grow()
        j = bisect_left(cum, target)
        return self.ends[j] - (cum[j] - target)

    def available(self, a: float, b: float) -> float:
        """Working time between moments ``a`` and ``b``."""
        return max(0.0, self.worked_before(b) - self.worked_before(a)) if b > a else 0.0
