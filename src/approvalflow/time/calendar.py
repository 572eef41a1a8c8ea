"""Working-day calendars (工作日历): which dates are working days.

A :class:`WorkingCalendar` answers one question, ``is_working_day(day)``, and
raises :class:`~approvalflow.errors.CalendarError` for a day it cannot answer
for. Three implementations ship:

- :class:`ChinaCalendar`: China's official calendar, statutory holidays and
  adjusted working days (调休) included, from the ``chinesecalendar`` package,
  plus supplement files for years the package does not cover yet, and for the
  few years after those a *provisional* calendar computed from the law
  (:mod:`.statutory`: the statutory holidays and their 补假, no 调休);
- :class:`WeekendCalendar`: Monday to Friday, nothing else;
- :class:`FakeCalendar`: a test double with listed holidays and working days.

Supplement files
----------------
The State Council (国务院办公厅) publishes each year's holiday arrangement,
usually in November of the year before. Until ``chinesecalendar`` covers that
year, write it down as one YAML file per year::

    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知
    holidays: [2027-01-01, 2027-02-05..2027-02-11]   # dates, or ranges a..b inclusive
    workdays: [2027-02-13]                            # adjusted working days (调休)

``year`` and ``source`` are required; ``holidays`` and ``workdays`` are lists
of ``YYYY-MM-DD`` dates or inclusive ranges ``YYYY-MM-DD..YYYY-MM-DD`` inside
that year (either may be empty or left out). In that year a day is a working
day if it is Monday to Friday and not a holiday, or if it is listed under
``workdays``. A supplement for a year the package covers replaces the package
for that year. Errors name the file and the (1-based) line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Protocol, runtime_checkable

import chinese_calendar
import yaml
from chinese_calendar import constants as _cc_constants

from approvalflow.errors import CalendarError, InvalidTypeError
from approvalflow.io.yamlio import line_of, parse_yaml

__all__ = [
    "PROVISIONAL_YEARS_AHEAD", "ChinaCalendar", "FakeCalendar", "WeekendCalendar", "WorkingCalendar", "YearStatus",
    "provisional_years",
]  # fmt: skip

_PACKAGE_YEARS = range(min(d.year for d in _cc_constants.holidays), max(d.year for d in _cc_constants.holidays) + 1)

#: How many years after the last year of the ``chinesecalendar`` package :class:`ChinaCalendar` answers from the
#: law by default (a later year is unknown: the law itself may have changed by then).
PROVISIONAL_YEARS_AHEAD = 3

#: How a calendar answers a year: from the published arrangement (``official``), from the law without the yearly
#: 调休 (``provisional``), weekends only because the caller chose so (``fallback``), or not at all (``unknown``).
YearStatus = Literal["official", "provisional", "fallback", "unknown"]
_DATE = r"\d{4}-\d{2}-\d{2}"
_ITEM = re.compile(rf"({_DATE})(?:\.\.({_DATE}))?")
_KEYS = frozenset({"year", "source", "holidays", "workdays"})


@runtime_checkable
class WorkingCalendar(Protocol):
    """Tells working days from days off."""

    @property
    def name(self) -> str:
        """A short name recorded on cases, e.g. ``"china"``."""
        ...

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day; raises CalendarError if the calendar cannot tell."""
        ...


def _check_day(day: date) -> None:
    if isinstance(day, datetime):
        raise InvalidTypeError(f"expected a date, got the datetime {day!r}; take its Shanghai date first")


def _uncovered(year: int, day: date, covered: str) -> CalendarError:
    return CalendarError(
        f"no official working-day calendar for {year} (asked about {day.isoformat()}; {covered}): "
        "the State Council publishes each year's holiday arrangement (usually in November); "
        "add it as a YAML file (see docs/time.md) and pass it as a supplement, "
        "or choose the weekends-only fallback explicitly"
    )


