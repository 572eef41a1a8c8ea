"""The case clock (限时办结, SPEC section 5) from plain facts: the case deadlines at any moment.

A case's deadlines follow from a few facts: the limits (``af:timeLimit``), when the case clock started,
when each ``af:suspendsClock`` step was open (:class:`Suspension`) and the extension granted. The engine
(:mod:`approvalflow.engine.timing`) passes them from a live case, the case store
(:mod:`approvalflow.store.index`) from the facts it indexed; both get the same answer from
:func:`case_deadlines`, whose arithmetic is :func:`approvalflow.time.deadlines.case_deadline`, the one the
simulator calls too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from approvalflow.bpmn.model import TimeLimit
from approvalflow.time.calendar import WorkingCalendar, provisional_years
from approvalflow.time.periods import Deadline, Interval, case_deadline, local_date

__all__ = ["CASE_SUSPENSION", "CaseDeadlines", "Suspension", "case_deadlines", "suspension_intervals"]

#: The ``step`` of a suspension of the whole case (中止, :meth:`approvalflow.engine.case.Case.suspend`), not of a
#: ``suspendsClock`` step: no BPMN id can be written so (an id is an XML name, without parentheses).
CASE_SUSPENSION = "(case)"


@dataclass(frozen=True, slots=True)
class Suspension:
    """A stretch of time during which a ``suspendsClock`` step was open; ``end`` is None while open."""

    step: str
    reason: str
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class CaseDeadlines:
    """The case's promised (承诺) and statutory (法定) deadlines; None where no limit or no clock yet.

    ``provisional``: the years, in order, whose working days the deadlines were counted on although their official
    arrangement is not known, computed from the law instead (:meth:`ChinaCalendar.year_status
    <approvalflow.time.calendar.ChinaCalendar.year_status>`); empty when they are final.
    """

    promised: Deadline | None
    statutory: Deadline | None
    provisional: tuple[int, ...] = ()

    def __str__(self) -> str:
        shown = ", ".join(f"{k} {self.to_json()[k] or '-'}" for k in ("promised", "statutory"))
        return shown + (f" (provisional: {', '.join(map(str, self.provisional))})" if self.provisional else "")

    def to_json(self) -> dict[str, Any]:
        """``promised`` and ``statutory`` (dates or None), and ``provisional`` (a list of years) when not empty."""
        out: dict[str, Any] = {
            "promised": self.promised.day.isoformat() if self.promised else None,
            "statutory": self.statutory.day.isoformat() if self.statutory else None,
        }
        if self.provisional:
            out["provisional"] = list(self.provisional)
        return out


def suspension_intervals(suspensions: Iterable[Suspension], at: datetime) -> list[Interval]:
    """The suspensions as ``(start, end)`` intervals, in order; one still open ends at ``at``; empty ones left out."""
    out = []
    for s in suspensions:
        end = s.end if s.end is not None else at
        if end > s.start:
            out.append((s.start, end))
    return sorted(out)


def case_deadlines(
    calendar: WorkingCalendar,
    limit: TimeLimit | None,
    clock_start: datetime | None,
    suspensions: Iterable[Suspension],
    extension_days: int | None,
    at: datetime,
) -> CaseDeadlines | None:
    """The case deadlines as of ``at``; None when there is no case limit, both None before the clock starts.

    ``limit`` is the process's ``af:timeLimit``; ``extension_days`` the extension granted (None or 0: none).
    A suspension still open at ``at`` counts up to ``at``.
    """
    if limit is None or (limit.promised is None and limit.statutory is None):
        return None
    if clock_start is None:
        return CaseDeadlines(None, None)
    intervals = suspension_intervals(suspensions, at)
    extension = extension_days or 0

    def one(amount: int | None) -> Deadline | None:
        if amount is None:
            return None
        return case_deadline(calendar, clock_start, amount, limit.unit, intervals, extension)

    promised, statutory = one(limit.promised), one(limit.statutory)
    last = max((d.day for d in (promised, statutory) if d is not None), default=None)
    uses_calendar = limit.unit == "workday" or bool(intervals)
    years = provisional_years(calendar, local_date(clock_start), last) if last and uses_calendar else ()
    return CaseDeadlines(promised, statutory, years)
