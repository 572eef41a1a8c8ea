"""Compliance of a flowchart with the reform's rules, before any case runs.

``no-posts``, ``no-time-limit`` and ``risk-coverage`` read the annotations of
each step; ``time-budget`` adds the step limits on the case clock along every
loop-free path (流程图各环节时限之和不得超过承诺时限); ``requires-not-dominating``
uses dominators: every path to a requiring step must pass each required step.
Both work on the flat graph of each root process, called processes included.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import networkx as nx

from ..bpmn.annotations import ProcessInfo
from ..bpmn.model import StepInfo, TimeLimit, Unit
from .context import Context, check
from .findings import StaticFinding, finding
from .graph import Flat

__all__ = ["convert"]

_PERSON_KINDS = frozenset({"userTask", "manualTask"})
_STEP_KINDS = frozenset({"userTask", "manualTask", "task", "callActivity"})
_HOURS = {"hour": Fraction(1), "workday": Fraction(8), "day": Fraction(24)}


def convert(value: int, unit: Unit, to: Unit) -> Fraction:
    """A step limit in the case's unit: day and workday count one for one (the law's periods are working
    days, 行政许可法第八十二条), an hour is 1/8 of a working day and 1/24 of a day."""
    if unit == to or {unit, to} == {"day", "workday"}:
        return Fraction(value)
    return Fraction(value) * _HOURS[unit] / _HOURS[to]


def _step_at(ctx: Context, rule: str, step: StepInfo, message: str) -> StaticFinding:
    return finding(rule, message, file=ctx.file, line=step.node.line, element=step.id)


@check("no-posts")
def no_posts(ctx: Context) -> Iterator[StaticFinding]:
    """A user or manual task with no af:step/@posts and no lane: anyone could do it (分岗设权)."""
    for step in ctx.steps().values():
        if step.node.kind in _PERSON_KINDS and not step.posts:
            yield _step_at(
                ctx,
                "no-posts",
                step,
                f"step '{step.id}' names no post (af:step/@posts) and sits in no "
                "lane: anyone could do it; name the posts that may",
            )


def _has_case_limit(info: ProcessInfo) -> bool:
    tl = info.time_limit
    return tl is not None and (tl.promised is not None or tl.statutory is not None)


@check("no-time-limit")
def no_time_limit(ctx: Context) -> Iterator[StaticFinding]:
    """A step with no time limit in a process that has a case limit (限时办结: each node has its 岗位时限)."""
    for info in ctx.processes.values():
        if not _has_case_limit(info):
            continue
        for step in info.steps.values():
            if step.node.kind in _STEP_KINDS and step.time_limit is None:
                yield _step_at(
                    ctx,
                    "no-time-limit",
                    step,
                    f"step '{step.id}' has no time limit, but process "
                    f"'{info.id}' has a case limit; give it af:step/@timeLimit",
                )


@check("risk-coverage")
def risk_coverage(ctx: Context) -> Iterator[StaticFinding]:
    """A step with a domain, a collective step or an extension step with no af:risk (廉政风险点)."""
    for step in ctx.steps().values():
        reasons = [
            r
            for r, on in (
                ("a domain of 五不直接分管", step.domain),
                ("a collective decision", step.collective),
                ("the extension", step.extension),
            )
            if on
        ]
        if reasons and not step.node.risks:
            yield _step_at(
                ctx,
                "risk-coverage",
                step,
                f"step '{step.id}' carries {' and '.join(reasons)} but no "
                "risk point; add an af:risk with its level and measures",
            )


def _back_edges(g: nx.DiGraph, starts: list[str]) -> set[tuple[str, str]]:
    """Edges that close a loop in a depth-first search from ``starts``."""
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for s in starts:
        if s in state:
            continue
        state[s] = 1
        stack = [(s, iter(g.successors(s)))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(g.successors(nxt))))
    return back


def _weights(ctx: Context, flat: Flat, steps: dict[str, StepInfo], unit: Unit) -> dict[str, Fraction]:
    g = flat.graph
    weights: dict[str, Fraction] = {}
    covered: set[str] = set()
    for sid, step in steps.items():
        if step.suspends_clock is None and step.time_limit is not None:
            weights[sid] = convert(step.time_limit, step.unit, unit)
        if (step.suspends_clock is not None or step.time_limit is not None) and g.has_node(f"{sid}#out"):
            covered |= nx.descendants(g, sid) & nx.ancestors(g, f"{sid}#out")  # its own limit covers the inside
    return {n: w for n, w in weights.items() if n not in covered}


def _topological(g: nx.DiGraph, nodes: set[str]) -> list[str]:
    """Kahn's order of ``nodes`` (an acyclic part of ``g``)."""
    indeg = {n: sum(1 for p in g.predecessors(n) if p in nodes) for n in nodes}
    ready = sorted(n for n, d in indeg.items() if d == 0)
    order: list[str] = []
    while ready:
        n = ready.pop()
        order.append(n)
        for m in g.successors(n):
            if m in nodes:
                indeg[m] -= 1
                if indeg[m] == 0:
                    ready.append(m)
    return order


