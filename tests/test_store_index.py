"""The index: the moment a deadline turns yellow agrees with the engine's alert rule at every moment."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.time import ChinaCalendar
from approvalflow.time.periods import SHANGHAI, Deadline, alert_level, yellow_from

CAL = ChinaCalendar()


def test_yellow_from_on_national_day_2026() -> None:
    # Deadline Fri Oct 9: the working day before it is Thu Oct 8 -> yellow from Oct 8 00:00.
    assert yellow_from(CAL, Deadline.end_of(date(2026, 10, 9))) == datetime(2026, 10, 8, tzinfo=SHANGHAI)
    # Deadline Thu Oct 8: the working day before it is Wed Sep 30 (Oct 1-7 off) -> yellow through the holidays.
    assert yellow_from(CAL, Deadline.end_of(date(2026, 10, 8))) == datetime(2026, 9, 30, tzinfo=SHANGHAI)
    # Deadline Mon Oct 12: Sat Oct 10 is worked -> yellow from Oct 10.
    assert yellow_from(CAL, Deadline.end_of(date(2026, 10, 12))) == datetime(2026, 10, 10, tzinfo=SHANGHAI)
    # Two yellow days before Mon Oct 12: Oct 12, Oct 10, Oct 9 -> from Oct 9.
    assert yellow_from(CAL, Deadline.end_of(date(2026, 10, 12)), 2) == datetime(2026, 10, 9, tzinfo=SHANGHAI)


_DAYS = st.dates(min_value=date(2026, 9, 1), max_value=date(2026, 11, 30))


@settings(max_examples=300, deadline=None)
@given(day=_DAYS, offset_hours=st.integers(min_value=-24 * 20, max_value=24 * 5), k=st.integers(0, 3))
def test_yellow_from_matches_alert_level(day: date, offset_hours: int, k: int) -> None:
    deadline = Deadline.end_of(day)
    at = deadline.end + timedelta(hours=offset_hours, minutes=7)
    level = alert_level(CAL, deadline, at, yellow_days=k)
    indexed = "red" if at >= deadline.end else ("yellow" if at >= yellow_from(CAL, deadline, k) else None)
    assert indexed == level


@settings(max_examples=100, deadline=None)
@given(offset_minutes=st.integers(min_value=-3 * 24 * 60, max_value=60))
def test_hour_deadlines_are_yellow_one_day_before(offset_minutes: int) -> None:
    deadline = Deadline.at(datetime(2026, 10, 2, 15, 30, tzinfo=SHANGHAI))
    at = deadline.end + timedelta(minutes=offset_minutes)
    indexed = "red" if at >= deadline.end else ("yellow" if at >= yellow_from(CAL, deadline, 1) else None)
    assert indexed == alert_level(CAL, deadline, at, yellow_days=1)
