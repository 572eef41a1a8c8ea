"""Clocks: where the engine gets "now" from. Tests and simulations use :class:`FakeClock`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from .periods import SHANGHAI

__all__ = ["Clock", "FakeClock", "SystemClock", "parse_moment"]

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current moment (timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in Asia/Shanghai."""

    def now(self) -> datetime:
        return datetime.now(SHANGHAI)


def parse_moment(value: str | datetime) -> datetime:
    """A timezone-aware moment from an ISO 8601 string or datetime; naive moments are refused."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError(f"the moment {value!s} has no timezone; write it like 2026-09-28T09:00:00+08:00")
    return moment


def _duration(value: str | timedelta) -> timedelta:
    if isinstance(value, timedelta):
        return value
    m = _DURATION.match(value)
    if not m or value == "P":
        raise ValueError(f"not an ISO 8601 duration such as P3D or PT4H: {value!r}")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


class FakeClock:
    """A clock that stands still until moved: ``to(moment)`` or ``advance("P3D")``."""

    def __init__(self, start: str | datetime) -> None:
        self._now = parse_moment(start)

    def now(self) -> datetime:
        return self._now

    def to(self, moment: str | datetime) -> datetime:
        self._now = parse_moment(moment)
        return self._now

    def advance(self, by: str | timedelta) -> datetime:
        self._now = self._now + _duration(by)
        return self._now
