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
- An inclusive split takes each non-default flow by its own probability (none
  drawn: the default flow, or without one a single flow drawn by the
  probabilities as shares, as Prosimos does); its inclusive join (matched at
  compile time, :mod:`approvalflow.bpmn.inclusive`) fires when the last of
  the tokens the split sent arrives.
- A loop task (``standardLoopCharacteristics``) is done again while its
  loopCondition holds, drawn at each check by the model's probability of
  repeating (checked after each time, and before the first with
  ``testBefore``), never more than ``loopMaximum`` times; without a condition
  it is done ``loopMaximum`` times. Each time is a piece of work of its own.
- A task with no pool takes its duration in wall-clock time; ``after`` adds a
  wall-clock wait after a task (e.g. the applicant's time to supplement).
- A step with ``af:minDuration`` completes no earlier than the engine's
  ``min-duration`` rule allows (its staff are free after the drawn work).
- An ``af:once`` step (一次告知) is done at most once per case: a branch that
  would lead to it again is not taken (the other branches share its
  probability), so every simulated path is one the engine accepts.
- A terminate end event ends its case at once: every other token is
  cancelled, a step in progress is not completed (it leaves the path and the
  step counts; its staff stay busy until its drawn end). So that this is
  decided in time order, a process with a terminate end event and parallel
  branches moves each token on at its task's completion (an event of its
  own) rather than when the task is taken up.

- A signed multi-instance step (会签, 或签, 依次审批, 票签) is one piece of
  work per signer, decided by the declared rule (:mod:`.rounds`); timers wait
  or cut a task short as the engine fires them (:mod:`.firing`). Both run as
  events of their own in the heap, handed over by :meth:`_Run.settle`.

