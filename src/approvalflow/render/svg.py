"""The SVG writer and the flow view (运行流程图).

:func:`draw` turns a :class:`~.model.Diagram` into SVG fragments (shapes, flows, labels),
with a hook for the fill and stroke of each shape that the risk view (:mod:`.risk`) uses;
:func:`document` wraps fragments into a standalone SVG.  Every BPMN element drawn is a
``<g>`` carrying ``data-element-id``; every label is a ``<text>`` carrying
``data-label-for`` and ``data-limit`` (the box it must stay inside), which the browser
test checks.  Output is deterministic: file order, fixed number formatting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from .labels import PlacedText, edge_label, shape_labels
from .model import Bounds, Diagram, Edge, Header, Shape
from .names import MAX_TITLE_CHARS, clip
from .notation import INK, MARKER_DEFS, edge_svg, fmt, shape_svg
from .text import ASCENT, FONT_STACK, LINE_HEIGHT, block_height, measure, wrap

__all__ = ["Drawing", "ShapeStyle", "document", "draw", "header_svg", "render_flow", "text_svg"]

ShapeStyle = Callable[[Shape], tuple[str, str]]
MARGIN = 24.0
TEXT = INK
MUTED = "#56657a"
_CONTAINERS = ("participant", "lane")
_ON_TOP = ("group",)


@dataclass
class Drawing:
    """SVG fragments of one diagram and the box they cover."""

    parts: list[str] = field(default_factory=list)
    extent: Bounds = field(default_factory=lambda: Bounds(0, 0, 0, 0))


def _box_attr(b: Bounds) -> str:
    return quoteattr(f"{fmt(b.x)} {fmt(b.y)} {fmt(b.width)} {fmt(b.height)}")


def text_svg(p: PlacedText, color: str = TEXT, weight: str = "normal") -> str:
    """A label as ``<text>`` with one ``<tspan>`` a line, inside ``p.box``."""
    b = p.box
    if p.rotate:  # lay out in the unrotated frame, then turn it -90 degrees about the box centre
        frame = Bounds(b.cx - b.height / 2, b.cy - b.width / 2, b.height, b.width)
        transform = f' transform="rotate(-90 {fmt(b.cx)} {fmt(b.cy)})"'
    else:
        frame, transform = b, ""
    x = frame.cx if p.anchor == "middle" else frame.x
    spans = "".join(
        f'<tspan x="{fmt(x)}" y="{fmt(frame.y + p.size * (ASCENT + i * LINE_HEIGHT))}">{escape(line)}</tspan>'
        for i, line in enumerate(p.lines)
    )
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return (
        f'<text class="af-label" data-label-for={quoteattr(p.owner)} data-role="{p.role}" '
        f'data-box={_box_attr(b)} data-limit={_box_attr(p.limit)} font-size="{fmt(p.size)}" '
        f'text-anchor="{p.anchor}" fill="{color}"{bold}{transform}>{spans}</text>'
    )


def _group(kind: str, ident: str, parts: list[str], title: str = "") -> str:
    """One element's drawing; ``title`` (its whole name when the label was cut) as a ``<title>`` tooltip."""
    tip = f"<title>{escape(title)}</title>" if title else ""
    return f'<g class="af-element af-{kind}" data-element-id={quoteattr(ident)}>{tip}{"".join(parts)}</g>'


def _default_style(shape: Shape) -> tuple[str, str]:
    return "#fff", INK


def _order(shapes: list[Shape]) -> list[Shape]:
    """Containers first (pools, lanes, open sub-processes, largest first), boundary events last, groups on top."""

    def rank(s: Shape) -> tuple[int, float]:
        if s.kind in _CONTAINERS:
            return (0 if s.kind == "participant" else 1, 0.0)
        if s.expanded:
            return (2, -s.bounds.width * s.bounds.height)
        if s.kind in _ON_TOP:
            return (5, 0.0)
        return (4 if s.kind == "boundaryEvent" else 3, 0.0)

    return sorted(shapes, key=rank)  # stable: file order within a rank


