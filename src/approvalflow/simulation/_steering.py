"""How a replay finds case data that steers an exclusive gateway onto a wanted flow (a private module of
:mod:`approvalflow.simulation.replay`): the names and constants a condition reads, the flows a gateway takes with
given data, and a bounded search over small candidate values."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator, Mapping, Sequence

from ..bpmn.model import FlowInfo
from ..expressions import ExpressionError, evaluate

_CANDIDATES: tuple[object, ...] = (True, False, 0, 1, 2, 10, 100, "")
_MAX_TRIES = 5_000


def _reads(condition: str) -> tuple[list[str], list[object]]:
    """The names a condition reads (bare, or through ``get("name", ...)``) and the constants it holds."""
    names: list[str] = []
    constants: list[object] = []
    for node in ast.walk(ast.parse(condition.strip(), mode="eval")):
        if isinstance(node, ast.Name) and node.id not in ("True", "False", "None", "get"):
            names.append(node.id)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "get" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.append(first.value)
        elif isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            constants.append(node.value)
            if isinstance(node.value, int | float):
                constants += [node.value - 1, node.value + 1]
    return list(dict.fromkeys(names)), constants


def _takes(flows: Sequence[FlowInfo], names: Mapping[str, object]) -> list[str] | None:
    """The flows an exclusive gateway could take with these data; None when a condition cannot be evaluated."""
    true: list[str] = []
    for f in flows:
        if f.default:
            continue
        try:
            if f.condition is None or evaluate(f.condition, names):
                true.append(f.id)
        except ExpressionError:
            return None
    return true or [f.id for f in flows if f.default]


def _values(constants: Sequence[object]) -> list[object]:
    seen: set[tuple[str, str]] = set()
    out: list[object] = []
    for v in (*_CANDIDATES, *constants):
        key = (type(v).__name__, repr(v))
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _assignments(free: Sequence[str], values: Sequence[object], owned: str | None) -> Iterator[dict[str, object]]:
    """Nothing changed first, then one name changed, then all combinations (bounded)."""
    yield {}
    pool = {n: ([True, False] if n == owned else list(values)) for n in free}
    for n in free:
        for v in pool[n]:
            yield {n: v}
    yield from (
        dict(zip(free, combo, strict=True))
        for combo in itertools.islice(itertools.product(*(pool[n] for n in free)), _MAX_TRIES)
    )
