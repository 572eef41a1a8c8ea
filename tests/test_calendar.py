"""Working-day calendars against the State Council's published holiday arrangements.

Expected values are written out by hand from the arrangements (国务院办公厅关于
2025年 / 2026年部分节假日安排的通知), not read from ``chinese_calendar``:

2025: 元旦 Jan 1 off; 春节 Jan 28-Feb 4 off, Jan 26 (Sun) and Feb 8 (Sat) worked;
      清明 Apr 4-6 off; 劳动节 May 1-5 off, Apr 27 (Sun) worked; 端午 May 31-Jun 2 off;
      国庆+中秋 Oct 1-8 off, Sep 28 (Sun) and Oct 11 (Sat) worked.
2026: 元旦 Jan 1-3 off, Jan 4 (Sun) worked; 春节 Feb 15-23 off, Feb 14 (Sat) and
      Feb 28 (Sat) worked; 清明 Apr 4-6 off; 劳动节 May 1-5 off, May 9 (Sat) worked;
      端午 Jun 19-21 off; 中秋 Sep 25-27 off; 国庆 Oct 1-7 off, Sep 20 (Sun) and
      Oct 10 (Sat) worked.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from approvalflow.errors import CalendarError, DefinitionError
from approvalflow.time.calendar import ChinaCalendar, FakeCalendar, WeekendCalendar, WorkingCalendar


def d(text: str) -> date:
    return date.fromisoformat(text)


def span(first: str, last: str) -> list[date]:
    a, b = d(first), d(last)
    return [a + timedelta(days=k) for k in range((b - a).days + 1)]


PUBLISHED_OFF = [
    *span("2025-01-01", "2025-01-01"),
    *span("2025-01-28", "2025-02-04"),
    *span("2025-04-04", "2025-04-06"),
    *span("2025-05-01", "2025-05-05"),
    *span("2025-05-31", "2025-06-02"),
    *span("2025-10-01", "2025-10-08"),
    *span("2026-01-01", "2026-01-03"),
    *span("2026-02-15", "2026-02-23"),
    *span("2026-04-04", "2026-04-06"),
    *span("2026-05-01", "2026-05-05"),
    *span("2026-06-19", "2026-06-21"),
    *span("2026-09-25", "2026-09-27"),
    *span("2026-10-01", "2026-10-07"),
]
# Adjusted working days (调休): all fall on a Saturday or Sunday.
PUBLISHED_WORKED = [
    *map(d, ("2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11")),
    *map(d, ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10")),
]
# Ordinary days next to the holidays: weekdays worked, weekends off.
ORDINARY = {
    d("2025-10-09"): True,  # Thu after 国庆 2025
    d("2025-10-12"): False,  # Sun after the adjusted Saturday
    d("2025-12-31"): True,  # Wed
    d("2026-02-24"): True,  # Tue after 春节
    d("2026-03-01"): False,  # Sun after the adjusted Saturday Feb 28
    d("2026-05-10"): False,  # Sun after the adjusted Saturday May 9
    d("2026-09-24"): True,  # Thu before 中秋
    d("2026-10-08"): True,  # Thu after 国庆
    d("2026-10-11"): False,  # Sun
}


@pytest.fixture(scope="module")
def china() -> ChinaCalendar:
    return ChinaCalendar()


def test_the_weekday_assumptions_in_these_comments_hold() -> None:
    assert [x.weekday() for x in PUBLISHED_WORKED] == [6, 5, 6, 6, 5, 6, 5, 5, 5, 6, 5]


@pytest.mark.parametrize("day", PUBLISHED_OFF, ids=str)
def test_published_holidays_are_days_off(china: ChinaCalendar, day: date) -> None:
    assert china.is_working_day(day) is False


@pytest.mark.parametrize("day", PUBLISHED_WORKED, ids=str)
def test_adjusted_weekend_days_are_working_days(china: ChinaCalendar, day: date) -> None:
    assert china.is_working_day(day) is True


@pytest.mark.parametrize(("day", "working"), ORDINARY.items(), ids=str)
def test_ordinary_days(china: ChinaCalendar, day: date, working: bool) -> None:
    assert china.is_working_day(day) is working


def test_china_calendar_is_a_working_calendar(china: ChinaCalendar) -> None:
    for cal in (china, WeekendCalendar(), FakeCalendar()):
        assert isinstance(cal, WorkingCalendar)
    assert china.name == "china"
    assert china.covers(2026) and not china.covers(2027)


def test_an_uncovered_year_is_an_error_naming_it(china: ChinaCalendar) -> None:
    # chinesecalendar 1.11.0 has data for 2004-2026; the law answers 2027-2029 provisionally (issue 18), and
    # neither answers 2030 (too far ahead: the law may change) or 2003 (before the package's data).
    for day in ("2030-01-04", "2003-06-02"):
        with pytest.raises(CalendarError) as info:
            china.is_working_day(d(day))
        message = str(info.value)
        assert day[:4] in message
        assert "supplement" in message and "fallback" in message
        assert isinstance(info.value, DefinitionError)
    assert china.fallback_years == set() and china.provisional_years == set()
    strict = ChinaCalendar(provisional_until=None)  # no year from the law: 2027 is unknown, as before issue 18
    with pytest.raises(CalendarError, match="2027"):
        strict.is_working_day(d("2027-01-04"))


def test_a_datetime_is_refused(china: ChinaCalendar) -> None:
    with pytest.raises(TypeError):
        china.is_working_day(datetime(2026, 10, 8, 12))


# A made-up 2027 arrangement for the tests (the real one is not published yet).
SUPPLEMENT_2027 = """\
year: 2027
source: test arrangement for 2027
holidays: [2027-01-01, 2027-02-05..2027-02-11]
workdays:
  - 2027-02-13
