"""Period arithmetic (SPEC section 5) on China's official calendar.

Every expected date is worked out by hand in the comments from the State
Council's published arrangements (listed in ``tests/test_calendar.py``):
2025 国庆+中秋 Oct 1-8 off, Sep 28 (Sun) and Oct 11 (Sat) worked; 2026 元旦
Jan 1-3 off, Jan 4 (Sun) worked; 春节 Feb 15-23 off, Feb 14 and Feb 28 (Sat)
worked; 劳动节 May 1-5 off, May 9 (Sat) worked; 中秋 Sep 25-27 off; 国庆 Oct 1-7
off, Sep 20 (Sun) and Oct 10 (Sat) worked. Nothing is read from
``chinese_calendar`` here and no expected value comes from the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvalflow.errors import CalendarError
from approvalflow.time.calendar import ChinaCalendar, FakeCalendar, WeekendCalendar
from approvalflow.time.periods import (
    SHANGHAI,
    Deadline,
    add_working_days,
    alert_level,
    elapsed_working_days,
    end_of_day,
    extend,
    local_date,
    overdue_working_days,
    period_deadline,
    postpone,
    remaining_working_days,
    suspended_days,
    suspended_time,
    suspended_working_days,
    working_days_between,
)

CN = ChinaCalendar()


def d(text: str) -> date:
    return date.fromisoformat(text)


def sh(text: str) -> datetime:
    """A moment in Shanghai time, e.g. ``sh("2026-10-16 23:59")``."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- adding working days ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # SPEC example, accepted Mon 2026-09-28: 9-29 (1), 9-30 (2), Oct 1-7 off, 10-08 (3), 10-09 (4),
        # Sat 10-10 worked (5), Sun 10-11 off, 10-12..10-16 (6..10).
        ("2026-09-28", 1, "2026-09-29"),
        ("2026-09-28", 3, "2026-10-08"),
        ("2026-09-28", 5, "2026-10-10"),
        ("2026-09-28", 6, "2026-10-12"),
        ("2026-09-28", 10, "2026-10-16"),
        # ... then 10-19..10-23 (11..15) and 10-26..10-30 (16..20).
        ("2026-09-28", 20, "2026-10-30"),
        # 中秋 2026 from Fri 9-18: Sat 9-19 off, Sun 9-20 worked (1), 9-21..9-24 (2..5),
        # Fri 9-25 to Sun 9-27 off, Mon 9-28 (6).
        ("2026-09-18", 1, "2026-09-20"),
        ("2026-09-18", 5, "2026-09-24"),
        ("2026-09-18", 6, "2026-09-28"),
        # 春节 2026 from Thu 2-12: Fri 2-13 (1), Sat 2-14 worked (2), 2-15..2-23 off, Tue 2-24 (3),
        # 2-25..2-27 (4..6), Sat 2-28 worked (7), Sun 3-01 off, Mon 3-02 (8).
        ("2026-02-12", 2, "2026-02-14"),
        ("2026-02-12", 3, "2026-02-24"),
        ("2026-02-12", 7, "2026-02-28"),
        ("2026-02-12", 8, "2026-03-02"),
        # 劳动节 2026 from Thu 4-30: Fri 5-01 to Tue 5-05 off, 5-06..5-08 (1..3), Sat 5-09 worked (4),
        # Sun 5-10 off, Mon 5-11 (5).
        ("2026-04-30", 1, "2026-05-06"),
        ("2026-04-30", 4, "2026-05-09"),
        ("2026-04-30", 5, "2026-05-11"),
        # Year boundary from Tue 2025-12-30: Wed 12-31 (1), Jan 1-3 off, Sun 1-04 worked (2),
        # 1-05..1-09 (3..7), weekend, Mon 1-12 (8).
        ("2025-12-30", 1, "2025-12-31"),
        ("2025-12-30", 2, "2026-01-04"),
        ("2025-12-30", 8, "2026-01-12"),
        # 国庆 2025 from Fri 9-26: Sat 9-27 off, Sun 9-28 worked (1), 9-29 (2), 9-30 (3), Oct 1-8 off,
        # Thu 10-09 (4), Fri 10-10 (5), Sat 10-11 worked (6), Sun 10-12 off, Mon 10-13 (7).
        ("2025-09-26", 1, "2025-09-28"),
        ("2025-09-26", 4, "2025-10-09"),
        ("2025-09-26", 6, "2025-10-11"),
        ("2025-09-26", 7, "2025-10-13"),
        # Starting on a holiday or a weekend: only later days count.
        ("2026-10-03", 1, "2026-10-08"),  # Sat in 国庆 -> Thu 10-08
        ("2026-02-17", 1, "2026-02-24"),  # Tue in 春节 -> Tue 2-24
        ("2026-10-11", 1, "2026-10-12"),  # Sun -> Mon
        ("2026-10-10", 1, "2026-10-12"),  # the adjusted Saturday -> Mon (Sun 10-11 is off)
        # n = 0 is the start itself, even on a day off.
        ("2026-10-03", 0, "2026-10-03"),
        ("2026-09-28", 0, "2026-09-28"),
    ],
)
def test_add_working_days(start: str, n: int, expected: str) -> None:
    assert add_working_days(CN, d(start), n) == d(expected)


