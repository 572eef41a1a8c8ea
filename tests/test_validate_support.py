"""Builders of small BPMN documents for the validate tests (no tests here).

``model()`` writes one element a line, so that a test can name the line of a
finding by hand: line 1 is the XML declaration, 2 ``bpmn:definitions``, 3
``bpmn:process``, 4 the process's extensionElements, then one line per node
(node ``i``, 0-based, is on line ``5 + i``), then one line per flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:af="urn:approvalflow:bpmn:1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="defs" targetNamespace="urn:test">\n'
)

Node = tuple[str, str] | tuple[str, str, str] | tuple[str, str, str, str]
Flow = tuple[str, str] | tuple[str, str, str]


def node_line(index: int) -> int:
    """The line of node ``index`` in a document written by :func:`model`."""
    return 5 + index


def _node(spec: Node) -> str:
    kind, ident = spec[0], spec[1]
    ext = spec[2] if len(spec) > 2 else ""
    attrs = spec[3] if len(spec) > 3 else ""
    inner = f"<bpmn:extensionElements>{ext}</bpmn:extensionElements>" if ext else ""
    return f'    <bpmn:{kind} id="{ident}" {attrs}>{inner}</bpmn:{kind}>'


def _flow(spec: Flow, number: int) -> str:
    source, target = spec[0], spec[1]
    fid = f"f{number}_{source}_{target}"
    if len(spec) > 2 and spec[2] == "default":
        return f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"/>'
    if len(spec) > 2:
        cond = f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{spec[2]}</bpmn:conditionExpression>'
        return f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'
    return f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"/>'


def flow_id(flows: Sequence[Flow], index: int) -> str:
    return f"f{index}_{flows[index][0]}_{flows[index][1]}"


def model(nodes: Sequence[Node], flows: Sequence[Flow], process_ext: str = "", pid: str = "p") -> str:
    """A one-process BPMN document; a flow ``(a, b, "default")`` becomes the default of gateway ``a``."""
    defaults = {spec[0]: flow_id(flows, i) for i, spec in enumerate(flows) if len(spec) > 2 and spec[2] == "default"}
    lines = [HEAD + f'  <bpmn:process id="{pid}" isExecutable="true">']
    lines.append(f"    <bpmn:extensionElements>{process_ext}</bpmn:extensionElements>" if process_ext else "    ")
    for spec in nodes:
        line = _node(spec)
        if spec[1] in defaults:
            line = line.replace(f'id="{spec[1]}"', f'id="{spec[1]}" default="{defaults[spec[1]]}"', 1)
        lines.append(line)
    lines += [_flow(spec, i) for i, spec in enumerate(flows)]
    lines.append("  </bpmn:process>\n</bpmn:definitions>\n")
    return "\n".join(lines)


def step(posts: str = "clerk", limit: int | None = 1, extra: str = "") -> str:
    """The af:step of a task (and any further af elements)."""
    tl = f' timeLimit="{limit}"' if limit is not None else ""
    return f'<af:step posts="{posts}"{tl}/>{extra}'


RISK = '<af:risk id="R-{0}" level="high"><af:description>风险</af:description><af:measure>措施</af:measure></af:risk>'


def risk(ident: str) -> str:
    return RISK.format(ident)


def test_parallel_validation_gives_the_serial_findings(tmp_path: Path) -> None:
    # Two folders, each with a file that has a known structural error (an unreachable task), so the
    # comparison is between non-empty lists: parallel runs must find the same, in the same order.
    from approvalflow.validation import validate_paths

    body = (
        '<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="d" targetNamespace="urn:t"><bpmn:process id="{pid}" isExecutable="true">'
        '<bpmn:startEvent id="s"/><bpmn:task id="orphan"/><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="e"/></bpmn:process></bpmn:definitions>'
    )
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{folder}.bpmn").write_text(body.format(pid=f"p_{folder}"), encoding="utf-8")
    serial = validate_paths([tmp_path])
    parallel = validate_paths([tmp_path], jobs=2)
    assert [(f.rule, f.element) for f in serial if f.rule == "unreachable"] == [
        ("unreachable", "orphan"),
        ("unreachable", "orphan"),
    ]
    assert parallel == serial
