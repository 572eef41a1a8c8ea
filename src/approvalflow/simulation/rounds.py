"""The kernel's side of signed multi-instance steps (会签, 或签, 依次审批, 票签): see :mod:`.signing`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from heapq import heapify, heappop, heappush, heapreplace
from typing import TYPE_CHECKING

from ..bpmn.model import Countersign
from ..rules.signing import decide
from .model import SimulationError
from .signing import SIGNED_KEYS, decision, follow_flow

if TYPE_CHECKING:
    from .kernel import _Run

__all__ = ["Signing"]

ENDLESS = "more than 10,000 signatures per case on average: a loop whose exit is never taken?"


class Signing:
    """The signed steps of one kernel run: their rounds in flight, and each case's simulated outcome keys.

    Its events sit in the run's heap as ``(t, seq, case, base + id)`` (``base``: the number of graph nodes), so
    that the kernel's loop hands them here in time order (:meth:`event`); ``id`` keys :attr:`pending`.
    """

    def __init__(self, run: _Run) -> None:
        self.run = run
        model = run.model
        nodes = model.graph.nodes
        self.base = len(nodes)
        self.rules: dict[int, Countersign] = {}
        self.total: dict[int, int] = {}
        self.approve: dict[int, float] = {}
        for i, x in enumerate(nodes):
            if x.kind != "sign" or x.step is None or x.step.countersign is None:
                continue
            spec = model.steps.get(x.key)
            if spec is None or spec.signers is None:
                message = f"no duration or number of signers for the multi-instance step '{x.id}'"
                raise SimulationError(message, file=x.file, line=x.line, element=x.id)
            self.rules[i], self.total[i], self.approve[i] = x.step.countersign, spec.signers, spec.approve
        self.active = bool(self.rules) or any(x.kind == "btask" for x in nodes)  # events of its own in the heap
        self.pending: dict[int, tuple[int, int, int, int]] = {}  # id -> (node, next instance, approvals, rejections)
        self.ids = itertools.count()
        self.values: dict[int, dict[str, object]] = {}  # case -> <step>_passed, _approvals, _rejections
        self.signed: dict[int, list[tuple[float, int, str, int, str]]] = {}  # traced case -> signatures
        self.events = 0

    def reach(self, c: int, n: int, t: float) -> None:
        """A token of case ``c`` reaches signed step ``n`` (or a task with boundary timers) at ``t``: its round
        starts (an event at ``t``)."""
        self._push(t, c, (n, 0, 0, 0))

    def _push(self, t: float, c: int, payload: tuple[int, int, int, int]) -> None:
        key = next(self.ids)
        self.pending[key] = payload
        heappush(self.run.heap, (t, next(self.run.seq), c, self.base + key))

    def event(self, c: int, v: int, t: float) -> None:
        """The event ``v`` of case ``c`` at ``t``: a round starts, or (依次审批) its next instance is due."""
        n, i, approvals, rejections = self.pending.pop(v - self.base)
        self.events += 1
        if self.events > self.run.limit:
            raise SimulationError(ENDLESS)
        rule = self.rules.get(n)
        if rule is None:  # a task with boundary timers (simulation.waits)
            self.run.waits.btask(c, n, t)
        elif rule.sequential:
            self._next_in_turn(c, n, t, (i, approvals, rejections))
        else:
            self._parallel(c, n, t)

    def draw(self, n: int) -> float:
        buf = self.run.bufs[n]
        if not buf:
            buf += self.run.plan.batch[n](256)  # type: ignore[misc]
        return buf.pop()

    def take(self, p: int, t: float, dur: float) -> tuple[float, float, int, float]:
        """Commit ``dur`` of work ready at ``t`` to pool ``p`` as the kernel does: (start, end, member, the
        member's free moment before)."""
        if p < 0:
            return t, t + dur, -1, 0.0
        srv = self.run.servers[p]
        prev, member = srv[0]
        start = prev if prev > t else t
        cal = self.run.cals[p]
        if cal is None:
            end = start + dur
        else:
            start = cal.next_available(start)
            end = cal.finish(start, dur)
        heapreplace(srv, (end, member))
        return start, end, member, prev

    def waited(self, n: int, t: float, start: float) -> None:
        """Waiting and queue tallies of a piece of work ready at ``t`` that left the queue at ``start``."""
        run, p = self.run, self.run.plan.pool_of[n]
        if p < 0 or start <= t:
            return
        run.s_wait[n] += start - t
        q = run.queued[p]
        while q and q[0] <= t:
            heappop(q)
        heappush(q, start)
        run.qmax[p] = max(run.qmax[p], len(q))

    def _signature(self, c: int, n: int, end: float, index: int, agree: bool) -> None:
        run = self.run
        run.s_count[n] += 1
        if c < run.keep:
            seq = next(run.seq)
            step = run.nodes[n].id
            run.traced[c][0].append((end, seq, step))
            self.signed.setdefault(c, []).append((end, seq, step, index, "agree" if agree else "disagree"))
        if run.deferred:
            run.flight.setdefault(c, []).append((end, n))

    def _next_in_turn(self, c: int, n: int, t: float, state: tuple[int, int, int]) -> None:
        """依次审批: instance ``i`` joins the queue at ``t``; once signed, the next one does, or the rule decides."""
        run = self.run
        i, approvals, rejections = state
        dur = self.draw(n)
        start, end, _member, _prev = self.take(run.plan.pool_of[n], t, dur)
        agree = run.uniform() < self.approve[n]
        self.waited(n, t, start)
        run.s_proc[n] += dur
        self._signature(c, n, end, i, agree)
        approvals, rejections = approvals + agree, rejections + (not agree)
        passed = decide(self.rules[n], self.total[n], approvals, rejections)
        if passed is None:
            self._push(end, c, (n, i + 1, approvals, rejections))
        else:
            self._decided(c, n, t, end, (passed, approvals, rejections))

    def _parallel(self, c: int, n: int, t: float) -> None:
        """All instances join the queue at ``t``; the rule decides at the deciding signature, the rest cancelled."""
        run, p, total = self.run, self.run.plan.pool_of[n], self.total[n]
        took = []
        for i in range(total):
            dur = self.draw(n)
            took.append((i, dur, *self.take(p, t, dur), run.uniform() < self.approve[n]))
        order = sorted(took, key=lambda x: (x[3], x[0]))  # by the moment signed, ties by index
        found = decision(self.rules[n], total, [x[6] for x in order])
        assert found is not None  # every opinion given: the rule has decided
        k, passed = found
        decided_at = order[k - 1][3]
        cancelled = {x[0] for x in order[k:]}
        for i, dur, start, _end, member, prev, _agree in reversed(took):
            self.waited(n, t, min(start, decided_at))
            if i not in cancelled:
                run.s_proc[n] += dur
                continue
            if start < decided_at:  # stopped in progress: its worked time counts, its signer is free from now
                cal = run.cals[p] if p >= 0 else None
                run.s_proc[n] += cal.available(start, decided_at) if cal is not None else decided_at - start
            if p >= 0:
                self.rewind(p, member, decided_at if start < decided_at else prev)
        for i, _dur, _start, end, _member, _prev, agree in order[:k]:
            self._signature(c, n, end, i, agree)
        approvals = sum(1 for x in order[:k] if x[6])
        self._decided(c, n, t, decided_at, (passed, approvals, k - approvals))

    def _decided(self, c: int, n: int, t: float, at: float, outcome: tuple[bool, int, int]) -> None:
        """The rule of signed step ``n`` decided at ``at``: the outcome keys are set, the token moves on."""
        step = self.run.nodes[n].id
        values = self.values.setdefault(c, {})
        for key, value in zip(SIGNED_KEYS, outcome, strict=True):
            values[f"{step}_{key}"] = value
        self.run.leave_special(c, n, t, at)
        if self.run.deferred:  # the entry leave_special adds: the deciding signature has its own (_signature)
            self.run.flight[c].pop()

    def rewind(self, p: int, member: int, free: float) -> None:
        """Member ``member`` of pool ``p`` is free from ``free`` (its piece of work was cancelled)."""
        _rewind(self.run.servers[p], member, free)

    def follow(self, c: int, n: int) -> int:
        """The branch a ``follow`` gateway ``n`` sends case ``c`` down: the one its conditions choose."""
        node = self.run.nodes[n]
        values = self.values.get(c, {})
        flow = follow_flow(node.branch_flows, values)
        if flow is None:
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "no signing yet"
            raise SimulationError(f"gateway '{node.id}' takes no single flow with {shown}", file=node.file,
                                  line=node.line, element=node.id)  # fmt: skip
        if c < self.run.keep:
            self.run.traced[c][1].setdefault(node.id, []).append(flow)
        return node.flows.index(flow)

    def annotate(self, c: int, trace: dict[str, object], done: Sequence[tuple[float, int, str]]) -> None:
        """Case ``c``'s signatures in its trace: ``signatures`` (step -> [instance, opinion] in the order signed)
        and ``signers`` (step -> number of signers); only those still in its path (a terminate cancels some)."""
        if not self.rules:
            return
        kept = {seq for _end, seq, _step in done}
        signatures: dict[str, list[list[object]]] = {}
        for _end, seq, step, index, opinion in sorted(self.signed.pop(c, [])):
            if seq in kept:
                signatures.setdefault(step, []).append([index, opinion])
        trace["signatures"] = signatures
        trace["signers"] = {self.run.nodes[n].id: total for n, total in self.total.items()}


def _rewind(srv: list[tuple[float, int]], member: int, free: float) -> None:
    """Member ``member`` of a pool is free from ``free`` (its instance was cancelled)."""
    for j, (_at, m) in enumerate(srv):
        if m == member:
            srv[j] = (free, member)
            heapify(srv)
            return