def test_add_working_days_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError):
        add_working_days(CN, d("2026-09-28"), -1)


def test_add_working_days_into_an_uncovered_year_names_it() -> None:
    # From Thu 2026-12-24: 12-25 (1), 12-28..12-31 (2..5); the 6th is in 2027, which the default calendar answers
    # from the law (Fri 2027-01-01 元旦 off, Sat 2, Sun 3): Mon 2027-01-04. A calendar that answers no year from
    # the law names 2027.
    assert add_working_days(CN, d("2026-12-24"), 5) == d("2026-12-31")
    assert add_working_days(CN, d("2026-12-24"), 6) == d("2027-01-04")
    with pytest.raises(CalendarError, match="2027"):
        add_working_days(ChinaCalendar(provisional_until=None), d("2026-12-24"), 6)


def test_a_calendar_without_working_days_is_reported() -> None:
    class Never:
        name = "never"

        def is_working_day(self, day: date) -> bool:
            return False

    with pytest.raises(CalendarError, match="never"):
        add_working_days(Never(), d("2026-01-01"), 1)


@pytest.mark.parametrize(
    ("after", "upto", "expected"),
    [
        ("2026-09-28", "2026-10-16", 10),  # the SPEC example, counted the other way
        ("2026-09-18", "2026-09-30", 8),  # 9-20, 9-21..9-24, 9-28..9-30
        ("2025-12-25", "2026-01-05", 6),  # 12-26, 12-29..12-31, Sun 1-04, 1-05
        ("2026-10-01", "2026-10-07", 0),  # all 国庆
        ("2026-10-16", "2026-10-16", 0),  # empty
        ("2026-10-16", "2026-10-01", 0),  # reversed
    ],
)
def test_working_days_between(after: str, upto: str, expected: int) -> None:
    assert working_days_between(CN, d(after), d(upto)) == expected


# --- deadlines ----------------------------------------------------------------------------


def test_local_date_is_the_shanghai_date() -> None:
    assert local_date(utc("2026-09-27 16:30")) == d("2026-09-28")  # 00:30 in Shanghai
    assert local_date(utc("2026-09-27 15:59")) == d("2026-09-27")
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 9, 28, 9))


def test_workday_deadline_of_the_spec_example() -> None:
    deadline = period_deadline(CN, sh("2026-09-28 15:00"), 10, "workday")
    assert deadline == Deadline(d("2026-10-16"), sh("2026-10-17 00:00"))
    assert deadline.whole_day
    assert period_deadline(CN, sh("2026-09-28 09:00"), 20, "workday").day == d("2026-10-30")


