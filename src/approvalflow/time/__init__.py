"""Time on China's calendar: the clock, working days, periods and deadlines.

:mod:`.deadlines` is the one definition of deadlines and yellow/red cards, over plain values and any
representation of time (a :class:`~.deadlines.Timeline`); :mod:`.periods` is its face in datetimes on a
working calendar (the engine's and the store's), :mod:`.caseclock` a case's deadlines from plain facts.

Layer 4: imports :mod:`approvalflow.bpmn.model` and :mod:`approvalflow.io` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .calendar import ChinaCalendar, FakeCalendar, WeekendCalendar, WorkingCalendar
    from .clock import Clock, FakeClock, SystemClock, parse_moment
    from .periods import SHANGHAI, Deadline, add_working_days, working_days_between

__all__ = [
    "SHANGHAI", "ChinaCalendar", "Clock", "Deadline", "FakeCalendar", "FakeClock", "SystemClock", "WeekendCalendar",
    "WorkingCalendar", "add_working_days", "parse_moment", "working_days_between",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".clock": "Clock FakeClock SystemClock parse_moment",
    ".calendar": "ChinaCalendar FakeCalendar WeekendCalendar WorkingCalendar",
    ".periods": "SHANGHAI Deadline add_working_days working_days_between",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
