"""The kernel's side of timers (intermediate and boundary timers): see :mod:`.waits`."""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING

from ..errors import BpmnError
from .deadlines import min_duration_end
from .waits import due_after

if TYPE_CHECKING:
    from .kernel import _Run

__all__ = ["Waits"]


class Waits:
    """The timers of one kernel run: due moments, boundary timers on tasks, and each traced case's firings."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        nodes = run.model.graph.nodes
        self.active = any(x.kind in ("wait", "btask") for x in nodes)
        self.fired: dict[int, list[tuple[float, str]]] = {}  # traced case -> (moment, timer event)
        if self.active:
            _no_after_before_timers(run)

    def due(self, n: int, t: float) -> float:
        timer = self.run.nodes[n].timer
        assert timer is not None
        return due_after(timer, t, self.run.model.start, self.run.days)

    def wait(self, c: int, n: int, t: float) -> float:
        """A token of case ``c`` reaches intermediate timer ``n`` at ``t``: the moment it goes on."""
        due = self.due(n, t)
        self._fired(c, due, n)
        return due

    def _move(self, c: int, b: int, t: float) -> None:
        """A token of case ``c`` leaves boundary event ``b`` at ``t`` (an event of its own when the run defers)."""
        run = self.run
        if run.deferred:
            heappush(run.heap, (t, next(run.seq), c, ~b))
        else:
            run.route(c, b, t)

    def _fired(self, c: int, at: float, n: int) -> None:
        if c < self.run.keep:
            self.fired.setdefault(c, []).append((at, self.run.nodes[n].id))

    def annotate(self, c: int, trace: dict[str, object], end: float) -> None:
        """Case ``c``'s timer firings in its trace (``timers``: event -> hours after arrival) and its end."""
        if not self.active:
            return
        arrival = self.run.arrivals[c]
        timers: dict[str, list[float]] = {}
        for at, event in sorted(self.fired.pop(c, [])):
            if at <= end:
                timers.setdefault(event, []).append((at - arrival) / 3600.0)
        trace["timers"] = timers
        trace["end"] = (end - arrival) / 3600.0

    def btask(self, c: int, n: int, t: float) -> None:
        """Task ``n`` of case ``c`` with boundary timers, ready at ``t`` (an event of the run's heap)."""
        run = self.run
        rounds = run.signing
        p = run.plan.pool_of[n]
        dur = rounds.draw(n)
        start, work_end, member, prev = rounds.take(p, t, dur)
        end = work_end
        least = run.plan.least[n]
        if least is not None:
            end = max(end, min_duration_end(least, t, run.days))
        timers = sorted((self.due(b, t), run.nodes[b].id, b) for b in run.nodes[n].boundary)
        cut: tuple[float, int] | None = None
        for due, _event, b in timers:
            if due > end:
                break
            self._fired(c, due, b)
            if run.nodes[b].timer.interrupting:  # type: ignore[union-attr]
                cut = (due, b)
                break
            run.tokens[c] += 1  # non-interrupting: one more token, down the boundary path
            self._move(c, b, due)
        if cut is None:
            rounds.waited(n, t, start)
            run.s_proc[n] += dur
            run.s_count[n] += 1
            if c < run.keep:
                run.traced[c][0].append((end, next(run.seq), run.nodes[n].id))
            run.leave_special(c, n, t, end)
            return
        due, b = cut
        rounds.waited(n, t, min(start, due))
        if start < due:
            cal = run.cals[p] if p >= 0 else None
            stop = min(work_end, due)
            run.s_proc[n] += cal.available(start, stop) if cal is not None else stop - start
        if p >= 0 and work_end > due:
            rounds.rewind(p, member, due if start < due else prev)
        self._move(c, b, due)


def _no_after_before_timers(run: _Run) -> None:
    """Refuse a step whose ``after`` wait leads (through gateways and events) to a timer."""
    nodes, after = run.nodes, run.plan.after
    for i, x in enumerate(nodes):
        if after[i] is None:
            continue
        todo, seen = list(x.out), set()
        while todo:
            o = todo.pop()
            if o in seen:
                continue
            seen.add(o)
            if nodes[o].kind in ("wait", "btask"):
                raise BpmnError(
                    f"step '{x.id}' has an `after` wait in the model and leads to the timer of '{nodes[o].id}': the "
                    "engine starts the timer when the step completes, before that wait; model the wait as the "
                    "timer itself (not supported by the simulator)",
                    file=x.file, line=x.line, element=x.id,
                )  # fmt: skip
            if nodes[o].kind not in ("task", "sign"):
                todo.extend(nodes[o].out)