def test_workday_deadline_counts_from_the_shanghai_date() -> None:
    # 2026-09-27 17:00 UTC is 9-28 01:00 in Shanghai, so the period starts on 9-28 -> 10-16.
    # Counting from the UTC date (Sun 9-27) would give 10-15.
    assert period_deadline(CN, utc("2026-09-27 17:00"), 10, "workday").day == d("2026-10-16")


def test_workday_deadline_starting_in_a_holiday() -> None:
    # Accepted Sat 2026-10-03: 10-08 (1), 10-09 (2), Sat 10-10 (3), 10-12..10-16 (4..8),
    # 10-19 (9), 10-20 (10).
    assert period_deadline(CN, sh("2026-10-03 11:00"), 10, "workday").day == d("2026-10-20")
    assert period_deadline(CN, sh("2026-10-03 11:00"), 0, "workday").day == d("2026-10-03")


def test_calendar_day_deadline_ignores_holidays() -> None:
    # 10 calendar days after 9-28 (not counted): 9-29 is day 1, 10-08 is day 10.
    deadline = period_deadline(CN, sh("2026-09-28 10:00"), 10, "day")
    assert deadline == Deadline(d("2026-10-08"), sh("2026-10-09 00:00"))


def test_hour_deadline_is_exact() -> None:
    deadline = period_deadline(CN, sh("2026-09-30 22:00"), 4, "hour")
    assert deadline.end == sh("2026-10-01 02:00")
    assert deadline.day == d("2026-10-01")
    assert not deadline.whole_day
    # Given in UTC: 2026-09-30 20:00 UTC + 6 h = 10-01 02:00 UTC = 10-01 10:00 Shanghai.
    assert period_deadline(CN, utc("2026-09-30 20:00"), 6, "hour").end == sh("2026-10-01 10:00")


def test_a_period_must_not_be_negative() -> None:
    with pytest.raises(ValueError):
        period_deadline(CN, sh("2026-09-28 10:00"), -1, "day")


def test_work_on_the_deadline_day_is_on_time() -> None:
    deadline = Deadline.end_of(d("2026-10-16"))
    assert not deadline.is_late(sh("2026-10-16 23:59:59"))
    assert deadline.is_late(sh("2026-10-17 00:00"))
    assert deadline.is_late(utc("2026-10-16 16:00"))  # = 10-17 00:00 Shanghai
    assert not deadline.is_late(utc("2026-10-16 15:59"))


def test_a_deadline_must_be_consistent() -> None:
    with pytest.raises(ValueError):
        Deadline(d("2026-10-16"), sh("2026-10-18 00:00"))
    with pytest.raises(ValueError):
        Deadline(d("2026-10-16"), datetime(2026, 10, 17))


def test_extension_by_working_days() -> None:
    # 10 more working days after 10-16: 10-19..10-23, 10-26..10-30 -> the 20-day deadline.
    extended = extend(CN, Deadline.end_of(d("2026-10-16")), 10, "workday")
    assert extended == Deadline.end_of(d("2026-10-30"))
    # Across 国庆 2026 from Wed 9-30: 10-08 (1), 10-09 (2), Sat 10-10 (3).
    assert extend(CN, Deadline.end_of(d("2026-09-30")), 3, "workday").day == d("2026-10-10")


def test_extension_by_days_and_hours() -> None:
    assert extend(CN, Deadline.end_of(d("2026-10-16")), 3, "day") == Deadline.end_of(d("2026-10-19"))
    hours = Deadline.at(sh("2026-10-16 20:00"))
    assert extend(CN, hours, 5, "hour") == Deadline.at(sh("2026-10-17 01:00"))


# --- suspensions (中止) ---------------------------------------------------------------------

CLOCK = sh("2026-10-12 09:00")  # Mon


def test_a_single_suspension() -> None:
    # From Tue 10-13 10:00 to Thu 10-15 16:00: the days after 10-13 up to 10-15 -> 10-14, 10-15.
    assert suspended_working_days(CN, [(sh("2026-10-13 10:00"), sh("2026-10-15 16:00"))], CLOCK) == 2