@dataclass(frozen=True)
class _Year:
    """One year's arrangement read from a supplement file."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str
    file: str

    def is_working_day(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)


NO_YEARS: frozenset[int] = frozenset()
"""The empty set of years, shared (``frozenset()`` makes a new object each time)."""
_NO_SUPPLEMENTS: Mapping[int, Any] = MappingProxyType({})
_CHINA_KEY: tuple[object, ...] = ("china",)


@functools.lru_cache(maxsize=8192)
def _package_is_workday(day: date) -> bool:
    # chinesecalendar checks each date's range against min()/max() of its whole holiday table on every call,
    # which made the calendar the largest cost of completing a step; a year holds 365 answers, keep them.
    return bool(chinese_calendar.is_workday(day))


class ChinaCalendar:
    """China's official working-day calendar (statutory holidays and 调休).

    A year is answered, in this order, from a supplement (a YAML file, see the module docstring), from the
    ``chinesecalendar`` package (both ``official``), or, up to ``provisional_until`` (default: the package's
    last year + :data:`PROVISIONAL_YEARS_AHEAD`), provisionally from the law (:mod:`.statutory`: the
    statutory holidays and their 补假; the yearly 调休 cannot be known). Each year answered from the law is added
    to :attr:`provisional_years` so that the caller can record it. ``provisional_until=None`` answers no year from
    the law. With ``fallback=True`` every year without an official arrangement is answered weekends-only instead
    (as before provisional years existed), and added to :attr:`fallback_years`. Any other year raises
    CalendarError naming it: before 2004, and after ``provisional_until``.
    """

    __slots__ = ("_years", "answers_key", "fallback", "fallback_years", "provisional_until", "provisional_years")

    def __init__(
        self,
        supplements: Iterable[str | Path] = (),
        *,
        fallback: bool = False,
        provisional_until: int | None = _PACKAGE_YEARS.stop - 1 + PROVISIONAL_YEARS_AHEAD,
    ) -> None:
        if provisional_until is not None and (
            isinstance(provisional_until, bool) or not isinstance(provisional_until, int)
        ):
            raise InvalidTypeError(f"provisional_until must be a year (int) or None, not {provisional_until!r}")
        self.fallback = fallback
        self.provisional_until = provisional_until
        # Immutable, replaced when a year is added (rarely): every calendar that answered no such year (nearly every
        # one: a case's own calendar) shares the empty set.
        self.fallback_years: frozenset[int] = NO_YEARS
        self.provisional_years: frozenset[int] = NO_YEARS
        years: dict[int, _Year] = {}
        for path in supplements:
            year, data = _load_supplement(Path(path))
            if year in years:
                raise CalendarError(
                    f"a second supplement for {year} (the first is {years[year].file})", file=path, element="year"
                )
            years[year] = data
        self._years: Mapping[int, _Year] = years or _NO_SUPPLEMENTS  # never changed after this
        # What decides every answer of a calendar that answers no year by fallback (two such calendars with the
        # same supplements agree on every day): the key under which periods.py shares counted deadlines.
        self.answers_key: tuple[object, ...] | None = (
            None if fallback else ("china", *sorted(self._years.items())) if self._years else _CHINA_KEY
        )

    @property
    def name(self) -> str:
        return "china+fallback" if self.fallback else "china"

    @property
    def sources(self) -> dict[int, str]:
        """Each supplemented year with the source and file it was read from."""
        return {y: f"{d.source} ({d.file})" for y, d in sorted(self._years.items())}

    def covers(self, year: int) -> bool:
        """Whether ``year`` is answered from official data (package or supplement)."""
        return year in self._years or year in _PACKAGE_YEARS

    def year_status(self, year: int) -> YearStatus:
        """How ``year`` is answered: ``official``, ``provisional`` (the law), ``fallback`` or ``unknown`` (raises)."""
        if self.covers(year):
            return "official"
        if self.fallback:
            return "fallback"
        if self.provisional_until is not None and _PACKAGE_YEARS.stop <= year <= self.provisional_until:
            return "provisional"
        return "unknown"

    def is_working_day(self, day: date) -> bool:
        _check_day(day)
        supplement = self._years.get(day.year)
        if supplement is not None:
            return supplement.is_working_day(day)
        if day.year in _PACKAGE_YEARS:
            return _package_is_workday(day)
        status = self.year_status(day.year)
        if status == "fallback":
            if day.year not in self.fallback_years:
                self.fallback_years = self.fallback_years | {day.year}
            return day.weekday() < 5
        if status == "provisional":
            if day.year not in self.provisional_years:
                self.provisional_years = self.provisional_years | {day.year}
            return _law_is_workday(day)
        covered = f"chinesecalendar covers {_PACKAGE_YEARS.start}-{_PACKAGE_YEARS.stop - 1}"
        if self._years:
            covered += ", supplements " + ", ".join(str(y) for y in sorted(self._years))
        if self.provisional_until is not None and self.provisional_until >= _PACKAGE_YEARS.stop:
            covered += f", the law provisionally {_PACKAGE_YEARS.stop}-{self.provisional_until}"
        raise _uncovered(day.year, day, covered)


def _law_is_workday(day: date) -> bool:
    from .statutory import law_holidays  # imports lunar-python only when a provisional year is asked about

    return day.weekday() < 5 and day not in law_holidays(day.year)


def provisional_years(calendar: WorkingCalendar, first: date, last: date) -> tuple[int, ...]:
    """The years from ``first`` to ``last`` that ``calendar`` answers provisionally (from the law), in order.

    A calendar without ``year_status`` (not a :class:`ChinaCalendar`) has none.
    """
    status = getattr(calendar, "year_status", None)
    if status is None:
        return ()
    return tuple(y for y in range(first.year, last.year + 1) if status(y) == "provisional")


class WeekendCalendar:
    """Monday to Friday are working days; no holidays, no adjusted working days."""

    name = "weekends-only"

    def is_working_day(self, day: date) -> bool:
        _check_day(day)
        return day.weekday() < 5


class FakeCalendar:
    """A test double: weekends off, listed ``holidays`` off, listed ``workdays`` on.

    With ``covers`` (a range of years), a day outside it raises CalendarError
    like :class:`ChinaCalendar` does for a year it has no data for.
    """

    name = "fake"

    def __init__(
        self, holidays: Iterable[date] = (), workdays: Iterable[date] = (), covers: range | None = None
    ) -> None:
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        self.covers = covers

    def is_working_day(self, day: date) -> bool:
        _check_day(day)
        if self.covers is not None and day.year not in self.covers:
            years = f"{self.covers.start}-{self.covers.stop - 1}" if self.covers else "no years"
            raise _uncovered(day.year, day, f"this FakeCalendar covers {years}")
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)


def _fail(path: Path, node: yaml.Node | None, message: str, element: str | None = None) -> CalendarError:
    """A CalendarError at ``node`` (lines 1-based)."""
    return CalendarError(message, file=path, line=line_of(node), element=element)


def _load_supplement(path: Path) -> tuple[int, _Year]:
    """Read and check one supplement file; every problem names the file and line."""
    root = parse_yaml(path, error=CalendarError, construct=False).node
    if not isinstance(root, yaml.MappingNode):
        raise _fail(path, root, "a calendar supplement must be a mapping with year, source, holidays, workdays")
    fields: dict[str, yaml.Node] = {}
    for key, value in root.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else "?"
        if name not in _KEYS or name in fields:
            expected = ", ".join(sorted(_KEYS))
            problem = "repeated" if name in fields else f"unknown (expected one of {expected})"
            raise _fail(path, key, f"key {name!r} is {problem}", name)
        fields[name] = value
    for required in ("year", "source"):
        if required not in fields:
            raise _fail(path, root, f"missing key {required!r} (year, and source: the published arrangement)")
    year = _scalar(path, "year", fields["year"])
    if not re.fullmatch(r"\d{4}", year):
        raise _fail(path, fields["year"], f"year must be a four-digit year, not {year!r}", "year")
    source = _scalar(path, "source", fields["source"]).strip()
    if not source:
        raise _fail(path, fields["source"], "source must name the published arrangement", "source")
    holidays = _dates(path, "holidays", fields.get("holidays"), int(year))
    workdays = _dates(path, "workdays", fields.get("workdays"), int(year))
    both = sorted(holidays & workdays)
    if both:
        message = f"{both[0].isoformat()} is listed both as a holiday and as a working day"
        raise _fail(path, fields["workdays"], message, "workdays")
    return int(year), _Year(holidays, workdays, source, str(path))


def _scalar(path: Path, key: str, node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _fail(path, node, f"{key} must be a single value", key)
    return str(node.value)


def _dates(path: Path, key: str, node: yaml.Node | None, year: int) -> frozenset[date]:
    """The dates of a ``holidays`` or ``workdays`` list, ranges expanded."""
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
        return frozenset()
    if not isinstance(node, yaml.SequenceNode):
        raise _fail(path, node, f"{key} must be a list of dates or ranges", key)
    days: set[date] = set()
    for item in node.value:
        text = str(item.value) if isinstance(item, yaml.ScalarNode) else ""
        shown = repr(text) if isinstance(item, yaml.ScalarNode) else "a nested list or mapping"
        match = _ITEM.fullmatch(text)
        try:
            first = date.fromisoformat(match.group(1)) if match else None
            last = date.fromisoformat(match.group(2)) if match and match.group(2) else first
        except ValueError:
            first = last = None
        if first is None or last is None or last < first:
            message = f"{key}: {shown} is not a valid date YYYY-MM-DD or range YYYY-MM-DD..YYYY-MM-DD"
            raise _fail(path, item, message, key)
        if first.year != year or last.year != year:
            raise _fail(path, item, f"{key}: {shown} is not in {year}, the year of this file", key)
        days.update(first + timedelta(n) for n in range((last - first).days + 1))
    return frozenset(days)
