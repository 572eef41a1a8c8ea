"""Case deadlines of simulated cases (限时办结, SPEC section 5): the engine's arithmetic on the simulator's clock.

The simulator counts time in float seconds since the model's epoch (midnight, Asia/Shanghai, of its start
date) and days as offsets from that date (:mod:`approvalflow.simulation.calendars`). :class:`SecondsTimeline`
is that representation as a :class:`~approvalflow.time.deadlines.Timeline`, and :class:`CaseClock` computes
deadlines and cards with :func:`approvalflow.time.deadlines.case_deadline` and
:func:`~approvalflow.time.deadlines.alert`, the definitions the engine and the case store use, on plain
floats and the cached working-day index (the fast path). ``tests/test_deadlines_agree.py`` holds the two
representations equal on random cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import cast

from ..bpmn.model import TimeLimit, Unit
from ..time.deadlines import Due, alert, case_deadline, period_end
from .calendars import DAY, DayIndex
from .model import SimulationModel

__all__ = ["CaseClock", "SecondsTimeline", "min_duration_end"]


class SecondsTimeline:
    """Moments as float seconds since the epoch, day ``k`` = ``[k * DAY, (k + 1) * DAY)``.

    ``days`` says which day offsets are working days; None: every day is one (a model without a
    working-day calendar).
    """

    __slots__ = ("days",)

    def __init__(self, days: DayIndex | None) -> None:
        self.days = days

    @property
    def name(self) -> str:
        return "the model's working days" if self.days is not None else "every day"

    def describe(self, day: int) -> str:
        return (self.days.epoch + timedelta(days=day)).isoformat() if self.days is not None else f"day {day}"

    def day(self, moment: float) -> int:
        return int(moment // DAY)

    def day_end(self, day: int) -> float:
        return (day + 1) * DAY

    def plus_hours(self, moment: float, hours: int) -> float:
        return moment + hours * 3600.0

    def plus_spans(self, moment: float, spans: Sequence[tuple[float, float]]) -> float:
        return moment + sum(e - s for s, e in spans)

    def within_days(self, at: float, end: float, days: int) -> bool:
        return end - at <= days * DAY

    def days_before(self, end: float, days: int) -> float:
        return end - days * DAY

    def is_working(self, day: int) -> bool:
        return self.days is None or self.days.is_working(day)

    def working_between(self, after: int, upto: int) -> int:
        if self.days is None:
            return max(0, upto - after)
        return self.days.between(after, upto)

    def add_working(self, start: int, n: int) -> int:
        if self.days is None:
            return start + n
        return self.days.add(start, n)


class CaseClock:
    """Case deadlines and cards from the facts of one simulated case (SPEC section 5)."""

    def __init__(self, model: SimulationModel, days: DayIndex | None) -> None:
        tl = model.graph.time_limit
        assert tl is not None
        self._set(tl, days, model.yellow_days)

    @classmethod
    def of(cls, limit: TimeLimit, days: DayIndex | None, yellow_days: int = 1) -> CaseClock:
        """The clock of a case limit ``limit`` (``af:timeLimit``) from plain values, without a model."""
        clock = cls.__new__(cls)
        clock._set(limit, days, yellow_days)
        return clock

    def _set(self, limit: TimeLimit, days: DayIndex | None, yellow_days: int) -> None:
        self.unit, self.days = limit.unit, days
        self.timeline = SecondsTimeline(days)
        self.limits = {k: v for k, v in (("promised", limit.promised), ("statutory", limit.statutory)) if v is not None}
        self.card_limit = "promised" if limit.promised is not None else "statutory"
        self.extension = limit.extension or 0
        self.yellow_days = yellow_days

    def deadline(self, amount: int, start: float, spans: list[tuple[float, float]], extended: bool) -> float:
        """The moment the period ends (exclusive): completion before it is on time."""
        due = case_deadline(self.timeline, start, amount, self.unit, spans, self.extension if extended else 0)
        return due[1]

    def _due(self, end: float) -> Due[float]:
        """The ``(day, end)`` pair of a deadline of this clock's unit that ends at ``end``."""
        day = self.timeline.day(end)
        return (day, end) if self.unit == "hour" else (day - 1, end)

    def yellow(self, deadline_end: float, at: float) -> bool:
        """Whether a case finishing at ``at`` was in the yellow window (or later) while open."""
        return alert(self.timeline, self._due(deadline_end), at, self.yellow_days) is not None


def min_duration_end(least: tuple[int, str], ready: float, days: DayIndex | None) -> float:
    """The first moment a step ready at ``ready`` may complete under ``af:minDuration`` ``(value, unit)``.

    The end of the period of ``value`` units from ``ready``, as the engine's ``min-duration`` rule counts it.
    """
    value, unit = least
    return period_end(SecondsTimeline(days), ready, value, cast(Unit, unit))[1]