def test_a_suspension_within_one_day_removes_nothing() -> None:
    assert suspended_working_days(CN, [(sh("2026-10-13 10:00"), sh("2026-10-13 16:00"))], CLOCK) == 0


def test_overlapping_suspensions_count_once() -> None:
    first = (sh("2026-10-13 10:00"), sh("2026-10-15 16:00"))  # 10-14, 10-15
    second = (sh("2026-10-14 09:00"), sh("2026-10-19 11:00"))  # 10-15, 10-16, (Sat, Sun), 10-19
    # Union: 10-14, 10-15, 10-16, 10-19 = 4 (5 if 10-15 were counted twice).
    assert suspended_working_days(CN, [first, second], CLOCK) == 4
    assert suspended_working_days(CN, [second, first], CLOCK) == 4
    assert suspended_days([first, second], CLOCK) == 6  # 10-14 to 10-19


def test_a_suspension_before_the_clock_starts_changes_nothing() -> None:
    before = (sh("2026-10-09 10:00"), sh("2026-10-12 08:00"))
    assert suspended_working_days(CN, [before], CLOCK) == 0
    assert suspended_days([before], CLOCK) == 0
    # Ends on the clock's own day, after it started: still no day after the start date.
    assert suspended_working_days(CN, [(sh("2026-10-09 10:00"), sh("2026-10-12 15:00"))], CLOCK) == 0


def test_a_suspension_straddling_the_clock_start_counts_only_after_it() -> None:
    # Fri 10-09 to Wed 10-14, clock started Mon 10-12: only 10-13 and 10-14 count.
    # Unclipped it would be Sat 10-10 (worked), 10-12, 10-13, 10-14 = 4.
    assert suspended_working_days(CN, [(sh("2026-10-09 10:00"), sh("2026-10-14 12:00"))], CLOCK) == 2


def test_a_suspension_within_a_holiday_removes_no_working_day() -> None:
    clock = sh("2026-09-28 09:00")
    inside = (sh("2026-10-02 10:00"), sh("2026-10-06 10:00"))  # 10-03..10-06, all 国庆
    assert suspended_working_days(CN, [inside], clock) == 0
    assert suspended_days([inside], clock) == 4


def test_a_suspension_across_national_day() -> None:
    clock = sh("2026-09-28 09:00")
    across = (sh("2026-09-29 14:00"), sh("2026-10-12 10:00"))
    # After 9-29 up to 10-12: 9-30, (Oct 1-7 off), 10-08, 10-09, Sat 10-10, (Sun 10-11), 10-12 = 5.
    assert suspended_working_days(CN, [across], clock) == 5
    assert suspended_days([across], clock) == 13  # 9-30 .. 10-12
    # The SPEC deadline 10-16 moves 5 working days later: 10-19..10-23 -> 10-23.
    deadline = period_deadline(CN, clock, 10, "workday")
    assert postpone(CN, deadline, [across], clock, "workday") == Deadline.end_of(d("2026-10-23"))
    # In calendar days: 10-16 + 13 = 10-29.
    assert postpone(CN, deadline, [across], clock, "day") == Deadline.end_of(d("2026-10-29"))


def test_an_open_suspension_is_counted_up_to_now() -> None:
    clock = sh("2026-09-28 09:00")
    now = sh("2026-10-09 09:00")
    # Opened Wed 9-30 and still open: 10-08, 10-09 so far.
    assert suspended_working_days(CN, [(sh("2026-09-30 11:00"), now)], clock) == 2


def test_suspended_time_for_hour_periods() -> None:
    clock = sh("2026-10-12 09:00")
    intervals = [
        (sh("2026-10-12 08:00"), sh("2026-10-12 10:00")),  # 1 h after the clock start
        (sh("2026-10-12 11:00"), sh("2026-10-12 13:00")),
        (sh("2026-10-12 12:00"), sh("2026-10-12 14:00")),  # overlaps: 11:00-14:00 = 3 h
    ]
    assert suspended_time(intervals, clock) == timedelta(hours=4)
    deadline = Deadline.at(sh("2026-10-12 17:00"))
    assert postpone(CN, deadline, intervals, clock, "hour") == Deadline.at(sh("2026-10-12 21:00"))


