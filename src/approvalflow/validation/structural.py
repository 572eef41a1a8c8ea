"""Structural soundness: every node reachable, an end reachable from every node, no deadlock,
no unsynchronised merge, a default on every exclusive split, every step reference resolved.

Each scope (a process, a sub-process) is checked on its own: an activity that
contains a flow is one node of its parent scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import networkx as nx

from ..bpmn.annotations import ProcessInfo
from ..bpmn.model import StepInfo
from .context import Context, check
from .findings import StaticFinding, finding
from .graph import Node, ProcessGraph

__all__: list[str] = []

_XOR_LIKE = frozenset({"exclusiveGateway", "eventBasedGateway", "complexGateway", "inclusiveGateway"})


def _at(ctx: Context, rule: str, node: Node, message: str) -> StaticFinding:
    return finding(rule, message, file=ctx.file, line=node.line, element=node.id)


def _roots(pg: ProcessGraph, scope: str) -> list[str]:
    """What starts a scope: its start events, and nodes started otherwise (boundary, event sub-process, ...)."""
    return pg.starts(scope) + [n for n in pg.scopes[scope].nodes if not pg.is_free(n)]


@check("unreachable")
def unreachable(ctx: Context) -> Iterator[StaticFinding]:
    """A node that no path from a start event reaches never runs: a step the flowchart promises but cannot do."""
    pg = ctx.graph
    for scope in pg.scopes:
        g = pg.scope_graph(scope)
        reached: set[str] = set()
        for root in _roots(pg, scope):
            reached |= {root} | nx.descendants(g, root)
        for n in pg.scopes[scope].nodes:
            if n not in reached:
                node = pg.nodes[n]
                yield _at(
                    ctx,
                    "unreachable",
                    node,
                    f"no path from a start event of '{scope}' reaches {node.label}; "
                    "connect it with a sequence flow or remove it",
                )


@check("dead-end")
def dead_end(ctx: Context) -> Iterator[StaticFinding]:
    """A node from which no end event can be reached: a case that gets there never ends (办结)."""
    pg = ctx.graph
    for scope in pg.scopes:
        g = pg.scope_graph(scope)
        ends = pg.ends(scope)
        good: set[str] = set(ends)
        for end in ends:
            good |= nx.ancestors(g, end)
        for n in pg.scopes[scope].nodes:
            if n not in good:
                node = pg.nodes[n]
                why = "it has no outgoing sequence flow" if not pg.out[n] else "every path from it loops or stops"
                yield _at(
                    ctx,
                    "dead-end",
                    node,
                    f"no end event can be reached from {node.label} ({why}); add a path to an end event",
                )


def _conditions_cover(conditions: list[str]) -> bool:
    """True when the conditions are visibly exhaustive: one is ``True``, or two are ``c`` and ``not c``."""
    norm = [re.sub(r"\s+", " ", c).strip() for c in conditions]
    if any(c in {"True", "true", "1"} for c in norm):
        return True
    pairs = {(a, b) for a in norm for b in norm if a != b}
    return any(b in {f"not {a}", f"not ({a})"} or (a.replace("==", "!=") == b and "==" in a) for a, b in pairs)


@check("missing-default")
def missing_default(ctx: Context) -> Iterator[StaticFinding]:
    """An exclusive or inclusive split whose conditions may all be false and that has no default flow."""
    pg = ctx.graph
    for node in pg.nodes.values():
        if node.kind not in _XOR_LIKE - {"eventBasedGateway"} or node.default:
            continue
        outs = [pg.flows[f] for f in pg.out[node.id] if not pg.flows[f].virtual]
        if len(outs) < 2:
            continue
        conditions = [f.condition for f in outs]
        if any(c is None for c in conditions) or _conditions_cover([c for c in conditions if c]):
            continue
        yield _at(
            ctx,
            "missing-default",
            node,
            f"{node.label} has conditions on all {len(outs)} outgoing flows "
            "and no default flow: when none holds, the case stops here; mark one flow as default",
        )


def _splits_reaching(pg: ProcessGraph, g: nx.DiGraph, target: str, kinds: set[str], activities: bool) -> list[str]:
    """Splits of the given kinds (or activities with several outgoing flows) whose branches meet at ``target``."""
    found = []
    for n in nx.ancestors(g, target):
        node = pg.nodes[n]
        outs = {pg.flows[f].target for f in pg.out[n]}
        if len(outs) < 2 or not (node.kind in kinds or (activities and not node.is_gateway)):
            continue
        if sum(1 for o in outs if o == target or target in nx.descendants(g, o)) >= 2:
            found.append(n)
    return sorted(found, key=lambda n: pg.nodes[n].line or 0)


def _names(pg: ProcessGraph, ids: list[str]) -> str:
    return ", ".join(pg.nodes[i].label for i in ids)


@check("deadlock", "no-sync", "analysis-incomplete")
def synchronisation(ctx: Context) -> Iterator[StaticFinding]:
    """Deadlock and lack of synchronisation, from the token game of each scope (see :mod:`.tokens`)."""
    pg = ctx.graph
    for scope in pg.scopes:
        result = ctx.tokens(scope)
        g = pg.scope_graph(scope)
        for n in result.deadlocks:
            node = pg.nodes[n]
            splits = _splits_reaching(pg, g, n, set(_XOR_LIKE), activities=False)
            source = (
                f"the branches of {_names(pg, splits)} meet here" if splits else "its incoming flows never all fill"
            )
            yield _at(
                ctx,
                "deadlock",
                node,
                f"{node.label} waits for a token that never comes ({source}); a case "
                "stops here for ever: make the join exclusive like the split, or the split parallel",
            )
        merges = [n for n in result.unsafe if len(pg.inc[n]) > 1] or result.unsafe
        for n in merges:
            node = pg.nodes[n]
            splits = _splits_reaching(pg, g, n, {"parallelGateway", "inclusiveGateway"}, activities=True)
            source = f"parallel branches of {_names(pg, splits)}" if splits else "parallel branches"
            yield _at(
                ctx,
                "no-sync",
                node,
                f"{source} meet at {node.label} without synchronisation: what follows "
                "runs once per branch; join them with a parallel (or inclusive) gateway",
            )
        if not result.complete:
            sc = pg.scopes[scope]
            yield finding(
                "analysis-incomplete",
                f"'{scope}' has more than {result.states} reachable states; deadlock "
                "and no-sync were checked on those only",
                file=ctx.file,
                line=sc.line,
                element=scope,
            )


def _refs(info: ProcessInfo) -> Iterator[tuple[StepInfo, str, str]]:
    for step in info.steps.values():
        yield from ((step, "af:separateFrom", r) for r in step.separate_from)
        yield from ((step, "af:requires", r) for r in step.requires)
        if step.same_actor_as:
            yield step, "af:sameActorAs", step.same_actor_as
        if step.return_to not in (None, "previous", "start"):
            yield step, "af:step/@returnTo", str(step.return_to)


@check("unknown-step-ref")
def unknown_step_ref(ctx: Context) -> Iterator[StaticFinding]:
    """af:separateFrom, af:sameActorAs, af:requires and startsAfter must name steps of the process, of a process
    it calls, or of a process that calls it."""
    for pid, info in ctx.processes.items():
        refs = list(_refs(info))
        tl = info.time_limit
        starts_after = tl.starts_after if tl is not None else None
        if not refs and (starts_after is None or starts_after in info.steps):
            continue
        known = ctx.known_steps(pid) | set(info.steps)
        if starts_after is not None and starts_after not in known:
            yield finding(
                "unknown-step-ref",
                f"af:timeLimit startsAfter='{starts_after}' names no step of process '{pid}'",
                file=ctx.file,
                line=info.line,
                element=pid,
            )
        for step, what, ref in refs:
            if ref not in known:
                yield finding(
                    "unknown-step-ref",
                    f"{what} names '{ref}', which is no step of process '{pid}' nor of a process it calls or "
                    "that calls it",
                    file=ctx.file,
                    line=step.node.line,
                    element=step.id,
                )