"""


def write(tmp_path: Path, text: str, name: str = "cal.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_supplement_covers_its_year(tmp_path: Path) -> None:
    cal = ChinaCalendar([write(tmp_path, SUPPLEMENT_2027)])
    assert cal.is_working_day(d("2027-01-01")) is False  # Fri, listed
    assert cal.is_working_day(d("2027-01-04")) is True  # Mon, ordinary
    assert cal.is_working_day(d("2027-02-05")) is False  # Fri, first day of the range
    assert cal.is_working_day(d("2027-02-08")) is False  # Mon inside the range
    assert cal.is_working_day(d("2027-02-11")) is False  # Thu, last day of the range
    assert cal.is_working_day(d("2027-02-12")) is True  # Fri after the range
    assert cal.is_working_day(d("2027-02-13")) is True  # Sat, listed workday
    assert cal.is_working_day(d("2027-02-14")) is False  # Sun
    assert cal.is_working_day(d("2026-10-01")) is False  # 2026 still from the package
    assert cal.covers(2027)
    assert "test arrangement for 2027" in cal.sources[2027]
    assert cal.fallback_years == set()
    assert cal.year_status(2027) == "official" and cal.year_status(2028) == "provisional"
    with pytest.raises(CalendarError, match="2030"):
        cal.is_working_day(d("2030-01-03"))


def test_a_supplement_replaces_the_package_for_its_year(tmp_path: Path) -> None:
    path = write(tmp_path, "year: 2026\nsource: a correction\nholidays: [2026-10-09]\n")
    cal = ChinaCalendar([str(path)])
    assert cal.is_working_day(d("2026-10-01")) is True  # Thu: no longer a holiday
    assert cal.is_working_day(d("2026-10-09")) is False  # Fri: now one
    assert cal.is_working_day(d("2026-10-10")) is False  # Sat: no longer worked
    assert cal.is_working_day(d("2025-10-01")) is False  # other years unchanged


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("year: 2027\nsource: x\nholidays: [2027-02-30]\n", 3, "2027-02-30"),
        ("year: 2027\nsource: x\nholidays:\n  - 2027-01-01\n  - 2027-13-01\n", 5, "2027-13-01"),
        ("year: 2027\nsource: x\nholidays: [27-1-1]\n", 3, "27-1-1"),
        ("year: 2027\nsource: x\nholidays: [2027-02-11..2027-02-05]\n", 3, "2027-02-11..2027-02-05"),
        ("year: 2027\nsource: x\nholidays: [2026-12-31]\n", 3, "2026-12-31"),
        ("year: 2027\nsource: x\nholidays: [[2027-01-01]]\n", 3, "holidays"),
        ("year: 2027\nsource: x\nholidays: 2027-01-01\n", 3, "list"),
        ("year: 2027\nsource: x\nholiday: [2027-01-01]\n", 3, "holiday"),
        ("year: 2027\nsource: x\nsource: y\n", 3, "repeated"),
        ("year: 2027\nholidays: [2027-01-01]\n", 1, "source"),
        ("year: twenty\nsource: x\n", 1, "twenty"),
        ("year: 2027\nsource: ''\n", 2, "source"),
        ("year: 2027\nsource: x\nholidays: [2027-01-01]\nworkdays: [2027-01-01]\n", 4, "2027-01-01"),
        ("year: 2027\nsource: x\nholidays: [2027-01-01\n", 4, "YAML"),
        ("- 2027-01-01\n", 1, "mapping"),
    ],
)
def test_a_bad_supplement_names_file_line_and_value(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path, text, "bad-2027.yaml")
    with pytest.raises(CalendarError) as info:
        ChinaCalendar([path])
    assert info.value.file == str(path)
    assert info.value.line == line
    assert fragment in str(info.value)
    assert "bad-2027.yaml" in str(info.value)


def test_two_supplements_for_one_year_are_an_error(tmp_path: Path) -> None:
    first = write(tmp_path, SUPPLEMENT_2027, "a.yaml")
    second = write(tmp_path, SUPPLEMENT_2027, "b.yaml")
    with pytest.raises(CalendarError, match="2027") as info:
        ChinaCalendar([first, second])
    assert info.value.file == str(second)


def test_a_missing_or_empty_supplement_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CalendarError) as info:
        ChinaCalendar([tmp_path / "nowhere.yaml"])
    assert info.value.file == str(tmp_path / "nowhere.yaml")
    with pytest.raises(CalendarError, match="mapping"):
        ChinaCalendar([write(tmp_path, "")])


def test_empty_lists_are_allowed(tmp_path: Path) -> None:
    cal = ChinaCalendar([write(tmp_path, "year: 2027\nsource: x\nholidays: []\nworkdays:\n")])
    assert cal.is_working_day(d("2027-01-01")) is True  # Fri, nothing listed


def test_the_fallback_answers_weekends_only_and_records_the_year() -> None:
    cal = ChinaCalendar(fallback=True)
    assert cal.name == "china+fallback"
    assert cal.is_working_day(d("2026-10-01")) is False  # official data still used
    assert cal.fallback_years == set()
    assert cal.is_working_day(d("2027-01-01")) is True  # Fri: weekends-only, whatever 元旦 will be
    assert cal.is_working_day(d("2027-01-02")) is False  # Sat
    assert cal.is_working_day(d("2003-06-02")) is True  # Mon, before the package's first year
    assert cal.fallback_years == {2003, 2027}


def test_weekend_calendar() -> None:
    cal = WeekendCalendar()
    assert cal.name == "weekends-only"
    assert cal.is_working_day(d("2026-10-01")) is True  # Thu, although 国庆
    assert cal.is_working_day(d("2026-10-10")) is False  # Sat, although adjusted
    assert cal.is_working_day(d("2099-03-02")) is True  # Mon, any year


def test_fake_calendar() -> None:
    cal = FakeCalendar(holidays=[d("2030-01-01")], workdays=[d("2030-01-05")], covers=range(2030, 2031))
    assert cal.is_working_day(d("2030-01-01")) is False  # Tue, listed holiday
    assert cal.is_working_day(d("2030-01-02")) is True  # Wed
    assert cal.is_working_day(d("2030-01-05")) is True  # Sat, listed workday
    assert cal.is_working_day(d("2030-01-06")) is False  # Sun
    with pytest.raises(CalendarError, match="2031"):
        cal.is_working_day(d("2031-01-02"))
    assert FakeCalendar().is_working_day(d("2031-01-02")) is True  # no `covers`: every year
