"""Other engines' extensions in a BPMN file (bpmn/vendor.py, issue 16 item 8: what Camunda extensions map to).

A file saved by Camunda Modeler or Flowable's designer carries that engine's extensions. Each either maps to the
``af:`` annotations (``candidateGroups`` are posts), is only for their tools (forms, properties), or is refused by
name at load, in ``validate`` and in the simulator alike; never left out silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from approvalflow import FakeClock, load_process_string, organisation_from_dict, start_case
from approvalflow.bpmn.vendor import FOR_TOOLS, REFUSED
from approvalflow.errors import ExtensionError, NotExecutableError, StepRefused
from approvalflow.simulation.compile import compile_bpmn
from approvalflow.validation import validate_string

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
FLOWABLE = "http://flowable.org/bpmn"


def model(task_attrs: str = "", task_inner: str = "") -> str:
    """start → user task 'review' (with the given attributes and children) → end; line 7 is the task."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
  xmlns:zeebe="{ZEEBE}" xmlns:flowable="{FLOWABLE}" xmlns:af="urn:approvalflow:bpmn:1"
  xmlns:signavio="http://www.signavio.com" id="D" targetNamespace="urn:t">
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="s"/>
<bpmn:userTask id="review" {task_attrs}>{task_inner}</bpmn:userTask>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>
</bpmn:process>
</bpmn:definitions>
"""


ORG = organisation_from_dict(
    {
        "units": [{"id": "u", "principal": "head"}],
        "people": {
            "head": {"unit": "u", "posts": ["principal"]},
            "li": {"unit": "u", "posts": ["reviewer"]},
            "wang": {"unit": "u", "posts": ["clerk"]},
        },
    }
)


@pytest.mark.parametrize(
    "attrs",
    [
        'camunda:candidateGroups="reviewer"',
        'flowable:candidateGroups="reviewer, auditor"',
        "",  # Camunda 8: inside zeebe:assignmentDefinition (task_inner below)
    ],
)
def test_candidate_groups_are_the_posts_that_may_do_the_step(attrs: str) -> None:
    inner = "" if attrs else '<bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="reviewer"/>' \
        "</bpmn:extensionElements>"  # fmt: skip
    definition = load_process_string(model(attrs, inner), filename="m.bpmn")
    assert "reviewer" in definition.steps["review"].posts
    case = start_case(definition, ORG, clock=FakeClock("2026-03-02T09:00:00+08:00"))
    with pytest.raises(StepRefused) as info:
        case.complete("review", "wang")  # a clerk: not of the candidate groups
    assert info.value.rules == ["unauthorized"]
    case.complete("review", "li")
    assert case.is_completed


def test_candidate_groups_and_af_posts_must_agree() -> None:
    same = '<bpmn:extensionElements><af:step posts="reviewer"/></bpmn:extensionElements>'
    assert load_process_string(model('camunda:candidateGroups="reviewer"', same), filename="m.bpmn")
    other = '<bpmn:extensionElements><af:step posts="clerk"/></bpmn:extensionElements>'
    with pytest.raises(ExtensionError, match="names posts twice") as info:
        load_process_string(model('camunda:candidateGroups="reviewer"', other), filename="m.bpmn")
    assert info.value.element == "review" and info.value.line == 7


@pytest.mark.parametrize("value", ["${reviewers}", "#{group}", "=groups", "", "a b"])
def test_candidate_groups_that_are_not_literal_names_are_refused(value: str) -> None:
    with pytest.raises(NotExecutableError, match="candidateGroups") as info:
        load_process_string(model(f'camunda:candidateGroups="{value}"'), filename="m.bpmn")
    assert info.value.element == "review" and info.value.line == 7


@pytest.mark.parametrize("name", sorted(n for n in REFUSED if n not in {"in", "out", "input", "output", "script"}))
def test_each_refused_attribute_is_refused_by_name_in_load_validate_and_simulate(name: str, tmp_path: Path) -> None:
    text = model(f'camunda:{name}="x"')
    with pytest.raises(NotExecutableError, match=f"camunda:{name} on bpmn:userTask 'review'") as info:
        load_process_string(text, filename="m.bpmn")
    assert (info.value.line, info.value.element) == (7, "review")
    found = [(f.line, f.element) for f in validate_string(text, filename="m.bpmn") if f.rule == "not-executable"]
    assert (7, "review") in found
    path = tmp_path / "m.bpmn"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NotExecutableError, match=f"camunda:{name}"):
        compile_bpmn(path)


@pytest.mark.parametrize(
    "inner",
    [
        "<camunda:inputOutput><camunda:inputParameter name='a'>1</camunda:inputParameter></camunda:inputOutput>",
        "<camunda:taskListener event='create' class='x.Y'/>",
        "<zeebe:ioMapping><zeebe:input source='=a' target='b'/></zeebe:ioMapping>",
        "<camunda:somethingNew/>",  # unknown: what it does is not known here
    ],
)
def test_extension_elements_that_change_what_runs_are_refused(inner: str) -> None:
    with pytest.raises(NotExecutableError, match="is not run by approvalflow") as info:
        load_process_string(model("", f"<bpmn:extensionElements>{inner}</bpmn:extensionElements>"), filename="m.bpmn")
    assert info.value.element == "review"


def test_extensions_for_their_tools_only_and_other_tools_namespaces_are_accepted() -> None:
    inner = (
        "<bpmn:extensionElements><camunda:formData><camunda:formField id='x' type='string'/></camunda:formData>"
        "<camunda:properties><camunda:property name='k' value='v'/></camunda:properties>"
        "<signavio:signavioMetaData metaKey='bgcolor' metaValue='#fff'/></bpmn:extensionElements>"
    )
    definition = load_process_string(
        model('camunda:formKey="embedded:app:forms/review.html" camunda:asyncBefore="true"', inner), filename="m.bpmn"
    )
    assert definition.steps["review"].posts == ()
    assert {"formKey", "formData", "formField", "properties", "property", "asyncBefore"} <= FOR_TOOLS


def test_an_extension_on_an_element_without_an_id_is_placed_at_its_nearest_element_with_one() -> None:
    text = model(
        "",
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>"
        "<zeebe:loopCharacteristics inputCollection='=experts' inputElement='expert'/>"
        "</bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>",
    )
    with pytest.raises(NotExecutableError, match="zeebe:loopCharacteristics") as info:
        load_process_string(text, filename="m.bpmn")
    assert info.value.element == "review"


def test_an_assignee_that_is_each_instances_element_variable_is_the_signer_not_a_person() -> None:
    loop = '<bpmn:multiInstanceLoopCharacteristics camunda:collection="experts" camunda:elementVariable="expert"/>'
    definition = load_process_string(model('camunda:assignee="${expert}"', loop), filename="m.bpmn")
    assert definition.steps["review"].countersign is not None
    with pytest.raises(NotExecutableError, match="camunda:assignee"):  # another variable: a person, refused
        load_process_string(model('camunda:assignee="${boss}"', loop), filename="m.bpmn")
    with pytest.raises(NotExecutableError, match="camunda:assignee"):  # no multi-instance: a person, refused
        load_process_string(model('camunda:assignee="${expert}"'), filename="m.bpmn")
