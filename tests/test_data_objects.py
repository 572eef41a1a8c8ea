"""Data objects are visible to gateway conditions as BPMN scopes them (issue 16, item 4).

A data object belongs to the process or embedded sub-process that declares it and is visible there and in every
embedded sub-process inside it, not outside it; a called process sees only its own. A
step writes ``DO_v`` through a ``dataOutputAssociation``; a gateway then routes on ``get("DO_v", 0) == 1``, with the
flow to ``no_task`` as its default: ``yes_task`` must be ready exactly when the data object holding 1 is in scope.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.org.organisation import Organisation

ORG = Path(__file__).parent / "data" / "cross_unit" / "org.yaml"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">\n'
)
# The gateway and its two branches, as the body of a (sub-)process: `g` is entered from `entry`.
CHOICE = """
  <bpmn:exclusiveGateway id="g" default="f_no"/>
  <bpmn:userTask id="yes_task"/><bpmn:userTask id="no_task"/>
  <bpmn:endEvent id="e_yes"/><bpmn:endEvent id="e_no"/>
  <bpmn:sequenceFlow id="f_in" sourceRef="{entry}" targetRef="g"/>
  <bpmn:sequenceFlow id="f_yes" sourceRef="g" targetRef="yes_task">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">get("DO_v", 0) == 1</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f_no" sourceRef="g" targetRef="no_task"/>
  <bpmn:sequenceFlow id="f_y2" sourceRef="yes_task" targetRef="e_yes"/>
  <bpmn:sequenceFlow id="f_n2" sourceRef="no_task" targetRef="e_no"/>
"""
# The main process: `set_v` writes the data object DO_v (declared here), then `{after}`.
MAIN = """
<bpmn:process id="main" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:userTask id="set_v">
    <bpmn:dataOutputAssociation id="a1"><bpmn:targetRef>ref_v</bpmn:targetRef></bpmn:dataOutputAssociation>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="set_v"/>
  <bpmn:dataObjectReference id="ref_v" dataObjectRef="DO_v"/>
  <bpmn:dataObject id="DO_v"/>
  {after}
</bpmn:process>
"""


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(ORG)


def ready_after_setting(org: Organisation, tmp_path: Path, document: str) -> set[str]:
    path = tmp_path / "process.bpmn"
    path.write_text(HEAD + document + "</bpmn:definitions>\n", encoding="utf-8")
    case = start_case(
        load_process(path, process_id="main"),
        org,
        unit="natural-resources-bureau",
        clock=FakeClock("2026-06-01T09:00:00+08:00"),
    )
    case.complete("set_v", "nr_qian", data={"DO_v": 1}, at="2026-06-01T10:00:00+08:00")
    return {r.id for r in case.ready_steps()}


def test_a_gateway_of_the_same_process_sees_the_data_object(org: Organisation, tmp_path: Path) -> None:
    document = MAIN.format(after=CHOICE.format(entry="set_v"))
    assert ready_after_setting(org, tmp_path, document) == {"yes_task"}


def test_a_gateway_inside_an_embedded_sub_process_sees_the_data_object_around_it(
    org: Organisation, tmp_path: Path
) -> None:
    sub = (
        '<bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/>' + CHOICE.format(entry="ss") + "</bpmn:subProcess>"
        '<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f2" sourceRef="set_v" targetRef="sub"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="sub" targetRef="e"/>'
    )
    # Before the fix the sub-process saw only its own data objects and took the default flow to no_task.
    assert ready_after_setting(org, tmp_path, MAIN.format(after=sub)) == {"yes_task"}


def test_a_data_object_of_a_sub_process_is_not_visible_after_it(org: Organisation, tmp_path: Path) -> None:
    # set_v writes the main process's DO_v; inside the sub-process, set_in writes DO_in, declared there. The main
    # process's gateway after the sub-process routes on DO_in: out of its scope, so it reads the default 0.
    body = (
        '<bpmn:userTask id="set_v"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="set_v"/>'
        '<bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/>'
        '<bpmn:userTask id="set_in"><bpmn:dataOutputAssociation id="a2"><bpmn:targetRef>ref_in</bpmn:targetRef>'
        "</bpmn:dataOutputAssociation></bpmn:userTask>"
        '<bpmn:endEvent id="se"/><bpmn:sequenceFlow id="g1" sourceRef="ss" targetRef="set_in"/>'
        '<bpmn:sequenceFlow id="g2" sourceRef="set_in" targetRef="se"/>'
        '<bpmn:dataObjectReference id="ref_in" dataObjectRef="DO_in"/><bpmn:dataObject id="DO_in"/>'
        "</bpmn:subProcess>"
        '<bpmn:sequenceFlow id="f2" sourceRef="set_v" targetRef="sub"/>'
    )
    document = (
        '<bpmn:process id="main" isExecutable="true"><bpmn:startEvent id="s"/>'
        + body
        + CHOICE.format(entry="sub").replace('get("DO_v", 0)', 'get("DO_in", 0)')
        + "</bpmn:process>"
    )
    path = tmp_path / "process.bpmn"
    path.write_text(HEAD + document + "</bpmn:definitions>\n", encoding="utf-8")
    case = start_case(
        load_process(path, process_id="main"),
        org,
        unit="natural-resources-bureau",
        clock=FakeClock("2026-06-01T09:00:00+08:00"),
    )
    case.complete("set_v", "nr_qian", at="2026-06-01T10:00:00+08:00")
    case.complete("set_in", "nr_qian", data={"DO_in": 1}, at="2026-06-01T11:00:00+08:00")
    assert {r.id for r in case.ready_steps()} == {"no_task"}


def test_a_called_process_does_not_see_its_callers_data_objects(org: Organisation, tmp_path: Path) -> None:
    call = (
        '<bpmn:callActivity id="call" calledElement="child"/><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="set_v" targetRef="call"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="e"/>'
    )
    child = (
        '<bpmn:process id="child" isExecutable="true"><bpmn:startEvent id="cs"/>'
        + CHOICE.format(entry="cs")
        + "</bpmn:process>"
    )
    assert ready_after_setting(org, tmp_path, MAIN.format(after=call) + child) == {"no_task"}
