"""The case flowchart of the console: the project's own SVG (:mod:`approvalflow.render`) coloured by the case's state.

Every element the renderer draws is a ``<g data-element-id="…">``; this module adds, server-side, to each element the
case has touched a class per state (``af-state-completed``, ``af-state-current``, ``af-state-yellow``,
``af-state-overdue``, ``af-state-refused``), ``data-state`` naming the most urgent one, and the fill and stroke of that
state on the element's outline (its first shape), so the colours show even without the page's style sheet.

What each state means, from the case alone (never guessed):

- ``completed`` (已办): a step with a completion in the trail (``action`` ``complete``, any outcome but ``refused``:
  ``completed``, or ``recorded`` when it went through with findings under the ``record`` policy);
- ``current`` (在办): a step ready now (:meth:`~approvalflow.engine.case.Case.ready_steps`);
- ``yellow`` (临期) and ``overdue`` (超期): a step with a yellow or red card now (:meth:`Case.alerts`);
- ``refused`` (被拒绝): a step with a refused attempt in the trail (outcome ``refused``).

The most urgent state wins the fill: overdue, yellow, current, completed, refused. A step once refused and then
completed (or current) keeps the class ``af-state-refused`` too and is drawn with the refused colour's dashed
outline: green (or blue, red) inside, a dashed orange border.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lxml import etree

from ..bpmn.loader import ProcessDefinition
from ..errors import ApprovalflowError
from ..io.xmlsafe import parse_xml_string, read_xml_bytes
from ..render import render_views

__all__ = ["STATE_LABELS", "STATE_STYLE", "States", "colour_svg", "flowchart_source", "flowcharts"]

#: state -> (fill, stroke), most urgent first.
STATE_STYLE: dict[str, tuple[str, str]] = {
    "overdue": ("#fcd4d4", "#c62828"),
    "yellow": ("#fff1b8", "#d49b00"),
    "current": ("#d6e6ff", "#1565c0"),
    "completed": ("#d9f2df", "#2e7d32"),
    "refused": ("#ffe2cc", "#e65100"),
}
#: state -> the console's label (Chinese, English).
STATE_LABELS: dict[str, tuple[str, str]] = {
    "completed": ("已办", "completed"),
    "current": ("在办", "current"),
    "yellow": ("临期(黄牌)", "yellow card"),
    "overdue": ("超期(红牌)", "red card"),
    "refused": ("被拒绝", "refused attempt"),
}
_SHAPES = ("rect", "circle", "ellipse", "polygon", "path")
_SVG = "{http://www.w3.org/2000/svg}"
_CACHE: dict[tuple[str, str], list[str]] = {}  # (digest, file) -> rendered SVGs of the process's own file
_CACHE_SIZE = 32


@dataclass
class States:
    """The states of each element of a case's flowchart (element id -> set of states)."""

    of: dict[str, set[str]]

    def primary(self, element: str) -> str | None:
        """The most urgent state of ``element``, or None when the case has not touched it."""
        found = self.of.get(element, set())
        return next((s for s in STATE_STYLE if s in found), None)

    @classmethod
    def build(
        cls,
        trail: Iterable[Mapping[str, object]],
        ready: Iterable[str],
        cards: Iterable[tuple[str, str | None]],
    ) -> States:
        """From the trail's entries, the ids of the steps ready now, and the cards ``(level, task)`` now."""
        of: dict[str, set[str]] = {}
        for entry in trail:
            step = entry.get("step")
            if not isinstance(step, str):
                continue
            if entry.get("outcome") == "refused":
                of.setdefault(step, set()).add("refused")
            elif entry.get("action") == "complete":
                of.setdefault(step, set()).add("completed")
        for step in ready:
            of.setdefault(step, set()).add("current")
        for level, task in cards:
            if task is not None:
                of.setdefault(task, set()).add("overdue" if level == "red" else "yellow")
        return cls(of)


def flowchart_source(store: object, definition: ProcessDefinition) -> bytes | None:
    """The BPMN document of the process's own file: as the store's process registry keeps it under the
    definition's digest (never from disk), else the file the host loaded the definition from; None if neither."""
    from ..store.base import StoreError
    from ..store.registry import registry_of

    try:
        backend = registry_of(store)
    except StoreError:
        backend = None
    if backend is not None:
        row = backend.definition(definition.digest)
        if row is not None:
            try:
                entries = json.loads(row[1]) if isinstance(row[1], str) else None
                first = entries[0] if isinstance(entries, list) and entries else None
                content = backend.content(first["sha256"]) if isinstance(first, dict) else None
                if isinstance(content, str):
                    return base64.b64decode(content, validate=True)
            except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
                return None
    if definition.file:
        try:
            return read_xml_bytes(definition.file)
        except ApprovalflowError:
            return None
    return None


def flowcharts(store: object, definition: ProcessDefinition) -> list[str]:
    """The flow view (运行流程图) of every diagram of the process's own file, uncoloured (rendered once per digest);
    empty when the document is not at hand. A document that does not render raises :class:`ApprovalflowError`."""
    key = (definition.digest, definition.file or "")
    if key in _CACHE:
        return _CACHE[key]
    source = flowchart_source(store, definition)
    if source is None:
        return []
    svgs = render_views(source)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = svgs
    return svgs


def colour_svg(svg: str, states: States) -> str:
    """``svg`` (one rendered flowchart) with every element the case touched coloured by its state (see the module);
    returned as an ``<svg>`` element for inline use in HTML (no XML declaration)."""
    root = parse_xml_string(svg.encode("utf-8"), filename="<flowchart>").getroot()
    for group in root.iter(f"{_SVG}g"):
        element = group.get("data-element-id")
        if element is None or element not in states.of:
            continue
        primary = states.primary(element)
        if primary is None:
            continue
        classes = [f"af-state-{s}" for s in STATE_STYLE if s in states.of[element]]
        group.set("class", " ".join([group.get("class", ""), "af-state", *classes]).strip())
        group.set("data-state", primary)
        fill, stroke = STATE_STYLE[primary]
        outline = next((child for child in group if child.tag in {_SVG + s for s in _SHAPES}), None)
        if outline is not None and "af-sequenceFlow" not in group.get("class", ""):
            outline.set("fill", fill)
            outline.set("stroke", STATE_STYLE["refused"][1] if "refused" in states.of[element] else stroke)
            outline.set("stroke-width", "3")
            if "refused" in states.of[element]:
                outline.set("stroke-dasharray", "7 4")
    root.set("class", "af-flowchart")
    root.attrib.pop("width", None)  # the page sizes it (CSS); the viewBox keeps its proportions
    root.attrib.pop("height", None)
    return str(etree.tostring(root, encoding="unicode"))
