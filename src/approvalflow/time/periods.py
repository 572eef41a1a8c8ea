"""Period arithmetic (限时办结): deadlines, suspensions, alerts (SPEC section 5).

Pure functions over a :class:`~approvalflow.time.calendar.WorkingCalendar`. Every
moment is a timezone-aware :class:`~datetime.datetime` (a naive one raises
InvalidInputError, a ValueError); days are the dates of those moments in Asia/Shanghai.

Units: ``"workday"`` (working days of the calendar), ``"day"`` (calendar
days) and ``"hour"`` (elapsed hours). A period of N days that starts on day D
ends when the N-th (working) day after D ends; D itself is not counted. A
period of N hours ends exactly N elapsed hours after its start.

The arithmetic itself is :mod:`approvalflow.time.deadlines` (shared with the
simulator); this module is its face in datetimes: :class:`ShanghaiTimeline`
maps moments to Shanghai dates and asks the calendar for working days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from approvalflow.bpmn.model import Unit
from approvalflow.errors import CalendarError, InvalidInputError
from approvalflow.time import deadlines
from approvalflow.time.calendar import ChinaCalendar, WeekendCalendar, WorkingCalendar

__all__ = [
    "SHANGHAI",
    "Alert",
    "Deadline",
    "Interval",
    "ShanghaiTimeline",
    "Unit",
    "add_working_days",
    "alert_level",
    "as_due",
    "case_deadline",
    "elapsed_working_days",
    "end_of_day",
    "extend",
    "from_due",
    "local_date",
    "overdue_working_days",
    "period_deadline",
    "postpone",
    "remaining_working_days",
    "suspended_days",
    "suspended_time",
    "suspended_working_days",
    "working_days_between",
    "yellow_from",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
Alert = Literal["yellow", "red"]
Interval = tuple[datetime, datetime]  # a suspension (S, E), both timezone-aware
_MAX_GAP = 366  # consecutive days off after which a calendar is taken to be broken
_NO_CALENDAR = WeekendCalendar()  # for calendar-day counts, which never ask it


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInputError(f"naive datetime {moment.isoformat()}: give moments with a timezone")
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
            raise InvalidInputError(
                f"deadline end {self.end.isoformat()} is neither the end nor a moment of {self.day}"
            )

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


#: Day-unit deadlines already counted by calendars whose answers never change (China's without fallback, with the
#: same supplements; weekends-only): a period in days ends with a day that depends only on the day it starts, so
#: every step and case that starts on the same day shares it. At most _MEMO_SIZE (then started afresh).
_MEMO: dict[tuple[object, int, int, str], Deadline] = {}
_MEMO_SIZE = 8192
#: Working days already counted by such calendars (:func:`add_working_days`).
_WORKING_MEMO: dict[tuple[object, date, int], date] = {}


def _answers_key(cal: WorkingCalendar) -> object:
    if type(cal) is ChinaCalendar:
        return cal.answers_key
    return "weekends-only" if type(cal) is WeekendCalendar else None


def _official(cal: WorkingCalendar, first: date, last: date) -> bool:
    """Whether every year from ``first`` to ``last`` is one ``cal`` answers from its data (a weekends-only
    calendar: always). Only such answers are remembered: a year answered from the law must reach the calendar each
    time, which records it (provisional deadlines are flagged, never silent), and a year it cannot answer must
    raise each time."""
    if type(cal) is not ChinaCalendar:
        return True
    return all(cal.year_status(y) == "official" for y in range(first.year, last.year + 1))


def _next_working_day(cal: WorkingCalendar, day: date) -> date:
    for _ in range(_MAX_GAP):
        day += timedelta(days=1)
        if cal.is_working_day(day):
            return day
    raise CalendarError(f"calendar {cal.name!r} has no working day in the {_MAX_GAP} days up to {day}")


def add_working_days(cal: WorkingCalendar, start: date, n: int) -> date:
    """The date of the ``n``-th working day after ``start`` (``start`` not counted; 0 gives ``start``)."""
    if n < 0:
        raise InvalidInputError(f"cannot add {n} working days: give a number >= 0")
    answers = _answers_key(cal)
    key = (answers, start, n)
    if answers is not None:
        found = _WORKING_MEMO.get(key)
        if found is not None:
            return found
    day = start
    for _ in range(n):
        day = _next_working_day(cal, day)
    if answers is not None and _official(cal, start, day):
        if len(_WORKING_MEMO) >= _MEMO_SIZE:
            _WORKING_MEMO.clear()
        _WORKING_MEMO[key] = day
    return day


def working_days_between(cal: WorkingCalendar, after: date, upto: date) -> int:
    """The number of working days d with ``after < d <= upto`` (0 if ``upto <= after``)."""
    return sum(cal.is_working_day(after + timedelta(days=k)) for k in range(1, (upto - after).days + 1))


class ShanghaiTimeline:
    """The :class:`~approvalflow.time.deadlines.Timeline` of the engine and the case store.

    Moments are timezone-aware datetimes, days the ordinals of their dates in Asia/Shanghai, working
    days those of ``calendar``.
    """

    __slots__ = ("calendar",)

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar

    @property
    def name(self) -> str:
        return self.calendar.name

    def describe(self, day: int) -> str:
        return date.fromordinal(day).isoformat()

    def day(self, moment: datetime) -> int:
        return local_date(moment).toordinal()

    def day_end(self, day: int) -> datetime:
        return end_of_day(date.fromordinal(day))

    def plus_hours(self, moment: datetime, hours: int) -> datetime:
        return _plus_hours(moment, hours)

    def plus_spans(self, moment: datetime, spans: Sequence[Interval]) -> datetime:
        return _plus_hours(moment, sum((e - s for s, e in spans), timedelta()))

    def within_days(self, at: datetime, end: datetime, days: int) -> bool:
        return end - at <= timedelta(days=days)

    def days_before(self, end: datetime, days: int) -> datetime:
        return end - timedelta(days=days)

    def is_working(self, day: int) -> bool:
        return self.calendar.is_working_day(date.fromordinal(day))

    def working_between(self, after: int, upto: int) -> int:
        return working_days_between(self.calendar, date.fromordinal(after), date.fromordinal(upto))

    def add_working(self, start: int, n: int) -> int:
        return add_working_days(self.calendar, date.fromordinal(start), n).toordinal()


def as_due(deadline: Deadline) -> deadlines.Due[datetime]:
    """``deadline`` as the ``(day, end)`` pair of :mod:`approvalflow.time.deadlines`."""
    return deadline.day.toordinal(), deadline.end


def from_due(due: deadlines.Due[datetime]) -> Deadline:
    """The :class:`Deadline` of a ``(day, end)`` pair of :mod:`approvalflow.time.deadlines`."""
    return Deadline(date.fromordinal(due[0]), due[1])


def period_deadline(cal: WorkingCalendar, start: datetime, amount: int, unit: Unit) -> Deadline:
    """The deadline of a period of ``amount`` units that starts at ``start``."""
    answers = _answers_key(cal) if unit != "hour" else None
    if answers is None:
        return from_due(deadlines.period_end(ShanghaiTimeline(cal), start, amount, unit))
    key = (answers, local_date(start).toordinal(), amount, unit)
    found = _MEMO.get(key)
    if found is None:
        found = from_due(deadlines.period_end(ShanghaiTimeline(cal), start, amount, unit))
        if _official(cal, local_date(start), found.day):
            if len(_MEMO) >= _MEMO_SIZE:
                _MEMO.clear()
            _MEMO[key] = found
    return found


def extend(cal: WorkingCalendar, deadline: Deadline, amount: int, unit: Unit) -> Deadline:
    """Move ``deadline`` later by ``amount`` more units (a suspension, an approved extension).

    Working and calendar days are counted after ``deadline.day`` and the
    result ends with its day, even if ``deadline`` was an exact moment;
    hours are added to ``deadline.end``.
    """
    return from_due(deadlines.extended(ShanghaiTimeline(cal), as_due(deadline), amount, unit))


def _checked(intervals: Iterable[Interval]) -> list[Interval]:
    """The suspensions, each refused if naive or ending before it starts."""
    out = []
    for s, e in intervals:
        if _aware(e) < _aware(s):
            raise InvalidInputError(f"suspension ends ({e.isoformat()}) before it starts ({s.isoformat()})")
        out.append((s, e))
    return out


def suspended_working_days(cal: WorkingCalendar, intervals: Iterable[Interval], clock_start: datetime) -> int:
    """Working days removed by suspensions (S, E): those after S's date up to and including E's date.

    Overlapping suspensions count once (the union of their days). Only time
    after ``clock_start`` counts: each S is taken as ``max(S, clock_start)``,
    so a suspension that ended by then removes nothing and one that began
    before removes only days after the clock start's date. A suspension
    still open is passed with E = now.
    """
    tl = ShanghaiTimeline(cal)
    return sum(map(tl.is_working, deadlines.suspended_day_set(tl, _checked(intervals), _aware(clock_start))))


def suspended_days(intervals: Iterable[Interval], clock_start: datetime) -> int:
    """Like :func:`suspended_working_days`, for calendar days."""
    tl = ShanghaiTimeline(_NO_CALENDAR)
    return len(deadlines.suspended_day_set(tl, _checked(intervals), _aware(clock_start)))


def suspended_time(intervals: Iterable[Interval], clock_start: datetime) -> timedelta:
    """Elapsed time under suspension after ``clock_start`` (for hour periods), overlaps counted once."""
    pieces = deadlines.suspended_pieces(_checked(intervals), _aware(clock_start))
    return sum((e - s for s, e in pieces), timedelta())


def postpone(
    cal: WorkingCalendar,
    deadline: Deadline,
    intervals: Iterable[Interval],
    clock_start: datetime,
    unit: Unit,
) -> Deadline:
    """``deadline`` moved later by the suspensions, counted in the period's ``unit``."""
    tl = ShanghaiTimeline(cal)
    return from_due(deadlines.postponed(tl, as_due(deadline), _checked(intervals), _aware(clock_start), unit))


