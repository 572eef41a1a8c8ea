"""Where each label goes and how it wraps: inside tasks, below events and gateways, beside flows.

A :class:`PlacedText` is a block of lines with the box its text occupies (``box``, which
the browser test checks the rendered text against) and the box it must stay inside
(``limit``: the task for task labels, the label box itself for external labels).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Bounds, Edge, Shape
from .text import block_height, fit_text, measure, wrap

__all__ = [
    "EXTERNAL_KINDS", "LABEL_SIZE", "POOL_BAND", "PlacedText", "edge_label", "external_box", "shape_labels",
]  # fmt: skip

LABEL_SIZE = 12.0
DETAIL_SIZE = 10.0
EXTERNAL_SIZE = 11.0
EXTERNAL_WIDTH = 90.0
POOL_BAND = 30.0
_PAD = 6.0
_CONTAINERS = {"participant", "lane"}
_INSIDE = {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
           "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}  # fmt: skip
ICON_KINDS = frozenset({"userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
                        "businessRuleTask"})  # fmt: skip
EXTERNAL_KINDS = frozenset(
    {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
     "exclusiveGateway", "parallelGateway", "inclusiveGateway", "complexGateway", "eventBasedGateway",
     "dataObjectReference", "dataObject", "dataStoreReference", "dataInput", "dataOutput"}
)  # fmt: skip


@dataclass(frozen=True)
class PlacedText:
    """Lines set at ``size`` px in ``box`` (centred unless ``anchor`` is ``start``), never leaving ``limit``."""

    owner: str
    lines: tuple[str, ...]
    size: float
    box: Bounds
    limit: Bounds
    anchor: str = "middle"
    rotate: bool = False  # vertical lane and pool titles, read bottom to top
    role: str = "label"  # label, detail, title


def _bottom_marker(shape: Shape) -> bool:
    """Whether markers (loop, multi-instance, the [+] of a collapsed sub-process) sit at the bottom."""
    collapsed = shape.kind in {"subProcess", "transaction", "adHocSubProcess"} and not shape.expanded
    return bool(shape.markers) or collapsed


def _inside(shape: Shape) -> list[PlacedText]:
    b = shape.bounds
    marked = _bottom_marker(shape)
    width, height = b.width - 2 * _PAD, b.height - 2 * _PAD
    if shape.expanded:
        block = fit_text(shape.name, width, min(height, 40), LABEL_SIZE)
        box = Bounds(b.x + _PAD, b.y + _PAD, block.width, block.height)
        return [PlacedText(shape.id, block.lines, block.size, box, b, anchor="start")]
    detail = fit_text(shape.detail, width, height / 2, DETAIL_SIZE, 8.0) if shape.detail else None
    room = height - (detail.height + 3 if detail else 0) - (12 if marked else 0)
    name = fit_text(shape.name, width, max(room, 12.0), LABEL_SIZE, 8.0)
    total = name.height + (detail.height + 3 if detail else 0)
    top = b.y + (b.height - total) / 2 - (5 if marked and not shape.detail else 0)
    if shape.kind in ICON_KINDS and top < b.y + 22 and name.width > width - 36:  # keep clear of the type icon
        room = b.bottom - _PAD - (b.y + 22) - (detail.height + 3 if detail else 0) - (12 if marked else 0)
        name = fit_text(shape.name, width, max(room, 12.0), LABEL_SIZE, 7.0)
        top = b.y + 22
    name_box = Bounds(b.cx - name.width / 2, top, name.width, name.height)
    placed = [PlacedText(shape.id, name.lines, name.size, name_box, b)]
    if detail is not None:
        dtop = top + name.height + 3
        box = Bounds(b.cx - detail.width / 2, dtop, detail.width, detail.height)
        placed.append(PlacedText(shape.id, detail.lines, detail.size, box, b, role="detail"))
    return placed


def _title(shape: Shape, band_x: float | None = None) -> PlacedText:
    """A pool's or lane's title, vertical in the band at its left (or horizontal at the top of a vertical one)."""
    b = shape.bounds
    if not shape.horizontal:
        block = fit_text(shape.name, b.width - 2 * _PAD, POOL_BAND - 4, LABEL_SIZE, 8.0)
        box = Bounds(b.cx - block.width / 2, b.y + (POOL_BAND - block.height) / 2, block.width, block.height)
        return PlacedText(shape.id, block.lines, block.size, box, box, role="title")
    x = b.x if band_x is None else band_x
    block = fit_text(shape.name, b.height - 2 * _PAD, POOL_BAND - 4, LABEL_SIZE, 8.0)
    # box in the rotated frame: width along the band, height across it
    box = Bounds(x + (POOL_BAND - block.height) / 2, b.cy - block.width / 2, block.height, block.width)
    return PlacedText(shape.id, block.lines, block.size, box, box, rotate=True, role="title")


def external_box(text: str, anchor: Bounds, below: bool = True, width: float = EXTERNAL_WIDTH) -> PlacedText:
    """An external label centred under (or over) ``anchor``."""
    lines = tuple(wrap(text, width, EXTERNAL_SIZE))
    w = max((measure(line, EXTERNAL_SIZE) for line in lines), default=0.0)
    h = block_height(len(lines), EXTERNAL_SIZE)
    y = anchor.bottom + 4 if below else anchor.y - 4 - h
    box = Bounds(anchor.cx - w / 2, y, w, h)
    return PlacedText("", lines, EXTERNAL_SIZE, box, box)


def _external(shape: Shape) -> list[PlacedText]:
    if not shape.name:
        return []
    if shape.label_bounds is not None:
        lb = shape.label_bounds
        width = max(lb.width, EXTERNAL_WIDTH) if lb.width < EXTERNAL_WIDTH else lb.width + 1
        placed = external_box(shape.name, Bounds(lb.x, lb.y - 4, lb.width, 0), width=width)
    else:
        placed = external_box(shape.name, shape.bounds)
    return [PlacedText(shape.id, placed.lines, placed.size, placed.box, placed.limit)]


def _annotation(shape: Shape) -> list[PlacedText]:
    b = shape.bounds
    block = fit_text(shape.name, b.width - 2 * 5, max(b.height - 4, 12), EXTERNAL_SIZE, 7.0)
    box = Bounds(b.x + 5, b.cy - block.height / 2, block.width, block.height)
    return [PlacedText(shape.id, block.lines, block.size, box, b, anchor="start")]


def shape_labels(shape: Shape, lane_band_x: float | None = None) -> list[PlacedText]:
    """The labels of one shape; empty when it has no name."""
    if not shape.name:
        return []
    if shape.kind in _CONTAINERS:
        return [_title(shape, lane_band_x)]
    if shape.kind in _INSIDE:
        return _inside(shape)
    if shape.kind == "textAnnotation":
        return _annotation(shape)
    if shape.kind == "group":
        block = fit_text(shape.name, shape.bounds.width - 2 * _PAD, 40, EXTERNAL_SIZE)
        box = Bounds(shape.bounds.cx - block.width / 2, shape.bounds.y + 4, block.width, block.height)
        return [PlacedText(shape.id, block.lines, block.size, box, box)]
    return _external(shape)


def edge_label(edge: Edge) -> PlacedText | None:
    """A flow's name (its condition as people read it), at its DI label box or by its first segment."""
    if not edge.name:
        return None
    if edge.label_bounds is not None:
        lb = edge.label_bounds
        width = max(lb.width + 1, 60.0)
        placed = external_box(edge.name, Bounds(lb.x, lb.y - 4, lb.width, 0), width=width)
    else:
        (x1, y1), (x2, y2) = edge.waypoints[0], edge.waypoints[1]
        mid = Bounds((x1 + x2) / 2, (y1 + y2) / 2 - 2, 0, 0)
        placed = external_box(edge.name, mid, below=False, width=80)
    return PlacedText(edge.id, placed.lines, placed.size, placed.box, placed.box)
