"""One deadline arithmetic: engine, case store and simulator agree with each other and with SPEC section 5.

The engine and the store count in datetimes on a :class:`WorkingCalendar`; the simulator in float seconds since
its epoch on its cached working-day index. Both call :mod:`approvalflow.time.deadlines`; these properties hold
them equal on random cases (random calendars with holiday seasons and 调休 weekend working days, limits in
working days, calendar days and hours, suspensions, extensions, yellow-card days) and equal to a plain reading
of SPEC section 5 written here day by day (minute by minute for hours), so that a change to the shared
definitions that departs from the SPEC fails too. Fast: the slow end-to-end replay is in
tests/test_simulation_replay.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.bpmn.model import TimeLimit, Unit
from approvalflow.engine import timing
from approvalflow.simulation.calendars import DAY, DayIndex
from approvalflow.simulation.deadlines import CaseClock, min_duration_end
from approvalflow.store.index import clock_deadlines
from approvalflow.time.calendar import FakeCalendar, WorkingCalendar
from approvalflow.time.caseclock import Suspension
from approvalflow.time.clock import FakeClock
from approvalflow.time.periods import SHANGHAI, Deadline, alert_level, period_deadline, yellow_from

Level = Literal["yellow", "red"]


# -- random cases ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class World:
    """A calendar and the simulator's epoch (midnight, Shanghai, of ``epoch``)."""

    epoch: date
    holidays: frozenset[date]
    workdays: frozenset[date]

    @property
    def calendar(self) -> FakeCalendar:
        return FakeCalendar(self.holidays, self.workdays)

    def moment(self, seconds: float) -> datetime:
        return datetime.combine(self.epoch, time(), tzinfo=SHANGHAI) + timedelta(seconds=seconds)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    epoch = draw(st.dates(date(2001, 1, 1), date(2035, 12, 31)))
    holidays: set[date] = set()
    for _ in range(draw(st.integers(0, 5))):  # holiday seasons: runs of days off
        first = epoch + timedelta(days=draw(st.integers(0, 150)))
        holidays.update(first + timedelta(days=k) for k in range(draw(st.integers(1, 9))))
    weekend = [epoch + timedelta(days=k) for k in range(160) if (epoch + timedelta(days=k)).weekday() >= 5]
    workdays = draw(st.sets(st.sampled_from(weekend), max_size=6))  # adjusted working days (调休)
    return World(epoch, frozenset(holidays), frozenset(workdays - holidays))


MINUTE = 60
UNITS: tuple[Unit, ...] = ("workday", "day", "hour")


@dataclass(frozen=True)
class Facts:
    """One case's clock, in minutes after the epoch."""

    unit: Unit
    promised: int
    statutory: int
    start: int
    spans: tuple[tuple[int, int], ...]
    extension: int  # 0: none granted
    at: int
    yellow_days: int


@st.composite
def facts(draw: st.DrawFn) -> Facts:
    unit: Unit = draw(st.sampled_from(UNITS))
    top = 120 if unit == "hour" else 25
    promised = draw(st.integers(0, top))
    statutory = draw(st.integers(promised, top + 10))
    start = draw(st.integers(2 * 1440, 20 * 1440))
    longest = 3 * 1440 if unit == "hour" else 15 * 1440
    spans = []
    for _ in range(draw(st.integers(0, 4))):
        s = draw(st.integers(start - 2 * 1440, start + 40 * 1440))
        spans.append((s, s + draw(st.integers(0, longest))))
    extension = draw(st.integers(0, 48 if unit == "hour" else 12))
    at = draw(st.integers(start, start + 80 * 1440))
    return Facts(unit, promised, statutory, start, tuple(spans), extension, at, draw(st.integers(1, 3)))


