"""A bounded token game over one scope, to find deadlocks and missing synchronisation.

Each sequence flow is a place; a marking counts the tokens on each (capped at
two: a second token on a flow is already the finding). Nodes fire as BPMN says:
a parallel join takes a token from every incoming flow, an inclusive join
waits until no token upstream can still reach an empty incoming flow, every
other node takes one token from any incoming flow. A parallel join that is the
entry of a loop (some incoming flows come from before it, the others back from
behind it) waits as the engine's does, like an inclusive join: for the incoming
flows that a token can still reach (SpiffWorkflow runs such a loop to its end,
where the strict BPMN rule would stop at the first pass); an exclusive or event-based
split puts a token on one outgoing flow, an inclusive split on any non-empty
set, every other node on all of them (an activity may instead leave through
one of its boundary events). All reachable markings are explored, breadth
first, up to a bound.

* a marking with tokens where nothing can fire is a **deadlock**, at the joins
  that hold the stuck tokens;
* a node that puts a second token on a flow breaks 1-safeness: branches of a
  parallel split were merged without synchronisation (**no-sync**), and the
  steps after the merge run twice. Not so on the own path of a non-interrupting
  boundary event (from the event up to where its path meets another flow): the
  event starts a new thread each time its activity runs, on purpose (a reminder
  on a step redone in a rework loop), and each thread ends on its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import combinations

from .graph import ProcessGraph

__all__ = ["DEFAULT_BOUND", "TokenResult", "explore"]

DEFAULT_BOUND = 20_000
_ENDS_SCOPE = frozenset({"terminateEventDefinition", "errorEventDefinition", "cancelEventDefinition"})
_EXCLUSIVE = frozenset({"exclusiveGateway", "eventBasedGateway", "complexGateway"})


@dataclass
class TokenResult:
    """What the exploration found: stuck joins, nodes that double a token, and whether it was complete."""

    deadlocks: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    complete: bool = True
    states: int = 0


@dataclass
class _Rule:
    node: str
    mode: str  # "and", "or", "any"
    inc: tuple[int, ...]
    options: tuple[tuple[int, ...], ...]
    terminate: bool = False
    upstream: dict[int, frozenset[int]] = field(default_factory=dict)  # "or" join: empty place -> feeding places


def _threads(pg: ProcessGraph, index: dict[str, int]) -> frozenset[int]:
    """The places on the own paths of non-interrupting boundary events: from the virtual flow to the event, on
    along flows whose target has no other incoming flow (a merge ends the own path)."""
    found: set[str] = set()
    todo = [
        f
        for f in index
        if pg.flows[f].virtual
        and pg.nodes[pg.flows[f].target].attached_to == pg.flows[f].source
        and not pg.nodes[pg.flows[f].target].interrupting
    ]
    while todo:
        f = todo.pop()
        if f in found:
            continue
        found.add(f)
        target = pg.flows[f].target
        if len(pg.inc[target]) == 1:
            todo.extend(g for g in pg.out[target] if g in index and not pg.flows[g].virtual)
    return frozenset(index[f] for f in found)


def _options(pg: ProcessGraph, node: str, index: dict[str, int]) -> tuple[tuple[int, ...], ...]:
    n = pg.nodes[node]
    boundary: list[tuple[int, bool]] = []  # (place, interrupting)
    normal: list[int] = []
    for f in pg.out[node]:
        flow = pg.flows[f]
        event = pg.nodes[flow.target]
        if flow.virtual and event.attached_to == node:
            if "compensateEventDefinition" not in event.events:  # compensation runs a handler, not the flow
                boundary.append((index[f], event.interrupting))
        else:
            normal.append(index[f])
    if n.kind in _EXCLUSIVE and normal:
        return tuple((p,) for p in normal)
    if n.kind == "inclusiveGateway" and 1 < len(normal) <= 8:
        return tuple(c for k in range(1, len(normal) + 1) for c in combinations(normal, k))
    if not n.is_gateway and (n.default or any(pg.flows[f].condition is not None for f in pg.out[node])):
        return _conditional(pg, node, index) + tuple((b,) for b, _ in boundary)
    options = [tuple(normal)]
    options += [(b,) if interrupting else (*normal, b) for b, interrupting in boundary]
    return tuple(options)


def _conditional(pg: ProcessGraph, node: str, index: dict[str, int]) -> tuple[tuple[int, ...], ...]:
    """An activity with conditional flows: every unconditional flow, any set of the conditional ones,
    and the default flow when no condition holds."""
    default = pg.nodes[node].default
    flows = [pg.flows[f] for f in pg.out[node] if not pg.flows[f].virtual]
    always = tuple(index[f.id] for f in flows if f.condition is None and f.id != default)
    maybe = [index[f.id] for f in flows if f.condition is not None][:8]
    otherwise = tuple(index[f.id] for f in flows if f.id == default)
    return tuple(always + (c if c else otherwise) for k in range(len(maybe) + 1) for c in combinations(maybe, k))


def _upstream(pg: ProcessGraph, join: str, place: str, index: dict[str, int]) -> frozenset[int]:
    """Places from which ``place`` can get a token without passing through ``join``."""
    seen = {place}
    todo = [place]
    while todo:
        source = pg.flows[todo.pop()].source
        if source == join:
            continue
        for f in pg.inc[source]:
            if f not in seen:
                seen.add(f)
                todo.append(f)
    return frozenset(index[f] for f in seen if f in index)


def _rules(pg: ProcessGraph, scope: str, index: dict[str, int]) -> list[_Rule]:
    rules = []
    for node in pg.scopes[scope].nodes:
        n = pg.nodes[node]
        inc = tuple(index[f] for f in pg.inc[node])
        mode = "any"
        if n.kind == "parallelGateway" and len(inc) > 1:
            mode = "and"
        elif n.kind == "inclusiveGateway" and len(inc) > 1:
            mode = "or"
        ends_scope = n.kind == "endEvent" and bool(n.events & _ENDS_SCOPE)
        rule = _Rule(node, mode, inc, _options(pg, node, index), ends_scope)
        if mode != "any":
            upstream = {p: _upstream(pg, node, f, index) for f, p in zip(pg.inc[node], inc, strict=True)}
            own = {index[f] for f in pg.out[node] if f in index}
            back = [bool(own & places) for places in upstream.values()]  # incoming flows the join itself feeds
            if mode == "or" or (any(back) and not all(back)):  # an inclusive join, or a parallel join as loop entry
                rule.mode, rule.upstream = "or", upstream
        rules.append(rule)
    return rules


def _consumptions(rule: _Rule, m: bytes) -> Iterator[tuple[int, ...]]:
    if not rule.inc:
        return
    if rule.mode == "and":
        if all(m[p] for p in rule.inc):
            yield rule.inc
    elif rule.mode == "or":
        held = tuple(p for p in rule.inc if m[p])
        if held and all(not any(m[q] for q in rule.upstream[p]) for p in rule.inc if not m[p]):
            yield held
    else:
        for p in dict.fromkeys(rule.inc):
            if m[p]:
                yield (p,)


def _fire(
    m: bytes, take: tuple[int, ...], give: tuple[int, ...], terminate: bool, threads: frozenset[int] = frozenset()
) -> tuple[bytes, bool]:
    """The marking after a node takes ``take`` and gives ``give``, and whether it put a second token on a flow
    (other than one of ``threads``, the own paths of non-interrupting boundary events)."""
    counts = bytearray(len(m)) if terminate else bytearray(m)
    if not terminate:
        for p in take:
            counts[p] -= 1
    doubled = False
    for p in give:
        if counts[p] >= 1 and p not in threads:
            doubled = True
        counts[p] = min(2, counts[p] + 1)
    return bytes(counts), doubled


def _initial(pg: ProcessGraph, scope: str, rules: dict[str, _Rule], size: int) -> list[bytes]:
    starts = pg.starts(scope)
    empty = bytes(size)
    if any(pg.nodes[s].kind == "startEvent" for s in starts):
        return [_fire(empty, (), opt, False)[0] for s in starts for opt in rules[s].options]
    give = tuple(p for s in starts for p in (rules[s].options[0] if rules[s].options else ()))
    return [_fire(empty, (), give, False)[0]]


def explore(pg: ProcessGraph, scope: str, bound: int = DEFAULT_BOUND) -> TokenResult:
    """Explore the markings of ``scope`` reachable from its start events, up to ``bound`` markings."""
    flows = [f for f in pg.flows.values() if f.scope == scope]
    index = {f.id: i for i, f in enumerate(flows)}
    rules = _rules(pg, scope, index)
    threads = _threads(pg, index)
    by_node = {r.node: r for r in rules}
    result = TokenResult()
    seen = set(_initial(pg, scope, by_node, len(flows)))
    queue = deque(seen)
    target = [f.target for f in flows]
    while queue:
        m = queue.popleft()
        moved = False
        for rule in rules:
            for take in _consumptions(rule, m):
                moved = True
                for give in rule.options:
                    nxt, doubled = _fire(m, take, give, rule.terminate, threads)
                    if doubled and rule.node not in result.unsafe:
                        result.unsafe.append(rule.node)
                    if nxt not in seen:
                        if len(seen) >= bound:
                            result.complete = False
                            continue
                        seen.add(nxt)
                        queue.append(nxt)
        if not moved and any(m):
            for p, count in enumerate(m):
                if count and target[p] not in result.deadlocks:
                    result.deadlocks.append(target[p])
    result.states = len(seen)
    return result
