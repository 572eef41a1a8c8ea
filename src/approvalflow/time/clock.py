"""Clocks: where the engine gets "now" from. Tests and simulations use :class:`FakeClock`."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

from ..errors import InvalidInputError
from .periods import SHANGHAI

__all__ = [
    "MAX_MOMENT_CHARS",
    "MAX_YEAR",
    "MIN_YEAR",
    "Clock",
    "FakeClock",
    "SystemClock",
    "check_moment",
    "parse_moment",
    "read_moment",
]

MIN_YEAR = 1900
"""The earliest year of a moment the package accepts (scenarios, ``supervise --at``, the engine's ``at=``)."""

MAX_YEAR = 2999
"""The latest year of a moment the package accepts. Dates near Python's year 9999 overflow in deadline arithmetic
and timezone conversion; no approval runs a thousand years. Both bounds are fixed: a moment outside them is a
typing mistake, not a case."""

MAX_MOMENT_CHARS = 64
"""Longest text read as a moment (``2026-09-28T09:00:00.000000+08:00:00`` has 35 characters)."""

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_EXAMPLE = "2026-09-28T09:00:00+08:00"


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current moment (timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in Asia/Shanghai."""

    def now(self) -> datetime:
        return datetime.now(SHANGHAI)


def parse_moment(value: str | datetime) -> datetime:
    """A timezone-aware moment from an ISO 8601 string or datetime, in the years :data:`MIN_YEAR`-:data:`MAX_YEAR`.

    Anything else (naive moments, other years, text that is no moment, other types) raises
    :class:`~approvalflow.errors.InvalidInputError` (a ``ValueError``) with a message that says what is wrong; never
    another exception.
    """
    if isinstance(value, str):
        if len(value) > MAX_MOMENT_CHARS:
            raise InvalidInputError(f"not a moment: {len(value):,} characters of text (a moment is like {_EXAMPLE})")
        try:
            moment = read_moment(value)
        except ValueError:  # UnicodeError (a lone surrogate) is a ValueError too
            raise InvalidInputError(f"not an ISO 8601 moment such as {_EXAMPLE}: {value!r}") from None
    elif isinstance(value, datetime):
        moment = value
    else:
        raise InvalidInputError(f"a moment is text like {_EXAMPLE} or a datetime, not {type(value).__name__}")
    return check_moment(moment)


#: The fixed offsets of moments read from text, one ``timezone`` object each (a handful in practice: +08:00...).
_ZONES: dict[timedelta, timezone] = {}
_MAX_ZONES = 64


def read_moment(text: str) -> datetime:
    """``datetime.fromisoformat(text)``, its fixed offset the one ``timezone`` object shared by every moment read
    with that offset (an equal value: the same moment, the same ``isoformat()``; ``fromisoformat`` makes a new one
    for each moment, 72 bytes, more than the moment itself). Raises ``ValueError`` as ``fromisoformat`` does."""
    moment = datetime.fromisoformat(text)
    zone = moment.tzinfo
    if type(zone) is not timezone:
        return moment  # naive: the callers refuse it
    offset = zone.utcoffset(None)
    shared = _ZONES.get(offset)
    if shared is None:
        if len(_ZONES) >= _MAX_ZONES:
            return moment
        shared = _ZONES.setdefault(offset, zone)
    if shared is zone or shared.tzname(None) != zone.tzname(None):
        return moment
    return moment.replace(tzinfo=shared)


def check_moment(moment: datetime) -> datetime:
    """``moment`` if timezone-aware and in the years :data:`MIN_YEAR`-:data:`MAX_YEAR`, else InvalidInputError."""
    try:
        offset = moment.utcoffset()
    except (ValueError, TypeError, OverflowError) as exc:  # a tzinfo of someone else's making
        raise InvalidInputError(f"the moment's timezone cannot be read: {exc}") from None
    if offset is None:
        raise InvalidInputError(f"the moment {moment.isoformat()} has no timezone; write it like {_EXAMPLE}")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InvalidInputError(
            f"the moment {moment.isoformat()} is outside the years {MIN_YEAR}-{MAX_YEAR} the package accepts"
        )
    return moment


def _duration(value: str | timedelta) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return _parsed_duration(value)


@functools.lru_cache(maxsize=256)
def _parsed_duration(value: str) -> timedelta:
    """An ISO 8601 duration read from text (a clock advanced by the same text each time reads it once)."""
    m = _DURATION.match(value)
    if not m or value == "P":
        raise InvalidInputError(f"not an ISO 8601 duration such as P3D or PT4H: {value!r}")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
    try:
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        raise InvalidInputError(f"the duration {value!r} is too long") from None


class FakeClock:
    """A clock that stands still until moved: ``to(moment)`` or ``advance("P3D")``."""

    __slots__ = ("_now",)  # a simulation or a test may give each of many cases its own

    def __init__(self, start: str | datetime) -> None:
        self._now = parse_moment(start)

    def now(self) -> datetime:
        return self._now

    def to(self, moment: str | datetime) -> datetime:
        self._now = parse_moment(moment)
        return self._now

    def advance(self, by: str | timedelta) -> datetime:
        try:
            moment = self._now + _duration(by)
        except OverflowError:
            raise InvalidInputError(f"advancing {self._now.isoformat()} by {by} leaves the calendar") from None
        self._now = check_moment(moment)
        return self._now