# -- SPEC section 5, read plainly ------------------------------------------------------------------------------------
def spec_deadline(cal: WorkingCalendar, start: datetime, amount: int, f: Facts, w: World) -> tuple[date, datetime]:
    """The case deadline per SPEC section 5 and docs/time.md, counted day by day (minute by minute for hours)."""

    def counts(day: date) -> bool:
        return f.unit == "day" or cal.is_working_day(day)

    def after(day: date, n: int) -> date:
        while n > 0:
            day += timedelta(days=1)
            n -= counts(day)
        return day

    def local(m: datetime) -> date:
        return m.astimezone(SHANGHAI).date()

    def end_of(day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=SHANGHAI)

    spans = sorted((w.moment(a * MINUTE), w.moment(b * MINUTE)) for a, b in f.spans)
    if f.unit == "hour":
        base, minutes = start + timedelta(hours=amount), set[int]()
        end = base
        for s, e in spans:  # a suspension counts when it began before the deadline as moved so far
            if s < end:
                first = max(s, start)
                minutes.update(range(int(first.timestamp()) // 60, int(e.timestamp()) // 60))
                end = base + timedelta(minutes=len(minutes))
        end += timedelta(hours=f.extension)
        return local(end), end
    base_day = after(local(start), amount)
    day, removed = base_day, set[date]()
    for s, e in spans:
        if s < end_of(day):
            first = max(s, start)
            if e > first:
                removed.update(local(first) + timedelta(days=k) for k in range(1, (local(e) - local(first)).days + 1))
                day = after(base_day, sum(counts(d) for d in removed))
    day = after(day, f.extension)
    return day, end_of(day)


def spec_level(cal: WorkingCalendar, deadline: tuple[date, datetime], at: datetime, k: int, unit: Unit) -> Level | None:
    """Red once the deadline has passed; yellow with at most k working days left after at's date (k × 24 h)."""
    day, end = deadline
    if at >= end:
        return "red"
    if unit == "hour":
        return "yellow" if end - at <= timedelta(days=k) else None
    today = at.astimezone(SHANGHAI).date()
    left = sum(cal.is_working_day(today + timedelta(days=n)) for n in range(1, (day - today).days + 1))
    return "yellow" if left <= k else None


# -- the three representations -------------------------------------------------------------------------------------
@dataclass
class _Definition:
    time_limit: TimeLimit
    steps: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Case:
    """What :mod:`approvalflow.engine.timing` reads of a case (its :class:`~approvalflow.engine.timing.TimedCase`)."""

    definition: ProcessDefinition
    calendar: WorkingCalendar
    clock: FakeClock
    clock_start: datetime | None
    suspensions: list[Suspension]
    extension_days: int | None
    yellow_days: int
    ended_at: datetime | None = None
    history: list[Any] = field(default_factory=list)
    is_completed: bool = False

    def ready_steps(self) -> Sequence[Any]:
        return []


def _limit(f: Facts) -> TimeLimit:
    return TimeLimit(statutory=f.statutory, promised=f.promised, extension=f.extension or None, unit=f.unit)


def _suspensions(f: Facts, w: World) -> list[Suspension]:
    return [Suspension("s", "专家评审", w.moment(a * MINUTE), w.moment(b * MINUTE)) for a, b in f.spans]


def engine_case(f: Facts, w: World) -> _Case:
    definition = cast(ProcessDefinition, _Definition(_limit(f)))
    start, at = w.moment(f.start * MINUTE), w.moment(f.at * MINUTE)
    return _Case(definition, w.calendar, FakeClock(at), start, _suspensions(f, w), f.extension or None, f.yellow_days)


def store_facts(f: Facts, w: World) -> dict[str, Any]:
    """The ``clock`` facts the store indexes for a case whose deadlines move (as store.index writes them)."""
    return {
        "promised": f.promised,
        "statutory": f.statutory,
        "unit": f.unit,
        "extension_days": f.extension or None,
        "clock_start": w.moment(f.start * MINUTE).isoformat(),
        "suspensions": [
            [s.step, s.reason, s.start.isoformat(), s.end.isoformat() if s.end else None] for s in _suspensions(f, w)
        ],
    }


def simulator_clock(f: Facts, w: World) -> CaseClock:
    return CaseClock.of(_limit(f), DayIndex(w.epoch, w.calendar.is_working_day), f.yellow_days)


# -- properties ------------------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(worlds(), facts())
def test_engine_store_simulator_and_spec_agree_on_case_deadlines(w: World, f: Facts) -> None:
    cal, case = w.calendar, engine_case(f, w)
    at = w.moment(f.at * MINUTE)
    engine = timing.case_deadlines(case, at)
    assert engine is not None and engine.promised is not None and engine.statutory is not None
    store = clock_deadlines(store_facts(f, w), cal, at)
    assert store == engine
    clock = simulator_clock(f, w)
    spans = [(a * float(MINUTE), b * float(MINUTE)) for a, b in f.spans]
    for amount, deadline in ((f.promised, engine.promised), (f.statutory, engine.statutory)):
        expected = spec_deadline(cal, case.clock_start or at, amount, f, w)
        assert (deadline.day, deadline.end) == expected
        simulated = clock.deadline(amount, f.start * float(MINUTE), spans, f.extension > 0)
        assert w.moment(simulated) == deadline.end
        if f.unit != "hour":
            assert simulated % DAY == 0


@settings(max_examples=300, deadline=None)
@given(worlds(), facts())
def test_engine_store_simulator_and_spec_agree_on_cards(w: World, f: Facts) -> None:
    cal, case = w.calendar, engine_case(f, w)
    at = w.moment(f.at * MINUTE)
    deadlines = timing.case_deadlines(case, at)
    assert deadlines is not None and deadlines.promised is not None
    deadline = deadlines.promised
    level = alert_level(cal, deadline, at, yellow_days=f.yellow_days)
    assert level == spec_level(cal, (deadline.day, deadline.end), at, f.yellow_days, f.unit)
    # the engine's cards for the open case: promised first, then statutory
    cards = timing.alerts(case, at)
    assert [c.limit for c in cards if c.limit == "promised"] == (["promised"] if level else [])
    assert all(c.level == level for c in cards if c.limit == "promised")
    # the store's index: red from `end`, yellow from `yellow_from`
    indexed = "red" if at >= deadline.end else ("yellow" if at >= yellow_from(cal, deadline, f.yellow_days) else None)
    assert indexed == level
    # the simulator: a card (yellow or red) while open, red once the deadline passed
    clock = simulator_clock(f, w)
    spans = [(a * float(MINUTE), b * float(MINUTE)) for a, b in f.spans]
    end = clock.deadline(f.promised, f.start * float(MINUTE), spans, f.extension > 0)
    t = f.at * float(MINUTE)
    assert clock.yellow(end, t) == (level is not None)
    assert (t >= end) == (level == "red")


@settings(max_examples=200, deadline=None)
@given(worlds(), st.sampled_from(UNITS), st.integers(0, 30), st.integers(0, 60 * 1440))
def test_min_duration_is_the_engine_period(w: World, unit: Unit, value: int, ready: int) -> None:
    """The simulator holds a step open as long as the engine's min-duration rule (period_deadline) demands."""
    expected = period_deadline(w.calendar, w.moment(ready * MINUTE), value, unit)
    simulated = min_duration_end((value, unit), ready * float(MINUTE), DayIndex(w.epoch, w.calendar.is_working_day))
    assert w.moment(simulated) == expected.end


def test_the_national_day_example_in_three_representations() -> None:
    """docs/time.md: accepted 2026-09-14 10:00, an expert review Sep 14 10:00 to Sep 18 15:00; 2026 calendar."""
    holidays = [date(2026, 9, 25), *(date(2026, 10, d) for d in range(1, 8))]
    w = World(date(2026, 9, 1), frozenset(holidays), frozenset({date(2026, 9, 20), date(2026, 10, 10)}))
    start, review_end = 13 * 1440 + 10 * 60, 17 * 1440 + 15 * 60
    f = Facts("workday", 10, 20, start, ((start, review_end),), 0, start, 1)
    deadlines = timing.case_deadlines(engine_case(f, w), w.moment(start * MINUTE))
    assert deadlines is not None
    assert deadlines.to_json() == {"promised": "2026-10-09", "statutory": "2026-10-22"}
    clock = simulator_clock(f, w)
    span = [(start * 60.0, review_end * 60.0)]
    assert w.moment(clock.deadline(10, start * 60.0, span, False)) == Deadline.end_of(date(2026, 10, 9)).end
    assert w.moment(clock.deadline(20, start * 60.0, span, False)) == Deadline.end_of(date(2026, 10, 22)).end
