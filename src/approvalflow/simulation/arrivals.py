"""Arrival moments of simulated cases.

Two arrival processes (see :class:`~approvalflow.simulation.model.Arrivals`):

- a Poisson process whose rate varies by weekday and hour, and is zero on days
  off unless the model says otherwise: each gap is drawn by inverting the
  cumulative rate over hourly buckets, so a rate that changes at 09:00 or on a
  holiday is followed exactly;
- gaps drawn from a distribution, each arrival moved to the next moment
  inside the arrival calendar (Prosimos's semantics: the first case arrives at
  the start, inside the calendar).
"""

from __future__ import annotations

import random

from .calendars import DayIndex, WorkTime
from .model import SimulationError, SimulationModel

__all__ = ["arrival_times"]


def arrival_times(model: SimulationModel, n: int, rng: random.Random, days: DayIndex | None) -> list[float]:
    """The arrival moments of ``n`` cases (seconds since the epoch)."""
    arr = model.arrivals
    times: list[float] = []
    if arr.interarrival is not None:
        draw = arr.interarrival.sampler(rng)
        cal = WorkTime(arr.calendar, DayIndex(model.start, lambda d: True)) if arr.calendar else None
        t = model.start_offset
        if cal is not None:
            t = cal.next_available(t)
        for _ in range(n):
            times.append(t)
            t += draw()
            if cal is not None:
                t = cal.next_available(t)
        return times
    rates = [[r / 3600.0 for r in day] for day in arr.per_hour]  # per second
    epoch_wd = model.start.weekday()
    expo = rng.expovariate
    t = model.start_offset
    for _ in range(n):
        e = expo(1.0)
        idle = 0
        while True:
            hour = int(t // 3600)
            day = hour // 24
            rate = rates[(epoch_wd + day) % 7][hour % 24]
            if rate > 0 and not arr.on_days_off and days is not None and not days.is_working(day):
                rate = 0.0
            end = (hour + 1) * 3600.0
            if rate > 0:
                idle = 0
                if t + e / rate <= end:
                    t += e / rate
                    break
                e -= rate * (end - t)
            else:
                idle += 1
                if idle > 24 * 400:
                    raise SimulationError("the arrival rate is zero for 400 days: check arrivals and the calendar")
            t = end
        times.append(t)
    return times
