"""Flowcharts (运行流程图) and risk-prevention maps (廉政风险防控图) as SVG.

Pipeline: :mod:`.extract` (BPMN XML + ``af:`` annotations + a layout) -> :mod:`.model`
(dataclasses) -> :mod:`.svg` (flow view) or :mod:`.risk` (risk view).  The layout is
the file's diagram interchange (:mod:`.di`) or, when it has none, :mod:`.autolayout`
(Graphviz, routed by :mod:`.routing`); :func:`write_layout` stores that layout in the
file as DI.  Text is measured with Noto Sans CJK (:mod:`.text`).  See docs/render.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from lxml import etree

from ..io.namespaces import BPMN_NS
from ..io.xmlsafe import parse_xml
from .di import Layout, read_layouts
from .errors import RenderError
from .extract import extract, index_elements
from .model import Bounds, Diagram, Edge, Header, RiskBadge, Shape
from .names import MAX_LABEL_CHARS, POST_NAMES
from .risk import render_risk
from .svg import render_flow
from .text import FONT_STACK

__all__ = [
    "FONT_STACK", "POST_NAMES", "Bounds", "Diagram", "Edge", "Header", "Layout", "RenderError", "RiskBadge", "Shape",
    "View", "diagrams_of", "layouts_of", "render_file", "render_flow", "render_risk", "render_views", "write_layout",
]  # fmt: skip

View = Literal["flow", "risk"]


def layouts_of(root: etree._Element, file: str | None = None) -> list[Layout]:
    """The file's own DI planes, then a computed layout for each process that no plane draws."""
    from .autolayout import auto_layouts

    layouts = [lay for lay in read_layouts(root) if lay.shapes]
    drawn = {s.element for lay in layouts for s in lay.shapes}
    skip = frozenset(
        str(proc.get("id"))
        for proc in root.iterfind(f"{{{BPMN_NS}}}process")
        if any(child.get("id") in drawn for child in proc if isinstance(child.tag, str))
    )
    return layouts + auto_layouts(root, file, skip) if layouts else auto_layouts(root, file)


def diagrams_of(
    source: str | os.PathLike[str] | bytes,
    *,
    post_names: Mapping[str, str] | None = None,
    max_label: int = MAX_LABEL_CHARS,
) -> list[Diagram]:
    """The drawing model of every diagram of a BPMN file (a path or the document).

    ``post_names`` maps post ids to the titles shown in step labels (default :data:`POST_NAMES`); labels longer
    than ``max_label`` characters are cut with an ellipsis, the whole name kept in a ``<title>``.
    """
    tree = parse_xml(source)
    root = tree.getroot()
    file = os.fspath(source) if not isinstance(source, bytes) and not str(source).lstrip().startswith("<") else None
    index = index_elements(root)
    return [extract(root, layout, index, post_names, max_label=max_label) for layout in layouts_of(root, file)]


def render_views(
    source: str | os.PathLike[str] | bytes,
    view: View = "flow",
    *,
    post_names: Mapping[str, str] | None = None,
    max_label: int = MAX_LABEL_CHARS,
) -> list[str]:
    """One SVG document per diagram of the file, in the given view (``flow`` 运行流程图, ``risk`` 廉政风险防控图).

    Labels longer than ``max_label`` characters (default :data:`~.names.MAX_LABEL_CHARS`) are cut with "…".
    """
    diagrams = diagrams_of(source, post_names=post_names, max_label=max_label)
    if view == "risk":
        return [render_risk(d) for d in diagrams]
    return [render_flow(d) for d in diagrams]


def render_file(
    path: str | os.PathLike[str], view: View = "flow", *, post_names: Mapping[str, str] | None = None
) -> str:
    """The SVG of the first diagram of the BPMN file at ``path`` (see :func:`render_views` for all)."""
    return render_views(path, view, post_names=post_names)[0]


def write_layout(path: str | os.PathLike[str], *, force: bool = False) -> int:
    """Lay out the processes of the BPMN file with Graphviz and write the layout into it as DI.

    Processes the file's DI already draws keep their layout unless ``force``; returns the
    number of diagrams written (0: nothing to do).  See :mod:`.di_write`.
    """
    from .di_write import write_layout as write

    return write(path, force=force)
