"""The one list of BPMN elements whose text is an expression (``bpmn.loader.EXPRESSION_TAGS``) is complete.

The schema is the oracle: every element BPMN 2.0's XSD types as ``tExpression`` or ``tFormalExpression`` must be
checked against the safe expression language, by ``load_process`` and by ``validate`` (which use the same list).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from approvalflow._spiff import bpmn_schema_file
from approvalflow.bpmn.loader import EXPRESSION_TAGS, load_process_string
from approvalflow.errors import UnsafeContentError
from approvalflow.validation import validate_string

XS = "{http://www.w3.org/2001/XMLSchema}"


def expression_elements(schema: Path) -> set[str]:
    """Names of the elements typed tExpression / tFormalExpression in ``schema`` and the schemas it includes."""
    names: set[str] = set()
    todo, seen = [schema], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        root = etree.parse(str(path)).getroot()
        todo += [path.with_name(str(inc.get("schemaLocation"))) for inc in root.iter(XS + "include")]
        for el in root.iter(XS + "element"):
            if str(el.get("type", "")).rpartition(":")[2] in ("tExpression", "tFormalExpression"):
                names.add(str(el.get("name")))
    return names


def test_every_expression_element_of_the_schema_is_checked() -> None:
    found = expression_elements(bpmn_schema_file())
    assert len(found) > 10  # the schema was read (conditionExpression, timeDuration, ... formalExpression)
    assert found <= set(EXPRESSION_TAGS), sorted(found - set(EXPRESSION_TAGS))
    assert len(EXPRESSION_TAGS) == len(set(EXPRESSION_TAGS))


DOC = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="t1"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
<bpmn:potentialOwner><bpmn:resourceRef>R</bpmn:resourceRef><bpmn:resourceParameterBinding parameterRef="P">
<bpmn:formalExpression>{text}</bpmn:formalExpression>
</bpmn:resourceParameterBinding></bpmn:potentialOwner></bpmn:userTask>
<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>
<bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="e"/>
</bpmn:process>
</bpmn:definitions>
"""


def test_a_formal_expression_in_a_parameter_binding_is_checked_by_load_and_validate() -> None:
    """``bpmn:formalExpression`` may stand wherever ``bpmn:expression`` may (its substitution group)."""
    text = DOC.format(text="__import__('os').system('true')")
    line = next(n for n, s in enumerate(text.splitlines(), 1) if "<bpmn:formalExpression>" in s)
    with pytest.raises(UnsafeContentError, match="formalExpression") as info:
        load_process_string(text, filename="x.bpmn")
    assert info.value.line == line
    found = [f for f in validate_string(text, filename="x.bpmn") if "formalExpression" in f.message]
    assert [(f.rule, f.line) for f in found] == [("not-executable", line)]
    load_process_string(DOC.format(text="get('x', 1) + 1"), filename="x.bpmn")  # a safe one loads
