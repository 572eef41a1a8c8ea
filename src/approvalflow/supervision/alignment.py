"""Optimal alignments of a trace with a :class:`~approvalflow.supervision.procnet.ProcessNet`.

An alignment pairs the trace with one complete run of the model, move by move (van der Aalst, Adriansyah and
van Dongen; the definition PM4Py and ProM use):

- a *synchronous* move: the event and a visible transition with its step, together;
- a *log move*: an event the run does not have (an extra step, or a step out of its place);
- a *model move*: a visible transition the trace does not have (a skipped step);
- a *silent move*: a gateway, an event, entering or leaving a sub-process.

The standard cost function: a synchronous move costs 0, a log move 1, a visible model move 1, a silent move 0.
An optimal alignment has the least cost of all; the trace fits when it costs 0. The search is Dijkstra's over
the states (marking, events consumed), with the admissible heuristic "every remaining event whose step no
transition reachable from the marking (structurally) carries must be a log move", which makes it A*: the first
goal taken from the queue is optimal. It uses a heap and a dictionary, never recursion; it stops after
``max_states`` states or ``time_limit`` seconds and says the alignment is *undecided* (never a guess).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .procnet import ProcessNet, Transition

__all__ = ["MAX_STATES", "TIME_LIMIT", "Alignment", "Move", "Net", "align", "shortest_run"]

MAX_STATES = 200_000
"""Most states one alignment may visit before it is reported undecided."""

TIME_LIMIT = 10.0
"""Most seconds one alignment may take before it is reported undecided."""

Marking = tuple[int, ...]


@dataclass(frozen=True)
class Move:
    """One move of an alignment: ``kind`` is ``sync``, ``log``, ``model`` or ``silent``.

    ``event`` is the index of the event in the trace (sync and log moves), ``step`` the step (sync and model
    moves) or the activity as the log wrote it (log moves), ``transition`` the index of the model's transition.
    """

    kind: str
    event: int | None
    step: str | None
    transition: int | None = None


@dataclass(frozen=True)
class Alignment:
    """An optimal alignment and its cost, or (``moves`` None) why none was found."""

    moves: tuple[Move, ...] | None
    cost: int | None
    states: int
    undecided: str | None = None


class Net:
    """A :class:`ProcessNet` prepared for search: transitions by place, reachable steps by place, kept answers."""

    def __init__(self, net: ProcessNet) -> None:
        self.net = net
        self.by_place: dict[int, list[int]] = {}
        for i, t in enumerate(net.transitions):
            if t.consume:
                self.by_place.setdefault(t.consume[0], []).append(i)
        self.reach = self._reach()
        self.finish = self._finish()
        self.forced = self._forced()
        self.visible = [i for i, t in enumerate(net.transitions) if t.label is not None]
        self.by_label: dict[str, list[int]] = {}
        for i in self.visible:
            self.by_label.setdefault(net.transitions[i].label or "", []).append(i)
        self.silent = frozenset(i for i, t in enumerate(net.transitions) if t.label is None)
        self._cones: dict[tuple[int, ...], frozenset[int]] = {}
        self._closures: dict[tuple[Marking, frozenset[int]], dict[Marking, tuple[Marking, int] | None]] = {}
        self.budget = 0  # markings visited by closures, counted against the search's bound
        self._union: dict[frozenset[int], tuple[frozenset[str], int]] = {}
        self._empty_cost: int | None = None

    def _reach(self) -> dict[int, frozenset[str]]:
        """Per place, the steps of every transition structurally reachable from a token on it (a superset)."""
        after: dict[int, set[int]] = {}
        for t in self.net.transitions:
            for p in t.consume:
                after.setdefault(p, set()).update(t.produce)
        direct: dict[int, set[str]] = {}
        for t in self.net.transitions:
            if t.label is not None:
                for p in t.consume:
                    direct.setdefault(p, set()).add(t.label)
        out: dict[int, frozenset[str]] = {}
        for p in range(len(self.net.places)):
            seen, todo, steps = {p}, [p], set()
            while todo:
                q = todo.pop()
                steps |= direct.get(q, set())
                for r in after.get(q, ()):
                    if r not in seen:
                        seen.add(r)
                        todo.append(r)
            out[p] = frozenset(steps)
        return out

    def cone(self, targets: tuple[int, ...]) -> frozenset[int]:
        """The silent transitions that can bring a token, through silent moves only, to an input of ``targets``.

        A transition that needs places empty (leaving a sub-process) brings in every silent transition taking
        from those places: draining them is what enables it."""
        found = self._cones.get(targets)
        if found is not None:
            return found
        producers: dict[int, list[int]] = {}
        for i in self.silent:
            for p in self.net.transitions[i].produce:
                producers.setdefault(p, []).append(i)
        takers: dict[int, list[int]] = {}
        for i in self.silent:
            for p in self.net.transitions[i].consume:
                takers.setdefault(p, []).append(i)
        cone: set[int] = set()
        todo = list(targets)
        while todo:
            t = self.net.transitions[todo.pop()]
            for i in [
                *(i for p in t.consume for i in producers.get(p, ())),
                *(i for p in t.empty for i in takers.get(p, ())),
            ]:
                if i not in cone:
                    cone.add(i)
                    todo.append(i)
        self._cones[targets] = found = frozenset(cone)
        return found

    def closure(self, marking: Marking, cone: frozenset[int]) -> dict[Marking, tuple[Marking, int] | None]:
        """Every marking reachable from ``marking`` by silent moves of ``cone``, each with the marking and move it
        was reached by (None for ``marking`` itself); kept for the next time it is asked. Where a forced silent
        transition (:meth:`_forced`) is enabled it is the only one taken: the others can follow it."""
        key = (marking, cone)
        found = self._closures.get(key)
        if found is not None:
            return found
        found = {marking: None}
        todo = [marking]
        while todo:
            m = todo.pop()
            moves = [ti for ti in self.enabled(m) if ti in cone]
            first = next((ti for ti in moves if ti in self.forced), None)
            for ti in moves if first is None else (first,):
                after = self.fire(self.net.transitions[ti], m)
                if after not in found:
                    found[after] = (m, ti)
                    todo.append(after)
        self.budget += len(found)
        if len(self._closures) > 20_000:
            self._closures.clear()
        self._closures[key] = found
        return found

    def drain(self, marking: Marking, bound: int) -> list[int] | None:
        """Silent moves that empty ``marking`` (cost 0 whichever), or None: a depth-first walk trying first the
        move whose outputs are nearest the end (:meth:`_finish`), forced moves before choices."""
        seen = {marking}
        stack: list[tuple[Marking, list[int]]] = [(marking, [])]
        while stack and len(seen) < bound:
            m, path = stack.pop()
            if not m:
                self.budget += len(seen)
                return path
            moves = [ti for ti in self.enabled(m) if ti in self.silent]
            first = next((ti for ti in moves if ti in self.forced), None)
            chosen = moves if first is None else [first]
            chosen.sort(key=lambda ti: -max((self.finish[p] for p in self.net.transitions[ti].produce), default=-1))
            for ti in chosen:
                after = self.fire(self.net.transitions[ti], m)
                if after not in seen:
                    seen.add(after)
                    stack.append((after, [*path, ti]))
        self.budget += len(seen)
        return None

    def _forced(self) -> frozenset[int]:
        """Silent transitions that may fire as soon as they are enabled, before anything else: nothing else takes
        from their places (no choice is made), they empty nothing, and they give no token into a sub-process
        that must be empty to be left. Any alignment can fire them first without changing its cost."""
        consumers: dict[int, set[int]] = {}
        for i, t in enumerate(self.net.transitions):
            for p in t.consume:
                consumers.setdefault(p, set()).add(i)
        guarded = {p for t in self.net.transitions for p in t.empty}
        cleared = {p for t in self.net.transitions for p in t.clear}
        forced = set()
        for i, t in enumerate(self.net.transitions):
            if t.label is not None or t.clear or t.empty or not t.consume:
                continue
            if any(consumers[p] != {i} or p in cleared for p in t.consume):
                continue
            if any(p in guarded for p in t.produce) and not any(p in guarded for p in t.consume):
                continue
            forced.add(i)
        return frozenset(forced)

    def _finish(self) -> dict[int, int]:
        """Per place, the fewest visible transitions that must fire before a token on it is gone (a lower bound).

        A transition taking the token and giving others costs its own visibility plus the most any of its outputs
        needs (each output token must be gone too). Zero everywhere when some transition empties places
        (terminate end events, boundary events on sub-processes): tokens may then vanish at once."""
        places = range(len(self.net.places))
        if any(t.clear for t in self.net.transitions):
            return dict.fromkeys(places, 0)
        big = len(self.net.transitions) + 1
        dist = dict.fromkeys(places, big)
        for _ in places:  # Bellman-Ford: at most one round per place
            changed = False
            for t in self.net.transitions:
                need = (t.label is not None) + max((dist[o] for o in t.produce), default=0)
                for p in set(t.consume):
                    if need < dist[p]:
                        dist[p], changed = need, True
            if not changed:
                break
        return dist

    def facts(self, marking: Marking) -> tuple[frozenset[str], int]:
        """The steps reachable from ``marking`` and the fewest visible steps before it is empty."""
        key = frozenset(marking)
        found = self._union.get(key)
        if found is None:
            reach = frozenset().union(*(self.reach[p] for p in key)) if key else frozenset()
            found = (reach, max((self.finish[p] for p in key), default=0))
            self._union[key] = found
        return found

    def enabled(self, marking: Marking) -> list[int]:
        out = []
        for p in sorted(set(marking)):
            for i in self.by_place.get(p, ()):
                if _fires(self.net.transitions[i], marking):
                    out.append(i)
        return out

    def fire(self, t: Transition, marking: Marking) -> Marking:
        rest = list(marking)
        for p in t.consume:
            rest.remove(p)
        if t.clear:
            gone = set(t.clear)
            rest = [p for p in rest if p not in gone]
        return tuple(sorted(rest + list(t.produce)))


def _fires(t: Transition, marking: Marking) -> bool:
    if len(t.consume) == 1:
        ok = t.consume[0] in marking
    else:
        ok = all(marking.count(p) >= t.consume.count(p) for p in set(t.consume))
    return ok and not (t.empty and any(p in marking for p in t.empty))


def _heuristic(net: Net, marking: Marking, labels: Sequence[str], i: int) -> int:
    """A lower bound of the cost still to come: remaining events no reachable transition carries are log moves;
    of the rest, at most one each can pay for a visible step the model needs before it ends."""
    reach, finish = net.facts(marking)
    stuck = sum(1 for label in labels[i:] if label not in reach)
    return stuck + max(0, finish - (len(labels) - i - stuck))


# the marking, events consumed, whether the last move was a log move, the outputs of the last silent move
State = tuple[Marking, int, bool, tuple[int, ...]]
_SILENT = 0  # a silent move costs nothing
_VISIBLE = 2**32


def align(
    net: Net,
    labels: Sequence[str],
    *,
    max_states: int = MAX_STATES,
    time_limit: float = TIME_LIMIT,
    prune: bool = True,
) -> Alignment:
    """An optimal alignment of the steps ``labels`` (the trace's events, each a step of the model) with ``net``.

    Events naming no step are not given here: they can only be log moves (the caller adds them, one each).
    With ``prune`` (the default) the search takes silent moves only on the way to the visible move they lead
    to (:func:`_macro`); without it, every move from every state (a plain search, kept as the reference)."""
    if prune:
        return _macro_search(net, labels, max_states, time_limit)
    start: State = (net.net.initial, 0, False, ())
    n = len(labels)
    best: dict[State, int] = {start: 0}
    came: dict[State, tuple[State, Move]] = {}
    queue: list[tuple[int, int, int, int, State]] = [(_heuristic(net, start[0], labels, 0) * _VISIBLE, 0, 0, 0, start)]
    counter, expanded, deadline = 0, 0, time.monotonic() + time_limit
    while queue:
        _, _, _, g, state = heapq.heappop(queue)
        if best.get(state, g + 1) < g:
            continue
        marking, i, _, _ = state
        if i == n and not marking:
            return Alignment(_path(came, state), g // _VISIBLE, len(best))
        expanded += 1
        if len(best) > max_states:
            return Alignment(None, None, len(best), f"more than {max_states:,} states")
        if expanded % 512 == 0 and time.monotonic() > deadline:
            return Alignment(None, None, len(best), f"more than {time_limit:g} s")
        for move, nxt, cost in _successors(net, state, labels, False):
            ng = g + cost
            if ng < best.get(nxt, ng + 1):
                best[nxt] = ng
                came[nxt] = (state, move)
                counter -= 1  # among equals the newest first: dive towards the end of the trace
                f = ng + _heuristic(net, nxt[0], labels, nxt[1]) * _VISIBLE
                heapq.heappush(queue, (f, -nxt[1], counter, ng, nxt))
    return Alignment(None, None, len(best), "the model has no run to its end from this trace")


Macro = tuple[Marking, int, bool]  # the marking after a visible move, events consumed, after a log move
_END: Marking = (-1,)  # the state after the last silent moves that empty the marking


def _silent_path(found: dict[Marking, tuple[Marking, int] | None], m: Marking) -> list[Move]:
    path: list[Move] = []
    step = found[m]
    while step is not None:
        m, ti = step
        path.append(Move("silent", None, None, ti))
        step = found[m]
    return path[::-1]


# How a macro state was reached: the closure its silent moves came from and the marking they reached (None when
# the moves are given outright), and the moves after them.
Step = tuple[dict[Marking, tuple[Marking, int] | None] | None, Marking, tuple[Move, ...]]


def _moves(step: Step) -> list[Move]:
    found, m, after = step
    return [*(_silent_path(found, m) if found is not None else ()), *after]


def _macro(net: Net, state: Macro, labels: Sequence[str], model: bool) -> list[tuple[Step, Macro, int]]:
    """The successors of a state as (how, next state, cost): silent moves, then one visible move or a log
    move; or silent moves to the empty marking once every event is placed. Silent moves are those leading to
    the visible move (:meth:`Net.cone`); between two synchronous moves model moves come before log moves."""
    marking, i, _ = state
    out: list[tuple[Step, Macro, int]] = []
    if model:  # the model moves, asked for separately
        for ti in net.visible:
            move = Move("model", None, net.net.transitions[ti].label, ti)
            out.extend(_visible(net, marking, ti, move, (i, False), 1))
        return out
    here = labels[i] if i < len(labels) else None
    if here is not None:
        out.append(((None, marking, (Move("log", i, here),)), (marking, i + 1, True), 1))
        for ti in net.by_label.get(here, ()):
            out.extend(_visible(net, marking, ti, Move("sync", i, here, ti), (i + 1, False), 0))
    if i == len(labels):
        path = net.drain(marking, MAX_STATES)
        if path is not None:
            moves = tuple(Move("silent", None, None, ti) for ti in path)
            out.append(((None, marking, moves), (_END, i, False), 0))
    return out


def _visible(
    net: Net, marking: Marking, ti: int, move: Move, where: tuple[int, bool], cost: int
) -> list[tuple[Step, Macro, int]]:
    t = net.net.transitions[ti]
    found = net.closure(marking, net.cone((ti,)))
    return [((found, m, (move,)), (net.fire(t, m), *where), cost) for m in found if _fires(t, m)]


def _macro_search(net: Net, labels: Sequence[str], max_states: int, time_limit: float) -> Alignment:
    """A* over macro states. A state's model moves are generated only when the queue reaches them: its entry
    is pushed again (``later``) with one more than its cost, a lower bound of every model move's outcome."""
    start: Macro = (net.net.initial, 0, False)
    n = len(labels)
    best: dict[Macro, int] = {start: 0}
    came: dict[Macro, tuple[Macro, Step]] = {}
    queue: list[tuple[int, int, int, int, bool, Macro]] = [
        (_heuristic(net, start[0], labels, 0), 0, 0, 0, False, start)
    ]
    counter, deadline, net.budget = 0, time.monotonic() + time_limit, 0
    while queue:
        _, _, _, g, later, state = heapq.heappop(queue)
        if best.get(state, g + 1) < g:
            continue
        if state[0] == _END or (state[1] == n and not state[0]):
            moves: list[Move] = []
            while state in came:
                state, step = came[state]
                moves[:0] = _moves(step)
            return Alignment(tuple(moves), g, len(best) + net.budget)
        if len(best) + net.budget > max_states:
            return Alignment(None, None, len(best) + net.budget, f"more than {max_states:,} states")
        if time.monotonic() > deadline:
            return Alignment(None, None, len(best) + net.budget, f"more than {time_limit:g} s")
        if not later and not state[2]:
            counter -= 1
            heapq.heappush(queue, (g + 1, -state[1], counter, g, True, state))
        for step, nxt, cost in _macro(net, state, labels, later):
            ng = g + cost
            if ng < best.get(nxt, ng + 1):
                best[nxt] = ng
                came[nxt] = (state, step)
                counter -= 1
                h = 0 if nxt[0] == _END else _heuristic(net, nxt[0], labels, nxt[1])
                heapq.heappush(queue, (ng + h, -nxt[1], counter, ng, False, nxt))
    return Alignment(None, None, len(best) + net.budget, "the model has no run to its end from this trace")


def _successors(net: Net, state: State, labels: Sequence[str], prune: bool) -> list[tuple[Move, State, int]]:
    """Every move from a state (the plain search)."""
    marking, i, _, _ = state
    out: list[tuple[Move, State, int]] = []
    here = labels[i] if i < len(labels) else None
    for ti in net.enabled(marking):
        t = net.net.transitions[ti]
        after = net.fire(t, marking)
        if t.label is None:
            out.append((Move("silent", None, None, ti), (after, i, False, ()), _SILENT))
            continue
        if t.label == here:
            out.append((Move("sync", i, here, ti), (after, i + 1, False, ()), 0))
        out.append((Move("model", None, t.label, ti), (after, i, False, ()), _VISIBLE))
    if here is not None:
        out.append((Move("log", i, here), (marking, i + 1, False, ()), _VISIBLE))
    return out


def _path(came: dict[State, tuple[State, Move]], state: State) -> tuple[Move, ...]:
    moves: list[Move] = []
    while state in came:
        state, move = came[state]
        moves.append(move)
    return tuple(reversed(moves))


def shortest_run(net: Net, *, max_states: int = MAX_STATES, time_limit: float = TIME_LIMIT) -> int | None:
    """The fewest visible steps of a complete run (the cost of aligning the empty trace); None if undecided."""
    if net._empty_cost is None:
        net._empty_cost = align(net, (), max_states=max_states, time_limit=time_limit).cost
    return net._empty_cost
