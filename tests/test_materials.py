"""Required materials (申请材料), the 一次告知 notice and 补正 (issue 17 item 6).

Done when: a process or a step declares its materials (``af:materials``), checked at load with errors naming the
file, line and element; the missing ones are named in ONE notice (行政许可法 art. 32: 一次告知; a second notice in the
same round is ``once``, a notice leaving one out ``notice-incomplete``); a 补正 is checked against the notice
(``supplement-incomplete``); everything is in the trail and the saved case, and refusals change nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, load_organisation, load_process_string, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine import case_state
from approvalflow.engine.case import Case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.errors import (
    BpmnError,
    CaseFormatError,
    ExtensionError,
    InvalidInputError,
    StepNotReady,
    UnknownActorError,
)
from approvalflow.org.organisation import Organisation

DATA = Path(__file__).parent / "data" / "countersign"
START = "2026-06-01T09:00:00+08:00"  # a Monday
DIGEST = "ab" * 32

PROCESS_MATERIALS = """<af:materials>
        <af:material id="application_form" name="申请书"/>
        <af:material id="business_license" name="营业执照复印件" required="true"/>
        <af:material id="power_of_attorney" name="授权委托书" required="false"/>
      </af:materials>"""
STEP_MATERIALS = """<af:materials><af:material id="site_plan" name="场地平面图"/></af:materials>"""

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"
    id="defs" targetNamespace="urn:test">
  <bpmn:process id="licence" isExecutable="true">
    <bpmn:extensionElements>
      {process}
    </bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="accept" name="受理">
      <bpmn:extensionElements><af:step posts="clerk"/>{step}</bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="review" name="审查">
      <bpmn:extensionElements><af:step posts="expert"/></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept"/>
    <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def model(process: str = PROCESS_MATERIALS, step: str = STEP_MATERIALS) -> ProcessDefinition:
    return load_process_string(TEMPLATE.format(process=process, step=step), filename="licence.bpmn")


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DATA / "org.yaml")


@pytest.fixture(scope="module")
def definition() -> ProcessDefinition:
    return model()


def new_case(definition: ProcessDefinition, org: Organisation, policy: str = "enforce") -> Case:
    return start_case(definition, org, clock=FakeClock(START), data={"applicant": "张三"}, policy=policy)


def material(ident: str, name: str = "file.pdf") -> dict[str, Any]:
    return {"name": name, "media_type": "application/pdf", "size": 1024, "sha256": DIGEST, "material": ident}


# -- the declaration -----------------------------------------------------------------------------------------------
def test_materials_are_read_from_the_process_and_its_steps(definition: ProcessDefinition) -> None:
    assert [(m.id, m.name, m.required, m.step) for m in definition.materials] == [
        ("application_form", "申请书", True, None),
        ("business_license", "营业执照复印件", True, None),
        ("power_of_attorney", "授权委托书", False, None),
        ("site_plan", "场地平面图", True, "accept"),
    ]
    assert [m.id for m in definition.steps["accept"].materials] == ["site_plan"]
    assert definition.materials[0].line is not None


@pytest.mark.parametrize(
    ("process", "step", "says"),
    [
        ('<af:materials><af:material id="a" name="A"/><af:material id="a" name="B"/></af:materials>', "", "twice"),
        ('<af:materials><af:material id="site_plan" name="A"/></af:materials>', STEP_MATERIALS, "declared by"),
        ('<af:materials><af:material id="a" name="  "/></af:materials>', "", "blank name"),
        ("<af:materials/>", "", ""),  # the schema: at least one material
        ('<af:materials><af:material name="A"/></af:materials>', "", ""),  # the schema: id required
        ('<af:materials><af:material id="a b" name="A"/></af:materials>', "", ""),  # the schema: an NCName
        ('<af:materials><af:material id="a" name="A" required="maybe"/></af:materials>', "", ""),
        ('<af:materials><af:material id="a" name="A" colour="red"/></af:materials>', "", ""),
    ],
)
def test_bad_declarations_are_refused_at_load(process: str, step: str, says: str) -> None:
    with pytest.raises((ExtensionError, BpmnError)) as exc:
        model(process, step)
    assert exc.value.file is not None and exc.value.file.endswith("licence.bpmn")
    assert exc.value.line is not None
    assert says in str(exc.value)


def test_materials_elsewhere_are_refused() -> None:
    xml = TEMPLATE.format(process="", step="").replace(
        '<bpmn:endEvent id="end">',
        '<bpmn:endEvent id="end"><bpmn:extensionElements><af:materials><af:material id="a" name="A"/>'
        "</af:materials></bpmn:extensionElements>",
    )
    with pytest.raises(ExtensionError, match="af:materials"):
        load_process_string(xml, filename="licence.bpmn")


# -- what is missing -----------------------------------------------------------------------------------------------
def test_missing_materials(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    ids = [m.id for m in case.missing_materials()]
    assert ids == ["application_form", "business_license", "site_plan"]  # the optional one is never missing
    assert [m.id for m in case.missing_materials(["application_form"])] == ["business_license", "site_plan"]
    assert [m.id for m in case.missing_materials([material("site_plan")], step="review")] == [
        "application_form", "business_license",
    ]  # fmt: skip
    with pytest.raises(InvalidInputError, match="no material"):
        case.missing_materials(["birth_certificate"])
    with pytest.raises(InvalidInputError):
        case.missing_materials("application_form")  # a bare text, not a list


# -- 一次告知 ---------------------------------------------------------------------------------------------------------
def test_one_notice_names_every_missing_material(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    case.supplement("张三", materials=[material("application_form", "申请书.pdf")])  # the application itself
    assert case.notify_missing("clerk", step="accept", text="请补正") == []
    [notice] = case.notices
    assert notice.missing == ("business_license", "site_plan") and notice.round == 0 and notice.step == "accept"
    entry = case.trail.entries[-1]
    assert (entry["action"], entry["actor"], entry["step"], entry["outcome"]) == (
        "notify-missing",
        "clerk",
        "accept",
        "noted",
    )
    assert entry["data"]["missing"] == ["business_license", "site_plan"]
    # a second notice in the same round is refused (一次告知), even one naming all that is missing
    before, count = case_state(case), case.trail.count
    with pytest.raises(StepRefused) as exc:
        case.notify_missing("clerk", step="accept")
    assert exc.value.rules == ["once"]
    assert case_state(case) == before and case.trail.count == count + 1
    assert case.trail.entries[-1]["outcome"] == "refused"
    assert case.trail.verify().ok


def test_a_notice_that_leaves_a_material_out_is_refused(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    before = case_state(case)
    with pytest.raises(StepRefused) as exc:
        case.notify_missing("clerk", missing=["application_form"])
    assert exc.value.rules == ["notice-incomplete"] and case_state(case) == before
    assert "business_license" in str(exc.value)


def test_under_record_a_second_notice_goes_through_with_its_finding(
    definition: ProcessDefinition, org: Organisation
) -> None:
    case = new_case(definition, org, policy="record")
    case.notify_missing("clerk")
    found = case.notify_missing("clerk", missing=["site_plan"])
    assert sorted(f.rule for f in found) == ["notice-incomplete", "once"]
    assert len(case.notices) == 2 and case.findings[-1].rule in ("once", "notice-incomplete")


def test_a_new_round_of_the_step_may_notify_again(org: Organisation) -> None:
    """The round is the pass through the notice's step: after 受理 was completed, a notice at a later pass is new.
    (Here the process has no loop, so the notice is given at 审查, a different step: a round of its own.)"""
    definition = model()
    case = new_case(definition, org)
    case.notify_missing("clerk", step="accept")
    case.complete("accept", "clerk")
    case.notify_missing("li", step="review")
    assert [(n.step, n.round) for n in case.notices] == [("accept", 0), ("review", 0)]


def test_bad_notices(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    before, count = case_state(case), case.trail.count
    with pytest.raises(InvalidInputError, match="once each"):
        case.notify_missing("clerk", missing=["nothing_like_it"])
    with pytest.raises(InvalidInputError, match="once each"):
        case.notify_missing("clerk", missing=["site_plan", "site_plan", "application_form", "business_license"])
    with pytest.raises(StepNotReady):
        case.notify_missing("clerk", step="review")
    with pytest.raises(UnknownActorError):
        case.notify_missing("张三")  # the applicant gives no notice
    with pytest.raises(InvalidInputError):
        case.notify_missing("clerk", missing="site_plan")
    assert case_state(case) == before and case.trail.count == count
    for m in ("application_form", "business_license", "site_plan"):
        case.supplement("张三", materials=[material(m)])
    with pytest.raises(InvalidInputError, match="no material is missing"):
        case.notify_missing("clerk")


def test_a_process_without_materials_has_nothing_to_notify(org: Organisation) -> None:
    case = new_case(model("", ""), org)
    assert case.missing_materials() == []
    with pytest.raises(InvalidInputError, match="declares no materials"):
        case.notify_missing("clerk")


# -- 补正 ------------------------------------------------------------------------------------------------------------
def test_a_supplement_is_checked_against_the_notice(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    case.notify_missing("clerk", step="accept")  # all three required ones
    found = case.supplement("张三", materials=[material("application_form"), material("site_plan")])
    assert [f.rule for f in found] == ["supplement-incomplete"] and found[0].severity == "warning"
    assert "business_license" in found[0].message
    assert case.supplements[-1].still_missing == ("business_license",)
    entry = case.trail.entries[-1]
    assert (entry["action"], entry["outcome"]) == ("supplement", "recorded")
    assert [a["material"] for a in entry["attachments"]] == ["application_form", "site_plan"]
    # the rest, later: the notice is then covered (by everything supplied since it)
    assert case.supplement("张三", materials=[material("business_license")]) == []
    assert case.supplements[-1].notice == 0 and not case.supplements[-1].still_missing
    assert case.missing_materials() == []
    # a later supplement answers no notice
    case.supplement("张三", materials=[material("power_of_attorney")])
    assert case.supplements[-1].notice is None


@pytest.mark.parametrize(
    ("materials", "error", "says"),
    [
        ([], InvalidInputError, "at least one"),
        (
            [{"name": "a.pdf", "media_type": "application/pdf", "size": 1, "sha256": DIGEST}],
            InvalidInputError,
            "material",
        ),
        ([material("unknown_thing")], InvalidInputError, "no material of this process"),
        ([{**material("site_plan"), "sha256": "x"}], InvalidInputError, "sha256"),
        ([{**material("site_plan"), "material": "a b"}], InvalidInputError, "material"),
    ],
)
def test_bad_supplements_change_nothing(
    definition: ProcessDefinition, org: Organisation, materials: Any, error: type[Exception], says: str
) -> None:
    case = new_case(definition, org)
    before, count = case_state(case), case.trail.count
    with pytest.raises(error, match=says):
        case.supplement("张三", materials=materials)
    assert case_state(case) == before and case.trail.count == count


def test_only_a_party_or_an_official_supplies(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    with pytest.raises(UnknownActorError):
        case.supplement("李四", materials=[material("site_plan")])
    case.supplement("clerk", materials=[material("site_plan")])  # received at the window


# -- saved cases ----------------------------------------------------------------------------------------------------
def test_notices_and_supplements_survive_saving(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    case.notify_missing("clerk", step="accept", text="一次性告知")
    case.supplement("张三", materials=[material("site_plan")])
    again = load_case(dump_case(case), definition, org, clock=FakeClock(START))
    assert again.notices == case.notices and again.supplements == case.supplements
    assert case_state(again) == case_state(case)
    with pytest.raises(StepRefused):
        again.notify_missing("clerk", step="accept")  # still the same round after loading


@pytest.mark.parametrize(
    ("key", "forge"),
    [
        ("notices", lambda n: n.update(missing=["forged"])),
        ("notices", lambda n: n.update(missing=[])),
        ("notices", lambda n: n.update(step="nowhere")),
        ("notices", lambda n: n.update(round=-1)),
        ("notices", lambda n: n.update(at="yesterday")),
        ("supplements", lambda s: s.update(notice=7)),
        ("supplements", lambda s: s["materials"][0].update(material="forged")),
        ("supplements", lambda s: s.update(still_missing=["forged"])),
        ("supplements", lambda s: s.update(extra=True)),
    ],
)
def test_forged_records_are_refused_on_load(
    definition: ProcessDefinition, org: Organisation, key: str, forge: Any
) -> None:
    case = new_case(definition, org)
    case.notify_missing("clerk", step="accept")
    case.supplement("张三", materials=[material("site_plan")])
    doc = json.loads(dump_case(case))
    forge(doc[key][0])
    with pytest.raises(CaseFormatError):
        load_case(json.dumps(doc), definition, org)


# -- property: random notices and supplements -------------------------------------------------------------------------
REQUIRED = ["application_form", "business_license", "site_plan"]
ALL_IDS = [*REQUIRED, "power_of_attorney"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("notify"), st.sampled_from([None, "accept"]),
                      st.one_of(st.none(), st.lists(st.sampled_from(REQUIRED), min_size=1, max_size=3, unique=True))),
            st.tuples(st.just("supply"), st.none(), st.lists(st.sampled_from(ALL_IDS), min_size=1, max_size=3)),
        ),
        max_size=10,
    )
)  # fmt: skip
def test_one_notice_per_round_and_supplements_checked(
    definition: ProcessDefinition, org: Organisation, ops: list[tuple[str, str | None, list[str] | None]]
) -> None:
    """Against a model: a notice goes through only when it is the first of its round and names every missing
    required material; a supplement warns exactly when the open notice is not covered by what came since it;
    refused notices change nothing but the trail; the trail verifies and the case saves and loads."""
    case = new_case(definition, org)
    supplied: set[str] = set()
    rounds: set[str | None] = set()
    open_notice: tuple[str, ...] | None = None
    since: set[str] = set()
    for op, step, ids in ops:
        missing = [m for m in REQUIRED if m not in supplied]
        if op == "notify":
            named = ids if ids is not None else missing
            before, count = case_state(case), case.trail.count
            if not named:
                with pytest.raises(InvalidInputError):
                    case.notify_missing("clerk", step=step, missing=ids)
                assert case_state(case) == before and case.trail.count == count
                continue
            expected = (["once"] if step in rounds else []) + (["notice-incomplete"] if set(missing) - set(named)
                                                                else [])  # fmt: skip
            if expected:
                with pytest.raises(StepRefused) as exc:
                    case.notify_missing("clerk", step=step, missing=ids)
                assert exc.value.rules == expected
                assert case_state(case) == before and case.trail.count == count + 1
                continue
            case.notify_missing("clerk", step=step, missing=ids)
            rounds.add(step)
            open_notice, since = tuple(named), set()
        else:
            assert ids is not None
            found = case.supplement("张三", materials=[material(i) for i in ids])
            supplied |= set(ids)
            since |= set(ids)
            lacking = [m for m in open_notice or () if m not in since]
            assert [f.rule for f in found] == (["supplement-incomplete"] if lacking else [])
            if open_notice is not None and not lacking:
                open_notice = None
        assert [m.id for m in case.missing_materials()] == [m for m in REQUIRED if m not in supplied]
    assert case.trail.verify().ok
    again = load_case(dump_case(case), definition, org, clock=FakeClock(START))
    assert case_state(again) == case_state(case)


def test_a_notice_at_a_step_is_given_by_someone_who_may_do_the_step(
    definition: ProcessDefinition, org: Organisation
) -> None:
    # accept is the clerks' step (posts clerk): li, an expert, may not give its 一次告知 notice; recorded, refused
    case = new_case(definition, org)
    before, count = case_state(case), case.trail.count
    with pytest.raises(StepRefused) as exc:
        case.notify_missing("li", step="accept")
    assert exc.value.rules == ["unauthorized"]
    assert case_state(case) == before and case.trail.count == count + 1
    # under record it goes through, the finding kept
    recorded = new_case(definition, org, policy="record")
    assert [f.rule for f in recorded.notify_missing("li", step="accept")] == ["unauthorized"]
    assert len(recorded.notices) == 1
