"""XML namespaces of BPMN and of the ``af`` extension, and small element helpers."""

from __future__ import annotations

from lxml import etree

__all__ = ["AF_NS", "BPMN_NS", "NS", "af", "bpmn", "element_id_near", "local", "owner_id"]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
AF_NS = "urn:approvalflow:bpmn:1"
NS = {"bpmn": BPMN_NS, "af": AF_NS}


def bpmn(tag: str) -> str:
    """Clark notation of a BPMN tag: ``bpmn("userTask")``."""
    return f"{{{BPMN_NS}}}{tag}"


def af(tag: str) -> str:
    """Clark notation of an ``af`` tag."""
    return f"{{{AF_NS}}}{tag}"


def local(el: etree._Element) -> str:
    """The local name of an element's tag."""
    return str(etree.QName(el).localname)


def owner_id(el: etree._Element) -> str | None:
    """The id of ``el`` or of its nearest ancestor that has one."""
    node: etree._Element | None = el
    while node is not None:
        ident = node.get("id")
        if ident:
            return str(ident)
        node = node.getparent()
    return None


def element_id_near(tree: etree._ElementTree, line: int | None) -> str | None:
    """The id of the element at ``line``, or of its nearest ancestor with an id."""
    if line is None:
        return None
    for el in tree.getroot().iter():
        if isinstance(el.tag, str) and el.sourceline == line:
            return owner_id(el)
    return None
