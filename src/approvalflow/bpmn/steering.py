"""Gateway steering: case data under which an exclusive or inclusive gateway takes a wanted flow.

The one implementation the replay of simulated traces (:mod:`approvalflow.simulation.replay`) and the Hypothesis
walks (:func:`approvalflow.testing.strategies.branch_data`) share. It needs only the flows of a gateway
(:class:`~approvalflow.bpmn.model.FlowInfo`, their conditions in the safe expression language) and
:func:`approvalflow.expressions.evaluate_expression`:

* :func:`gateway_reads` lists the names the conditions read (bare, or through ``get("name", ...)``) and the
  constants they compare with;
* :func:`candidate_values` gives the values tried for each name: a few small ones (``True``, ``False``, ``0``,
  ``1``, ``2``, ``10``, ``100``, ``""``) and each constant of the conditions, numbers also one below and above;
* :func:`assignments` enumerates data for the free names, bounded by ``limit`` (:data:`MAX_ASSIGNMENTS`);
* :func:`flows_taken` says which flows the gateway takes with given data, as the engine decides: the non-default
  flows whose condition holds (a non-default flow without a condition always holds; SpiffWorkflow makes the
  only flow of a gateway its default), else the default flow;
* :func:`steer` puts these together: the first assignment under which the gateway takes the wanted flow alone;
  :func:`steer_set` the first under which an inclusive gateway takes exactly a wanted set of flows.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence

from ..expressions import ExpressionError, evaluate_expression
from .model import FlowInfo

__all__ = [
    "CANDIDATE_VALUES",
    "MAX_ASSIGNMENTS",
    "assignments",
    "candidate_values",
    "condition_reads",
    "flows_taken",
    "gateway_reads",
    "steer",
    "steer_set",
]

CANDIDATE_VALUES: tuple[object, ...] = (True, False, 0, 1, 2, 10, 100, "")
"""Values tried for every name a condition reads, besides the constants of the conditions."""

MAX_ASSIGNMENTS = 5_000
"""Most combinations of values :func:`assignments` yields (after the empty and the one-name assignments)."""


def condition_reads(condition: str) -> tuple[list[str], list[object]]:
    """The names a condition reads (bare, or through ``get("name", ...)``), and the constants it holds (each
    number, negative ones too, also one below and one above). ``SyntaxError`` for text that is no expression."""
    names: list[str] = []
    constants: list[object] = []
    for node in ast.walk(ast.parse(condition.strip(), mode="eval")):
        if isinstance(node, ast.Name) and node.id not in ("True", "False", "None", "get"):
            names.append(node.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.append(first.value)
        elif isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            constants.append(node.value)
            if isinstance(node.value, int | float):
                constants += [node.value - 1, node.value + 1]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            value = node.operand.value  # a negative literal is an operator on a constant
            if isinstance(value, int | float) and not isinstance(value, bool):
                constants += [-value, -value - 1, -value + 1]
    return list(dict.fromkeys(names)), constants


def gateway_reads(flows: Iterable[FlowInfo]) -> tuple[list[str], list[object]]:
    """:func:`condition_reads` over the conditions of a gateway's non-default flows (names without repeats)."""
    names: list[str] = []
    constants: list[object] = []
    for flow in flows:
        if flow.condition and not flow.default:
            n, c = condition_reads(flow.condition)
            names += n
            constants += c
    return list(dict.fromkeys(names)), constants


def _key(value: object) -> tuple[str, str]:
    return type(value).__name__, repr(value)


def candidate_values(constants: Sequence[object]) -> list[object]:
    """:data:`CANDIDATE_VALUES` and ``constants``, without repeats (``1`` and ``True``, equal in Python, both stay)."""
    seen: set[tuple[str, str]] = set()
    out: list[object] = []
    for value in (*CANDIDATE_VALUES, *constants):
        if _key(value) not in seen:
            seen.add(_key(value))
            out.append(value)
    return out


def assignments(
    free: Sequence[str],
    values: Sequence[object],
    *,
    owned: str | None = None,
    partial: bool = True,
    limit: int = MAX_ASSIGNMENTS,
) -> Iterator[dict[str, object]]:
    """Data for the names ``free``, each drawn from ``values``, without repeats.

    With ``partial`` (the default) the smallest changes come first: nothing changed, then one name changed, then
    every name set; without it only assignments that set every name. At most ``limit`` combinations of every
    name are yielded. The name ``owned`` (set by a meeting record, a boolean) takes only ``True`` or ``False``.
    """
    pool = {n: ([True, False] if n == owned else list(values)) for n in free}
    seen: set[tuple[tuple[str, str, str], ...]] = set()

    def fresh(assignment: dict[str, object]) -> bool:
        key = tuple((n, *_key(v)) for n, v in assignment.items())
        if key in seen:
            return False
        seen.add(key)
        return True

    if partial:
        small = [{}, *({n: v} for n in free for v in pool[n])]
        yield from (a for a in small if fresh(a))
    combos = itertools.islice(itertools.product(*(pool[n] for n in free)), limit)
    yield from (a for a in (dict(zip(free, combo, strict=True)) for combo in combos) if fresh(a))


def flows_taken(flows: Sequence[FlowInfo], data: Mapping[str, object]) -> tuple[str, ...] | None:
    """The flows a gateway with these outgoing ``flows`` takes with ``data``: the non-default ones whose condition
    holds, else the default one (none if there is none); ``None`` when a condition cannot be evaluated."""
    holding: list[str] = []
    for flow in flows:
        if flow.default:
            continue
        try:
            if flow.condition is None or evaluate_expression(flow.condition, data):
                holding.append(flow.id)
        except ExpressionError:
            return None
    return tuple(holding) or tuple(f.id for f in flows if f.default)


def steer(
    flows: Sequence[FlowInfo],
    wanted: str,
    base: Mapping[str, object],
    *,
    fixed: Iterable[str] = (),
    owned: str | None = None,
) -> dict[str, object] | None:
    """The first assignment (see :func:`assignments`) to the names the conditions read, but those in ``fixed``,
    under which, on top of ``base``, the gateway takes flow ``wanted`` and no other; ``None`` when there is none."""
    return steer_set(flows, (wanted,), base, fixed=fixed, owned=owned)


def steer_set(
    flows: Sequence[FlowInfo],
    wanted: Iterable[str],
    base: Mapping[str, object],
    *,
    fixed: Iterable[str] = (),
    owned: str | None = None,
) -> dict[str, object] | None:
    """As :func:`steer`, for an inclusive gateway: the first assignment under which the gateway takes exactly the
    flows ``wanted`` (in any order), no fewer and no more; ``None`` when there is none."""
    goal = set(wanted)
    names, constants = gateway_reads(flows)
    kept = set(fixed)
    free = [n for n in names if n not in kept]
    for assignment in assignments(free, candidate_values(constants), owned=owned):
        taken = flows_taken(flows, {**base, **assignment})
        if taken is not None and len(taken) == len(goal) and set(taken) == goal:
            return assignment
    return None
