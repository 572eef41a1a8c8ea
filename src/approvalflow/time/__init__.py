"""Time on China's calendar: the clock, working days, periods and deadlines.

:mod:`.deadlines` is the one definition of deadlines and yellow/red cards, over plain values and any
representation of time (a :class:`~.deadlines.Timeline`); :mod:`.periods` is its face in datetimes on a
working calendar (the engine's and the store's), :mod:`.caseclock` a case's deadlines from plain facts.

The working-day calendar: :mod:`.calendar` (official data, supplements, provisional years) and :mod:`.statutory`
(the holidays the law fixes, for years without the official arrangement).

Layer 4: imports :mod:`approvalflow.bpmn.model` and :mod:`approvalflow.io` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .calendar import (
        PROVISIONAL_YEARS_AHEAD,
        ChinaCalendar,
        FakeCalendar,
        WeekendCalendar,
        WorkingCalendar,
        YearStatus,
        provisional_years,
    )
    from .clock import Clock, FakeClock, SystemClock, parse_moment
    from .periods import SHANGHAI, Deadline, add_working_days, working_days_between
    from .statutory import law_days, law_holidays, makeup_days

__all__ = [
    "PROVISIONAL_YEARS_AHEAD", "SHANGHAI", "ChinaCalendar", "Clock", "Deadline", "FakeCalendar", "FakeClock",
    "SystemClock", "WeekendCalendar", "WorkingCalendar", "YearStatus", "add_working_days", "law_days",
    "law_holidays", "makeup_days", "parse_moment", "provisional_years", "working_days_between",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".clock": "Clock FakeClock SystemClock parse_moment",
    ".calendar": "PROVISIONAL_YEARS_AHEAD ChinaCalendar FakeCalendar WeekendCalendar WorkingCalendar YearStatus "
    "provisional_years",
    ".periods": "SHANGHAI Deadline add_working_days working_days_between",
    ".statutory": "law_days law_holidays makeup_days",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
