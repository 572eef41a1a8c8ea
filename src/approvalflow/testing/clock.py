"""A fake clock that tests move by hand: calendar durations, moments, and working days.

:class:`MovableClock` is the library's :class:`~approvalflow.time.clock.FakeClock` with
one more way to move: :meth:`MovableClock.advance_workdays` steps over weekends,
statutory holidays and onto adjusted working days (调休) of China's official
calendar, the way the reform counts time limits (SPEC section 5).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..errors import InvalidInputError
from ..time.calendar import ChinaCalendar, WorkingCalendar
from ..time.clock import FakeClock

__all__ = ["DEFAULT_START", "MovableClock"]

#: Where the ``af_clock`` fixture starts unless the ``af_start`` ini option says otherwise: a Monday
#: just before National Day 2026, so that deadlines cross the holiday.
DEFAULT_START = "2026-09-28T09:00:00+08:00"


class MovableClock(FakeClock):
    """A clock that stands still until a test moves it.

    - ``advance("P3D")`` moves by an ISO 8601 duration (calendar time: ``P3D`` is three days, weekends included);
    - ``advance_workdays(3)`` moves to the same time of day on the third working day after today;
    - ``to("2026-10-09T10:00:00+08:00")`` (or a datetime) jumps to a moment.

    Each move returns the new moment; :attr:`moves` lists every moment the clock was moved to.
    """

    __test__ = False  # not a test class, even when imported into a test module

    def __init__(self, start: str | datetime = DEFAULT_START, *, calendar: WorkingCalendar | None = None) -> None:
        super().__init__(start)
        self.calendar: WorkingCalendar = calendar if calendar is not None else ChinaCalendar()
        self.moves: list[datetime] = []

    def to(self, moment: str | datetime) -> datetime:
        """Jump to ``moment`` (timezone-aware datetime or ISO 8601 string); backwards is allowed."""
        try:
            now = super().to(moment)
        except ValueError as exc:
            raise InvalidInputError(f"MovableClock.to: {exc}") from exc
        self.moves.append(now)
        return now

    def advance(self, by: str | timedelta) -> datetime:
        """Move forward by an ISO 8601 duration such as ``P3D``, ``PT4H``, ``P1W`` or ``P1DT2H30M``."""
        now = super().advance(by)
        self.moves.append(now)
        return now

    def advance_workdays(self, days: int) -> datetime:
        """Move to the same time of day on the ``days``-th working day after today (today not counted).

        On Wednesday 2026-09-30, ``advance_workdays(1)`` lands on Thursday 2026-10-08 (National Day holidays
        10-01..10-07); on Friday 2026-02-13 it lands on Saturday 2026-02-14, an adjusted working day (调休).
        Raises :class:`~approvalflow.errors.CalendarError` for a year the calendar does not cover.
        """
        if days < 0:
            raise InvalidInputError(f"advance_workdays counts forward; got {days}")
        moment = self.now()
        day = moment.date()
        left = days
        while left:
            day += timedelta(days=1)
            if self.calendar.is_working_day(day):
                left -= 1
        return self.to(moment.replace(year=day.year, month=day.month, day=day.day))

    def __repr__(self) -> str:
        return f"MovableClock({self.now().isoformat()!r})"
