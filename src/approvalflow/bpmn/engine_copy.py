"""The copy of a BPMN document that SpiffWorkflow is given to build its specification from.

The document as written is what is checked, hashed and reported on; SpiffWorkflow builds from a copy in which each
signed multi-instance step (会签, 或签, 依次审批, 票签: :mod:`approvalflow.bpmn.countersign`) counts its instances
through the case's hook and completes when its declared rule has decided, and each timer counted in working days
gets a duration SpiffWorkflow can parse (:func:`approvalflow.bpmn.timers.engine_document`). The loader and
``validate`` give SpiffWorkflow this copy and no other.
"""

from __future__ import annotations

import copy

from lxml import etree

from .._spiff import COUNTERSIGN_DECIDED, COUNTERSIGN_SIGNERS
from ..io.namespaces import bpmn, local
from .countersign import SIGNED_KINDS, VENDOR_NS
from .timers import engine_document

__all__ = ["engine_tree"]


def engine_tree(root: etree._Element) -> etree._Element:
    """A copy of the document for SpiffWorkflow: each signed multi-instance step counts its instances through the
    engine's hook and completes when its rule has decided; working-day timers get a parsable duration. The
    document itself is left as it is."""
    loops = [
        loop
        for loop in root.iter(bpmn("multiInstanceLoopCharacteristics"))
        if loop.getparent() is not None and local(loop.getparent()) in SIGNED_KINDS
    ]
    if not loops:
        return engine_document(root)
    out = copy.deepcopy(root)
    for loop in out.iter(bpmn("multiInstanceLoopCharacteristics")):
        owner = loop.getparent()
        if owner is None or local(owner) not in SIGNED_KINDS:
            continue
        for child in list(loop):
            loop.remove(child)
        for prefix_ns in VENDOR_NS.values():
            for name in ("collection", "elementVariable"):
                loop.attrib.pop(f"{{{prefix_ns}}}{name}", None)
        etree.SubElement(loop, bpmn("loopCardinality")).text = COUNTERSIGN_SIGNERS
        etree.SubElement(loop, bpmn("completionCondition")).text = COUNTERSIGN_DECIDED
    return engine_document(out)
