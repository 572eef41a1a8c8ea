"""Validate a BPMN document against BPMN 2.0's XML Schema and ours (``af.xsd``).

BPMN's ``extensionElements`` accepts any foreign element with *lax*
processing, so every ``af:`` element that our schema declares is checked
strictly (attributes, values, order), while unknown ``af:`` elements are found
by :mod:`approvalflow.bpmn.annotations`, which knows where each may appear.

The BPMN 2.0 schema files are the OMG's; we load the copy that SpiffWorkflow
ships rather than keeping our own.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from lxml import etree

from ..errors import BpmnError, ExtensionError
from ..io.namespaces import AF_NS, BPMN_NS, element_id_near

__all__ = ["AF_XSD", "validate_schema"]

AF_XSD = Path(__file__).with_name("af.xsd")

_NS_SHORT = {
    "{" + BPMN_NS + "}": "bpmn:",
    "{" + AF_NS + "}": "af:",
    "{http://www.omg.org/spec/BPMN/20100524/DI}": "bpmndi:",
    "{http://www.omg.org/spec/DD/20100524/DC}": "dc:",
    "{http://www.omg.org/spec/DD/20100524/DI}": "di:",
}


def _bpmn_xsd() -> Path:
    from .._spiff import bpmn_schema_file  # the copy SpiffWorkflow ships; imported when the schema is first needed

    return bpmn_schema_file()


@functools.cache
def _schema() -> etree.XMLSchema:
    wrapper = (
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f'<xsd:import namespace="{BPMN_NS}" schemaLocation="{_bpmn_xsd().as_uri()}"/>'
        f'<xsd:import namespace="{AF_NS}" schemaLocation="{AF_XSD.as_uri()}"/>'
        "</xsd:schema>"
    )
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.fromstring(wrapper, parser))


def _plain(message: str) -> str:
    for long, short in _NS_SHORT.items():
        message = message.replace(long, short)
    return re.sub(r"\s+", " ", message).strip()


def validate_schema(tree: etree._ElementTree, *, file: str | None) -> None:
    """Raise :class:`BpmnError` (or :class:`ExtensionError` for ``af:``) on the first schema error."""
    schema = _schema()
    if schema.validate(tree):
        return
    error = schema.error_log[0]
    message = _plain(error.message)
    line = error.line or None
    element = element_id_near(tree, line)
    cls = ExtensionError if "af:" in message else BpmnError
    raise cls(f"not valid against the BPMN 2.0 / af schema: {message}", file=file, line=line, element=element)
