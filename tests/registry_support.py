"""Small processes for the registry and migration tests: one BPMN text with a few knobs."""

from __future__ import annotations

from pathlib import Path

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"'
    ' id="Defs_permit" targetNamespace="urn:test">\n'
)


def permit(
    *,
    promised: int = 10,
    statutory: int = 20,
    review: str = "review",
    review_kind: str = "userTask",
    extra: str = "",
    requires: str = "",
    review_limit: int | None = None,
) -> str:
    """Process ``permit``: start -> accept (clerk) -> ``review`` (reviewer) -> decide (leader) -> end.

    The case clock starts with the case (no ``startsAfter``); ``requires`` puts ``af:requires`` on decide,
    ``review_limit`` a step limit in working days on the review.
    """
    req = f'<af:requires steps="{requires}"/>' if requires else ""
    limit = f' timeLimit="{review_limit}" unit="workday"' if review_limit else ""
    return (
        HEAD
        + '  <bpmn:process id="permit" isExecutable="true">\n'
        + f'    <bpmn:extensionElements><af:timeLimit promised="{promised}" statutory="{statutory}"/>'
        + "</bpmn:extensionElements>\n"
        + '    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n'
        + '    <bpmn:userTask id="accept"><bpmn:extensionElements><af:step posts="clerk"/></bpmn:extensionElements>'
        + "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>\n"
        + f'    <bpmn:{review_kind} id="{review}"><bpmn:extensionElements><af:step posts="reviewer"{limit}/>'
        + "</bpmn:extensionElements><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>"
        + f"</bpmn:{review_kind}>\n"
        + f'    <bpmn:userTask id="decide"><bpmn:extensionElements><af:step posts="leader"/>{req}'
        + "</bpmn:extensionElements><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>"
        + "</bpmn:userTask>\n"
        + '    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>\n'
        + '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept"/>\n'
        + f'    <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="{review}"/>\n'
        + f'    <bpmn:sequenceFlow id="f3" sourceRef="{review}" targetRef="decide"/>\n'
        + '    <bpmn:sequenceFlow id="f4" sourceRef="decide" targetRef="end"/>\n'
        + extra
        + "  </bpmn:process>\n</bpmn:definitions>\n"
    )


def write(folder: Path, name: str, text: str) -> Path:
    """``text`` written to ``folder/name``; returns the path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
