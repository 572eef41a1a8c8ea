"""BPMN notation as SVG: outlines, type icons and markers of events, tasks, gateways, data and flows.

Every function returns SVG markup without the enclosing group; :mod:`.svg` wraps each
element in a group carrying its ``data-element-id``.  Glyphs are drawn in a unit box and
scaled, with ``vector-effect="non-scaling-stroke"`` so every line has the same width.
"""

from __future__ import annotations

import itertools
import math

from .model import Bounds, Edge, Point, Shape

__all__ = ["EDGE", "INK", "MARKER_DEFS", "edge_svg", "fmt", "shape_svg"]

INK = "#1f2d3d"
EDGE = "#3b4a5a"
LANE = "#a3adb8"
BAND = "#f1f4f8"
STROKE = 1.5
_NS = ' vector-effect="non-scaling-stroke"'
THROW_KINDS = frozenset({"endEvent", "intermediateThrowEvent"})
_TASK_ICONS = {
    "userTask": "M-0.45 0.9 C-0.45 0.2 0.45 0.2 0.45 0.9 Z M0 0.1 A0.3 0.3 0 1 0 0 -0.5 A0.3 0.3 0 1 0 0 0.1 Z",
    "manualTask": "M-0.9 -0.1 L-0.2 -0.6 L0.9 -0.6 M-0.3 -0.3 L0.8 -0.3 M-0.3 0 L0.7 0 M-0.3 0.3 L0.5 0.3 "
    "M-0.9 -0.1 L-0.9 0.6 L0.4 0.6",
    "sendTask": "M-0.9 -0.6 H0.9 V0.6 H-0.9 Z M-0.9 -0.6 L0 0.05 L0.9 -0.6",
    "receiveTask": "M-0.9 -0.6 H0.9 V0.6 H-0.9 Z M-0.9 -0.6 L0 0.05 L0.9 -0.6",
    "scriptTask": "M-0.5 -0.9 H0.7 C0.3 -0.45 0.9 0.45 0.5 0.9 H-0.7 C-0.3 0.45 -0.9 -0.45 -0.5 -0.9 Z "
    "M-0.35 -0.45 H0.3 M-0.25 0 H0.4 M-0.15 0.45 H0.45",
    "businessRuleTask": "M-0.9 -0.7 H0.9 V0.7 H-0.9 Z M-0.9 -0.25 H0.9 M-0.9 0.25 H0.9 M-0.35 -0.25 V0.7",
    "serviceTask": "M0 -0.9 V-0.55 M0 0.55 V0.9 M-0.9 0 H-0.55 M0.55 0 H0.9 M-0.64 -0.64 L-0.39 -0.39 "
    "M0.39 0.39 L0.64 0.64 M-0.64 0.64 L-0.39 0.39 M0.39 -0.39 L0.64 -0.64 "
    "M0.55 0 A0.55 0.55 0 1 1 -0.55 0 A0.55 0.55 0 1 1 0.55 0 Z M0.22 0 A0.22 0.22 0 1 1 -0.22 0 "
    "A0.22 0.22 0 1 1 0.22 0 Z",
}
_EVENT_GLYPHS = {
    "message": "M-0.8 -0.55 H0.8 V0.55 H-0.8 Z M-0.8 -0.55 L0 0.1 L0.8 -0.55",
    "timer": "M0.8 0 A0.8 0.8 0 1 1 -0.8 0 A0.8 0.8 0 1 1 0.8 0 Z M0 -0.8 V-0.6 M0 0.6 V0.8 M-0.8 0 H-0.6 "
    "M0.6 0 H0.8 M0 0 L0.1 -0.55 M0 0 L0.4 0.15",
    "signal": "M0 -0.8 L0.75 0.55 H-0.75 Z",
    "error": "M-0.7 0.75 L-0.25 -0.65 L0.2 0.15 L0.7 -0.75 L0.3 0.7 L-0.15 -0.1 Z",
    "escalation": "M0 -0.85 L0.55 0.75 L0 0.2 L-0.55 0.75 Z",
    "conditional": "M-0.55 -0.75 H0.55 V0.75 H-0.55 Z M-0.35 -0.4 H0.35 M-0.35 -0.1 H0.35 M-0.35 0.2 H0.35 "
    "M-0.35 0.5 H0.35",
    "link": "M-0.75 -0.25 H0.15 V-0.6 L0.8 0 L0.15 0.6 V0.25 H-0.75 Z",
    "cancel": "M-0.6 -0.6 L0.6 0.6 M0.6 -0.6 L-0.6 0.6",
    "compensate": "M-0.85 0 L-0.05 -0.55 V0.55 Z M-0.05 0 L0.75 -0.55 V0.55 Z",
    "multiple": "M0 -0.8 L0.76 -0.25 L0.47 0.65 H-0.47 L-0.76 -0.25 Z",
    "parallelMultiple": "M-0.2 -0.8 H0.2 V-0.2 H0.8 V0.2 H0.2 V0.8 H-0.2 V0.2 H-0.8 V-0.2 H-0.2 Z",
    "terminate": "M0.62 0 A0.62 0.62 0 1 1 -0.62 0 A0.62 0.62 0 1 1 0.62 0 Z",
}
_GATEWAY_GLYPHS = {
    "exclusiveGateway": "M-0.42 -0.42 L0.42 0.42 M0.42 -0.42 L-0.42 0.42",
    "parallelGateway": "M0 -0.58 V0.58 M-0.58 0 H0.58",
    "inclusiveGateway": "M0.5 0 A0.5 0.5 0 1 1 -0.5 0 A0.5 0.5 0 1 1 0.5 0 Z",
    "complexGateway": "M0 -0.6 V0.6 M-0.6 0 H0.6 M-0.42 -0.42 L0.42 0.42 M0.42 -0.42 L-0.42 0.42",
}
_ACTIVITY_MARKERS = {
    "loop": "M-0.35 0.55 A0.6 0.6 0 1 1 0.35 0.55 M0.35 0.55 L0.6 0.35 M0.35 0.55 L0.6 0.8",
    "parallel": "M-0.5 -0.7 V0.7 M0 -0.7 V0.7 M0.5 -0.7 V0.7",
    "sequential": "M-0.7 -0.5 H0.7 M-0.7 0 H0.7 M-0.7 0.5 H0.7",
    "compensation": "M-0.9 0 L-0.1 -0.5 V0.5 Z M-0.1 0 L0.7 -0.5 V0.5 Z",
    "adhoc": "M-0.8 0.1 C-0.4 -0.5 0 0.5 0.4 -0.1 S0.8 -0.2 0.9 -0.3",
    "collapsed": "M-0.8 -0.8 H0.8 V0.8 H-0.8 Z M0 -0.5 V0.5 M-0.5 0 H0.5",
}
MARKER_DEFS = (
    "<defs>"
    f'<marker id="af-seq-end" viewBox="0 0 20 20" refX="19" refY="10" markerWidth="11" markerHeight="11" '
    f'markerUnits="userSpaceOnUse" orient="auto"><path d="M1 3 L19 10 L1 17 Z" fill="{EDGE}"/></marker>'
    f'<marker id="af-msg-end" viewBox="0 0 20 20" refX="19" refY="10" markerWidth="12" markerHeight="12" '
    f'markerUnits="userSpaceOnUse" orient="auto"><path d="M1 3 L19 10 L1 17 Z" fill="#fff" stroke="{EDGE}" '
    'stroke-width="1.6"/></marker>'
    f'<marker id="af-msg-start" viewBox="0 0 20 20" refX="10" refY="10" markerWidth="9" markerHeight="9" '
    f'markerUnits="userSpaceOnUse"><circle cx="10" cy="10" r="8" fill="#fff" stroke="{EDGE}" stroke-width="2.5"/>'
    "</marker>"
    f'<marker id="af-assoc-end" viewBox="0 0 20 20" refX="19" refY="10" markerWidth="10" markerHeight="10" '
    f'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M1 2 L19 10 L1 18" fill="none" stroke="{EDGE}" '
    'stroke-width="2"/></marker>'
    f'<marker id="af-cond-start" viewBox="0 0 20 20" refX="1" refY="10" markerWidth="16" markerHeight="16" '
    f'markerUnits="userSpaceOnUse" orient="auto"><path d="M1 10 L10 5 L19 10 L10 15 Z" fill="#fff" '
    f'stroke="{EDGE}" stroke-width="1.4"/></marker>'
    "</defs>"
)


