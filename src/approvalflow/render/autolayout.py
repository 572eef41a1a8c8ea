"""Lay out a process without DI: Graphviz ``dot`` left to right, lanes as horizontal bands.

``dot`` orders the nodes (columns from its ranks, rows from its vertical order, lanes
kept together as clusters); this module then snaps every node into its lane's band on a
row grid and routes each sequence flow orthogonally, the way BPMN modellers draw:
gateways branch from their top or bottom corner, joins are entered the same way, and
flows that go back are drawn under or over the rows.  Coordinates are rounded, so that
writing the layout as DI (:mod:`.di_write`) and reading it back gives the same drawing.

Boundary events sit on the lower edge of their activity; a flow leaving one goes down, then across.
Not laid out here: data objects, text annotations and groups (left out of the drawing),
expanded sub-processes (drawn collapsed) and nested lanes (only the innermost are drawn).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import graphviz
from lxml import etree

from ..errors import BpmnError
from ..io.namespaces import BPMN_NS
from .di import Layout, LayoutEdge, LayoutShape
from .errors import RenderError
from .extract import step_detail
from .labels import DETAIL_SIZE, LABEL_SIZE
from .model import Bounds
from .names import MAX_TITLE_CHARS, clip
from .routing import Box, LabelPlacer, route, spread_channels
from .text import measure

__all__ = ["auto_layouts"]

_B = f"{{{BPMN_NS}}}"
TASK = (130.0, 80.0)
EVENT = (36.0, 36.0)
GATEWAY = (50.0, 50.0)
ROW = 140.0  # row pitch inside a lane: a task and a channel with a label under it
TASK_MAX_WIDTH = 170.0
LANE_PAD = 10.0
BAND = 30.0
LEFT = BAND + 40.0
_SKIP = {
    "laneSet",
    "sequenceFlow",
    "textAnnotation",
    "association",
    "group",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "dataInputAssociation",
    "dataOutputAssociation",
    "ioSpecification",
    "documentation",
    "extensionElements",
    "boundaryEvent",
    "property",
}  # fmt: skip  (boundary events: placed on their activity)


@dataclass
class _Node:
    id: str
    kind: str
    name: str
    width: float
    height: float
    lane: int
    x: float = 0.0  # dot centre
    y: float = 0.0
    box: Bounds = field(default_factory=lambda: Bounds(0, 0, 0, 0))


def _local(el: etree._Element) -> str:
    """The local name of an element; ``""`` for a comment or processing instruction (their ``tag`` is a function)."""
    return str(etree.QName(el).localname) if isinstance(el.tag, str) else ""


def _label(el: etree._Element) -> str:
    """The name of ``el`` as drawn: spaces collapsed, cut to :data:`~.names.MAX_LABEL_CHARS` as :mod:`.extract` does."""
    return clip(" ".join((el.get("name") or "")[: MAX_TITLE_CHARS + 1].split()))


def _task_width(el: etree._Element) -> float:
    """Wide enough for the name on two lines and the post · limit line on one, within limits."""
    name = _label(el)
    detail = clip(step_detail(el, None))
    need = max(measure(name, LABEL_SIZE) / 2 + 2 * LABEL_SIZE, measure(detail, DETAIL_SIZE)) + 16
    return min(TASK_MAX_WIDTH, max(TASK[0], 10 * math.ceil(need / 10)))


def _size(kind: str) -> tuple[float, float]:
    if kind.endswith("Event"):
        return EVENT
    if kind.endswith("Gateway"):
        return GATEWAY
    return TASK


def _leaf_lanes(proc: etree._Element) -> list[etree._Element]:
    return [lane for lane in proc.iter(f"{_B}lane") if lane.find(f"{_B}childLaneSet") is None]


def _nodes(proc: etree._Element, lanes: list[etree._Element]) -> dict[str, _Node]:
    refs = ((i, ref) for i, lane in enumerate(lanes) for ref in lane.iterfind(f"{_B}flowNodeRef"))
    lane_of = {"".join(ref.itertext()).strip(): i for i, ref in refs}  # all its text: a comment inside splits it
    nodes: dict[str, _Node] = {}
    sources = {f.get("targetRef"): f.get("sourceRef") for f in proc.iterfind(f"{_B}sequenceFlow")}
    for el in proc:
        if not isinstance(el.tag, str) or not el.tag.startswith(_B) or _local(el) in _SKIP or not el.get("id"):
            continue
        ident, kind = str(el.get("id")), _local(el)
        width, height = _size(kind)
        if (width, height) == TASK:
            width = _task_width(el)
        nodes[ident] = _Node(ident, kind, _label(el), width, height, -1)
    for ident, node in nodes.items():  # a node in no lane joins the lane of the node before it
        seen, current = set(), ident
        while current not in lane_of and current in sources and current not in seen:
            seen.add(current)
            current = str(sources[current])
        node.lane = lane_of.get(current, 0)
    return nodes


def _dot(nodes: dict[str, _Node], flows: list[tuple[str, str, str]], lanes: int, file: str | None) -> None:
    """Run dot and store each node's centre (in px, y downwards)."""
    lines = ["digraph G {", "rankdir=LR; newrank=true; nodesep=0.45; ranksep=0.75; splines=false;",
             'node [shape=box fixedsize=true label=""];']  # fmt: skip
    for lane in range(max(lanes, 1)):
        lines.append(f"subgraph cluster_{lane} {{")
        for i, node in enumerate(nodes.values()):
            if node.lane == lane:
                size = f"width={node.width / 72:.4f} height={node.height / 72:.4f}"
                lines.append(f'n{i} [{size} group="lane{lane}"];')
        lines.append("}")
    order = {ident: i for i, ident in enumerate(nodes)}
    lines += [f"n{order[s]} -> n{order[t]};" for _, s, t in flows if s in order and t in order]
    lines.append("}")
    try:
        result = json.loads(graphviz.Source("\n".join(lines)).pipe(format="json", encoding="utf-8"))
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError, ValueError) as exc:
        raise RenderError(f"Graphviz could not lay out the process: {exc}", file=file or "BPMN") from exc
    idents = list(nodes)
    for obj in result.get("objects", []):
        if str(obj.get("name", "")).startswith("n") and "pos" in obj:
            x, y = (float(v) for v in obj["pos"].split(","))
            node = nodes[idents[int(obj["name"][1:])]]
            node.x, node.y = x, -y


