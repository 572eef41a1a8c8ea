"""Statistics of a simulation run: merging the kernel's chunks and the result's JSON.

Definitions (see docs/simulation.md):

- cycle time: from a case's arrival to the end of its last step, wall clock;
  in working days, the working days after the arrival's date up to and
  including the end's date (the way SPEC section 5 counts a period);
- waiting: the time a case's tasks spent ready but not started (queueing and
  waiting for working hours to begin); processing: their drawn durations
  (working time); both summed over the case's tasks;
- utilisation of a pool: busy time over available time (staff x working
  time) from the first arrival to the last completion;
- queue length of a pool: its time-average (total waiting time over the
  window) and the most tasks waiting at one moment;
- on time: cases that finished by the end of their deadline day, among the
  cases whose case clock started; cards: cases that finished after their
  deadline (red, 红牌) and cases that were in the yellow window (at most
  ``yellow_days`` working days left, 黄牌) or later when they finished,
  against the promised limit (the statutory one when there is none).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .kernel import ChunkStats
from .model import SimulationModel

__all__ = ["SimulationResult", "merge", "percentile"]

_BINS = 30


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of sorted values, interpolating linearly (numpy's default)."""
    if not sorted_values:
        return math.nan
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _nice(width: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at least ``width``."""
    if width <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(width))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * base >= width * (1 - 1e-9):
            return m * base
    return 10.0 * base


def _histogram(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"unit": "hours", "edges": [], "counts": []}
    lo, hi = values[0], values[-1]
    width = _nice((hi - lo) / _BINS) if hi > lo else 1.0
    first = math.floor(lo / width) * width
    n = max(1, math.ceil((hi - first) / width - 1e-9))
    if first + n * width <= hi:
        n += 1
    counts = [0] * n
    for v in values:
        counts[min(n - 1, int((v - first) / width))] += 1
    return {"unit": "hours", "edges": [round(first + k * width, 9) for k in range(n + 1)], "counts": counts}


def _summary(sorted_values: Sequence[float]) -> dict[str, float]:
    n = len(sorted_values)
    mean = math.fsum(sorted_values) / n if n else math.nan
    return {
        "mean": mean,
        "p50": percentile(sorted_values, 50),
        "p90": percentile(sorted_values, 90),
        "p99": percentile(sorted_values, 99),
    }


@dataclass
class SimulationResult:
    """The merged result of a run; :meth:`to_dict` is the JSON of ``approvalflow simulate --json``."""

    model: str
    cases: int
    seed: int | None
    replications: int
    data: dict[str, Any]
    traces: list[dict[str, Any]] = field(default_factory=list)
    cycle_hours: array[float] = field(default_factory=lambda: array("d"))

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON data (keys fixed by the project's contract)."""
        return {
            "model": self.model,
            "cases": self.cases,
            "seed": self.seed,
            "replications": self.replications,
            **self.data,
        }


def merge(
    model: SimulationModel, chunks: Sequence[ChunkStats], *, seed: int | None, replications: int, wall: float
) -> SimulationResult:
    """Merge the chunks of a run (in a fixed order) into one result."""
    cases = sum(c.cases for c in chunks)
    cycle = array("d")
    for c in chunks:
        cycle.extend(c.cycle)
    hours = sorted(v / 3600.0 for v in cycle)
    wd: list[float] | None = None
    if all(c.workdays is not None for c in chunks) and chunks:
        wd = sorted(float(v) for c in chunks for v in (c.workdays or ()))
    pools = model.pools
    util: dict[str, float] = {}
    queue: dict[str, dict[str, float | int]] = {}
    window = sum(c.window for c in chunks)
    for p, pool in enumerate(pools):
        busy = math.fsum(c.pool_busy[p] for c in chunks)
        avail = math.fsum(c.pool_available[p] for c in chunks)
        util[pool.name] = busy / avail if avail > 0 else 0.0
        wait = math.fsum(c.pool_wait[p] for c in chunks)
        queue[pool.name] = {"mean": wait / window if window > 0 else 0.0, "max": max(c.pool_qmax[p] for c in chunks)}
    steps: dict[str, dict[str, Any]] = {}
    for i, node in enumerate(model.graph.nodes):
        if node.kind not in ("task", "sign", "btask"):
            continue
        count = sum(c.step_count[i] for c in chunks)
        entry = steps.setdefault(
            node.id, {"name": node.name, "count": 0, "waiting_hours_mean": 0.0, "processing_hours_mean": 0.0}
        )
        wait = math.fsum(c.step_wait[i] for c in chunks) / 3600.0
        proc = math.fsum(c.step_proc[i] for c in chunks) / 3600.0
        old = entry["count"]
        total = old + count
        if total:
            entry["waiting_hours_mean"] = (entry["waiting_hours_mean"] * old + wait) / total
            entry["processing_hours_mean"] = (entry["processing_hours_mean"] * old + proc) / total
        entry["count"] = total
    on_time: dict[str, float | None] | None = None
    cards: dict[str, int] | None = None
    if model.has_limits:
        tl = model.graph.time_limit
        clocked = sum(c.clocked for c in chunks)
        on_time = {}
        for name, amount in (("promised", tl.promised if tl else None), ("statutory", tl.statutory if tl else None)):
            ok = sum(c.on_time.get(name, 0) for c in chunks)
            on_time[name] = ok / clocked if amount is not None and clocked else None
        cards = {"yellow": sum(c.yellow for c in chunks), "red": sum(c.red for c in chunks)}
    traces = [t for c in chunks for t in c.traces]
    data = {
        "cycle_time_hours": _summary(hours),
        "cycle_time_working_days": _summary(wd) if wd is not None else None,
        "waiting_time_hours": {"mean": math.fsum(c.waiting for c in chunks) / 3600.0 / cases if cases else 0.0},
        "processing_time_hours": {"mean": math.fsum(c.processing for c in chunks) / 3600.0 / cases if cases else 0.0},
        "utilization": util,
        "queue_length": queue,
        "on_time": on_time,
        "cards": cards,
        "steps": steps,
        "histogram": _histogram(hours),
        "wall_seconds": wall,
    }
    return SimulationResult(model.name, cases, seed, replications, data, traces, array("d", hours))