def fmt(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros: stable across runs."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _glyph(d: str, cx: float, cy: float, scale: float, fill: str, stroke: str, width: float = STROKE) -> str:
    return (
        f'<path d="{d}" transform="translate({fmt(cx)} {fmt(cy)}) scale({fmt(scale)})" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{fmt(width)}" stroke-linejoin="round" stroke-linecap="round"{_NS}/>'
    )


def _rect(b: Bounds, fill: str, stroke: str, width: float, rx: float = 0, extra: str = "") -> str:
    corner = f' rx="{fmt(rx)}"' if rx else ""
    return (
        f'<rect x="{fmt(b.x)}" y="{fmt(b.y)}" width="{fmt(b.width)}" height="{fmt(b.height)}"{corner} '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{fmt(width)}"{extra}/>'
    )


def _activity(s: Shape, fill: str, stroke: str) -> list[str]:
    b = s.bounds
    width = 4.0 if s.kind == "callActivity" else STROKE
    dash = ' stroke-dasharray="5 3"' if "eventSubProcess" in s.markers else ""
    parts = [_rect(b, fill, stroke, width, 8, dash)]
    if s.kind == "transaction":
        parts.append(_rect(Bounds(b.x + 3, b.y + 3, b.width - 6, b.height - 6), "none", stroke, 1.0, 6))
    icon = _TASK_ICONS.get(s.kind)
    if icon:
        icon_fill = stroke if s.kind in {"sendTask", "userTask"} else "none"
        parts.append(_glyph(icon, b.x + 14, b.y + 14, 7, icon_fill, stroke if s.kind != "sendTask" else "#fff", 1.2))
        if s.kind == "sendTask":
            parts[-1] = parts[-1].replace('stroke="#fff"', 'stroke="#fff"')
    markers = [m for m in s.markers if m in _ACTIVITY_MARKERS]
    collapsible = s.kind in {"subProcess", "transaction", "adHocSubProcess"} or "callsProcess" in s.markers
    if collapsible and not s.expanded:
        markers.append("collapsed")
    for i, marker in enumerate(markers):
        x = b.cx + (i - (len(markers) - 1) / 2) * 18
        parts.append(_glyph(_ACTIVITY_MARKERS[marker], x, b.bottom - 10, 6, "none", stroke, 1.2))
    return parts


def _event(s: Shape, fill: str, stroke: str) -> list[str]:
    b = s.bounds
    r = min(b.width, b.height) / 2
    dash = "" if s.interrupting else ' stroke-dasharray="4 2.5"'
    width = 4.0 if s.kind == "endEvent" else 2.0 if s.kind == "startEvent" else STROKE
    circle = f'<circle cx="{fmt(b.cx)}" cy="{fmt(b.cy)}" r="{fmt(r - width / 2)}" fill="{fill}" stroke="{stroke}"'
    parts = [f'{circle} stroke-width="{fmt(width)}"{dash}/>']
    if s.kind in {"intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}:
        parts.append(
            f'<circle cx="{fmt(b.cx)}" cy="{fmt(b.cy)}" r="{fmt(r - 4)}" fill="none" stroke="{stroke}" '
            f'stroke-width="1"{dash}/>'
        )
    throw = s.kind in THROW_KINDS
    for marker in s.markers[:1]:
        glyph = _EVENT_GLYPHS.get(marker)
        if glyph:
            filled = throw or marker == "terminate"
            glyph_fill = stroke if filled else "none" if marker in {"cancel", "timer"} else fill
            line = "#fff" if filled and marker in {"message"} else stroke
            parts.append(_glyph(glyph, b.cx, b.cy, r * 0.55, glyph_fill, line, 1.2))
    return parts


def _gateway(s: Shape, fill: str, stroke: str) -> list[str]:
    b = s.bounds
    points = f"{fmt(b.cx)},{fmt(b.y)} {fmt(b.right)},{fmt(b.cy)} {fmt(b.cx)},{fmt(b.bottom)} {fmt(b.x)},{fmt(b.cy)}"
    parts = [f'<polygon points="{points}" fill="{fill}" stroke="{stroke}" stroke-width="{fmt(STROKE)}" '
             'stroke-linejoin="round"/>']  # fmt: skip
    half = min(b.width, b.height) / 2
    glyph = _GATEWAY_GLYPHS.get(s.kind)
    if glyph:
        weight = 2.2 if s.kind == "inclusiveGateway" else 3.0
        parts.append(_glyph(glyph, b.cx, b.cy, half * 0.55, "none", stroke, weight))
    elif s.kind == "eventBasedGateway":
        ring = "M0.62 0 A0.62 0.62 0 1 1 -0.62 0 A0.62 0.62 0 1 1 0.62 0 Z"
        inner = "M0.5 0 A0.5 0.5 0 1 1 -0.5 0 A0.5 0.5 0 1 1 0.5 0 Z " if "instantiate" not in s.markers else ""
        mark = _EVENT_GLYPHS["parallelMultiple" if "parallelEventGateway" in s.markers else "multiple"]
        parts.append(_glyph(ring + " " + inner, b.cx, b.cy, half * 0.6, "none", stroke, 1.0))
        parts.append(_glyph(mark, b.cx, b.cy, half * 0.28, "none", stroke, 1.2))
    return parts


def _data(s: Shape, fill: str, stroke: str) -> list[str]:
    b = s.bounds
    if s.kind == "dataStoreReference":
        e = min(8.0, b.height / 6)
        d = (f"M{fmt(b.x)} {fmt(b.y + e)} A{fmt(b.width / 2)} {fmt(e)} 0 0 1 {fmt(b.right)} {fmt(b.y + e)} "
             f"V{fmt(b.bottom - e)} A{fmt(b.width / 2)} {fmt(e)} 0 0 1 {fmt(b.x)} {fmt(b.bottom - e)} Z "
             f"M{fmt(b.x)} {fmt(b.y + e)} A{fmt(b.width / 2)} {fmt(e)} 0 0 0 {fmt(b.right)} {fmt(b.y + e)}"
             )  # fmt: skip
        return [f'<path d="{d}" fill="{fill}" stroke="{stroke}" stroke-width="{fmt(STROKE)}"/>']
    fold = min(12.0, b.width / 3)
    d = (f"M{fmt(b.x)} {fmt(b.y)} H{fmt(b.right - fold)} L{fmt(b.right)} {fmt(b.y + fold)} V{fmt(b.bottom)} "
         f"H{fmt(b.x)} Z M{fmt(b.right - fold)} {fmt(b.y)} V{fmt(b.y + fold)} H{fmt(b.right)}")  # fmt: skip
    parts = [f'<path d="{d}" fill="{fill}" stroke="{stroke}" stroke-width="{fmt(STROKE)}" stroke-linejoin="round"/>']
    if s.kind in {"dataInput", "dataOutput"}:
        arrow = "M-0.9 -0.3 H0 V-0.8 L0.9 0 L0 0.8 V0.3 H-0.9 Z"
        parts.append(_glyph(arrow, b.x + 9, b.y + 9, 6, stroke if s.kind == "dataOutput" else "none", stroke, 1.0))
    if "collection" in s.markers:
        parts.append(_glyph(_ACTIVITY_MARKERS["parallel"], b.cx, b.bottom - 7, 5, "none", stroke, 1.2))
    return parts


def _container(s: Shape, fill: str, band_x: float | None) -> list[str]:
    b = s.bounds
    stroke = INK if s.kind == "participant" else LANE
    parts = [_rect(b, fill if s.kind == "participant" else "none", stroke, STROKE if s.kind == "participant" else 1.0)]
    if s.horizontal:
        x = b.x if band_x is None else band_x
        band = Bounds(x, b.y, 30, b.height)
    else:
        band = Bounds(b.x, b.y, b.width, 30)
    parts.append(_rect(band, BAND, stroke, 1.0))
    return parts


def shape_svg(s: Shape, fill: str = "#fff", stroke: str = INK, band_x: float | None = None) -> list[str]:
    """The outline, icon and markers of one shape (no label)."""
    if s.kind in {"participant", "lane"}:
        return _container(s, fill, band_x)
    if s.kind.endswith("Event"):
        return _event(s, fill, stroke)
    if s.kind.endswith("Gateway"):
        return _gateway(s, fill, stroke)
    if s.kind in {"dataObjectReference", "dataObject", "dataStoreReference", "dataInput", "dataOutput"}:
        return _data(s, fill, stroke)
    if s.kind == "textAnnotation":
        b = s.bounds
        d = f"M{fmt(b.x + 12)} {fmt(b.y)} H{fmt(b.x)} V{fmt(b.bottom)} H{fmt(b.x + 12)}"
        bracket = f'<path d="{d}" fill="none" stroke="{EDGE}" stroke-width="{fmt(STROKE)}"/>'
        return [_rect(b, "none", "none", 0), bracket]
    if s.kind == "group":
        return [_rect(s.bounds, "none", EDGE, 1.2, 10, ' stroke-dasharray="10 4 2 4"')]
    return _activity(s, fill, stroke)


def _path(points: tuple[Point, ...]) -> str:
    return "M" + " L".join(f"{fmt(x)} {fmt(y)}" for x, y in points)


def _default_slash(points: tuple[Point, ...]) -> str:
    (x1, y1), (x2, y2) = points[0], points[1]
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    cx, cy = x1 + ux * min(12.0, length / 2), y1 + uy * min(12.0, length / 2)
    ax, ay = cx + (-ux + -uy) * 5, cy + (-uy + ux) * 5
    bx, by = cx - (-ux + -uy) * 5, cy - (-uy + ux) * 5
    return f'<path d="M{fmt(ax)} {fmt(ay)} L{fmt(bx)} {fmt(by)}" stroke="{EDGE}" stroke-width="{fmt(STROKE)}"/>'


def _midpoint(points: tuple[Point, ...]) -> Point:
    """The point halfway along a polyline."""
    lengths = [math.hypot(x2 - x1, y2 - y1) for (x1, y1), (x2, y2) in itertools.pairwise(points)]
    left = sum(lengths) / 2
    for ((x1, y1), (x2, y2)), length in zip(itertools.pairwise(points), lengths, strict=True):
        if left <= length and length > 0:
            t = left / length
            return x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
        left -= length
    return points[-1]


def _envelope(e: Edge) -> list[str]:
    """A message flow's envelope at its middle, as its DI asks: white when initiating, shaded when not."""
    if e.message is None:
        return []
    x, y = _midpoint(e.waypoints)
    fill = "#ffffff" if e.message == "initiating" else "#c9ced6"
    left, top, right = x - 10, y - 7, x + 10
    return [
        f'<g data-message="{e.message}"><rect x="{fmt(left)}" y="{fmt(top)}" width="20" height="14" fill="{fill}" '
        f'stroke="{EDGE}" stroke-width="1.4"/><path d="M{fmt(left)} {fmt(top)} L{fmt(x)} {fmt(y + 1)} '
        f'L{fmt(right)} {fmt(top)}" fill="none" stroke="{EDGE}" stroke-width="1.4"/></g>'
    ]


def edge_svg(e: Edge, color: str = EDGE) -> list[str]:
    """The line and its markers of one connection (no label)."""
    d = _path(e.waypoints)
    base = f'd="{d}" fill="none" stroke="{color}" stroke-linejoin="round"'
    if e.kind == "messageFlow":
        line = (f'<path {base} stroke-width="{fmt(STROKE)}" stroke-dasharray="8 5" '
                'marker-start="url(#af-msg-start)" marker-end="url(#af-msg-end)"/>')  # fmt: skip
        return [line, *_envelope(e)]
    if e.kind in {"association", "dataInputAssociation", "dataOutputAssociation"}:
        # data associations always point; an association as its associationDirection says (One, Both, or None)
        arrow = e.kind != "association" or e.direction in {"One", "Both"}
        end = ' marker-end="url(#af-assoc-end)"' if arrow else ""
        if e.kind == "association" and e.direction == "Both":
            end += ' marker-start="url(#af-assoc-end)"'
        return [f'<path {base} stroke-width="1.2" stroke-dasharray="2 4" stroke-linecap="round"{end}/>']
    start = ' marker-start="url(#af-cond-start)"' if e.conditional else ""
    parts = [f'<path {base} stroke-width="{fmt(STROKE)}"{start} marker-end="url(#af-seq-end)"/>']
    if e.default:
        parts.append(_default_slash(e.waypoints))
    return parts