def test_a_suspension_that_ends_before_it_starts_is_an_error() -> None:
    with pytest.raises(ValueError):
        suspended_working_days(CN, [(sh("2026-10-14 10:00"), sh("2026-10-13 10:00"))], CLOCK)


# --- alerts (黄牌 / 红牌) ---------------------------------------------------------------------

SPEC_DEADLINE = Deadline.end_of(d("2026-10-16"))  # Fri


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (sh("2026-10-13 12:00"), None),  # left: 10-14, 10-15, 10-16 = 3
        (sh("2026-10-14 23:59"), None),  # left: 10-15, 10-16 = 2
        (sh("2026-10-15 00:00"), "yellow"),  # left: 10-16 = 1
        (sh("2026-10-15 17:00"), "yellow"),
        (sh("2026-10-16 09:00"), "yellow"),  # deadline day: 0 left
        (sh("2026-10-16 23:59"), "yellow"),
        (sh("2026-10-17 00:00"), "red"),
        (sh("2026-11-30 12:00"), "red"),
        (utc("2026-10-14 16:30"), "yellow"),  # 10-15 00:30 in Shanghai (the UTC date would say None)
        (utc("2026-10-16 15:59"), "yellow"),  # 10-16 23:59 in Shanghai
        (utc("2026-10-16 16:00"), "red"),  # 10-17 00:00 in Shanghai
    ],
)
def test_alerts_for_the_spec_deadline(at: datetime, expected: str | None) -> None:
    assert alert_level(CN, SPEC_DEADLINE, at) == expected


def test_yellow_days_is_a_setting() -> None:
    assert alert_level(CN, SPEC_DEADLINE, sh("2026-10-14 10:00"), yellow_days=2) == "yellow"
    assert alert_level(CN, SPEC_DEADLINE, sh("2026-10-13 10:00"), yellow_days=2) is None
    assert alert_level(CN, SPEC_DEADLINE, sh("2026-10-15 10:00"), yellow_days=0) is None
    assert alert_level(CN, SPEC_DEADLINE, sh("2026-10-16 10:00"), yellow_days=0) == "yellow"


def test_yellow_before_a_holiday() -> None:
    after_holiday = Deadline.end_of(d("2026-10-08"))  # Thu right after 国庆
    # On 9-30 the working days after it up to 10-08 are just 10-08 (Oct 1-7 off): yellow.
    assert alert_level(CN, after_holiday, sh("2026-09-30 10:00")) == "yellow"
    assert alert_level(CN, after_holiday, sh("2026-10-04 10:00")) == "yellow"
    # On 9-29: 9-30 and 10-08 = 2 left.
    assert alert_level(CN, after_holiday, sh("2026-09-29 10:00")) is None


def test_yellow_before_a_weekend() -> None:
    monday = Deadline.end_of(d("2026-10-19"))
    assert alert_level(CN, monday, sh("2026-10-16 10:00")) == "yellow"  # Fri: only 10-19 left
    assert alert_level(CN, monday, sh("2026-10-15 10:00")) is None  # Thu: 10-16, 10-19


def test_alerts_for_an_hour_deadline() -> None:
    # 72 hours from 10-01 08:00 end 10-04 08:00; yellow in the last 24 hours.
    deadline = period_deadline(CN, sh("2026-10-01 08:00"), 72, "hour")
    assert alert_level(CN, deadline, sh("2026-10-03 07:59")) is None
    assert alert_level(CN, deadline, sh("2026-10-03 08:00")) == "yellow"
    assert alert_level(CN, deadline, sh("2026-10-04 07:59")) == "yellow"
    assert alert_level(CN, deadline, sh("2026-10-04 08:00")) == "red"


