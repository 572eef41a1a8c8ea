"""Write a computed layout into a BPMN file as diagram interchange (DI), atomically.

The new ``bpmndi:BPMNDiagram`` elements go right before the closing ``definitions`` tag
and declare their own namespaces, so every other byte of the file (comments, ``af:``
annotations, formatting) stays as it was.  A process that some DI plane already draws
keeps its layout (it may have been drawn by hand in a modelling tool); only processes
without one are laid out, unless ``force`` is given, which removes every earlier
``BPMNDiagram`` and lays out all processes afresh.  The layout depends on the process
alone, so laying out twice gives the same bytes.  The file is written to a temporary
file in the same folder and renamed over the original only when the result parses, so a
failure leaves the original untouched.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

from lxml import etree

from ..errors import XmlError
from ..io.namespaces import BPMN_NS
from ..io.xmlsafe import parse_xml_file, parse_xml_string, read_xml_bytes
from .autolayout import auto_layouts
from .di import BPMNDI_NS, DC_NS, DI_NS, Layout, read_layouts
from .errors import RenderError
from .model import Bounds
from .notation import fmt

__all__ = ["di_xml", "missing_di", "write_layout"]

_OLD_DI = re.compile(r"[ \t]*<([\w.-]+:)?BPMNDiagram\b.*?</\1BPMNDiagram\s*>[ \t]*\r?\n?", re.S)
_CLOSE = re.compile(r"</([\w.-]+:)?definitions\s*>")
_FLOW_NODE = re.compile(r"(Task|task|Event|Gateway|callActivity|subProcess|transaction)$")


def _bounds(b: Bounds) -> str:
    return f'<dc:Bounds x="{fmt(b.x)}" y="{fmt(b.y)}" width="{fmt(b.width)}" height="{fmt(b.height)}"/>'


def di_xml(layout: Layout, indent: str = "  ") -> str:
    """The ``bpmndi:BPMNDiagram`` element of one layout, with its own namespace declarations."""
    i2, i3, i4 = indent * 2, indent * 3, indent * 4
    lines = [
        f'{indent}<bpmndi:BPMNDiagram xmlns:bpmndi="{BPMNDI_NS}" xmlns:dc="{DC_NS}" xmlns:di="{DI_NS}" '
        f"id={quoteattr(layout.diagram_id)} name={quoteattr(layout.name)}>",
        f"{i2}<bpmndi:BPMNPlane id={quoteattr(layout.diagram_id + '_plane')} bpmnElement={quoteattr(layout.element)}>",
    ]
    for s in layout.shapes:
        horizontal = ' isHorizontal="true"' if s.horizontal else ""
        lines.append(f"{i3}<bpmndi:BPMNShape id={quoteattr(s.element + '_di')} bpmnElement={quoteattr(s.element)}"
                     f"{horizontal}>")  # fmt: skip
        lines.append(f"{i4}{_bounds(s.bounds)}")
        if s.label is not None:
            lines.append(f"{i4}<bpmndi:BPMNLabel>{_bounds(s.label)}</bpmndi:BPMNLabel>")
        lines.append(f"{i3}</bpmndi:BPMNShape>")
    for e in layout.edges:
        lines.append(f"{i3}<bpmndi:BPMNEdge id={quoteattr(e.element + '_di')} bpmnElement={quoteattr(e.element)}>")
        lines += [f'{i4}<di:waypoint x="{fmt(x)}" y="{fmt(y)}"/>' for x, y in e.waypoints]
        if e.label is not None:
            lines.append(f"{i4}<bpmndi:BPMNLabel>{_bounds(e.label)}</bpmndi:BPMNLabel>")
        lines.append(f"{i3}</bpmndi:BPMNEdge>")
    lines += [f"{i2}</bpmndi:BPMNPlane>", f"{indent}</bpmndi:BPMNDiagram>"]
    return "\n".join(lines) + "\n"


def missing_di(path: str | os.PathLike[str]) -> list[str]:
    """Ids of the flow nodes and sequence flows of ``path`` that no DI plane draws (empty: fully laid out)."""
    root = parse_xml_file(path).getroot()
    drawn = {s.element for lay in read_layouts(root) for s in lay.shapes}
    drawn |= {e.element for lay in read_layouts(root) for e in lay.edges}
    wanted = []
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.get("id"):
            continue
        name = el.tag.rsplit("}", 1)[-1]
        if _FLOW_NODE.search(name) or name == "sequenceFlow":
            wanted.append(str(el.get("id")))
    return [ident for ident in wanted if ident not in drawn]


def _drawn_processes(root: etree._Element) -> frozenset[str]:
    """Ids of the processes that a DI plane with shapes already draws."""
    drawn = {s.element for lay in read_layouts(root) if lay.shapes for s in lay.shapes}
    return frozenset(
        str(proc.get("id"))
        for proc in root.iterfind(f"{{{BPMN_NS}}}process")
        if proc.get("id") in drawn or any(child.get("id") in drawn for child in proc if isinstance(child.tag, str))
    )


def write_layout(path: str | os.PathLike[str], *, force: bool = False) -> int:
    """Lay out the processes of ``path`` with Graphviz and write the layout into the file as DI.

    Without ``force`` only processes that no DI plane draws yet are laid out; with it every
    earlier ``BPMNDiagram`` is replaced.  Returns the number of planes written (0: nothing to do).
    """
    file = os.fspath(path)
    root = parse_xml_file(file).getroot()
    skip = frozenset() if force else _drawn_processes(root)
    if skip and all(proc.get("id") in skip for proc in root.iterfind(f"{{{BPMN_NS}}}process")):
        return 0
    layouts = auto_layouts(root, file, skip)
    if not layouts:
        return 0
    raw = read_xml_bytes(file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise XmlError("layout only rewrites UTF-8 files", file=file) from exc
    if force:
        text = _OLD_DI.sub("", text)
    closing = list(_CLOSE.finditer(text))
    if not closing:
        raise XmlError("no closing definitions tag", file=file)
    at = closing[-1].start()
    block = "".join(di_xml(layout) for layout in layouts)
    before = text[:at] if text[:at].endswith("\n") else text[:at] + "\n"
    result = (before + block + text[at:]).encode("utf-8")
    parse_xml_string(result, filename=file)  # never write something that does not parse
    _replace(Path(file), (b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b"") + result)
    return len(layouts)


def _replace(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise RenderError(f"cannot write the layout: {exc.strerror or exc}", file=path) from exc