The case clock (限时办结) follows SPEC section 5 and :mod:`approvalflow.engine.timing`:
it starts when the ``startsAfter`` step completes (else at arrival), open
``af:suspendsClock`` steps (and inlined call activities) move the deadlines
later by the working days they cover, the ``af:extension`` step adds the
extension, and finishing on the deadline day is on time.
"""

from __future__ import annotations

import itertools
import math
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from heapq import heappop, heappush, heapreplace

from .arrivals import arrival_times
from .calendars import DAY, DayIndex, Hours, WorkTime
from .compile import GraphNode, ProcessGraph
from .deadlines import CaseClock, min_duration_end
from .distributions import Batch, Sampler
from .firing import Waits
from .model import SimulationError, SimulationModel
from .rounds import Signing

__all__ = ["ChunkStats", "SimulationError", "run_chunk"]

_TASK, _XOR, _AND, _PASS, _END, _ENTER, _EXIT, _TERM, _OR, _ORJOIN, _REP = range(11)
_KINDS = {
    "task": _TASK, "xor": _XOR, "and": _AND, "pass": _PASS, "end": _END, "enter": _ENTER, "exit": _EXIT,
    "term": _TERM, "or": _OR, "orjoin": _ORJOIN, "rep": _REP,
}  # fmt: skip
_SIGN, _FOLLOW = 20, 21  # a signed multi-instance step, a gateway that follows its decision (rounds.Signing)
_WAIT, _BTASK, _BOUNDARY = 22, 23, 24  # an intermediate timer, a task with boundary timers, one (firing.Waits)
_KINDS.update(sign=_SIGN, follow=_FOLLOW, wait=_WAIT, btask=_BTASK, boundary=_BOUNDARY)
_EVENTS_PER_CASE = 10_000  # more task events than this per case on average: a loop that never ends
_EVENTS_SLACK = 1_000_000
_ENDLESS = f"more than {_EVENTS_PER_CASE} steps per case: a loop whose exit is never taken?"


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
            elif x.kind in ("task", "sign", "btask"):
                raise SimulationError(f"no duration for step '{x.id}'", file=x.file, line=x.line, element=x.id)
        self.cum: list[tuple[float, ...]] = [()] * n_nodes
        for i, x in enumerate(nodes):
            if x.kind == "xor":
                probs = model.branches.get(x.key) or model.branches.get(x.id) or {}
                total = sum(probs.get(f, 0.0) for f in x.flows)
                if total <= 0:
                    message = f"no branch of gateway '{x.id}' has a probability > 0"
                    raise SimulationError(message, file=x.file, line=x.line, element=x.id)
                acc, row = 0.0, []
                for f in x.flows:
                    acc += probs.get(f, 0.0) / total
                    row.append(acc)
                row[-1] = 1.0
                self.cum[i] = tuple(row)
        self.or_rows: list[tuple[tuple[int, float], ...]] = [()] * n_nodes
        self.or_default = [-1] * n_nodes
        for i, x in enumerate(nodes):
            if x.kind == "or":
                self.or_rows[i], self.or_default[i] = _inclusive_row(model, x)
        self.join_of = [x.join for x in nodes]
        self.rep: list[tuple[int, bool, float | None]] = [(-1, False, None)] * n_nodes
        for i, x in enumerate(nodes):
            if x.kind == "rep":
                self.rep[i] = _repeat_row(model, x)
        self.once_at = [_once_target(g, i) if x.kind == "xor" else () for i, x in enumerate(nodes)]
        self.has_once = any(t >= 0 for row in self.once_at for t in row)
        self.enter_of = [g.index.get(x.key[: -len("/exit")], -1) if x.kind == "exit" else -1 for x in nodes]
        clock_on = model.has_limits
        self.least = [x.least for x in nodes]
        self.holds = any(x is not None for x in self.least)
        # a terminate end event beside parallel branches: tokens move on at completion, in time order
        self.deferred = any(x.kind == "term" for x in nodes) and any(
            (x.kind == "and" and len(x.out) > 1) or x.kind == "or" for x in nodes
        )
        self.special = [
            self.deferred
            or self.after[i] is not None
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
    run = _Run(model, cases, random.Random(seed), keep_traces)
    run.loop(progress)
    return run.summary()


def _timetable(model: SimulationModel, days: DayIndex | None, hours: Hours | None) -> WorkTime | None:
    """A pool's working time, or None when it works around the clock."""
    if hours is None or (hours.whole_day and model.days is None):
        return None
    return WorkTime(hours, days if days is not None else DayIndex(model.start, lambda d: True))


