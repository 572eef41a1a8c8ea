"""Inclusive gateways the engine and the simulator run: block-structured, each split matched to its inclusive join.

The loader refuses every inclusive join outside such a block, and every block whose join SpiffWorkflow 3.2 fires
too early (below), by name (:func:`inclusive_refusal`): an engine that ran them would take the step after the join
while a branch is still open. The simulator refuses the same, and also inclusive splits without a join (it counts
tokens per block).

An inclusive split (an ``inclusiveGateway`` with one incoming and several outgoing flows) sends a token down each
flow it takes; its inclusive join (one with several incoming flows and one outgoing) waits for exactly those
tokens. The simulator and the replay (:mod:`approvalflow.simulation.replay`) count them, which is right only when
the two gateways enclose a *block*: every node reached from the split's flows before the join

- is reached only from the split or from inside the block (no flow enters the block from outside);
- leads on to the join: no branch ends inside the block (an end event, a node without outgoing flows) or leaves it
  by a flow to a node after the join, and no flow leads back to the split (a loop around the split);
- is no parallel gateway (a fork inside the block could send more tokens to the join than the split sent);

and every branch reaches the same join.

The engine narrows this further. SpiffWorkflow 3.2's inclusive join fires when no join task under an unfinished
parent is still *definite* and a walk back from its waiting inputs (following the first input of each node only)
meets no ready or waiting task (``SpiffWorkflow/bpmn/specs/mixins/inclusive_gateway.py``). A join task after an
undecided exclusive or inclusive split is only predicted, and the walk misses branches, so the engine fires the join
early (the step after it becomes ready while a consultation is still open) when a branch splits or merges (an
exclusive gateway, a nested inclusive block, a rework loop inside the branch), and, since it looks only at the first
join task on each path of its task tree, when a loop runs the block a second time. Replay found each of these
(``tests/test_simulation_inclusive.py``). The simulator therefore runs only blocks whose branches are plain
sequences (steps, events without a definition, call activities and embedded sub-processes, whatever is inside
them) with no loop around the block, where the engine's join waits exactly for the tokens the split sent.

Every other use is refused by :func:`inclusive_blocks` naming the gateway or the node at fault: an inclusive
gateway that both joins and splits, a join no split is matched to, a split whose branches never meet, the
breaches above, and a branch that splits or merges or a loop around the block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import NotExecutableError

if TYPE_CHECKING:
    from .annotations import ProcessInfo

__all__ = ["inclusive_blocks", "inclusive_refusal"]

_OR = "inclusiveGateway"


class _Blocks:
    def __init__(
        self,
        kinds: Mapping[str, str],
        targets: Mapping[str, Sequence[str]],
        fail: Callable[[str, str], Exception],
    ) -> None:
        self.kinds, self.targets, self.fail = kinds, targets, fail
        self.preds: dict[str, list[str]] = {}
        for source, outs in targets.items():
            for t in outs:
                self.preds.setdefault(t, []).append(source)
        self.found: dict[str, tuple[str, frozenset[str]]] = {}  # split -> (join, the nodes between them)

    def is_split(self, n: str) -> bool:
        return self.kinds.get(n) == _OR and len(self.targets.get(n, ())) > 1

    def is_join(self, n: str) -> bool:
        return self.kinds.get(n) == _OR and len(self.preds.get(n, ())) > 1

    def block(self, split: str, inside: tuple[str, ...] = ()) -> tuple[str, frozenset[str]]:
        """The join of ``split`` and the nodes strictly between them (``inside``: the splits being walked)."""
        if split in self.found:
            return self.found[split]
        region: set[str] = set()
        join: str | None = None
        ends: list[str] = []
        todo = list(self.targets[split])
        while todo:
            n = todo.pop()
            if n == split or n in inside:
                raise self.fail(split, f"a flow inside its block leads back to inclusive split '{n}' (a loop "
                                       "around the split)")  # fmt: skip
            if self.is_join(n):
                if join is not None and join != n:
                    raise self.fail(split, f"its branches reach two inclusive joins, '{join}' and '{n}'")
                join = n
                continue
            if n in region:
                continue
            region.add(n)
            if self.is_split(n):
                inner_join, inner = self.block(n, (*inside, split))
                region.update(inner | {inner_join})
                todo.extend(self.targets[inner_join])
                continue
            if self.kinds.get(n) == "parallelGateway":
                raise self.fail(n, f"parallel gateway '{n}' is inside the block of inclusive split '{split}'")
            if not self.targets.get(n):
                ends.append(n)
            todo.extend(self.targets.get(n, ()))
        if ends:
            self.leaves(split, join, region)
            raise self.fail(ends[0], f"a branch of inclusive split '{split}' ends at '{ends[0]}' before reaching "
                                     "its join")  # fmt: skip
        if join is None:
            raise self.fail(split, "its branches never meet at an inclusive join")
        for n in (*sorted(region), join):
            for p in self.preds.get(n, []):
                if p != split and p not in region:
                    raise self.fail(n, f"'{n}' is inside the block of inclusive split '{split}' (up to its join "
                                       f"'{join}') but is also reached from '{p}', outside that block")  # fmt: skip
        self.engine_limits(split, join, region)
        self.found[split] = (join, frozenset(region))
        return self.found[split]

    def engine_limits(self, split: str, join: str, region: set[str]) -> None:
        """Refuse the blocks whose join SpiffWorkflow 3.2 fires too early: a branch that splits or merges (an
        exclusive or inclusive gateway inside it, a loop), or a loop that runs the block again."""
        why = (
            f"SpiffWorkflow 3.2 may fire the inclusive join '{join}' before every token of such a block has arrived, "
            "so neither the engine nor the simulator runs it"
        )
        for n in sorted(region):
            if len(self.targets.get(n, ())) > 1:
                raise self.fail(n, f"'{n}' splits a branch of inclusive split '{split}'; {why}")
        for n in sorted(region):
            if len(self.preds.get(n, ())) > 1:
                raise self.fail(n, f"'{n}' merges flows inside the block of inclusive split '{split}'; {why}")
        seen: set[str] = set()
        todo = list(self.targets.get(join, ()))
        while todo:
            n = todo.pop()
            if n == split:
                raise self.fail(split, f"a loop leads from its join '{join}' back to it, running the block again; "
                                       f"{why}")  # fmt: skip
            if n not in seen:
                seen.add(n)
                todo.extend(self.targets.get(n, ()))

    def leaves(self, split: str, join: str | None, region: set[str]) -> None:
        """Refuse a branch of ``split`` that reaches nodes after its ``join`` without passing it, naming the first."""
        if join is None:
            return
        after: set[str] = set()
        todo = list(self.targets.get(join, ()))
        while todo:
            n = todo.pop()
            if n not in after:
                after.add(n)
                todo.extend(self.targets.get(n, ()))
        leaked = region & after
        inside = (region - leaked) | {split}
        first = sorted(n for n in leaked if any(p in inside for p in self.preds.get(n, ())))
        if first:
            why = (
                f"a branch of inclusive split '{split}' leaves its block: it reaches '{first[0]}', which comes after "
                f"the join '{join}', without passing the join"
            )
            raise self.fail(first[0], why)


def inclusive_blocks(
    kinds: Mapping[str, str],
    targets: Mapping[str, Sequence[str]],
    fail: Callable[[str, str], Exception],
    *,
    joinless: bool = False,
) -> dict[str, str]:
    """Each inclusive split of one process (or one sub-process scope) with its inclusive join.

    ``kinds``: node id -> BPMN kind (``inclusiveGateway``, ``parallelGateway``, ...); ``targets``: node id -> the
    target of each outgoing flow. ``fail(node, reason)`` makes the exception raised for a use of an inclusive
    gateway that is not block-structured (see the module). An inclusive gateway with one incoming and one outgoing
    flow (or none incoming) is neither split nor join: it passes. With ``joinless`` (the engine's check, by the
    loader), a split from which no inclusive join can be reached is let be: its branches end apart, and nothing
    waits for their tokens (the simulator, which counts tokens per block, passes ``joinless=False``).
    """
    b = _Blocks(kinds, targets, fail)
    for n in sorted(kinds):
        if kinds[n] != _OR:
            continue
        if not targets.get(n):
            raise fail(n, "the inclusive gateway has no outgoing flow")
        if b.is_split(n) and b.is_join(n):
            raise fail(n, "the inclusive gateway both joins and splits; draw the join and the split as two gateways")
    splits = [s for s in sorted(kinds) if b.is_split(s) and (not joinless or _reaches_join(b, s))]
    matched = {s: b.block(s)[0] for s in splits}
    seen: dict[str, str] = {}
    for s, j in matched.items():
        if j in seen:
            raise fail(j, f"inclusive join '{j}' closes two inclusive splits, '{seen[j]}' and '{s}'")
        seen[j] = s
    for n in sorted(kinds):
        if b.is_join(n) and n not in seen:
            raise fail(n, "the inclusive join has no inclusive split whose branches all lead to it")
    return matched


def _reaches_join(b: _Blocks, split: str) -> bool:
    """Whether an inclusive join can be reached from ``split``."""
    seen: set[str] = set()
    todo = list(b.targets.get(split, ()))
    while todo:
        n = todo.pop()
        if b.is_join(n):
            return True
        if n not in seen:
            seen.add(n)
            todo.extend(b.targets.get(n, ()))
    return False


class _Refused(NotExecutableError):
    """Carries the node at fault and the reason out of the block walk; :func:`inclusive_refusal` words it."""

    def __init__(self, node: str, why: str) -> None:
        super().__init__(why, element=node)
        self.node, self.why = node, why


def inclusive_refusal(info: ProcessInfo, file: str | None) -> NotExecutableError | None:
    """Why the engine cannot run the inclusive joins of process ``info`` (None when it can), at the node at fault.

    Each inclusive join must close the block of one inclusive split whose branches are plain sequences, with no loop
    around it (see the module): elsewhere SpiffWorkflow 3.2 may fire the join before every branch has arrived.
    Inclusive splits whose branches never meet again are let be (``joinless``).
    """
    kinds = {n.id: n.kind for n in info.nodes.values()}
    if "inclusiveGateway" not in kinds.values():
        return None
    targets: dict[str, list[str]] = {}
    for flow in info.flows.values():
        targets.setdefault(flow.source, []).append(flow.target)
    try:
        inclusive_blocks(kinds, targets, _Refused, joinless=True)
    except _Refused as refused:
        node = info.nodes.get(refused.node)
        return NotExecutableError(
            f"{kinds.get(refused.node, 'node')} '{refused.node}' is not run by the engine: {refused.why} (an "
            "inclusive join runs only where it closes the block of one inclusive split whose branches are plain "
            "sequences of steps, events, sub-processes or call activities, with no loop around it)",
            file=file,
            line=node.line if node is not None else info.line,
            element=refused.node,
        )
    return None
