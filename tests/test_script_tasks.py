"""Script tasks bound by id to host functions (``load_process(..., script_tasks=...)``, issue 16 item 7).

A model drawn elsewhere has scripts in Python. approvalflow never runs them; the host binds a function of its own to
the script task's id. These tests hold that the function runs in the script's place (its result steers the next
gateway), that the script text never runs, that binding a function to anything but a script task is refused by
name, and that a script task left unbound is still refused at load.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from approvalflow import FakeClock, load_process, load_process_string, organisation_from_dict, start_case
from approvalflow.errors import InvalidInputError, UnknownReferenceError, UnsafeContentError

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">\n'
)


def model(script: str, pid: str = "p") -> str:
    """start → script task ``calc`` → gateway on ``z == 3`` → user task ``yes`` or ``no`` → end."""
    return (
        HEAD
        + f"""<bpmn:process id="{pid}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:scriptTask id="calc" scriptFormat="python"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
<bpmn:exclusiveGateway id="gw" default="to_no"/>
<bpmn:userTask id="yes"/>
<bpmn:userTask id="no"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
<bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
<bpmn:sequenceFlow id="to_yes" sourceRef="gw" targetRef="yes">
  <bpmn:conditionExpression>z == 3</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="to_no" sourceRef="gw" targetRef="no"/>
<bpmn:sequenceFlow id="f3" sourceRef="yes" targetRef="end"/>
<bpmn:sequenceFlow id="f4" sourceRef="no" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
"""
    )


ORG = organisation_from_dict({"units": [{"id": "u"}], "people": {"a": {"unit": "u"}}})
START = "2026-03-02T09:00:00+08:00"


def test_the_bound_function_runs_in_the_scripts_place_and_steers_the_gateway(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    seen: list[dict[str, Any]] = []

    def add(data: Mapping[str, Any]) -> dict[str, Any]:
        seen.append(dict(data))
        return {"z": data["x"] + data["y"]}

    text = model(f"x, y = 1, 2\nz = x + y\nopen('{marker}', 'w')")
    definition = load_process_string(text, filename="s.bpmn", script_tasks={"calc": add})
    case = start_case(definition, ORG, clock=FakeClock(START), data={"x": 1, "y": 2})
    assert seen == [{"x": 1, "y": 2}]  # the function got the case data, once
    assert [s.id for s in case.ready_steps()] == ["yes"]  # 1 + 2 == 3: the condition saw the function's result
    assert not marker.exists()  # the script's own code never ran

    other = start_case(definition, ORG, clock=FakeClock(START), data={"x": 5, "y": 2})
    assert [s.id for s in other.ready_steps()] == ["no"]  # 7 != 3: the default flow


def test_a_function_bound_to_another_element_than_a_script_task_is_refused_by_name() -> None:
    with pytest.raises(UnknownReferenceError, match=r"'yes'.*not a script task") as info:
        # line 7 of the file: declaration, definitions, process, start, script task, gateway, then "yes"
        load_process_string(model("z = 3"), filename="s.bpmn", script_tasks={"calc": dict, "yes": dict})
    assert info.value.element == "yes" and info.value.line == 7 and info.value.file == "s.bpmn"


def test_a_script_task_left_unbound_is_still_refused() -> None:
    # a misspelt id binds nothing; the script task it meant is refused at load, naming it
    with pytest.raises(UnsafeContentError, match="script_tasks") as info:
        load_process_string(model("z = 3"), filename="s.bpmn", script_tasks={"clac": dict})
    assert info.value.element == "calc"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["calc"], "must be a mapping"),
        ({"calc": "z = 3"}, "bound to a function"),
        ({3: dict}, "bound to a function"),
    ],
)
def test_script_tasks_that_are_not_names_bound_to_functions_are_refused(given: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        load_process_string(model("z = 3"), filename="s.bpmn", script_tasks=given)


def test_a_script_task_of_a_called_process_is_bound_by_its_id(tmp_path: Path) -> None:
    (tmp_path / "sub.bpmn").write_text(model("z = 3", pid="sub"), encoding="utf-8")
    (tmp_path / "main.bpmn").write_text(
        HEAD
        + """<bpmn:process id="main" isExecutable="true">
<bpmn:startEvent id="m_start"/>
<bpmn:callActivity id="call" calledElement="sub"/>
<bpmn:endEvent id="m_end"/>
<bpmn:sequenceFlow id="m1" sourceRef="m_start" targetRef="call"/>
<bpmn:sequenceFlow id="m2" sourceRef="call" targetRef="m_end"/>
</bpmn:process>
</bpmn:definitions>
""",
        encoding="utf-8",
    )
    with pytest.raises(UnsafeContentError, match="'calc'"):
        load_process(tmp_path / "main.bpmn")
    definition = load_process(tmp_path / "main.bpmn", script_tasks={"calc": lambda data: {"z": 3}})
    case = start_case(definition, ORG, clock=FakeClock(START))
    assert [s.id for s in case.ready_steps()] == ["yes"]
    case.complete("yes", "a", at="2026-03-02T10:00:00+08:00")
    assert case.is_completed and case.path == ["yes"]


def test_validate_reports_a_script_task_only_when_no_host_function_runs_it() -> None:
    from approvalflow.validation import validate_string

    text = model("z = 3")

    def not_executable(found: list[Any]) -> list[str | None]:
        return [f.element for f in found if f.rule == "not-executable"]

    assert not_executable(validate_string(text, filename="s.bpmn")) == ["calc"]
    assert not_executable(validate_string(text, filename="s.bpmn", host_functions={"calc"})) == []
    assert not_executable(validate_string(text, filename="s.bpmn", host_functions={"clac"})) == ["calc"]
    named = model("stamp()")  # a script that names a trusted function
    assert not_executable(validate_string(named, filename="s.bpmn", host_functions={"stamp"})) == []