class _Run:
    """One chunk in flight: the pools' members and queues, each case's tokens and clock, and every tally.

    :meth:`loop` is the hot path: it keeps what it touches in local variables and calls out only for the
    rarer moves, which are methods (a token walking the graph, a task with clock or ``after`` duties, a case
    finishing). ``seq`` numbers heap entries and trace entries alike, so that ties break in the order things
    happened.
    """

    def __init__(self, model: SimulationModel, cases: int, rng: random.Random, keep_traces: int) -> None:
        self.model, self.cases, self.nodes = model, cases, model.graph.nodes
        self.days = DayIndex(model.start, model.days.predicate()) if model.days is not None else None
        self.arrivals = arrival_times(model, cases, rng, self.days)
        self.plan = _Plan(model, rng)
        self.cum, self.has_once = self.plan.cum, self.plan.has_once

        self.uniform = rng.random
        self.out = [x.out for x in self.nodes]
        start = model.graph.start
        self.first_task = _resolve(model.graph, start) if self.plan.kind[start] == _PASS else _GENERAL
        n_nodes, n_pools = len(self.nodes), len(model.pools)
        self.cals = [_timetable(model, self.days, p.hours) for p in model.pools]
        self.servers: list[list[tuple[float, int]]] = [[(0.0, k) for k in range(p.count)] for p in model.pools]
        self.queued: list[list[float]] = [[] for _ in range(n_pools)]
        self.qmax = [0] * n_pools
        self.s_count, self.s_wait, self.s_proc = [0] * n_nodes, [0.0] * n_nodes, [0.0] * n_nodes
        self.tokens, self.c_end, self.c_clock = [1] * cases, list(self.arrivals), [-1.0] * cases  # one token at arrival
        self.clock = CaseClock(model, self.days) if model.has_limits else None
        self.starts_after = model.graph.starts_after
        self.spans: dict[int, list[tuple[float, float]]] = {}
        self.entered: dict[tuple[int, int], float] = {}
        self.extended: set[int] = set()
        self.once_done: dict[int, set[int]] = {}
        self.joins: dict[tuple[int, int], list[float]] = {}
        self.or_need: dict[tuple[int, int], int] = {}  # (case, inclusive join) -> the tokens its split sent
        self.iters: dict[tuple[int, int], int] = {}  # (case, rep node) -> times it sent the token back to its task
        self.deferred = self.plan.deferred
        self.dead: set[int] = set()  # cases a terminate end event ended (their entries left in the heap are dropped)
        self.flight: dict[int, list[tuple[float, int]]] = {}  # deferred: case -> (end, task) of each task taken up
        self.keep = min(keep_traces, cases)
        self.traced: dict[int, tuple[list[tuple[float, int, str]], dict[str, list[str | list[str]]]]] = {
            c: ([], {}) for c in range(self.keep)
        }
        workdays = array("i", bytes(4 * cases)) if self.days is not None else None
        self.stats = ChunkStats(cases, array("d", bytes(8 * cases)), workdays)
        self.heap: list[tuple[float, int, int, int]] = []
        self.bufs: list[list[float]] = [[] for _ in self.nodes]  # drawn durations per node, taken from the end
        self.seq = itertools.count()
        self.limit = _EVENTS_PER_CASE * cases + _EVENTS_SLACK  # task events before the run is called endless
        self.last_end = 0.0
        self.signing = Signing(self)  # signed multi-instance steps: events of their own in the heap
        self.waits = Waits(self)  # timers
        self.settles = self.deferred or self.signing.active  # settle also hands the signing and timer events over

    def loop(self, progress: Callable[[int], None] | None) -> None:
        """Complete the tasks due before each arrival, then take the arrival; at the end, the tasks left."""
        cases, heap, nodes, plan, deferred = self.cases, self.heap, self.nodes, self.plan, self.settles
        batches, pool_of, special, nxt, cum = plan.batch, plan.pool_of, plan.special, plan.next, plan.cum
        least, xor_targets, servers, cals, queued = plan.least, plan.xor_targets, self.servers, self.cals, self.queued
        s_count, s_wait, s_proc, qmax, tokens = self.s_count, self.s_wait, self.s_proc, self.qmax, self.tokens
        keep, traced, uniform, tick, c_end = self.keep, self.traced, self.uniform, self.seq.__next__, self.c_end
        route, leave, finish, pop, push = self.route, self.leave_special, self.finish, heappop, heappush
        xor_direct, general, direct_end, limit, events = _XOR_DIRECT, _GENERAL, _DIRECT_END, self.limit, 0
        first_task, start_node, bufs, holds = self.first_task, self.model.graph.start, self.bufs, plan.holds
        for ai, until in enumerate(itertools.chain(self.arrivals, (math.inf,))):
            while heap and heap[0][0] < until:
                t, _, c, n = pop(heap)
                if deferred and self.settle(c, n, t):
                    continue
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
                    if start > t:  # it waited in the pool's queue
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
                    end = max(end, _open_until(least[n], t, self.days))  # type: ignore[arg-type]
                s_count[n] += 1
                s_proc[n] += dur
                if c < keep:
                    traced[c][0].append((end, tick(), nodes[n].id))
                if special[n]:
                    leave(c, n, t, end)
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
                    push(heap, (end, tick(), c, d))
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
                    raise SimulationError(_ENDLESS)
            if ai >= cases:
                break
            if first_task >= 0:  # the case arrives; its token goes to the first task (tokens, c_end: __init__)
                push(heap, (until, tick(), ai, first_task))
            else:
                route(ai, start_node, until)
            if progress is not None and not (ai + 1) & 4095:
                progress(ai + 1)

    def leave_special(self, c: int, n: int, t: float, end: float) -> None:
        """Task ``n`` of case ``c``, ready at ``t``, ends at ``end``: its clock, ``af:once`` and ``after`` duties."""
        node = self.nodes[n]
        if self.clock is not None:
            if n == self.starts_after and self.c_clock[c] < 0:
                self.c_clock[c] = end
            if node.suspends:
                self.spans.setdefault(c, []).append((t, end))
            if node.extension:
                self.extended.add(c)
        if self.plan.has_once and node.once:
            self.once_done.setdefault(c, set()).add(n)
        wait = self.plan.after[n]
        if self.deferred:  # the token moves on when the task completes (``settle``), unless the case ends first
            self.flight.setdefault(c, []).append((end, n))
            heappush(self.heap, (end + wait() if wait is not None else end, next(self.seq), c, ~n))
            return
        self.route(c, n, end + wait() if wait is not None else end)

    def settle(self, c: int, n: int, t: float) -> bool:
        """Deferred moves: drop an entry of an ended case; move the token of a completed task (``~task``) on."""
        if c in self.dead:
            return True
        if n >= self.signing.base:
            self.signing.event(c, n, t)
            return True
        if n < 0:
            self.route(c, ~n, t)
            return True
        return False

    def terminate(self, c: int, t: float) -> None:
        """A terminate end event of case ``c`` at ``t``: every other token is cancelled, the case ends now."""
        self.dead.add(c)
        for end, n in self.flight.pop(c, ()):
            if end > t:  # in progress: cancelled, not completed (its staff stay busy until ``end``)
                self.s_count[n] -= 1
        if c < self.keep:
            done = self.traced[c][0]
            done[:] = [e for e in done if e[0] <= t]
        for key in [k for k in self.joins if k[0] == c]:
            del self.joins[key]
        for key in [k for k in self.or_need if k[0] == c]:
            del self.or_need[key]
        for key in [k for k in self.iters if k[0] == c]:
            del self.iters[key]
        for key in [k for k in self.entered if k[0] == c]:
            self.spans.setdefault(c, []).append((self.entered.pop(key), t))
        if t > self.c_end[c]:
            self.c_end[c] = t
        self.finish(c)

    def route(self, c: int, n: int, t: float) -> None:
        """Move the token of case ``c`` that leaves node ``n`` at ``t`` on, to the next tasks or the end."""
        kind, out, nodes, tokens = self.plan.kind, self.out, self.nodes, self.tokens
        stack = [(o, t) for o in reversed(out[n])]
        tokens[c] += len(stack) - 1
        while stack:
            n, t = stack.pop()
            k = kind[n]
            if k == _TASK:
                heappush(self.heap, (t, next(self.seq), c, n))
            elif k == _PASS:
                stack.append((out[n][0], t))
            elif k == _XOR:
                j = self.choose(c, n)
                if c < self.keep:
                    self.traced[c][1].setdefault(nodes[n].id, []).append(nodes[n].flows[j])
                stack.append((out[n][j], t))
            elif k == _OR:
                js = self.fork(c, n)
                tokens[c] += len(js) - 1
                stack.extend((out[n][j], t) for j in reversed(js))
            elif k == _REP:
                if self.again(c, n):
                    stack.append((out[n][0], t))
                else:
                    tokens[c] += len(out[n]) - 2
                    stack.extend((o, t) for o in reversed(out[n][1:]))
            elif k == _ORJOIN:
                joined = self._or_join(c, n, t)
                if joined is None:
                    tokens[c] -= 1
                    continue
                stack.append((out[n][0], joined))
            elif k in (_END, _TERM):  # the case finishes with its last token, or at once (terminate)
                if k == _TERM and self.deferred:
                    self.terminate(c, t)
                    return
                if t > self.c_end[c]:
                    self.c_end[c] = t
                tokens[c] -= 1
                if not tokens[c]:
                    self.finish(c)
            elif _SIGN <= k < _BOUNDARY:  # signed steps, timers, a gateway after a signing (rounds, firing)
                self.own_kind(c, n, t, k, stack)
            else:
                if k == _AND and nodes[n].need > 1:
                    joined = self._join(c, n, t)
                    if joined is None:
                        tokens[c] -= 1
                        continue
                    t = joined
                elif k == _ENTER and self.clock is not None and nodes[n].suspends:
                    self.entered[(c, n)] = t
                elif k == _EXIT and self.clock is not None and nodes[n].suspends:
                    t0 = self.entered.pop((c, self.plan.enter_of[n]), None)
                    if t0 is not None:
                        self.spans.setdefault(c, []).append((t0, t))
                tokens[c] += len(out[n]) - 1
                stack.extend((o, t) for o in reversed(out[n]))

    def own_kind(self, c: int, n: int, t: float, k: int, stack: list[tuple[int, float]]) -> None:
        """A token of case ``c`` at ``t`` reaches node ``n`` of kind ``k``: a signed step or a task with boundary
        timers (an event of its own), an intermediate timer (on at its due moment) or a ``follow`` gateway."""
        if k == _FOLLOW:
            stack.append((self.out[n][self.signing.follow(c, n)], t))
        elif k == _WAIT:
            due = self.waits.wait(c, n, t)
            if self.deferred:  # in time order: the token goes on at an event of its own
                heappush(self.heap, (due, next(self.seq), c, ~n))
            else:
                stack.append((self.out[n][0], due))
        else:
            self.signing.reach(c, n, t)

    def _join(self, c: int, n: int, t: float) -> float | None:
        """A token of case ``c`` reaches parallel join ``n`` at ``t``: the time it fires, or None while it waits."""
        got = self.joins.setdefault((c, n), [0.0, t])
        got[0] += 1
        got[1] = max(got[1], t)
        if got[0] < self.nodes[n].need:
            return None
        return self.joins.pop((c, n))[1]

    def fork(self, c: int, n: int) -> list[int]:
        """The flows (indices) inclusive split ``n`` sends case ``c`` down: each non-default flow by its own
        probability; none drawn, the default flow, or without one a single flow drawn by the probabilities as
        shares (Prosimos's rule). The split's join is told how many tokens to wait for."""
        plan, uniform = self.plan, self.uniform
        row = plan.or_rows[n]
        js = [j for j, p in row if uniform() < p]
        if not js:
            js = [plan.or_default[n]] if plan.or_default[n] >= 0 else [_by_share(row, uniform())]
        x = self.nodes[n]
        key = (c, plan.join_of[n])
        if key in self.or_need:
            message = f"a second token of one case reached inclusive split '{x.id}' before its join fired"
            raise SimulationError(message, file=x.file, line=x.line, element=x.id)
        self.or_need[key] = len(js)
        if c < self.keep:
            self.traced[c][1].setdefault(x.id, []).append([x.flows[j] for j in js])
        return js

    def again(self, c: int, n: int) -> bool:
        """Whether loop task ``n``'s ``rep`` node sends case ``c``'s token back to the task (as the engine: done
        ``loopMaximum`` times, never again; else again while the ``loopCondition``, drawn by the model's probability,
        holds; without a condition, until ``loopMaximum``)."""
        maximum, before, p = self.plan.rep[n]
        key = (c, n)
        sent = self.iters.get(key, 0)
        at_most = 0 <= maximum <= sent + (0 if before else 1)  # done loopMaximum times: the engine stops
        go = not at_most and (p is None or self.uniform() < p)
        if go:
            self.iters[key] = sent + 1
        else:
            self.iters.pop(key, None)
        if c < self.keep:
            self.traced[c][1].setdefault(self.nodes[n].id, []).append("again" if go else "done")
        return go

    def _or_join(self, c: int, n: int, t: float) -> float | None:
        """A token of case ``c`` reaches inclusive join ``n`` at ``t``: the time it fires (the last of the tokens its
        split sent has arrived), or None while it waits."""
        key = (c, n)
        need = self.or_need.get(key)
        if need is None:
            x = self.nodes[n]
            message = f"a token reached inclusive join '{x.id}' that its split did not send"
            raise SimulationError(message, file=x.file, line=x.line, element=x.id)
        got = self.joins.setdefault(key, [0.0, t])
        got[0] += 1
        got[1] = max(got[1], t)
        if got[0] < need:
            return None
        del self.or_need[key]
        return self.joins.pop(key)[1]

    def choose(self, c: int, n: int) -> int:
        """The branch index an exclusive split ``n`` sends case ``c`` down."""
        row = self.cum[n]
        if self.has_once:
            done = self.once_done.get(c)
            if done and any(t in done for t in self.plan.once_at[n]):
                return self._choose_not_done(n, row, done)
        u, j = self.uniform(), 0
        while u >= row[j] and j < len(row) - 1:
            j += 1
        return j

    def _choose_not_done(self, n: int, row: tuple[float, ...], done: set[int]) -> int:
        """As :meth:`choose`, without the branches that lead to an ``af:once`` step the case has done."""
        once_at = self.plan.once_at[n]
        weights = [row[j] - (row[j - 1] if j else 0.0) for j in range(len(row))]
        weights = [0.0 if once_at[j] in done else w for j, w in enumerate(weights)]
        if sum(weights) <= 0:
            x = self.nodes[n]
            message = f"every branch of '{x.id}' leads to an af:once step already done"
            raise SimulationError(message, file=x.file, line=x.line, element=x.id)
        u, j = self.uniform() * sum(weights), 0
        while j < len(row) - 1 and (u >= weights[j] or weights[j] == 0):
            u -= weights[j]
            j += 1
        return j

    def finish(self, c: int) -> None:
        """Case ``c``'s last token has ended: its cycle time, working days, time limits and trace."""
        end, a = self.c_end[c], self.arrivals[c]
        if end > self.last_end:
            self.last_end = end
        self.stats.cycle[c] = end - a
        days, workdays = self.days, self.stats.workdays
        if workdays is not None and days is not None:
            workdays[c] = days.between(int(a // DAY), int(end // DAY))
        if self.clock is not None:
            self._tally_clock(c, a, end, self.clock)
        if c < self.keep:
            self._keep_trace(c, a)

    def _tally_clock(self, c: int, arrival: float, end: float, clock: CaseClock) -> None:
        """Whether case ``c``, done at ``end``, met each time limit, and whether it went yellow or red (限时办结)."""
        start = self.c_clock[c] if self.starts_after is not None else arrival
        if start < 0:
            return
        stats = self.stats
        stats.clocked += 1
        sp = self.spans.pop(c, [])
        ext = c in self.extended
        for name, amount in clock.limits.items():
            dl = clock.deadline(amount, start, sp, ext)
            if end < dl:
                stats.on_time[name] = stats.on_time.get(name, 0) + 1
            if name == clock.card_limit:
                stats.red += end >= dl
                stats.yellow += clock.yellow(dl, end)

    def _keep_trace(self, c: int, arrival: float) -> None:
        """Case ``c``'s path, gateway choices and completion times, for ``keep_traces``."""
        done, gws = self.traced.pop(c)
        done.sort()
        self.stats.traces.append(
            {
                "case": c,
                "path": [s for _, _, s in done],
                "gateways": gws,
                "arrival": arrival / 3600.0,  # hours after the model's epoch (midnight of its start date)
                "times": [(e - arrival) / 3600.0 for e, _, _ in done],  # completions, hours after arrival
            }
        )
        self.signing.annotate(c, self.stats.traces[-1], done)
        self.waits.annotate(c, self.stats.traces[-1], self.c_end[c])

    def summary(self) -> ChunkStats:
        """The tallies of the finished run, with each pool's busy, available and waiting time."""
        stats, pool_of, s_wait, s_proc = self.stats, self.plan.pool_of, self.s_wait, self.s_proc
        first = self.arrivals[0] if self.cases else 0.0
        stats.window = max(0.0, self.last_end - first)
        tasks_of: list[list[int]] = [[] for _ in self.model.pools]
        for i, p in enumerate(pool_of):
            if p >= 0:
                tasks_of[p].append(i)
        for p, pool in enumerate(self.model.pools):
            cal = self.cals[p]
            span = cal.available(first, self.last_end) if cal is not None else stats.window
            stats.pool_available.append(pool.count * span)
            stats.pool_busy.append(math.fsum(s_proc[i] for i in tasks_of[p]))
            stats.pool_wait.append(math.fsum(s_wait[i] for i in tasks_of[p]))
        stats.pool_qmax = self.qmax
        stats.waiting, stats.processing = math.fsum(s_wait), math.fsum(s_proc)
        stats.step_count, stats.step_wait, stats.step_proc = self.s_count, s_wait, s_proc
        return stats


def _inclusive_row(model: SimulationModel, x: GraphNode) -> tuple[tuple[tuple[int, float], ...], int]:
    """Inclusive split ``x``: (flow index, probability) of each non-default flow, and the default flow's index (-1)."""
    probs = model.branches.get(x.key) or model.branches.get(x.id) or {}
    row = tuple((j, probs.get(f, 0.0)) for j, f in enumerate(x.flows) if f != x.default)
    for j, p in row:
        if not 0.0 <= p <= 1.0:  # NaN too
            message = f"flow '{x.flows[j]}' of inclusive gateway '{x.id}' has probability {p!r}, not in [0, 1]"
            raise SimulationError(message, file=x.file, line=x.line, element=x.id)
    default = x.flows.index(x.default) if x.default in x.flows else -1
    if default < 0 and not any(p > 0 for _, p in row):
        message = f"no flow of inclusive gateway '{x.id}' has a probability > 0, and it has no default flow"
        raise SimulationError(message, file=x.file, line=x.line, element=x.id)
    return row, default


def _repeat_row(model: SimulationModel, x: GraphNode) -> tuple[int, bool, float | None]:
    """Loop task ``x`` (its ``rep`` node): loopMaximum (-1: none), testBefore, and the probability that its
    loopCondition holds at each check (None: it has no condition)."""
    loop = x.loop
    if loop is None:  # compile gives every rep node its loop
        raise SimulationError(f"loop task '{x.id}' has no loop characteristics", file=x.file, line=x.line, element=x.id)
    maximum = loop.maximum if loop.maximum is not None else -1
    if loop.condition is None:
        return maximum, loop.test_before, None
    p = (model.branches.get(x.key) or {}).get("again")
    if p is None or not 0.0 <= p <= 1.0 or (p == 1.0 and maximum < 0):
        message = (
            f"loop task '{x.id}' needs a probability of repeating in [0, 1) (1 only with a loopMaximum), not {p!r}"
        )
        raise SimulationError(message, file=x.file, line=x.line, element=x.id)
    return maximum, loop.test_before, p


def _by_share(row: tuple[tuple[int, float], ...], u: float) -> int:
    """The flow of ``row`` that ``u`` (uniform in [0, 1)) falls on, each flow's probability taken as its share."""
    left, last = u * sum(p for _, p in row), -1
    for j, p in row:
        if p <= 0:
            continue
        last = j
        if left < p:
            return j
        left -= p
    return last


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
    return min_duration_end(least, ready, days)