class _Rows:
    """Rows inside each lane: a split's main successor stays in its row, other branches go below it.

    The main successor of a split is the join that its other branches reach (the optional step
    then sits beside a straight bypass), else the one with the longest path still to go.
    """

    def __init__(
        self, nodes: dict[str, _Node], flows: list[tuple[str, str, str]], side: frozenset[tuple[str, str]] = frozenset()
    ) -> None:
        self.nodes = nodes
        self.side = side  # (activity, target) of flows leaving a boundary event: never the main successor
        forward = [(s, t) for _, s, t in flows if s in nodes and t in nodes and nodes[t].x > nodes[s].x]
        self.succ: dict[str, list[str]] = {n: [] for n in nodes}
        self.pred: dict[str, list[str]] = {n: [] for n in nodes}
        for s, t in forward:
            self.succ[s].append(t)
            self.pred[t].append(s)
        self.depth: dict[str, int] = {}
        self.row: dict[str, int] = {}
        self.taken: dict[tuple[int, int], list[tuple[float, float]]] = {}

    def _depth(self, n: str) -> int:
        if n not in self.depth:
            self.depth[n] = 0  # forward edges form no cycle; this only guards malformed input
            self.depth[n] = max((1 + self._depth(t) for t in self.succ[n]), default=0)
        return self.depth[n]

    def _reaches(self, a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            n = todo.pop()
            if n == b:
                return True
            if n not in seen:
                seen.add(n)
                todo.extend(self.succ[n])
        return False

    def main(self, n: str) -> str | None:
        succs = [t for t in self.succ[n] if (n, t) not in self.side] or self.succ[n]
        joins = [s for s in succs if len(self.pred[s]) > 1 and all(self._reaches(o, s) for o in succs if o != s)]
        if joins:
            return joins[0]
        return max(succs, key=self._depth, default=None)

    def _free(self, lane: int, row: int, node: _Node) -> bool:
        span = (node.x - node.width / 2 - 20, node.x + node.width / 2 + 20)
        return all(span[1] <= a or b <= span[0] for a, b in self.taken.get((lane, row), []))

    def assign(self) -> dict[str, int]:
        for node in sorted(self.nodes.values(), key=lambda n: (n.x, n.y)):
            preds = [p for p in self.pred[node.id] if self.nodes[p].lane == node.lane]
            mains = [p for p in preds if self.main(p) == node.id]
            if mains:
                want = self.row[mains[0]]
            elif preds:
                p = preds[0]
                others = [t for t in self.succ[p] if t != self.main(p)]
                want = self.row[p] + 1 + (others.index(node.id) if node.id in others else 0)
            else:
                want = 0
            row = next(r for k in range(len(self.nodes) + 1) for r in (want + k, want - k)
                       if self._free(node.lane, r, node))  # fmt: skip
            self.row[node.id] = row
            span = (node.x - node.width / 2 - 20, node.x + node.width / 2 + 20)
            self.taken.setdefault((node.lane, row), []).append(span)
        return self.row


def _place(
    nodes: dict[str, _Node],
    flows: list[tuple[str, str, str]],
    lane_count: int,
    side: frozenset[tuple[str, str]] = frozenset(),
) -> list[tuple[float, float]]:
    """Snap nodes into lane bands on a row grid; returns each lane's (top, height)."""
    min_x = min((n.x - n.width / 2 for n in nodes.values()), default=0.0)
    all_rows = _Rows(nodes, flows, side).assign()
    bands, top = [], 0.0
    for lane in range(max(lane_count, 1)):
        members = [n for n in nodes.values() if n.lane == lane]
        low = min((all_rows[n.id] for n in members), default=0)
        rows = {n.id: all_rows[n.id] - low for n in members}
        count = max(rows.values(), default=0) + 1
        for node in members:
            cx = round(node.x - min_x + LEFT)
            cy = round(top + LANE_PAD + ROW / 2 + rows[node.id] * ROW)
            node.box = Bounds(cx - node.width / 2, cy - node.height / 2, node.width, node.height)
        height = 2 * LANE_PAD + count * ROW
        bands.append((top, height))
        top += height
    return bands


def _layout(proc: etree._Element, file: str | None) -> Layout:
    pid = str(proc.get("id"))
    lanes = _leaf_lanes(proc)
    nodes = _nodes(proc, lanes)
    flows = [
        (str(f.get("id")), f.get("sourceRef") or "", f.get("targetRef") or "", _label(f))
        for f in proc.iterfind(f"{_B}sequenceFlow")
        if f.get("id")
    ]
    host_of = {
        str(b.get("id")): b.get("attachedToRef") or ""
        for b in proc.iterfind(f"{_B}boundaryEvent")
        if b.get("id") and b.get("attachedToRef") in nodes
    }
    # a flow from a boundary event is ranked and rowed as a branch of the activity the event is attached to
    ranked = [(i, host_of.get(s, s), t) for i, s, t, _ in flows]
    _dot(nodes, ranked, len(lanes), file)
    side = frozenset((host_of[s], t) for _, s, t, _ in flows if s in host_of)
    bands = _place(nodes, ranked, len(lanes), side)
    attached = _attach(proc, host_of, nodes)
    right = max((n.box.right for n in nodes.values()), default=LEFT) + 50
    outs = [s for _, s, _, _ in flows]
    ins = [t for _, _, t, _ in flows]
    splits = {n for n, node in nodes.items() if node.kind.endswith("Gateway") and outs.count(n) > 1}
    joins = {n for n, node in nodes.items() if node.kind.endswith("Gateway") and ins.count(n) > 1}
    boxes = {n: Box(n, node.kind, node.box) for n, node in nodes.items()}
    drawn = [(i, s, name) for i, s, t, name in flows if s in nodes and t in nodes]
    routes = spread_channels([route(boxes[s], boxes[t], splits, joins, ROW) for i, s, t, _ in flows
                              if s in nodes and t in nodes])  # fmt: skip
    layout = Layout(f"{pid}_diagram", proc.get("name") or pid, pid)
    lines = [Bounds(0, top - 1, right, 2) for top, _ in bands] + [Bounds(0, 0, BAND, bands[-1][0] + bands[-1][1])]
    if bands:
        lines.append(Bounds(0, bands[-1][0] + bands[-1][1] - 1, right, 2))
    boundary_routes = [
        (i, s, name, _boundary_route(attached[s].box, nodes[t].box))
        for i, s, t, name in flows
        if s in attached and t in nodes
    ]
    placer = LabelPlacer(
        [*(n.box for n in nodes.values()), *(b.box for b in attached.values())],
        [*(r.points for r in routes), *(pts for *_, pts in boundary_routes)],
        lines,
    )
    for lane, (top, height) in zip(lanes, bands, strict=False):
        layout.shapes.append(LayoutShape(str(lane.get("id")), Bounds(0, top, right, height), horizontal=True))
    for node in nodes.values():
        external = node.name and (node.kind.endswith("Event") or node.kind.endswith("Gateway"))
        label = placer.node_label(node.name, node.box) if external else None
        layout.shapes.append(LayoutShape(node.id, node.box, label))
    for event in attached.values():
        label = placer.node_label(event.name, event.box) if event.name else None
        layout.shapes.append(LayoutShape(event.id, event.box, label))
    for (ident, source, name), r in zip(drawn, routes, strict=True):
        points = tuple((round(x, 2), round(y, 2)) for x, y in r.points)
        label = placer.edge_label(name, points, source in splits) if name else None
        layout.edges.append(LayoutEdge(ident, points, label))
    for ident, _, name, pts in boundary_routes:
        points = tuple((round(x, 2), round(y, 2)) for x, y in pts)
        layout.edges.append(LayoutEdge(ident, points, placer.edge_label(name, points, False) if name else None))
    return layout


def _attach(proc: etree._Element, host_of: dict[str, str], nodes: dict[str, _Node]) -> dict[str, _Node]:
    """Boundary events on the lower edge of their activity, spread evenly from the right, as modellers draw them."""
    by_host: dict[str, list[etree._Element]] = {}
    for b in proc.iterfind(f"{_B}boundaryEvent"):
        if str(b.get("id")) in host_of:
            by_host.setdefault(host_of[str(b.get("id"))], []).append(b)
    placed: dict[str, _Node] = {}
    for host, events in by_host.items():
        box = nodes[host].box
        step = box.width / (len(events) + 1)
        for k, b in enumerate(events):
            cx = round(box.right - step * (k + 1))
            node = _Node(str(b.get("id")), "boundaryEvent", _label(b), *EVENT, -1)
            node.box = Bounds(cx - EVENT[0] / 2, box.bottom - EVENT[1] / 2, *EVENT)
            placed[node.id] = node
    return placed


def _boundary_route(event: Bounds, target: Bounds) -> tuple[tuple[float, float], ...]:
    """Down from the event, then across into the target's side (or up into its bottom when it is not lower)."""
    x, y = event.x + event.width / 2, event.bottom
    ty = target.y + target.height / 2
    if ty > y + 10:
        side = target.x if target.x > x else target.right
        return ((x, y), (x, ty), (side, ty))
    below = max(y, target.bottom) + 30
    tx = target.x + target.width / 2
    return ((x, y), (x, below), (tx, below), (tx, target.bottom))


def auto_layouts(root: etree._Element, file: str | None = None, skip: frozenset[str] = frozenset()) -> list[Layout]:
    """A computed layout for each process of the document that has flow nodes, except those in ``skip``."""
    procs = [p for p in root.iterfind(f"{_B}process") if p.get("id") not in skip]
    layouts = [_layout(proc, file) for proc in procs]
    layouts = [layout for layout in layouts if len(layout.shapes) > 0]
    if not layouts and not skip:
        raise BpmnError("the document has no process to draw", file=file, line=root.sourceline)
    return layouts