# --- time accounting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "remaining", "overdue"),
    [
        (sh("2026-10-12 10:00"), 4, 0),  # 10-13..10-16
        (sh("2026-10-16 10:00"), 0, 0),  # due today
        (sh("2026-10-17 10:00"), 0, 0),  # late, on a Saturday: no working day lost yet
        (sh("2026-10-19 10:00"), 0, 1),  # Mon 10-19
        (sh("2026-10-20 10:00"), 0, 2),
    ],
)
def test_remaining_and_overdue_working_days(at: datetime, remaining: int, overdue: int) -> None:
    assert remaining_working_days(CN, SPEC_DEADLINE, at) == remaining
    assert overdue_working_days(CN, SPEC_DEADLINE, at) == overdue


def test_elapsed_working_days() -> None:
    # From 9-28: 9-29, 9-30, (Oct 1-7), 10-08, 10-09 = 4.
    assert elapsed_working_days(CN, sh("2026-09-28 09:00"), sh("2026-10-09 12:00")) == 4
    assert elapsed_working_days(CN, sh("2026-09-28 09:00"), sh("2026-09-28 18:00")) == 0
    assert elapsed_working_days(CN, sh("2026-09-28 09:00"), sh("2026-09-20 18:00")) == 0


def test_end_of_day() -> None:
    assert end_of_day(d("2026-10-16")) == utc("2026-10-16 16:00")


# --- properties -----------------------------------------------------------------------------

DAYS_2030 = st.dates(min_value=date(2030, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def fake_calendars(draw: st.DrawFn) -> FakeCalendar:
    return FakeCalendar(
        holidays=draw(st.sets(DAYS_2030, max_size=60)),
        workdays=draw(st.sets(DAYS_2030, max_size=10)),
    )


@given(fake_calendars(), DAYS_2030, st.integers(0, 40))
def test_add_working_days_lands_on_the_nth_working_day(cal: FakeCalendar, start: date, n: int) -> None:
    end = add_working_days(cal, start, n)
    assert working_days_between(cal, start, end) == n
    if n > 0:
        assert end > start
        assert cal.is_working_day(end)
        assert working_days_between(cal, start, end - timedelta(days=1)) == n - 1
    assert add_working_days(cal, start, n + 1) > end


@given(
    st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 10, 31)),
    st.integers(1, 40),
)
def test_add_and_count_agree_on_the_official_calendar(start: date, n: int) -> None:
    end = add_working_days(CN, start, n)
    assert CN.is_working_day(end)
    assert working_days_between(CN, start, end) == n
    first, last = (datetime.combine(x, time(12), SHANGHAI) for x in (start, end))
    assert elapsed_working_days(CN, first, last) == n


moments = st.datetimes(min_value=datetime(2026, 9, 1), max_value=datetime(2026, 11, 30), timezones=st.just(SHANGHAI))


@given(st.lists(st.tuples(moments, moments).map(sorted), max_size=4), moments)
def test_suspensions_count_each_day_at_most_once(raw: list[list[datetime]], clock: datetime) -> None:
    intervals = [(s, e) for s, e in raw]
    together = suspended_working_days(CN, intervals, clock)
    alone = [suspended_working_days(CN, [i], clock) for i in intervals]
    assert max(alone, default=0) <= together <= sum(alone)
    assert suspended_working_days(CN, list(reversed(intervals)), clock) == together
    assert together <= suspended_days(intervals, clock)


@given(moments, moments, st.integers(0, 20))
def test_alerts_only_get_worse(first: datetime, second: datetime, n: int) -> None:
    early, late = sorted((first, second))
    deadline = period_deadline(CN, sh("2026-09-01 09:00"), n, "workday")
    rank = {None: 0, "yellow": 1, "red": 2}
    assert rank[alert_level(CN, deadline, early)] <= rank[alert_level(CN, deadline, late)]


def test_weekend_calendar_periods() -> None:
    # Weekends only: from Mon 2026-09-28, 10 working days are 9-29..10-02 (4), 10-05..10-09 (9), 10-12.
    assert add_working_days(WeekendCalendar(), d("2026-09-28"), 10) == d("2026-10-12")
