"""staffing (workflow satisfiability) and the organisation checks of validate --org."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from approvalflow import organisation_from_dict
from approvalflow.errors import OrganisationError
from approvalflow.validation import validate_paths, validate_string

from .test_validate_support import Node, model, step

START, END = ("startEvent", "s"), ("endEvent", "e")


def township(reviewers: int) -> dict[str, object]:
    people: dict[str, object] = {
        "boss": {"unit": "town", "posts": ["principal", "leader"]},
        "dep": {"unit": "town", "posts": ["deputy", "leader"]},
        "clerk": {"unit": "town", "posts": ["clerk"]},
    }
    for i in range(reviewers):
        people[f"r{i}"] = {"unit": "town", "posts": ["reviewer"]}
    return {"units": [{"id": "town", "principal": "boss", "deputies": {"dep": ["approval"]}}], "people": people}


def three_reviews() -> str:
    # r1, r2, r3 (lines 6..8) must each be done by a different reviewer
    nodes: list[Node] = [
        START,
        ("userTask", "r1", step("reviewer")),
        ("userTask", "r2", step("reviewer", extra='<af:separateFrom steps="r1"/>')),
        ("userTask", "r3", step("reviewer", extra='<af:separateFrom steps="r1 r2"/>')),
        END,
    ]
    ids = [n[1] for n in nodes]
    return model(nodes, list(itertools.pairwise(ids)))


def test_three_separated_reviews_need_three_reviewers() -> None:
    found = [f for f in validate_string(three_reviews(), org=organisation_from_dict(township(2)))]
    assert [(f.rule, f.element, f.line, f.severity) for f in found] == [("staffing", "r1", 6, "error")]
    message = found[0].message
    for needed in ("'r1'", "'r2'", "'r3'", "r0, r1", "af:separateFrom r1 / r2", "af:separateFrom r2 / r3"):
        assert needed in message
    assert validate_string(three_reviews(), org=organisation_from_dict(township(3))) == []


def test_core_leaves_out_steps_that_are_not_part_of_the_conflict() -> None:
    # 'log' (clerk) is unrelated to the reviewer conflict, so it is not named
    text = (
        three_reviews()
        .replace(
            '<bpmn:endEvent id="e" >',
            '<bpmn:userTask id="log" ><bpmn:extensionElements>'
            '<af:step posts="clerk" timeLimit="1"/></bpmn:extensionElements></bpmn:userTask>'
            '<bpmn:endEvent id="e" >',
        )
        .replace('targetRef="e"', 'targetRef="log"')
    )
    text = text.replace(
        "  </bpmn:process>", '    <bpmn:sequenceFlow id="fl" sourceRef="log" targetRef="e"/>\n  </bpmn:process>'
    )
    found = validate_string(text, org=organisation_from_dict(township(2)))
    assert [f.rule for f in found] == ["staffing"] and "'log'" not in found[0].message


def test_five_not_direct_keeps_the_principal_off_a_domain_step() -> None:
    # 'decide' (approval domain) allows only the post 'principal'; its one holder, boss, is the unit's principal,
    # whom 五不直接分管 keeps off the step: nobody is left. (risk-coverage also fires: a domain step without af:risk.)
    nodes: list[Node] = [
        START,
        ("userTask", "decide", '<af:step posts="principal" domain="approval" timeLimit="1"/>'),
        END,
    ]
    text = model(nodes, [("s", "decide"), ("decide", "e")])
    found = validate_string(text, org=organisation_from_dict(township(1)))
    assert [(f.rule, f.element) for f in found if f.rule != "risk-coverage"] == [("staffing", "decide")]
    message = next(f.message for f in found if f.rule == "staffing")
    assert "五不直接分管" in message and "nobody" in message


def test_same_actor_and_separate_actor_on_the_same_pair_cannot_be_met() -> None:
    nodes: list[Node] = [
        START,
        ("userTask", "a", step("reviewer")),
        ("userTask", "b", step("reviewer", extra='<af:separateFrom steps="a"/><af:sameActorAs step="a"/>')),
        END,
    ]
    found = validate_string(model(nodes, [("s", "a"), ("a", "b"), ("b", "e")]), org=organisation_from_dict(township(5)))
    assert [f.rule for f in found] == ["staffing"]
    assert "af:sameActorAs a / b" in found[0].message and "af:separateFrom a / b" in found[0].message


def test_unit_named_by_power_body(tmp_path: Path) -> None:
    # two units; the process names 'town' in af:power/@body, and only 'town' lacks a third reviewer
    org = township(2)
    org["units"] = [*org["units"], {"id": "city", "name": "市局"}]  # type: ignore[misc]
    org["people"].update({f"c{i}": {"unit": "city", "posts": ["reviewer"]} for i in range(3)})  # type: ignore[attr-defined]
    plain = validate_string(three_reviews(), org=organisation_from_dict(org))
    assert plain == []  # without a named unit, the city can staff it
    named = three_reviews().replace(
        '<bpmn:process id="p" isExecutable="true">\n    ',
        '<bpmn:process id="p" isExecutable="true">\n    <bpmn:extensionElements><af:power code="X" name="x" '
        'category="licensing" body="town"/></bpmn:extensionElements>',
    )
    assert [f.rule for f in validate_string(named, org=organisation_from_dict(org))] == ["staffing"]
    assert [f.rule for f in validate_string(three_reviews(), org=organisation_from_dict(org), unit="town")] == [
        "staffing"
    ]


ORG_YAML = """\
units:
  - id: town
    principal: boss
    deputies:
      boss: [finance]
      dep: [personnel, finance, engineering, procurement, approval]
people:
  boss: {unit: town, posts: [principal]}
  dep: {unit: town, posts: [deputy]}
"""


def test_org_checks_report_both_problems_with_lines(tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(ORG_YAML, encoding="utf-8")
    bpmn = tmp_path / "p.bpmn"
    bpmn.write_text(model([START, END], [("s", "e")]), encoding="utf-8")
    found = validate_paths([bpmn], org=org)
    # boss's entry is on line 5, dep's on line 6 of the YAML
    assert [(f.rule, f.file, f.line, f.element) for f in found] == [
        ("org-five-not-direct", str(org), 5, "town"),
        ("org-all-five", str(org), 6, "town"),
    ]


def test_broken_org_file_is_an_error(tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text("units: [\n", encoding="utf-8")
    with pytest.raises(OrganisationError):
        validate_paths([tmp_path], org=org)
