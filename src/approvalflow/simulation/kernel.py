"""The discrete-event simulation kernel.

Semantics (the same as Prosimos's, so that the two agree on one model):

- Cases arrive by the model's arrival process. A token walks the compiled
  graph: exclusive splits draw a branch by probability, parallel gateways
  fork and join, end events finish the token; a case ends when its last
  token does.
- A task that becomes ready joins the FIFO queue of its pool; it starts when
  a member of the pool is free (the one free soonest; ties by member order)
  and inside the pool's working hours, and it ends when its drawn duration of
  *working time* has passed (work stops outside working hours and on days
  off). Tasks are committed in the order they become ready, which is FIFO.
- A task with no pool takes its duration in wall-clock time; ``after`` adds a
  wall-clock wait after a task (e.g. the applicant's time to supplement).
- A step with ``af:minDuration`` completes no earlier than the engine's
  ``min-duration`` rule allows (its staff are free after the drawn work).
- An ``af:once`` step (一次告知) is done at most once per case: a branch that
  would lead to it again is not taken (the other branches share its
  probability), so every simulated path is one the engine accepts.

The case clock (限时办结) follows SPEC section 5 and :mod:`approvalflow.engine.timing`:
it starts when the ``startsAfter`` step completes (else at arrival), open
``af:suspendsClock`` steps (and inlined call activities) move the deadlines
later by the working days they cover, the ``af:extension`` step adds the
extension, and finishing on the deadline day is on time.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from heapq import heappop, heappush, heapreplace

from .arrivals import arrival_times
from .calendars import DAY, DayIndex, Hours, WorkTime
from .compile import ProcessGraph
from .deadlines import CaseClock
from .distributions import Batch, Sampler
from .model import SimulationError, SimulationModel

__all__ = ["ChunkStats", "SimulationError", "run_chunk"]

_TASK, _XOR, _AND, _PASS, _END, _ENTER, _EXIT = range(7)
_KINDS = {"task": _TASK, "xor": _XOR, "and": _AND, "pass": _PASS, "end": _END, "enter": _ENTER, "exit": _EXIT}
_EVENTS_PER_CASE = 10_000  # more task events than this per case on average: a loop that never ends
_EVENTS_SLACK = 1_000_000


@dataclass
class ChunkStats:
    """What one run of the kernel measured (merged by :mod:`approvalflow.simulation.results`)."""

    cases: int
    cycle: array[float]  # seconds, per case
    workdays: array[int] | None  # working days per case, None without a working-day calendar
    waiting: float = 0.0  # sums over cases, seconds
    processing: float = 0.0
    window: float = 0.0  # first arrival to last completion, seconds
    pool_busy: list[float] = field(default_factory=list)
    pool_available: list[float] = field(default_factory=list)  # staff x working time in the window
    pool_wait: list[float] = field(default_factory=list)
    pool_qmax: list[int] = field(default_factory=list)
    step_count: list[int] = field(default_factory=list)
    step_wait: list[float] = field(default_factory=list)
    step_proc: list[float] = field(default_factory=list)
    clocked: int = 0  # cases whose case clock started
    on_time: dict[str, int] = field(default_factory=dict)  # promised / statutory -> cases on time
    yellow: int = 0
    red: int = 0
    traces: list[dict[str, object]] = field(default_factory=list)


_DIRECT_END = -1  # the task's token goes straight to an end event
_GENERAL = -2  # walk the graph (gateways, joins, call activities, waits, rules)
_XOR_DIRECT = -3  # an exclusive split right after the task, each branch straight to a task or an end


def _resolve(g: ProcessGraph, n: int) -> int:
    """Follow pass nodes from ``n``: the first task (index), ``_DIRECT_END``, or ``_GENERAL``."""
    for _ in range(64):
        k = g.nodes[n].kind
        if k == "task":
            return n
        if k == "end":
            return _DIRECT_END
        if k != "pass":
            return _GENERAL
        n = g.nodes[n].out[0]
    return _GENERAL


class _Plan:
    """What the loop needs, as flat lists indexed by node."""

    def __init__(self, model: SimulationModel, rng: random.Random) -> None:
        g = model.graph
        nodes = g.nodes
        self.kind = [_KINDS[x.kind] for x in nodes]
        names = [p.name for p in model.pools]
        n_nodes = len(nodes)
        self.pool_of = [-1] * n_nodes
        self.batch: list[Batch | None] = [None] * n_nodes
        self.after: list[Sampler | None] = [None] * n_nodes
        for i, x in enumerate(nodes):
            spec = model.steps.get(x.key)
            if spec is not None:
                self.batch[i] = spec.duration.batch(rng)
                self.after[i] = spec.after.sampler(rng) if spec.after is not None else None
                self.pool_of[i] = names.index(spec.pool) if spec.pool is not None else -1
            elif x.kind == "task":
                raise SimulationError(f"no duration for step '{x.id}' ({x.file}:{x.line})")
        self.cum: list[tuple[float, ...]] = [()] * n_nodes
        for i, x in enumerate(nodes):
            if x.kind == "xor":
                probs = model.branches.get(x.key) or model.branches.get(x.id) or {}
                total = sum(probs.get(f, 0.0) for f in x.flows)
                if total <= 0:
                    raise SimulationError(f"no branch of gateway '{x.id}' has a probability > 0")
                acc, row = 0.0, []
                for f in x.flows:
                    acc += probs.get(f, 0.0) / total
                    row.append(acc)
                row[-1] = 1.0
                self.cum[i] = tuple(row)
        self.once_at = [_once_target(g, i) if x.kind == "xor" else () for i, x in enumerate(nodes)]
        self.has_once = any(t >= 0 for row in self.once_at for t in row)
        self.enter_of = [g.index.get(x.key[: -len("/exit")], -1) if x.kind == "exit" else -1 for x in nodes]
        clock_on = model.has_limits
        self.least = [x.least for x in nodes]
        self.special = [
            self.after[i] is not None
            or x.least is not None
            or (self.has_once and x.once)
            or (clock_on and (x.suspends or x.extension or i == g.starts_after))
            for i, x in enumerate(nodes)
        ]
        self.next = [_GENERAL] * n_nodes
        self.xor_targets: list[tuple[int, ...]] = [()] * n_nodes
        for i, x in enumerate(nodes):
            if x.kind != "task" or len(x.out) != 1 or self.special[i]:
                continue
            first = x.out[0]
            self.next[i] = _resolve(g, first)
            if nodes[first].kind == "xor" and not any(t >= 0 for t in self.once_at[first]):
                targets = tuple(_resolve(g, o) for o in nodes[first].out)
                if _GENERAL not in targets:
                    self.next[i], self.xor_targets[i] = _XOR_DIRECT, targets
                    self.cum[i] = self.cum[first]


def run_chunk(
    model: SimulationModel,
    cases: int,
    seed: int,
    keep_traces: int = 0,
    progress: Callable[[int], None] | None = None,
) -> ChunkStats:
    """Simulate ``cases`` cases from an empty system; ``seed`` fixes every draw.

    ``progress`` is called with the number of cases arrived so far, every few thousand cases.
    """
    rng = random.Random(seed)
    g = model.graph
    nodes = g.nodes
    days = DayIndex(model.start, model.days.predicate()) if model.days is not None else None
    arrivals = arrival_times(model, cases, rng, days)
    plan = _Plan(model, rng)
    kind, out, pool_of = plan.kind, [x.out for x in nodes], plan.pool_of
    special, nxt, cum, xor_targets = plan.special, plan.next, plan.cum, plan.xor_targets
    batches = plan.batch
    bufs: list[list[float]] = [[] for _ in nodes]
    xor_direct, general, direct_end = _XOR_DIRECT, _GENERAL, _DIRECT_END
    n_nodes, n_pools = len(nodes), len(model.pools)

    def timetable(hours: Hours | None) -> WorkTime | None:
        if hours is None or (hours.whole_day and model.days is None):
            return None
        return WorkTime(hours, days if days is not None else DayIndex(model.start, lambda d: True))

    cals = [timetable(p.hours) for p in model.pools]
    servers: list[list[tuple[float, int]]] = [[(0.0, k) for k in range(p.count)] for p in model.pools]
    queued: list[list[float]] = [[] for _ in range(n_pools)]
    qmax = [0] * n_pools
    s_count = [0] * n_nodes
    s_wait = [0.0] * n_nodes
    s_proc = [0.0] * n_nodes
    tokens = [0] * cases
    c_end = [0.0] * cases
    clock_on = model.has_limits
    clock = CaseClock(model, days) if clock_on else None
    starts_after = g.starts_after
    c_clock = [-1.0] * cases
    spans: dict[int, list[tuple[float, float]]] = {}
    entered: dict[tuple[int, int], float] = {}
    extended: set[int] = set()
    once_done: dict[int, set[int]] = {}
    joins: dict[tuple[int, int], list[float]] = {}
    keep = min(keep_traces, cases)
    traced: dict[int, tuple[list[tuple[float, int, str]], dict[str, list[str]]]] = {c: ([], {}) for c in range(keep)}
    cycle = array("d", bytes(8 * cases))
    workdays = array("i", bytes(4 * cases)) if days is not None else None
    stats = ChunkStats(cases, cycle, workdays)
    heap: list[tuple[float, int, int, int]] = []
    seq = 0
    uniform = rng.random
    last_end = 0.0

    def finish(c: int) -> None:
        nonlocal last_end
        end = c_end[c]
        if end > last_end:
            last_end = end
        a = arrivals[c]
        cycle[c] = end - a
        if workdays is not None and days is not None:
            workdays[c] = days.between(int(a // DAY), int(end // DAY))
        if clock is not None:
            start = c_clock[c] if starts_after is not None else a
            if start >= 0:
                stats.clocked += 1
                sp = spans.pop(c, [])
                ext = c in extended
                for name, amount in clock.limits.items():
                    dl = clock.deadline(amount, start, sp, ext)
                    if end < dl:
                        stats.on_time[name] = stats.on_time.get(name, 0) + 1
                    if name == clock.card_limit:
                        stats.red += end >= dl
                        stats.yellow += clock.yellow(dl, end)
        if c < keep:
            done, gws = traced.pop(c)
            done.sort()
            stats.traces.append(
                {
                    "case": c,
                    "path": [s for _, _, s in done],
                    "gateways": gws,
                    "arrival": a / 3600.0,  # hours after the model's epoch (midnight of its start date)
                    "times": [(e - a) / 3600.0 for e, _, _ in done],  # completions, hours after arrival
                }
            )

    def choose(c: int, n: int) -> int:
        """The branch index an exclusive split ``n`` sends case ``c`` down."""
        row = cum[n]
        if plan.has_once:
            done = once_done.get(c)
            if done and any(t in done for t in plan.once_at[n]):
                weights = [row[j] - (row[j - 1] if j else 0.0) for j in range(len(row))]
                weights = [0.0 if plan.once_at[n][j] in done else w for j, w in enumerate(weights)]
                if sum(weights) <= 0:
                    raise SimulationError(f"every branch of '{nodes[n].id}' leads to an af:once step already done")
                u, j = uniform() * sum(weights), 0
                while j < len(row) - 1 and (u >= weights[j] or weights[j] == 0):
                    u -= weights[j]
                    j += 1
                return j
        u, j = uniform(), 0
        while u >= row[j] and j < len(row) - 1:
            j += 1
        return j

    def route(c: int, n: int, t: float) -> None:
        """Move the token of case ``c`` that leaves node ``n`` at ``t`` on, to the next tasks or the end."""
        nonlocal seq
        stack = [(o, t) for o in reversed(out[n])]
        tokens[c] += len(stack) - 1
        while stack:
            n, t = stack.pop()
            k = kind[n]
            if k == _TASK:
                heappush(heap, (t, seq, c, n))
                seq += 1
            elif k == _PASS:
                stack.append((out[n][0], t))
            elif k == _XOR:
                j = choose(c, n)
                if c < keep:
                    traced[c][1].setdefault(nodes[n].id, []).append(nodes[n].flows[j])
                stack.append((out[n][j], t))
            elif k == _END:
                tokens[c] -= 1
                if t > c_end[c]:
                    c_end[c] = t
                if tokens[c] == 0:
                    finish(c)
            else:
                if k == _AND and nodes[n].need > 1:
                    got = joins.setdefault((c, n), [0.0, t])
                    got[0] += 1
                    got[1] = max(got[1], t)
                    if got[0] < nodes[n].need:
                        tokens[c] -= 1
                        continue
                    t = joins.pop((c, n))[1]
                elif k == _ENTER and clock_on and nodes[n].suspends:
                    entered[(c, n)] = t
                elif k == _EXIT and clock_on and nodes[n].suspends:
                    t0 = entered.pop((c, plan.enter_of[n]), None)
                    if t0 is not None:
                        spans.setdefault(c, []).append((t0, t))
                tokens[c] += len(out[n]) - 1
                stack.extend((o, t) for o in reversed(out[n]))

    limit = _EVENTS_PER_CASE * cases + _EVENTS_SLACK
    events = ai = 0
    next_arrival = arrivals[0] if cases else math.inf
    pop, push = heappop, heappush
    first_task = _resolve(g, g.start) if kind[g.start] == _PASS else _GENERAL
    least = plan.least
    holds = any(x is not None for x in least)
    while True:
        if next_arrival <= (heap[0][0] if heap else math.inf):
            if ai >= cases:
                break
            tokens[ai] = 1
            c_end[ai] = next_arrival
            if first_task >= 0:
                push(heap, (next_arrival, seq, ai, first_task))
                seq += 1
            else:
                route(ai, g.start, next_arrival)
            ai += 1
            if progress is not None and not ai & 4095:
                progress(ai)
            next_arrival = arrivals[ai] if ai < cases else math.inf
            continue
        if not heap:
            break
        t, _, c, n = pop(heap)
        buf = bufs[n]
        if not buf:
            buf += batches[n](256)  # type: ignore[misc]
        dur = buf.pop()
        p = pool_of[n]
        if p >= 0:
            srv = servers[p]
            free, member = srv[0]
            start = free if free > t else t
            cal = cals[p]
            if cal is None:
                end = start + dur
            else:
                start = cal.next_available(start)
                end = cal.finish(start, dur)
            heapreplace(srv, (end, member))
            if start > t:
                s_wait[n] += start - t
                q = queued[p]
                while q and q[0] <= t:
                    pop(q)
                push(q, start)
                if len(q) > qmax[p]:
                    qmax[p] = len(q)
        else:
            end = t + dur
        if holds and least[n] is not None:
            end = max(end, _open_until(least[n], t, days))  # type: ignore[arg-type]
        s_count[n] += 1
        s_proc[n] += dur
        if c < keep:
            traced[c][0].append((end, seq, nodes[n].id))
            seq += 1
        if special[n]:
            node = nodes[n]
            if clock_on:
                if n == starts_after and c_clock[c] < 0:
                    c_clock[c] = end
                if node.suspends:
                    spans.setdefault(c, []).append((t, end))
                if node.extension:
                    extended.add(c)
            if plan.has_once and node.once:
                once_done.setdefault(c, set()).add(n)
            wait = plan.after[n]
            route(c, n, end + wait() if wait is not None else end)
            continue
        d = nxt[n]
        if d == xor_direct and c >= keep:
            u, j, row = uniform(), 0, cum[n]
            while u >= row[j] and j < len(row) - 1:
                j += 1
            d = xor_targets[n][j]
        elif d == xor_direct:
            d = general
        if d >= 0:
            push(heap, (end, seq, c, d))
            seq += 1
        elif d == direct_end:
            if end > c_end[c]:
                c_end[c] = end
            tokens[c] -= 1
            if not tokens[c]:
                finish(c)
        else:
            route(c, n, end)
        events += 1
        if events > limit:
            raise SimulationError(f"more than {_EVENTS_PER_CASE} steps per case: a loop whose exit is never taken?")

    first = arrivals[0] if cases else 0.0
    stats.window = max(0.0, last_end - first)
    tasks_of: list[list[int]] = [[] for _ in range(n_pools)]
    for i in range(n_nodes):
        if pool_of[i] >= 0:
            tasks_of[pool_of[i]].append(i)
    for p, pool in enumerate(model.pools):
        cal = cals[p]
        span = cal.available(first, last_end) if cal is not None else stats.window
        stats.pool_available.append(pool.count * span)
        stats.pool_busy.append(math.fsum(s_proc[i] for i in tasks_of[p]))
        stats.pool_wait.append(math.fsum(s_wait[i] for i in tasks_of[p]))
    stats.pool_qmax = qmax
    stats.waiting, stats.processing = math.fsum(s_wait), math.fsum(s_proc)
    stats.step_count, stats.step_wait, stats.step_proc = s_count, s_wait, s_proc
    return stats


def _once_target(g: ProcessGraph, n: int) -> tuple[int, ...]:
    """For each branch of split ``n``: the ``af:once`` task it leads to first (through pass nodes), or -1."""
    found = []
    for o in g.nodes[n].out:
        seen = 0
        while g.nodes[o].kind == "pass" and seen < 64:
            o, seen = g.nodes[o].out[0], seen + 1
        found.append(o if g.nodes[o].kind == "task" and g.nodes[o].once else -1)
    return tuple(found)


def _open_until(least: tuple[int, str], ready: float, days: DayIndex | None) -> float:
    """The first moment a step ready at ``ready`` may complete under ``af:minDuration`` (as the engine's rule)."""
    value, unit = least
    if unit == "hour":
        return ready + value * 3600.0
    day = int(ready // DAY)
    if unit == "workday" and days is not None:
        return (days.add(day, value) + 1) * DAY
    return (day + value + 1) * DAY
