"""Collective membership (三重一大): who meets comes from the organisation file, never from the meeting record.

The record of a collective step must list exactly the members of the step's group (``af:collective/@group``,
default ``leadership``) in the case's unit (rule ``meeting-members``); a unit without that group refuses every
record; ``validate --org`` says so before any case runs. Malformed records are a ``MeetingRecordError`` (from the
engine) or a ``TypeError`` (from :func:`meeting_from`), never another exception.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, load_process_string, organisation_from_dict, start_case
from approvalflow.engine import Policy
from approvalflow.errors import DefinitionError, InvalidTypeError, MeetingRecordError, OrganisationError
from approvalflow.org.meetings import Meeting, meeting_from
from approvalflow.rules.findings import Finding
from approvalflow.validation import validate_string

START = "2026-06-01T09:00:00+08:00"
LATER = "2026-06-02T10:00:00+08:00"


def process(collective: str = '<af:collective quorum="2/3" lastSpeaker="principal"/>') -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"
                  id="d" targetNamespace="urn:test">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="prepare"><bpmn:extensionElements><af:step posts="clerk"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="meeting"><bpmn:extensionElements><af:step posts="leader clerk"/>{collective}
      <af:risk id="R1" level="high"><af:description>一把手说了算</af:description></af:risk>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="meeting"/>
    <bpmn:sequenceFlow id="f3" sourceRef="meeting" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


LEADERS = ["boss", "dep1", "dep2", "dep3"]
ORG: dict[str, Any] = {
    "units": [
        {
            "id": "gov",
            "principal": "boss",
            "groups": {
                "leadership": {"name": "领导班子", "members": LEADERS},
                "party": {"name": "党组", "members": ["boss", "dep1", "dep2"]},
            },
        },
        {"id": "other", "principal": "oboss", "groups": {"leadership": {"members": ["oboss", "odep"]}}},
        {"id": "bare", "principal": "bboss"},
    ],
    "people": {
        "boss": {"unit": "gov", "posts": ["principal", "leader"]},
        "dep1": {"unit": "gov", "posts": ["leader"]},
        "dep2": {"unit": "gov", "posts": ["leader"]},
        "dep3": {"unit": "gov", "posts": ["leader"]},
        "clerk": {"unit": "gov", "posts": ["clerk"]},
        "oboss": {"unit": "other", "posts": ["principal", "leader"]},
        "odep": {"unit": "other", "posts": ["leader"]},
        "bboss": {"unit": "bare", "posts": ["principal", "leader"]},
        "bclerk": {"unit": "bare", "posts": ["clerk"]},
    },
}


def full(members: list[str], last: str = "boss") -> dict[str, Any]:
    order = [m for m in members if m != last] + ([last] if last in members else [])
    return {"members": members, "present": members, "votes": [[m, "for"] for m in order]}


def case_at(policy: Policy = Policy.ENFORCE, unit: str = "gov", collective: str | None = None) -> Any:
    definition = load_process_string(process(collective) if collective else process())
    org = organisation_from_dict(ORG)
    case = start_case(definition, org, unit=unit, clock=FakeClock(START), policy=policy)
    case.complete("prepare", "clerk" if unit == "gov" else "bclerk", at="2026-06-01T10:00:00+08:00")
    return case


def snapshot(case: Any) -> tuple[Any, ...]:
    return (
        [(r.id, r.since) for r in case.ready_steps()],
        list(case.history),
        list(case.path),
        dict(case.data),
        list(case.findings),
    )


def refused_rules(case: Any, actor: str, meeting: Any) -> list[str]:
    before = snapshot(case)
    with pytest.raises(StepRefused) as exc:
        case.complete("meeting", actor, meeting=meeting, at="2026-06-02T10:00:00+08:00")
    assert snapshot(case) == before  # a refused step changes nothing
    return list(exc.value.rules)


# -- the hole: membership was whatever the record said --------------------------------------------------------
BAD_RECORDS = {
    "the clerk alone": {"members": ["clerk"], "present": ["clerk"], "votes": [["clerk", "for"]]},
    "the principal alone": {"members": ["boss"], "present": ["boss"], "votes": [["boss", "for"]]},
    "two who agree": {
        "members": ["boss", "dep1"],
        "present": ["boss", "dep1"],
        "votes": [["dep1", "for"], ["boss", "for"]],
    },
    "a member left out": full(["boss", "dep1", "dep2"]),
    "an outsider added": full([*LEADERS, "clerk"]),
    "one swapped": full(["boss", "dep1", "dep2", "clerk"]),
    "another unit's leaders": full(["oboss", "odep"], last="oboss"),
    "the smaller group": full(["boss", "dep1", "dep2"]),
}


@pytest.mark.parametrize("name", sorted(BAD_RECORDS))
def test_a_record_that_is_not_the_group_is_refused_under_enforce(name: str) -> None:
    case = case_at()
    assert "meeting-members" in refused_rules(case, "boss", BAD_RECORDS[name])


@pytest.mark.parametrize("name", sorted(BAD_RECORDS))
def test_a_record_that_is_not_the_group_is_a_finding_under_record(name: str) -> None:
    case = case_at(Policy.RECORD)
    found = case.complete("meeting", "boss", meeting=BAD_RECORDS[name], at="2026-06-02T10:00:00+08:00")
    assert "meeting-members" in [f.rule for f in found]
    assert case.is_completed


def test_the_message_names_the_group_and_the_difference() -> None:
    case = case_at()
    with pytest.raises(StepRefused) as exc:
        case.complete("meeting", "boss", meeting=full(["boss", "dep1", "dep2", "clerk"]), at=LATER)
    assert all(isinstance(f, Finding) for f in exc.value.findings)  # typed object in errors.py, the bottom layer
    message = next(f.message for f in exc.value.findings if isinstance(f, Finding) and f.rule == "meeting-members")
    assert "dep3" in message and "clerk" in message and "领导班子" in message


def test_the_whole_group_in_any_order_passes() -> None:
    case = case_at()
    record: dict[str, list[str] | list[list[str]]] = {
        "members": ["dep3", "dep1", "boss", "dep2"],
        "present": ["dep1", "dep2", "boss"],
    }
    record["votes"] = [["dep2", "for"], ["dep1", "against"], ["boss", "for"]]
    assert case.complete("meeting", "boss", meeting=record, at="2026-06-02T10:00:00+08:00") == []
    assert case.data["meeting_passed"] is True


def test_the_step_chooses_the_group() -> None:
    party = '<af:collective quorum="2/3" lastSpeaker="principal" group="party"/>'
    case = case_at(collective=party)
    assert "meeting-members" in refused_rules(case, "boss", full(LEADERS))
    assert case.complete("meeting", "boss", meeting=full(["boss", "dep1", "dep2"]), at=LATER) == []


@pytest.mark.parametrize("policy", [Policy.ENFORCE, Policy.RECORD])
def test_a_unit_without_the_group_never_passes_silently(policy: Policy) -> None:
    case = case_at(policy, unit="bare")
    record = full(["bboss"], last="bboss")
    if policy is Policy.ENFORCE:
        assert refused_rules(case, "bboss", record) == ["meeting-members"]
    else:
        found = case.complete("meeting", "bboss", meeting=record, at=LATER)
        assert [f.rule for f in found] == ["meeting-members"]
        assert "defines no group 'leadership'" in found[0].message


def test_a_group_the_unit_lacks_is_refused_even_if_another_unit_has_it() -> None:
    case = case_at(collective='<af:collective group="party"/>', unit="bare")
    assert "meeting-members" in refused_rules(case, "bboss", full(["boss", "dep1", "dep2"]))


# -- validate --org reports a missing group before any case runs --------------------------------------------
def static(text: str, unit: str | None) -> list[tuple[str, str | None]]:
    org = organisation_from_dict(ORG)
    return [(f.rule, f.element) for f in validate_string(text, org=org, unit=unit) if f.rule == "staffing"]


def test_validate_org_reports_a_unit_without_the_group() -> None:
    assert ("staffing", "meeting") in static(process(), "bare")
    assert static(process(), "gov") == []
    assert ("staffing", "meeting") in static(process('<af:collective group="nosuch"/>'), "gov")
    assert static(process('<af:collective group="party"/>'), "gov") == []


def test_validate_org_message_says_what_to_add() -> None:
    org = organisation_from_dict(ORG)
    found = [f for f in validate_string(process(), org=org, unit="bare") if f.rule == "staffing"]
    assert any("units[].groups" in f.message and "'leadership'" in f.message for f in found)


# -- the group attribute and the organisation file --------------------------------------------------------
@pytest.mark.parametrize("value", ["", "two words", " "])
def test_a_group_attribute_must_be_one_id(value: str) -> None:
    with pytest.raises(DefinitionError):
        load_process_string(process(f'<af:collective group="{value}"/>'))


def test_the_group_defaults_to_leadership_and_is_read() -> None:
    default = load_process_string(process()).steps["meeting"].collective
    assert default is not None and default.group == "leadership"
    read = load_process_string(process('<af:collective group=" party "/>')).steps["meeting"].collective
    assert read is not None and read.group == "party"


def with_groups(groups: Any) -> dict[str, Any]:
    units = [{**ORG["units"][0], "groups": groups}, *ORG["units"][1:]]
    return {**ORG, "units": units}


@pytest.mark.parametrize(
    ("groups", "says"),
    [
        ({"leadership": {"members": ["boss", "ghost"]}}, "ghost"),
        ({"leadership": {"members": []}}, "no members"),
        ({"leadership": {"members": ["boss", "dep1", "boss"]}}, "more than once"),
        ({"leadership": {"name": "x"}}, "members"),
        ({"leadership": {"members": "boss dep1"}}, "members"),
        ({"leadership": {"members": ["boss"], "chair": "boss"}}, "chair"),
        ({"two words": {"members": ["boss"]}}, "one word"),
        ({"leadership": ["boss", "dep1"]}, "leadership"),
    ],
)
def test_a_bad_group_in_the_organisation_file_is_an_error(groups: Any, says: str) -> None:
    with pytest.raises(OrganisationError, match=says):
        organisation_from_dict(with_groups(groups))


def test_a_group_may_name_people_of_another_unit() -> None:
    org = organisation_from_dict(with_groups({"leadership": {"members": ["boss", "odep"]}}))
    assert org.units["gov"].groups["leadership"].members == ("boss", "odep")


def test_the_organisation_file_error_names_the_line(tmp_path: Any) -> None:
    from approvalflow import load_organisation

    path = tmp_path / "org.yaml"
    path.write_text(
        "units:\n  - id: u\n    groups:\n      leadership:\n        members: [a, ghost]\npeople:\n  a: {unit: u}\n",
        encoding="utf-8",
    )
    with pytest.raises(OrganisationError) as exc:
        load_organisation(path)
    assert exc.value.line == 5 and "ghost" in str(exc.value)


# -- malformed records --------------------------------------------------------------------------------------
MALFORMED = {
    "votes as a mapping": {"members": LEADERS, "present": LEADERS, "votes": {"dep1": "for", "boss": "for"}},
    "votes as a list of mappings": {"members": LEADERS, "present": LEADERS, "votes": [{"boss": "for"}]},
    "a vote of three": {"members": LEADERS, "present": LEADERS, "votes": [["boss", "for", "loudly"]]},
    "a vote that is a string": {"members": LEADERS, "present": LEADERS, "votes": ["boss"]},
    "a vote of true": {"members": LEADERS, "present": LEADERS, "votes": [["boss", True]]},
    "a voter that is a number": {"members": LEADERS, "present": LEADERS, "votes": [[1, "for"]]},
    "members as a string": {"members": "boss dep1 dep2 dep3", "present": LEADERS},
    "members as a mapping": {"members": {"boss": 1}, "present": LEADERS},
    "a member that is a number": {"members": [*LEADERS, 7], "present": LEADERS},
    "a member that is empty": {"members": [*LEADERS, ""], "present": LEADERS},
    "a member that is a list": {"members": [LEADERS], "present": LEADERS},
    "no present": {"members": LEADERS, "votes": []},
    "no members": {"present": LEADERS},
    "a misspelt key": {"members": LEADERS, "present": LEADERS, "vote": []},
    "votes as none": {"members": LEADERS, "present": LEADERS, "votes": None},
    "a list": [LEADERS, LEADERS],
    "a string": "boss, dep1, dep2",
    "a number": 3,
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_record_is_a_type_error_from_meeting_from(name: str) -> None:
    with pytest.raises(TypeError) as exc:
        meeting_from(MALFORMED[name])
    assert type(exc.value) is InvalidTypeError and str(exc.value)  # a TypeError of the package's tree


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_record_is_a_meeting_record_error_that_changes_nothing(name: str) -> None:
    for policy in (Policy.ENFORCE, Policy.RECORD):
        case = case_at(policy)
        before = snapshot(case)
        with pytest.raises(MeetingRecordError, match="malformed"):
            case.complete("meeting", "boss", meeting=MALFORMED[name])
        assert snapshot(case) == before


def test_a_meeting_object_with_bad_fields_is_checked_too() -> None:
    with pytest.raises(TypeError):
        meeting_from(Meeting(members="boss", present=("boss",)))  # type: ignore[arg-type]
    good = Meeting(("boss",), ("boss",), (("boss", "for"),))
    assert meeting_from(good) == good


def test_a_record_listing_someone_twice_is_inconsistent() -> None:
    case = case_at()
    twice = {"members": [*LEADERS, "dep1"], "present": LEADERS, "votes": [["boss", "for"]]}
    with pytest.raises(MeetingRecordError, match="twice"):
        case.complete("meeting", "boss", meeting=twice)


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=6),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
record_like = st.fixed_dictionaries(
    {},
    optional={
        "members": json_like | st.lists(st.sampled_from(LEADERS), max_size=5),
        "present": json_like | st.lists(st.sampled_from(LEADERS), max_size=5),
        "votes": json_like | st.lists(st.tuples(st.sampled_from(LEADERS), st.sampled_from(["for", "against"]))),
    },
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(json_like, record_like))
def test_any_json_like_value_builds_a_meeting_or_raises_type_error(value: object) -> None:
    try:
        record = meeting_from(value)
    except TypeError as exc:
        assert str(exc)
        return
    assert isinstance(record, Meeting)
    assert all(isinstance(m, str) and m for m in (*record.members, *record.present))
    assert all(isinstance(w, str) and isinstance(v, str) for w, v in record.votes)


@settings(max_examples=60, deadline=None)
@given(st.one_of(json_like, record_like))
def test_any_json_like_record_given_to_the_engine_is_accepted_or_a_run_error(value: object) -> None:
    from approvalflow.errors import RunError

    case = case_at(Policy.RECORD)
    before = snapshot(case)
    try:
        case.complete("meeting", "boss", meeting=value, at=datetime.fromisoformat(START) + timedelta(days=1))
    except RunError:
        assert snapshot(case) == before
