"""The drawing model: what a flowchart shows, with positions, and nothing about SVG.

Extraction (:mod:`.extract`) builds a :class:`Diagram` from a BPMN file and a layout
(the file's own diagram interchange, :mod:`.di`, or :mod:`.autolayout`); the writers
(:mod:`.svg`, :mod:`.risk`) turn it into SVG.  Coordinates are px, y grows downwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..bpmn.model import RiskLevel, RiskPoint

__all__ = ["Bounds", "Diagram", "Edge", "Header", "Point", "RiskBadge", "Shape"]

Point = tuple[float, float]


@dataclass(frozen=True)
class Bounds:
    """An axis-aligned box."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    def union(self, other: Bounds) -> Bounds:
        """The smallest box holding both."""
        x, y = min(self.x, other.x), min(self.y, other.y)
        return Bounds(x, y, max(self.right, other.right) - x, max(self.bottom, other.bottom) - y)

    def overlaps(self, other: Bounds) -> bool:
        """Whether the two boxes share some area."""
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom


@dataclass(frozen=True)
class RiskBadge:
    """A numbered risk point of the risk view: its number, the risk, the element it marks and the badge centre."""

    number: int
    risk: RiskPoint
    owner: str
    center: Point


@dataclass
class Shape:
    """A drawn BPMN element with bounds: flow node, lane, pool, data object, annotation, group."""

    id: str
    kind: str  # BPMN local tag name: userTask, exclusiveGateway, lane, participant, ...
    name: str
    bounds: Bounds
    label_bounds: Bounds | None = None  # external label (events, gateways, data) from DI
    markers: tuple[str, ...] = ()  # event definitions, loop and sub-process markers, gateway subtypes
    detail: str = ""  # second label line of a step: post · time limit
    horizontal: bool = True  # lanes and pools: title band on the left
    expanded: bool = False  # sub-processes drawn open
    interrupting: bool = True  # boundary and event sub-process start events
    risks: tuple[RiskPoint, ...] = ()
    title: str = ""  # the whole name when ``name`` was cut for display (see names.MAX_LABEL_CHARS), else ""

    @property
    def highest_risk(self) -> RiskLevel | None:
        """The highest level among the shape's risk points."""
        order = [RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW]
        levels = {r.level for r in self.risks}
        return next((level for level in order if level in levels), None)


@dataclass
class Edge:
    """A sequence flow, message flow, association or data association with its waypoints."""

    id: str
    kind: str
    name: str
    waypoints: tuple[Point, ...]
    label_bounds: Bounds | None = None
    default: bool = False
    conditional: bool = False
    risks: tuple[RiskPoint, ...] = ()
    #: an association's ``associationDirection``: ``None`` (a plain dotted line), ``One`` (an arrowhead at the
    #: target) or ``Both``
    direction: str = "None"
    #: a message flow's envelope as its DI says (``initiating``, ``non_initiating``), or None
    message: str | None = None
    #: the whole name when ``name`` was cut for display (see names.MAX_LABEL_CHARS), else ""
    title: str = ""


@dataclass(frozen=True)
class Header:
    """The title block: the power's code, name, category, limits and basis (or the process name)."""

    title: str
    lines: tuple[str, ...] = ()


@dataclass
class Diagram:
    """One drawing: one BPMN plane (a process or a collaboration) with its header."""

    id: str
    name: str
    shapes: list[Shape] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    header: Header | None = None
    risks: tuple[RiskPoint, ...] = ()  # every risk point drawn, in badge order
    badges: list[RiskBadge] = field(default_factory=list)  # one per risk point, numbered from 1 in reading order
    step_posts: dict[str, str] = field(default_factory=dict)  # node id -> posts, for the risk table
    post_names: Mapping[str, str] | None = None  # titles of post ids (names.post_title), as the labels use

    def extent(self) -> Bounds:
        """The box around every shape, waypoint and label."""
        boxes = [s.bounds for s in self.shapes] + [s.label_bounds for s in self.shapes if s.label_bounds]
        boxes += [e.label_bounds for e in self.edges if e.label_bounds]
        boxes += [Bounds(x, y, 0, 0) for e in self.edges for x, y in e.waypoints]
        if not boxes:
            return Bounds(0, 0, 100, 100)
        total = boxes[0]
        for box in boxes[1:]:
            total = total.union(box)
        return total
