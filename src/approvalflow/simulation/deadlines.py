"""Case deadlines of simulated cases (限时办结, SPEC section 5), as :mod:`approvalflow.engine.timing` computes them.

The case clock starts when the ``startsAfter`` step completes (else at
arrival); each suspension (S, E) that began before the deadline (as already
moved) removes the working days after S's date up to and including E's date,
overlaps counted once; the approved extension adds its days; finishing on the
deadline day is on time. Moments are seconds since the model's epoch.
"""

from __future__ import annotations

from .calendars import DAY, DayIndex
from .model import SimulationModel

__all__ = ["CaseClock"]


class CaseClock:
    """Case deadlines from the facts of one simulated case (SPEC section 5)."""

    def __init__(self, model: SimulationModel, days: DayIndex | None) -> None:
        tl = model.graph.time_limit
        assert tl is not None
        self.unit, self.days = tl.unit, days
        self.limits = {k: v for k, v in (("promised", tl.promised), ("statutory", tl.statutory)) if v is not None}
        self.card_limit = "promised" if tl.promised is not None else "statutory"
        self.extension = tl.extension or 0
        self.yellow_days = model.yellow_days

    def _suspended(self, base_end: float, start: float, spans: list[tuple[float, float]]) -> float:
        """The deadline end moved later by the suspensions that began before it (overlaps count once)."""
        days, unit = self.days, self.unit
        counted: set[int] = set()
        total_time, end = 0.0, base_end
        reached = start
        for s, e in sorted(spans):
            if s >= end:
                break
            s = max(s, start)
            if e <= s:
                continue
            if unit == "hour":
                s2 = max(s, reached)
                if e > s2:
                    total_time += e - s2
                reached = max(reached, e)
                end = base_end + total_time
                continue
            counted.update(range(int(s // DAY) + 1, int(e // DAY) + 1))
            n = sum(1 for d in counted if days is None or unit == "day" or days.is_working(d))
            end = self._shift(base_end, n)
        return end

    def _shift(self, end: float, n: int) -> float:
        """A whole-day deadline ending at ``end`` moved ``n`` (working) days later."""
        if n <= 0:
            return end
        last = int(end // DAY) - 1
        if self.unit == "day" or self.days is None:
            return (last + n + 1) * DAY
        return (self.days.add(last, n) + 1) * DAY

    def deadline(self, amount: int, start: float, spans: list[tuple[float, float]], extended: bool) -> float:
        """The moment the period ends (exclusive): completion before it is on time."""
        if self.unit == "hour":
            base = start + amount * 3600.0
            end = self._suspended(base, start, spans)
            return end + (self.extension * 3600.0 if extended else 0.0)
        end = self._shift((int(start // DAY) + 1) * DAY, amount)
        end = self._suspended(end, start, spans)
        return self._shift(end, self.extension) if extended else end

    def yellow(self, deadline_end: float, at: float) -> bool:
        """Whether a case finishing at ``at`` was in the yellow window (or later) while open."""
        if at >= deadline_end:
            return True
        if self.unit == "hour":
            return deadline_end - at <= self.yellow_days * DAY
        last = int(deadline_end // DAY) - 1
        today = int(at // DAY)
        left = self.days.between(today, last) if self.days is not None else last - today
        return left <= self.yellow_days