def _longest(dag: nx.DiGraph, sources: list[str], weights: dict[str, Fraction]) -> tuple[Fraction, list[str]]:
    """The heaviest path from any of ``sources`` in an acyclic graph, and its weighted nodes."""
    reach: set[str] = set(sources)
    todo = list(sources)
    while todo:
        for m in dag.successors(todo.pop()):
            if m not in reach:
                reach.add(m)
                todo.append(m)
    best: dict[str, tuple[Fraction, str | None]] = {}
    for n in _topological(dag, reach):
        preds = [(best[p][0], p) for p in dag.predecessors(n) if p in best]
        top = max(preds, key=lambda x: x[0], default=(Fraction(0), None))
        best[n] = (top[0] + weights.get(n, Fraction(0)), top[1])
    if not best:
        return Fraction(0), []
    end = max(best, key=lambda n: best[n][0])
    path: list[str] = []
    cursor: str | None = end
    while cursor is not None:
        path.append(cursor)
        cursor = best[cursor][1]
    return best[end][0], [n for n in reversed(path) if n in weights]


def _budget(ctx: Context, info: ProcessInfo, tl: TimeLimit) -> Iterator[StaticFinding]:
    flat = ctx.flat(info.id)
    steps = ctx.reachable_steps(info.id)
    weights = _weights(ctx, flat, steps, tl.unit)
    dag = flat.graph.copy()
    dag.remove_edges_from(_back_edges(dag, flat.starts))
    if tl.starts_after is not None and dag.has_node(tl.starts_after):
        after = f"{tl.starts_after}#out" if dag.has_node(f"{tl.starts_after}#out") else tl.starts_after
        sources = list(dag.successors(after))
    else:
        sources = list(flat.starts)
    extension_steps = [s for s, step in steps.items() if step.extension]
    plain = dag.subgraph([n for n in dag if n not in extension_steps])
    variants = [(plain, Fraction(0), "")]
    if extension_steps and tl.extension:
        variants.append((dag, Fraction(tl.extension), f" + the extension of {tl.extension}"))
    reported: set[str] = set()
    for graph, extra, note in variants:
        total, path = _longest(graph, [s for s in sources if s in graph], weights)
        for kind, limit in (("promised", tl.promised), ("statutory", tl.statutory)):
            if limit is not None and total > limit + extra and kind not in reported:
                reported.add(kind)
                parts = " + ".join(f"{s} {weights[s]}" for s in path)
                yield finding(
                    "time-budget",
                    f"the step limits on the case clock along {' -> '.join(path)} add up to {parts} = {total} "
                    f"{tl.unit}, more than the {kind} limit of {limit}{note} {tl.unit}; shorten the step limits",
                    file=ctx.file,
                    line=info.line,
                    element=info.id,
                )


@check("time-budget")
def time_budget(ctx: Context) -> Iterator[StaticFinding]:
    """Step limits on every loop-free path from the clock's start, against the promised and statutory limits."""
    for info in ctx.processes.values():
        if info.time_limit is not None and _has_case_limit(info):
            yield from _budget(ctx, info, info.time_limit)


def _reach_without(g: nx.DiGraph, avoid: str) -> set[str]:
    """Nodes a case reaches from ``#start`` without passing ``avoid``; a parallel join needs all its inputs."""
    reached = {"#start"}
    todo = ["#start"]
    while todo:
        for nxt in g.successors(todo.pop()):
            if nxt == avoid or nxt in reached:
                continue
            info = g.nodes[nxt].get("info")
            is_join = info is not None and info.kind == "parallelGateway" and g.in_degree(nxt) > 1
            if is_join and not all(p in reached for p in g.predecessors(nxt)):
                continue
            reached.add(nxt)
            todo.append(nxt)
    return reached


def _bypass(g: nx.DiGraph, idom: dict[str, str], done: str, sid: str) -> list[str] | None:
    """A way to ``sid`` that avoids ``done``, or ``None`` when every way passes it."""
    if _dominates(idom, done, sid):
        return None  # the dominator tree settles it
    reached = _reach_without(g, done)
    if sid not in reached:
        return None  # only paths through one branch of a parallel split avoid it: the other branch runs too
    path: list[str] = nx.shortest_path(g.subgraph(reached), "#start", sid)
    return [n for n in path[1:] if not n.endswith("#out")]


@check("requires-not-dominating")
def requires_not_dominating(ctx: Context) -> Iterator[StaticFinding]:
    """Every path from the start to a step with af:requires passes each required step (dominators, with
    parallel joins waiting for all their branches)."""
    if not any(step.requires for step in ctx.steps().values()):
        return
    for pid in ctx.roots():
        flat = ctx.flat(pid)
        g = flat.graph.copy()
        g.add_node("#start")  # a process without a start event: nothing is reachable, nothing to report here
        g.add_edges_from(("#start", s) for s in flat.starts)
        idom = nx.immediate_dominators(g, "#start")
        own = ctx.steps()
        for sid, step in ctx.reachable_steps(pid).items():
            if sid not in idom or sid not in own:
                continue
            for req in step.requires:
                done = f"{req}#out" if g.has_node(f"{req}#out") else req
                way = _bypass(g, idom, done, sid) if g.has_node(done) else None
                if way is None:
                    continue
                yield _step_at(
                    ctx,
                    "requires-not-dominating",
                    step,
                    f"step '{sid}' requires '{req}', but a case can reach it without '{req}' (for example "
                    f"{' -> '.join(way)}); the engine will refuse it there (precedence): route every path "
                    f"through '{req}'",
                )


def _dominates(idom: dict[str, str], dom: str, node: str) -> bool:
    cursor = node
    while True:
        if cursor == dom:
            return True
        parent = idom.get(cursor)
        if parent is None or parent == cursor:
            return False
        cursor = parent