def case_deadline(
    cal: WorkingCalendar,
    start: datetime,
    amount: int,
    unit: Unit,
    suspensions: Iterable[Interval] = (),
    extension: int = 0,
) -> Deadline:
    """A case deadline (:func:`approvalflow.time.deadlines.case_deadline`) on ``cal``, in datetimes."""
    if not extension and isinstance(suspensions, list | tuple) and not suspensions:
        return period_deadline(cal, _aware(start), amount, unit)  # nothing moves it: the period's own end
    tl = ShanghaiTimeline(cal)
    return from_due(deadlines.case_deadline(tl, _aware(start), amount, unit, _checked(suspensions), extension))


def alert_level(cal: WorkingCalendar, deadline: Deadline, at: datetime, *, yellow_days: int = 1) -> Alert | None:
    """The alert for something open at ``at`` that is due by ``deadline``.

    Red (红牌) once ``at >= deadline.end``. Yellow (黄牌) when at most
    ``yellow_days`` working days are left, counting those after ``at``'s date
    up to and including ``deadline.day`` (with 1: on the deadline day and the
    working day before it). For an exact-moment (hour) deadline, yellow when
    at most ``yellow_days`` × 24 hours are left, since hour periods ignore the
    calendar. (:func:`approvalflow.time.deadlines.alert`.)
    """
    return deadlines.alert(ShanghaiTimeline(cal), as_due(deadline), _aware(at), yellow_days)


def yellow_from(cal: WorkingCalendar, deadline: Deadline, yellow_days: int = 1) -> datetime:
    """The first moment at which :func:`alert_level` gives at least yellow.

    Day deadlines: yellow once at most ``yellow_days`` working days are left after the moment's date, i.e. from
    the start of the (``yellow_days`` + 1)-th working day counted back from the deadline day (inclusive).
    Hour deadlines: ``yellow_days`` × 24 hours before the end. (:func:`approvalflow.time.deadlines.yellow_start`.)
    """
    return deadlines.yellow_start(ShanghaiTimeline(cal), as_due(deadline), yellow_days)


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
