"""The statutory holidays of a year as the law fixes them (《全国年节及纪念日放假办法》), without the yearly 调休.

The State Council's yearly notice (关于YYYY年部分节假日安排的通知) adds the 调休 arrangement on top of what the
law fixes: days joined to weekends into longer breaks, and Saturdays or Sundays made working days. Until that
notice is out, the holidays of the law are all that can be known. This module computes them, so that
:class:`~approvalflow.time.calendar.ChinaCalendar` can answer such a year *provisionally*.

The law, by the version in force for the year (:data:`LAW_VERSIONS`):

- 元旦 1 January; 春节 (农历正月初一 and the days around it); 清明节 the day of the solar term 清明;
  劳动节 1 May (and 2 May from 2025); 端午节 农历五月初五; 中秋节 农历八月十五; 国庆节 1 to 3 October.
- 补假 (the 办法: a holiday for all citizens that falls on a Saturday or Sunday is made up on a working day):
  approvalflow's precise reading, where the 办法 leaves the day open: each holiday day that is a Saturday or
  Sunday gives one day off on the first Monday-to-Friday after the run of consecutive holidays it belongs to
  that is not itself a holiday or a day already given. Two holidays on the same day (中秋 on 1 October, as in
  2020 and 2001) are one day off, with no extra day.

Lunar dates and the solar term 清明 come from ``lunar-python`` (6tail; dates in Beijing time).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

from lunar_python import Lunar, Solar

__all__ = ["LAW_VERSIONS", "LawVersion", "law_days", "law_holidays", "makeup_days"]


@dataclass(frozen=True)
class LawVersion:
    """One version of the 办法: the first year it governs, the year it was made (``revision``), its holidays."""

    first_year: int
    revision: str
    eve: bool  # 春节 includes 农历除夕
    spring_days: int  # days of 春节 from 正月初一 on (初一, 初二, 初三 = 3)
    traditional: bool  # 清明, 端午, 中秋 are holidays
    labour_days: int  # 劳动节 from 1 May


#: The versions of the 办法, oldest first; a year is governed by the last one whose ``first_year`` it reaches.
LAW_VERSIONS: tuple[LawVersion, ...] = (
    LawVersion(2000, "1999", eve=False, spring_days=3, traditional=False, labour_days=3),
    LawVersion(2008, "2007", eve=True, spring_days=2, traditional=True, labour_days=1),
    LawVersion(2014, "2013", eve=False, spring_days=3, traditional=True, labour_days=1),
    LawVersion(2025, "2024", eve=True, spring_days=3, traditional=True, labour_days=2),
)

#: The first and last years computed here (lunar-python's tables and the first version above).
FIRST_YEAR, LAST_YEAR = LAW_VERSIONS[0].first_year, 2999


def version_for(year: int) -> LawVersion:
    """The version of the 办法 that governs ``year``; ValueError before the first one."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"the law's holidays are computed for {FIRST_YEAR}-{LAST_YEAR}, not {year}")
    return [v for v in LAW_VERSIONS if v.first_year <= year][-1]


def _lunar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def qingming(year: int) -> date:
    """The day of the solar term 清明 in ``year`` (Beijing time)."""
    table = Solar.fromYmd(year, 4, 1).getLunar().getJieQiTable()
    solar = table["清明"]
    found = date(solar.getYear(), solar.getMonth(), solar.getDay())
    if found.year != year:  # pragma: no cover - April always lies in the lunar year that began that spring
        raise ValueError(f"清明 of lunar year {year} falls in {found.year}")
    return found


@functools.lru_cache(maxsize=64)
def law_days(year: int) -> dict[date, str]:
    """Each day the law makes a holiday in ``year``, with its festival (e.g. ``"春节"``); 补假 not included."""
    law = version_for(year)
    days: dict[date, str] = {date(year, 1, 1): "元旦"}
    new_year = _lunar(year, 1, 1)
    first = new_year - timedelta(1) if law.eve else new_year
    for n in range((new_year - first).days + law.spring_days):
        days[first + timedelta(n)] = "春节"
    if law.traditional:
        days[qingming(year)] = "清明节"
        days[_lunar(year, 5, 5)] = "端午节"
        days[_lunar(year, 8, 15)] = "中秋节"
    for n in range(law.labour_days):
        days[date(year, 5, 1 + n)] = "劳动节"
    for n in range(3):
        days[date(year, 10, 1 + n)] = "国庆节"  # 国庆 first: 中秋 on 1 October is one day off, not two
    return dict(sorted(days.items()))


@functools.lru_cache(maxsize=64)
def makeup_days(year: int) -> dict[date, str]:
    """The 补假 of ``year``: each day off that makes up a holiday on a Saturday or Sunday, with that festival."""
    holidays = law_days(year)
    given: dict[date, str] = {}
    for day, festival in holidays.items():
        if day.weekday() < 5:
            continue
        after = day + timedelta(1)
        while after in holidays:  # the end of the run of consecutive holidays
            after += timedelta(1)
        while after.weekday() >= 5 or after in holidays or after in given:
            after += timedelta(1)
        given[after] = festival
    return dict(sorted(given.items()))


@functools.lru_cache(maxsize=64)
def law_holidays(year: int) -> frozenset[date]:
    """Every day off the law gives in ``year``: its holidays and their 补假."""
    return frozenset(law_days(year)) | frozenset(makeup_days(year))
