"""Extract the drawing model from a BPMN document and a layout.

Works on the XML alone (no loading for execution), so that any model renders, also
the BPMN MIWG reference models our engine cannot run.  ``af:`` annotations add the
second label line of steps (post · time limit), the header and the risk points; their
absence is fine.

The file may come from anyone: comments and processing instructions may sit inside any
element (they are skipped), and every text that reaches the drawing is cut to a bound
(:data:`~.names.MAX_LABEL_CHARS` for labels, :data:`~.names.MAX_TITLE_CHARS` for
``<title>`` and risk texts), so that a name of millions of characters renders as fast
as a short one.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from lxml import etree

from ..bpmn.model import RiskLevel, RiskPoint
from ..io.namespaces import AF_NS, BPMN_NS
from .di import Layout, LayoutEdge, LayoutShape
from .model import Diagram, Edge, Header, RiskBadge, Shape
from .names import CATEGORY_NAMES, MAX_LABEL_CHARS, MAX_TITLE_CHARS, clip, format_limit, post_title

__all__ = ["extract", "index_elements", "step_detail"]

MAX_MEASURES = 50
"""Most measures (防控措施) of one risk point drawn in the risk table; more are shown as "…"."""

_EXPANDABLE = frozenset({"subProcess", "transaction", "adHocSubProcess", "callActivity"})
_B = f"{{{BPMN_NS}}}"
_AF = f"{{{AF_NS}}}"


def index_elements(root: etree._Element) -> dict[str, etree._Element]:
    """Every BPMN element with an id, by id."""
    found: dict[str, etree._Element] = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith(_B) and el.get("id"):
            found.setdefault(str(el.get("id")), el)
    return found


def _local(el: etree._Element) -> str:
    """The local name of an element; ``""`` for a comment or processing instruction (their ``tag`` is a function)."""
    return str(etree.QName(el).localname) if isinstance(el.tag, str) else ""


def _children(el: etree._Element) -> list[etree._Element]:
    """The child elements of ``el``: comments and processing instructions left out."""
    return [child for child in el if isinstance(child.tag, str)]


def _text(el: etree._Element | None, limit: int = MAX_TITLE_CHARS) -> str:
    """The text content of ``el`` (comments and processing instructions skipped), spaces collapsed, cut to ``limit``."""
    return "" if el is None else clip(" ".join("".join(el.itertext()).split()), limit)


def _ext(el: etree._Element, name: str) -> etree._Element | None:
    return el.find(f"{_B}extensionElements/{_AF}{name}")


def _clip(value: str | None) -> str | None:
    return None if value is None else clip(value)


def _risks(el: etree._Element) -> tuple[RiskPoint, ...]:
    found = []
    for r in el.iterfind(f"{_B}extensionElements/{_AF}risk"):
        try:
            level = RiskLevel(r.get("level"))
        except ValueError:
            continue
        measures = [t for m in itertools.islice(r.iterfind(f"{_AF}measure"), MAX_MEASURES + 1) if (t := _text(m))]
        if len(measures) > MAX_MEASURES:
            measures[MAX_MEASURES:] = ["…"]
        found.append(
            RiskPoint(clip(r.get("id", ""), MAX_LABEL_CHARS), level, _text(r.find(f"{_AF}description")),
                      tuple(measures), _clip(r.get("category")), _clip(r.get("post")), el.get("id"), r.sourceline)
        )  # fmt: skip
    return tuple(found)


def _name(el: etree._Element, index: dict[str, etree._Element]) -> str:
    """The whole name of ``el`` (up to :data:`MAX_TITLE_CHARS`); :func:`_label` cuts it for display."""
    kind = _local(el)
    if kind == "textAnnotation":
        return _text(el.find(f"{_B}text"))
    if kind == "group" and el.get("categoryValueRef") in index:
        return clip(index[str(el.get("categoryValueRef"))].get("value") or "", MAX_TITLE_CHARS)
    name = (el.get("name") or "")[: MAX_TITLE_CHARS + 1]
    return clip(" ".join(name.split("\r")).replace("&#10;", "\n").strip(), MAX_TITLE_CHARS)


def _label(name: str, limit: int) -> tuple[str, str]:
    """The name as drawn (cut to ``limit``) and the ``<title>`` (the whole name if it was cut, else "")."""
    return (name, "") if len(name) <= limit else (clip(name, limit), name)


def _markers(el: etree._Element) -> tuple[str, ...]:
    kind = _local(el)
    found = [_local(d).removesuffix("EventDefinition") for d in _children(el) if _local(d).endswith("EventDefinition")]
    found += [f"ref:{_local(d)}" for d in _children(el) if _local(d) == "eventDefinitionRef"]
    if len(found) > 1:
        found = ["parallelMultiple" if el.get("parallelMultiple") == "true" else "multiple"]
    loop = el.find(f"{_B}multiInstanceLoopCharacteristics")
    if el.find(f"{_B}standardLoopCharacteristics") is not None:
        found.append("loop")
    elif loop is not None:
        found.append("sequential" if loop.get("isSequential") == "true" else "parallel")
    if el.get("isForCompensation") == "true":
        found.append("compensation")
    if kind == "adHocSubProcess":
        found.append("adhoc")
    if kind == "callActivity" and not _calls_global_task(el):
        found.append("callsProcess")  # drawn collapsed with the [+] marker
    if el.get("triggeredByEvent") == "true":
        found.append("eventSubProcess")
    if kind == "eventBasedGateway" and el.get("eventGatewayType") == "Parallel":
        found.append("parallelEventGateway")
    if kind == "eventBasedGateway" and el.get("instantiate") == "true":
        found.append("instantiate")
    if el.get("isCollection") == "true" or _collection(el):
        found.append("collection")
    return tuple(found)


def _calls_global_task(el: etree._Element) -> bool:
    """Whether a call activity calls a global task (drawn like a task) rather than a process."""
    called = el.get("calledElement") or ""
    root = el.getroottree().getroot()
    return any(_local(g).startswith("global") for g in _children(root) if g.get("id") == called)


def _collection(el: etree._Element) -> bool:
    ref = el.getroottree().getroot()
    target = el.get("dataObjectRef")
    if _local(el) != "dataObjectReference" or not target:
        return False
    return any(d.get("isCollection") == "true" for d in ref.iter(f"{_B}dataObject") if d.get("id") == target)


def _posts(el: etree._Element, names: Mapping[str, str] | None) -> str:
    """The titles of the posts that may perform a step, joined with 、."""
    step = _ext(el, "step")
    posts = [] if step is None else (step.get("posts") or "").split()
    return "、".join(post_title(p, names) for p in posts)


def step_detail(el: etree._Element, names: Mapping[str, str] | None) -> str:
    """The second label line of a step: its posts (titled with ``names``) and its time limit."""
    step = _ext(el, "step")
    if step is None:
        return ""
    limit = format_limit(step.get("timeLimit"), step.get("unit"))
    return " · ".join(p for p in (_posts(el, names), limit) if p)


def _lane_of(root: etree._Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for lane in root.iter(f"{_B}lane"):
        for ref in lane.iterfind(f"{_B}flowNodeRef"):
            if target := _text(ref):  # all its text: a comment inside splits it
                found[target] = lane.get("name") or ""
    return found


def _shape(
    ls: LayoutShape, el: etree._Element, index: dict[str, etree._Element], names: Mapping[str, str] | None, limit: int
) -> Shape:
    kind = _local(el)
    name, title = _label(_name(el, index), limit)
    horizontal = ls.horizontal if ls.horizontal is not None else ls.bounds.width >= ls.bounds.height
    interrupting = el.get("cancelActivity", "true") != "false" and el.get("isInterrupting", "true") != "false"
    return Shape(
        id=ls.element, kind=kind, name=name, bounds=ls.bounds, label_bounds=ls.label,
        markers=_markers(el), detail=clip(step_detail(el, names), limit), horizontal=horizontal,
        expanded=bool(ls.expanded) if kind in _EXPANDABLE else False,
        interrupting=interrupting, risks=_risks(el), title=title,
    )  # fmt: skip


def _edge(le: LayoutEdge, el: etree._Element, index: dict[str, etree._Element], limit: int) -> Edge:
    source = index.get(el.get("sourceRef") or "")
    name, title = _label(_name(el, index), limit)
    is_default = source is not None and source.get("default") == le.element
    conditional = (
        el.find(f"{_B}conditionExpression") is not None
        and source is not None
        and not _local(source).endswith("Gateway")
    )
    direction = el.get("associationDirection", "None") if _local(el) == "association" else "None"
    return Edge(
        le.element,
        _local(el),
        name,
        le.waypoints,
        le.label,
        is_default,
        conditional,
        _risks(el),
        direction,
        le.message if _local(el) == "messageFlow" else None,
        title,
    )


def _process_of(layout: Layout, index: dict[str, etree._Element]) -> etree._Element | None:
    el = index.get(layout.element)
    if el is None:
        return None
    if _local(el) == "collaboration":
        for part in el.iterfind(f"{_B}participant"):
            proc = index.get(part.get("processRef") or "")
            if proc is not None and _ext(proc, "power") is not None:
                return proc
        return None
    return el


def _header(layout: Layout, index: dict[str, etree._Element], limit: int) -> Header | None:
    """The title block, each line cut to ``limit`` characters."""
    header = _full_header(layout, index)
    if header is None:
        return None
    return Header(clip(header.title, limit), tuple(clip(line, limit) for line in header.lines))


def _full_header(layout: Layout, index: dict[str, etree._Element]) -> Header | None:
    proc = _process_of(layout, index)
    power = None if proc is None else _ext(proc, "power")
    if power is None:
        el = index.get(layout.element)
        title = layout.name or ("" if el is None else el.get("name") or "")
        return Header(title) if title else None
    lines = [f"类别：{CATEGORY_NAMES.get(power.get('category') or '', power.get('category') or '')}"]
    limit = None if proc is None else _ext(proc, "timeLimit")
    if limit is not None:
        unit = limit.get("unit")
        parts = [f"法定时限：{format_limit(limit.get('statutory'), unit)}" if limit.get("statutory") else ""]
        parts.append(f"承诺时限：{format_limit(limit.get('promised'), unit)}" if limit.get("promised") else "")
        parts.append(f"可延期：{format_limit(limit.get('extension'), unit)}" if limit.get("extension") else "")
        lines[0] = "　".join(p for p in [lines[0], *parts] if p)
    if power.get("body"):
        lines.append(f"实施主体：{power.get('body')}")
    if power.get("basis"):
        lines.append(f"依据：{power.get('basis')}")
    title = " ".join(p for p in (power.get("code"), power.get("name")) if p)
    return Header(title, tuple(lines))


def _risk_order(diagram: Diagram) -> tuple[RiskPoint, ...]:
    """Risk points in reading order: by the position of their shape or edge, left to right, then top down."""
    keyed = [((s.bounds.x, s.bounds.y), s.risks) for s in diagram.shapes]
    keyed += [(e.waypoints[len(e.waypoints) // 2], e.risks) for e in diagram.edges]
    keyed.sort(key=lambda item: item[0])
    return tuple(r for _, risks in keyed for r in risks)


BADGE_R = 9.0  # badge radius; badges on a shape sit on its top edge, right to left from the top-right corner


def _badges(diagram: Diagram) -> list[RiskBadge]:
    numbers = {id(r): i for i, r in enumerate(diagram.risks, start=1)}
    badges = []
    for shape in diagram.shapes:
        b = shape.bounds
        for i, risk in enumerate(shape.risks):
            center = (b.right - 2 - i * (2 * BADGE_R + 3), b.y + 2)
            badges.append(RiskBadge(numbers[id(risk)], risk, shape.id, center))
    for edge in diagram.edges:
        (x1, y1), (x2, y2) = edge.waypoints[len(edge.waypoints) // 2 - 1], edge.waypoints[len(edge.waypoints) // 2]
        for i, risk in enumerate(edge.risks):
            badges.append(RiskBadge(numbers[id(risk)], risk, edge.id, ((x1 + x2) / 2 + i * 21, (y1 + y2) / 2)))
    return sorted(badges, key=lambda badge: badge.number)


def extract(
    root: etree._Element,
    layout: Layout,
    index: dict[str, etree._Element] | None = None,
    post_names: Mapping[str, str] | None = None,
    *,
    max_label: int = MAX_LABEL_CHARS,
) -> Diagram:
    """The drawing of one layout plane of the document ``root``; ``post_names`` titles post ids (see :mod:`.names`).

    Labels longer than ``max_label`` characters are cut with an ellipsis (the whole name goes to a ``<title>``).
    """
    index = index_elements(root) if index is None else index
    lanes = _lane_of(root)
    name = clip(layout.name, MAX_TITLE_CHARS)
    diagram = Diagram(layout.diagram_id, name, header=_header(layout, index, max_label), post_names=post_names)
    for ls in layout.shapes:
        el = index.get(ls.element)
        if el is not None:
            diagram.shapes.append(_shape(ls, el, index, post_names, max_label))
            posts = clip(_posts(el, post_names) or lanes.get(ls.element, ""), max_label)
            if posts:
                diagram.step_posts[ls.element] = posts
    for le in layout.edges:
        el = index.get(le.element)
        if el is not None:
            diagram.edges.append(_edge(le, el, index, max_label))
    diagram.risks = _risk_order(diagram)
    diagram.badges = _badges(diagram)
    return diagram
