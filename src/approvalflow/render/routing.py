"""Route sequence flows orthogonally and place their labels, for :mod:`.autolayout`.

Flows run the way BPMN modellers draw them: straight along a row; a split gateway
branches from its top or bottom corner; a join is entered the same way; any other change
of row bends in the gap between the two columns, and flows sharing a gap get their own
vertical channel, nested so that they do not cross; flows that go back run under the
source's row.  Labels (names of events, gateways and flows) go to the first free spot
among a few candidates: free of nodes, of other labels, of flow segments and of lane lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from .labels import external_box
from .model import Bounds, Point

__all__ = ["Box", "LabelPlacer", "Route", "route", "spread_channels"]

CHANNEL_GAP = 12.0  # distance between parallel vertical channels in one column gap
EDGE_LABEL_WIDTH = 60.0
_MARGIN = 2.0


@dataclass(frozen=True)
class Box:
    """A node as routing sees it: id, kind and bounds."""

    id: str
    kind: str
    bounds: Bounds


@dataclass
class Route:
    """The waypoints of one flow, and whether its vertical runs in the gap between columns (movable)."""

    points: tuple[Point, ...]
    in_gap: bool = False


def route(s: Box, t: Box, splits: set[str], joins: set[str], row: float) -> Route:
    """The orthogonal route from ``s`` to ``t``; ``row`` is the row pitch (back flows run below the row)."""
    a, b = s.bounds, t.bounds
    if abs(a.cy - b.cy) < 1 and b.x >= a.right:
        return Route(((a.right, a.cy), (b.x, b.cy)))
    if b.x >= a.right:  # forward to another row
        if s.id in splits:
            y0 = a.bottom if b.cy > a.cy else a.y
            return Route(((a.cx, y0), (a.cx, b.cy), (b.x, b.cy)))
        if t.id in joins:
            y1 = b.y if a.cy < b.cy else b.bottom
            return Route(((a.right, a.cy), (b.cx, a.cy), (b.cx, y1)))
        mid = round((a.right + b.x) / 2)
        return Route(((a.right, a.cy), (mid, a.cy), (mid, b.cy), (b.x, b.cy)), in_gap=True)
    if b.cy <= a.cy + 1:  # back, to the same row or one above: under the source's row, up into the target
        channel = a.cy + row / 2 - 6
        return Route(((a.cx, a.bottom), (a.cx, channel), (b.cx, channel), (b.cx, b.bottom)))
    return Route(((a.x, a.cy), (b.cx, a.cy), (b.cx, b.y)))


def spread_channels(routes: Sequence[Route]) -> list[Route]:
    """Give flows that bend in the same column gap, with overlapping vertical spans, channels of their own.

    Downward flows nest with the highest source outermost (rightmost), upward flows with
    the lowest source outermost, so that no two of them cross.
    """
    result = list(routes)
    groups: dict[float, list[int]] = {}
    for i, r in enumerate(result):
        if r.in_gap:
            groups.setdefault(r.points[1][0], []).append(i)
    for x, members in groups.items():
        if len(members) < 2:
            continue
        # downward first (by source y ascending -> rightmost first), then upward (by source y descending)
        down = sorted((i for i in members if result[i].points[-1][1] > result[i].points[0][1]),
                      key=lambda i: result[i].points[0][1])  # fmt: skip
        up = sorted((i for i in members if result[i].points[-1][1] < result[i].points[0][1]),
                    key=lambda i: -result[i].points[0][1])  # fmt: skip
        order = down + up
        for rank, i in enumerate(order):
            nx = round(x + ((len(order) - 1) / 2 - rank) * CHANNEL_GAP, 2)
            (x0, y0), (_, _), (_, y1), (x3, y3) = result[i].points
            result[i] = Route(((x0, y0), (nx, y0), (nx, y1), (x3, y3)), True)
    return result


def _segment_box(p: Point, q: Point) -> Bounds:
    return Bounds(min(p[0], q[0]) - 1, min(p[1], q[1]) - 1, abs(p[0] - q[0]) + 2, abs(p[1] - q[1]) + 2)


def rounded(b: Bounds) -> Bounds:
    """``b`` with coordinates rounded to two decimals (what DI stores)."""
    return Bounds(round(b.x, 2), round(b.y, 2), round(b.width, 2), round(b.height, 2))


class LabelPlacer:
    """Places labels one by one, each clear of nodes, flows, lane lines and the labels placed before it."""

    def __init__(self, nodes: Iterable[Bounds], routes: Iterable[tuple[Point, ...]], lines: Iterable[Bounds]) -> None:
        self.taken: list[Bounds] = list(nodes) + list(lines)
        self.taken += [_segment_box(p, q) for points in routes for p, q in pairwise(points)]

    def _free(self, box: Bounds) -> bool:
        grown = Bounds(box.x - _MARGIN, box.y - _MARGIN, box.width + 2 * _MARGIN, box.height + 2 * _MARGIN)
        return not any(grown.overlaps(t) for t in self.taken)

    def place(self, candidates: Sequence[Bounds]) -> Bounds:
        """The first free candidate (else the first), which then counts as taken."""
        chosen = next((c for c in candidates if self._free(c)), candidates[0])
        chosen = rounded(chosen)
        self.taken.append(chosen)
        return chosen

    def node_label(self, name: str, box: Bounds) -> Bounds:
        """An event's or gateway's name: below, above, then beside it."""
        below = external_box(name, box).box
        above = external_box(name, box, below=False).box
        w, h = below.width, below.height
        beside = [Bounds(box.x - 4 - w, box.y - h, w, h), Bounds(box.right + 4, box.y - h, w, h),
                  Bounds(box.right + 4, box.bottom, w, h), Bounds(box.x - 4 - w, box.bottom, w, h)]  # fmt: skip
        return self.place([below, above, *beside])

    def edge_label(self, name: str, points: tuple[Point, ...], from_split: bool) -> Bounds:
        """A flow's name: by the start of a branch, else along its longest horizontal segment."""
        candidates: list[Bounds] = []
        for width in (EDGE_LABEL_WIDTH, 3 * EDGE_LABEL_WIDTH):  # two lines at most, then one line
            placed = external_box(name, Bounds(0, 0, 0, 0), width=width)
            candidates += self._edge_candidates(points, from_split, placed.box.width, placed.box.height)
        return self.place(candidates)

    @staticmethod
    def _edge_candidates(points: tuple[Point, ...], from_split: bool, w: float, h: float) -> list[Bounds]:
        candidates: list[Bounds] = []
        (x1, y1), (x2, y2) = points[0], points[1]
        if from_split and abs(x1 - x2) < 1 and len(points) > 2:  # branch leaving a corner: before the target
            lx, ly = points[-1]
            candidates.append(Bounds(lx - 8 - w, ly - 4 - h, w, h))
        elif from_split and abs(y1 - y2) < 1:
            candidates.append(Bounds(min(x1, x2) + 6, y1 - 4 - h, w, h))
        flat = sorted((pq for pq in pairwise(points) if abs(pq[0][1] - pq[1][1]) < 1),
                      key=lambda pq: -abs(pq[1][0] - pq[0][0]))  # fmt: skip
        for (px, py), (qx, _) in flat:
            left, right = min(px, qx), max(px, qx)
            for x in ((left + right) / 2 - w / 2, left + 6, right - 6 - w):
                candidates += [Bounds(x, py - 4 - h, w, h), Bounds(x, py + 4, w, h)]
        for (px, py), (_, qy) in (pq for pq in pairwise(points) if abs(pq[0][0] - pq[1][0]) < 1):
            mid = (py + qy) / 2 - h / 2
            candidates += [Bounds(px + 6, mid, w, h), Bounds(px - 6 - w, mid, w, h)]
        return candidates
