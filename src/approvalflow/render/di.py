"""Read BPMN diagram interchange (DI): the positions a modelling tool saved in the file.

A file may hold several ``bpmndi:BPMNDiagram`` elements (C.4.0 of the BPMN MIWG has
four: one per process); each has one ``bpmndi:BPMNPlane`` whose ``bpmnElement`` is a
process, a collaboration or an expanded sub-process.  Every plane becomes a
:class:`Layout`; :mod:`.autolayout` produces the same structure for files without DI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .model import Bounds, Point

__all__ = ["BPMNDI_NS", "DC_NS", "DI_NS", "Layout", "LayoutEdge", "LayoutShape", "read_layouts"]

BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"


@dataclass(frozen=True)
class LayoutShape:
    """Where one element is drawn: ``bpmndi:BPMNShape``."""

    element: str
    bounds: Bounds
    label: Bounds | None = None
    expanded: bool | None = None
    horizontal: bool | None = None


@dataclass(frozen=True)
class LayoutEdge:
    """The route of one connection: ``bpmndi:BPMNEdge``."""

    element: str
    waypoints: tuple[Point, ...]
    label: Bounds | None = None
    #: ``messageVisibleKind`` of a message flow's edge: ``initiating`` (a white envelope) or ``non_initiating`` (a
    #: shaded one); None draws no envelope
    message: str | None = None


@dataclass
class Layout:
    """One plane: its diagram id and name, the element it shows, and its shapes and edges in file order."""

    diagram_id: str
    name: str
    element: str
    shapes: list[LayoutShape] = field(default_factory=list)
    edges: list[LayoutEdge] = field(default_factory=list)


def _float(value: str | None) -> float:
    try:
        number = float(value) if value is not None else 0.0
    except ValueError:
        return 0.0
    return number if number == number and abs(number) < 1e7 else 0.0  # NaN and absurd values are 0


def _bounds(el: etree._Element | None) -> Bounds | None:
    box = None if el is None else el.find(f"{{{DC_NS}}}Bounds")
    if box is None:
        return None
    return Bounds(_float(box.get("x")), _float(box.get("y")), _float(box.get("width")), _float(box.get("height")))


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip() == "true"


def _shape(el: etree._Element) -> LayoutShape | None:
    bounds, ref = _bounds(el), el.get("bpmnElement")
    if bounds is None or not ref:
        return None
    label = _bounds(el.find(f"{{{BPMNDI_NS}}}BPMNLabel"))
    return LayoutShape(ref, bounds, label, _flag(el.get("isExpanded")), _flag(el.get("isHorizontal")))


def _edge(el: etree._Element) -> LayoutEdge | None:
    ref = el.get("bpmnElement")
    points = tuple((_float(p.get("x")), _float(p.get("y"))) for p in el.iterfind(f"{{{DI_NS}}}waypoint"))
    if not ref or len(points) < 2:
        return None
    kind = el.get("messageVisibleKind")
    message = kind if kind in ("initiating", "non_initiating") else None
    return LayoutEdge(ref, points, _bounds(el.find(f"{{{BPMNDI_NS}}}BPMNLabel")), message)


def read_layouts(root: etree._Element) -> list[Layout]:
    """Every plane of the document, in file order; shapes and edges without bounds or reference are skipped."""
    layouts = []
    for number, diagram in enumerate(root.iterfind(f"{{{BPMNDI_NS}}}BPMNDiagram"), start=1):
        plane = diagram.find(f"{{{BPMNDI_NS}}}BPMNPlane")
        if plane is None:
            continue
        ident = diagram.get("id") or f"diagram-{number}"
        layout = Layout(ident, diagram.get("name") or "", plane.get("bpmnElement") or "")
        for el in plane:  # comments and processing instructions have a function as tag: never equal
            if el.tag == f"{{{BPMNDI_NS}}}BPMNShape" and (shape := _shape(el)) is not None:
                layout.shapes.append(shape)
            elif el.tag == f"{{{BPMNDI_NS}}}BPMNEdge" and (edge := _edge(el)) is not None:
                layout.edges.append(edge)
        layouts.append(layout)
    return layouts