def draw(diagram: Diagram, style: ShapeStyle = _default_style) -> Drawing:
    """Shapes, flows and labels of ``diagram``; ``style`` gives each shape's fill and stroke."""
    body: list[str] = []
    labels: list[PlacedText] = []
    ordered = _order(diagram.shapes)
    for shape in (s for s in ordered if s.kind not in _ON_TOP):
        fill, stroke = style(shape)
        body.append(_group(shape.kind, shape.id, shape_svg(shape, fill, stroke), shape.title))
        labels.extend(shape_labels(shape))
    for edge in diagram.edges:
        body.append(_group(edge.kind, edge.id, edge_svg(edge), edge.title))
        if (placed := edge_label(edge)) is not None:
            labels.append(placed)
    for shape in (s for s in ordered if s.kind in _ON_TOP):
        body.append(_group(shape.kind, shape.id, shape_svg(shape), shape.title))
        labels.extend(shape_labels(shape))
    extent = diagram.extent()
    for placed in labels:
        extent = extent.union(placed.box)
    texts = [text_svg(p, MUTED if p.role == "detail" else TEXT) for p in labels]
    parts = ['<g class="af-shapes">', *body, "</g>", '<g class="af-labels">', *texts, "</g>"]
    return Drawing(parts, extent)


def header_svg(header: Header, x: float, y: float, width: float) -> tuple[list[str], float]:
    """The title block at (x, y), wrapped to ``width``; returns the fragments and the height used."""
    parts: list[str] = []
    top = y
    items = [(header.title, 18.0, "bold", TEXT)] + [(line, 12.0, "normal", MUTED) for line in header.lines]
    for text, size, weight, color in items:
        lines = tuple(wrap(text, width, size, weight == "bold"))
        if not lines:
            continue
        w = max(measure(line, size, weight == "bold") for line in lines)
        h = block_height(len(lines), size)
        box = Bounds(x, top, w, h)
        limit = Bounds(x, top, width + 0.5, h)
        placed = PlacedText("header", lines, size, box, limit, anchor="start", role="header")
        parts.append(text_svg(placed, color, weight))
        top += h + (8 if size > 12 else 4)
    return ['<g class="af-header">', *parts, "</g>"], top - y + 12


def document(parts: list[str], box: Bounds, title: str = "") -> str:
    """A standalone SVG document showing ``box`` (plus a margin)."""
    x, y = box.x - MARGIN, box.y - MARGIN
    w, h = box.width + 2 * MARGIN, box.height + 2 * MARGIN
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{fmt(w)}" height="{fmt(h)}" '
        f'viewBox="{fmt(x)} {fmt(y)} {fmt(w)} {fmt(h)}" font-family={quoteattr(FONT_STACK)}>'
    )
    title_el = f"<title>{escape(clip(title, MAX_TITLE_CHARS))}</title>" if title else ""
    background = f'<rect x="{fmt(x)}" y="{fmt(y)}" width="{fmt(w)}" height="{fmt(h)}" fill="#fff"/>'
    return "\n".join([head + title_el, MARKER_DEFS, background, *parts, "</svg>"]) + "\n"


def with_header(diagram: Diagram, drawing: Drawing, width: float | None = None) -> tuple[list[str], Bounds]:
    """Put the diagram's header above the drawing; returns all fragments and the box they cover."""
    ext = drawing.extent
    if diagram.header is None:
        return drawing.parts, ext
    header_width = max(width or ext.width, 640.0)
    parts, height = header_svg(diagram.header, ext.x, 0.0, header_width)
    shift = ext.y - height  # header sits right above the drawing
    moved = [f'<g transform="translate(0 {fmt(shift)})">', *parts, "</g>"]
    box = ext.union(Bounds(ext.x, shift, header_width, height))
    return moved + drawing.parts, box


def render_flow(diagram: Diagram) -> str:
    """The flow view (运行流程图) of one diagram as a standalone SVG document."""
    drawing = draw(diagram)
    parts, box = with_header(diagram, drawing)
    title = diagram.header.title if diagram.header else diagram.name
    return document(parts, box, title)


def edge_of(diagram: Diagram, ident: str) -> Edge | None:
    """The edge with id ``ident``."""
    return next((e for e in diagram.edges if e.id == ident), None)
