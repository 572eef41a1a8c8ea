"""Multi-instance steps as Chinese approval signs them (issue 16 item 1): 会签, 或签, 依次审批, 票签.

Done when: a 会签 of three named experts cannot be signed twice by one person, keeps three opinions, and decides by
the rule declared; 或签 and 票签 likewise; all rules apply to each signer. The models are built from one template
(受理 -> 专家评审 -> gateway on ``expert_review_passed`` -> 决定, or back to 受理 for rework) with the annotation under
test; ``tests/data/countersign/`` holds the 会签 of three named experts and a model as Camunda Modeler saves it.
Expected outcomes are worked out from the declared rule (e.g. 票签 2/3 of 3 signers needs 2 approvals), never
copied from the engine's output.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, load_organisation, load_process, load_process_string, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine import Policy, case_state
from approvalflow.engine.case import Case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.errors import (
    CaseFormatError,
    EngineError,
    ExtensionError,
    InvalidInputError,
    NotExecutableError,
    StepNotReady,
    UnknownActorError,
)
from approvalflow.org.organisation import Organisation
from approvalflow.rules.signing import decide
from approvalflow.validation import validate_file, validate_string

DATA = Path(__file__).parent / "data" / "countersign"
START = "2026-06-01T09:00:00+08:00"  # a Monday, a working day
EXPERTS = ["li", "zhao", "sun"]

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="urn:test">
  <bpmn:process id="review_process" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="receive" name="受理">
      <bpmn:extensionElements><af:step posts="clerk"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f_rework</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="expert_review" name="专家评审">
      <bpmn:extensionElements>
        <af:step posts="expert"{step_extra}/>
        {annotation}
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      {loop}
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="passed" default="f_rework">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_rework</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="decide" name="决定">
      <bpmn:extensionElements><af:step posts="leader"/><af:separateFrom steps="expert_review"/></bpmn:extensionElements>
      <bpmn:incoming>f_yes</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="receive"/>
    <bpmn:sequenceFlow id="f2" sourceRef="receive" targetRef="expert_review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="expert_review" targetRef="passed"/>
    <bpmn:sequenceFlow id="f_yes" sourceRef="passed" targetRef="decide">
      <bpmn:conditionExpression>expert_review_passed == True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_rework" sourceRef="passed" targetRef="receive"/>
    <bpmn:sequenceFlow id="f4" sourceRef="decide" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
PARALLEL = '<bpmn:multiInstanceLoopCharacteristics isSequential="false"/>'
SEQUENTIAL = '<bpmn:multiInstanceLoopCharacteristics isSequential="true"/>'


def model(annotation: str, loop: str = PARALLEL, step_extra: str = "") -> str:
    return TEMPLATE.format(annotation=annotation, loop=loop, step_extra=step_extra)


def load(annotation: str, loop: str = PARALLEL, step_extra: str = "") -> ProcessDefinition:
    return load_process_string(model(annotation, loop, step_extra), filename="review.bpmn")


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DATA / "org.yaml")


def received(definition: ProcessDefinition, org: Organisation, **data: Any) -> Case:
    """A case whose 受理 is done: the round of 专家评审 is open."""
    case = start_case(definition, org, clock=FakeClock(START), data={"applicant": "宏达公司", **data})
    case.complete("receive", "clerk")
    return case


def instances(case: Case) -> list[tuple[str, int | None, str | None]]:
    return [(r.id, r.instance, r.assignee) for r in case.ready_steps()]


def refused_rules(case: Case, step: str, actor: str, **kwargs: Any) -> list[str]:
    """The rule ids of a refusal; the case is exactly as it was, and the trail records the attempt."""
    before, count = case_state(case), case.trail.count
    with pytest.raises(StepRefused) as exc:
        case.complete(step, actor, **kwargs)
    assert case_state(case) == before
    assert case.trail.count == count + 1 and case.trail.entries[-1]["outcome"] == "refused"
    return list(exc.value.rules)


def outcome(case: Case) -> tuple[int, int, bool | None]:
    d = case.data
    return d["expert_review_approvals"], d["expert_review_rejections"], d["expert_review_passed"]


# -- 会签: the Done-when sentence ------------------------------------------------------------------------------------
def test_countersign_of_three_named_experts(org: Organisation) -> None:
    case = received(load_process(DATA / "expert_review.bpmn"), org)
    assert instances(case) == [("expert_review", 0, "li"), ("expert_review", 1, "zhao"), ("expert_review", 2, "sun")]
    case.complete("expert_review", "li", comment="符合规划条件", data={"score": 90})
    assert refused_rules(case, "expert_review", "li") == ["signed-twice"]
    assert refused_rules(case, "expert_review", "qian") == ["not-signer"]  # an expert, but not named
    assert refused_rules(case, "expert_review", "li", instance=2) == ["signed-twice"]
    assert refused_rules(case, "expert_review", "zhao", instance=2) == ["not-signer"]  # sun's instance
    case.complete("expert_review", "sun", opinion="同意", data={"score": 70})
    assert case.data["expert_review_passed"] is None  # 会签: zhao has not signed yet
    case.complete("expert_review", "zhao", opinion="agree", comment="同意")
    opinions = case.data["expert_review_opinions"]
    assert [(o["index"], o["signer"], o["opinion"]) for o in opinions] == [
        (0, "li", "agree"),
        (2, "sun", "agree"),
        (1, "zhao", "agree"),
    ]
    assert [o["data"] for o in opinions] == [{"score": 90}, {"score": 70}, {}]  # kept per signer, not overwritten
    assert opinions[0]["comment"] == "符合规划条件" and "score" not in case.data
    assert outcome(case) == (3, 0, True)
    assert instances(case) == [("decide", None, None)]  # the gateway took expert_review_passed == True
    assert [c.actor for c in case.history if c.step == "expert_review"] == ["li", "sun", "zhao"]


def test_one_disagreement_rejects_a_countersign_and_cancels_the_rest(org: Organisation) -> None:
    case = received(load_process(DATA / "expert_review.bpmn"), org)
    case.complete("expert_review", "zhao", opinion="不同意", comment="容积率超标")
    assert outcome(case) == (0, 1, False)
    entry = case.trail.entries[-1]
    assert entry["signing"]["cancelled"] == [0, 2] and entry["signing"]["decided"] is False
    assert instances(case) == [("receive", None, None)]  # 退回: back to 受理


def test_a_rework_loop_starts_a_fresh_round(org: Organisation) -> None:
    """After 退回 the same experts sign again: af:separateFrom naming the step itself no longer deadlocks."""
    definition = load(
        '<af:countersign signers="li zhao sun"/><af:separateFrom steps="expert_review"/>'
    )  # the old workaround, kept
    case = received(definition, org)
    case.complete("expert_review", "li")
    case.complete("expert_review", "zhao", opinion="disagree")
    case.complete("receive", "clerk")
    assert [i[1:] for i in instances(case)] == [(0, "li"), (1, "zhao"), (2, "sun")]
    assert case.data["expert_review_opinions"] == [] and case.data["expert_review_passed"] is None
    for expert in EXPERTS:
        assert case.complete("expert_review", expert) == []
    assert outcome(case) == (3, 0, True)
    assert instances(case) == [("decide", None, None)]


# -- 或签, 依次审批, 票签 ------------------------------------------------------------------------------------------------
def test_or_sign_the_first_approval_decides(org: Organisation) -> None:
    case = received(load('<af:countersign mode="any" signers="li zhao sun"/>'), org)
    case.complete("expert_review", "sun", opinion="disagree")
    assert outcome(case) == (0, 1, None)  # one rejection does not end a 或签
    case.complete("expert_review", "li")
    assert outcome(case) == (1, 1, True)
    assert case.trail.entries[-1]["signing"]["cancelled"] == [1]
    assert instances(case) == [("decide", None, None)]


def test_or_sign_rejected_only_when_every_signer_rejects(org: Organisation) -> None:
    case = received(load('<af:countersign mode="any" signers="li zhao sun"/>'), org)
    for expert in EXPERTS:
        case.complete("expert_review", expert, opinion="不同意")
    assert outcome(case) == (0, 3, False)
    assert instances(case) == [("receive", None, None)]


def test_sequential_approval_goes_in_the_order_given(org: Organisation) -> None:
    case = received(load('<af:countersign mode="sequence" signers="sun li zhao"/>', SEQUENTIAL), org)
    assert instances(case) == [("expert_review", 0, "sun")]
    before = case_state(case)
    with pytest.raises(StepNotReady, match="later"):
        case.complete("expert_review", "li")
    assert case_state(case) == before
    case.complete("expert_review", "sun")
    assert instances(case) == [("expert_review", 1, "li")]
    case.complete("expert_review", "li")
    case.complete("expert_review", "zhao")
    assert outcome(case) == (3, 0, True)
    assert [c.actor for c in case.history if c.step == "expert_review"] == ["sun", "li", "zhao"]


def test_a_rejection_ends_a_sequential_approval(org: Organisation) -> None:
    case = received(load('<af:countersign mode="sequence" signers="sun li zhao"/>', SEQUENTIAL), org)
    case.complete("expert_review", "sun")
    case.complete("expert_review", "li", opinion="不同意")
    assert outcome(case) == (1, 1, False)
    assert case.trail.entries[-1]["signing"]["cancelled"] == [2]  # zhao's instance is never created
    assert instances(case) == [("receive", None, None)]


@pytest.mark.parametrize(
    ("opinions", "decided_after", "passed"),
    [
        # 2/3 of 3 signers: 2 approvals pass; 2 rejections leave at most 1 approval, which cannot reach 2
        (["agree", "agree"], 2, True),
        (["disagree", "disagree"], 2, False),
        (["agree", "disagree", "agree"], 3, True),
        (["disagree", "agree", "disagree"], 3, False),
    ],
)
def test_vote_sign_two_thirds(org: Organisation, opinions: list[str], decided_after: int, passed: bool) -> None:
    case = received(load('<af:countersign mode="ratio" pass="2/3" signers="li zhao sun"/>'), org)
    for n, (expert, opinion) in enumerate(zip(EXPERTS, opinions, strict=False), 1):
        case.complete("expert_review", expert, opinion=opinion)
        assert (case.data["expert_review_passed"] is not None) == (n >= decided_after)
    assert case.data["expert_review_passed"] is passed
    assert instances(case) == [("decide" if passed else "receive", None, None)]


def test_vote_sign_of_five_from_case_data(org: Organisation) -> None:
    """2/3 of 5 signers is 3.33..., so 4 approvals are needed; 2 rejections make 4 impossible."""
    definition = load('<af:countersign mode="ratio" pass="2/3" signersFrom="panel"/>')
    case = received(definition, org, panel=["li", "zhao", "sun", "chief", "qian"], applicant="某公司")
    assert [i[2] for i in instances(case)] == ["li", "zhao", "sun", "chief", "qian"]
    case.complete("expert_review", "li")
    case.complete("expert_review", "zhao")
    case.complete("expert_review", "sun")
    assert case.data["expert_review_passed"] is None  # 3 < 4
    case.complete("expert_review", "chief", opinion="disagree")
    assert case.data["expert_review_passed"] is None  # qian could still make it 4
    case.complete("expert_review", "qian", opinion="disagree")
    assert outcome(case) == (3, 2, False)


@given(
    mode=st.sampled_from(["all", "any", "sequence", "ratio"]),
    share=st.integers(1, 10).flatmap(lambda d: st.integers(1, d).map(lambda n: Fraction(n, d))),
    votes=st.lists(st.booleans(), min_size=1, max_size=12),
)
def test_decide_follows_the_declared_rule(mode: str, share: Fraction, votes: list[bool]) -> None:
    """decide() against the rule stated independently: approvals needed = all / 1 / ceil(share * n)."""
    from approvalflow.bpmn.model import Countersign

    total = len(votes)
    rule = Countersign(mode=mode, ratio=share if mode == "ratio" else None)  # type: ignore[arg-type]
    need = {"all": total, "sequence": total, "any": 1}.get(mode)
    if need is None:
        need = next(k for k in range(1, total + 1) if k >= share * total)
    ayes = 0
    for n, vote in enumerate(votes, 1):
        ayes += vote
        nays = n - ayes
        expected = True if ayes >= need else False if ayes + (total - n) < need else None
        assert decide(rule, total, ayes, nays) is expected


# -- every rule applies to each signer ------------------------------------------------------------------------------
def test_recusal_of_one_signer(org: Organisation) -> None:
    """qian declared a conflict with 宏达公司, the applicant: their own instance is refused, the others sign."""
    case = received(load('<af:countersign signersFrom="panel"/>'), org, panel=["li", "qian"])
    assert refused_rules(case, "expert_review", "qian") == ["recusal"]
    assert case.complete("expert_review", "li") == []


def test_the_principal_as_signer_of_an_approval_step(org: Organisation) -> None:
    """五不直接分管: the chief holds the expert post, but the step is in the approval domain."""
    case = received(load('<af:countersign signers="chief li"/>', step_extra=' domain="approval"'), org)
    assert refused_rules(case, "expert_review", "chief") == ["five-not-direct"]


def test_a_named_signer_without_the_post(org: Organisation) -> None:
    case = received(load('<af:countersign signers="wu li"/>'), org)  # wu is a clerk
    assert refused_rules(case, "expert_review", "wu") == ["unauthorized"]


def test_separation_from_another_step_applies_to_each_signer(org: Organisation) -> None:
    """The chief signed the review; 决定 is af:separateFrom it, so the deputy decides."""
    case = received(load('<af:countersign signers="chief li"/>'), org)
    case.complete("expert_review", "chief")
    case.complete("expert_review", "li")
    assert refused_rules(case, "decide", "chief") == ["separate-actors"]
    assert case.complete("decide", "deputy") == []
    assert case.is_completed


def test_not_signer_and_signed_twice_refuse_under_record_too(org: Organisation) -> None:
    definition = load('<af:countersign signers="li zhao"/>')
    case = start_case(definition, org, clock=FakeClock(START), policy=Policy.RECORD)
    case.complete("receive", "clerk")
    case.complete("expert_review", "li")
    assert refused_rules(case, "expert_review", "li") == ["signed-twice"]
    assert refused_rules(case, "expert_review", "sun") == ["not-signer"]


def test_open_instances_each_signed_by_a_different_person(org: Organisation) -> None:
    """A multi-instance step without af:countersign: 会签 of loopCardinality distinct authorised people."""
    loop = "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>n</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
    case = received(load("", loop), org, n=2)
    assert instances(case) == [("expert_review", 0, None), ("expert_review", 1, None)]
    case.complete("expert_review", "sun")
    assert refused_rules(case, "expert_review", "sun") == ["signed-twice"]
    assert refused_rules(case, "expert_review", "clerk") == ["unauthorized"]
    case.complete("expert_review", "li", instance=1)
    assert outcome(case) == (2, 0, True)


def test_bad_opinion_and_arguments(org: Organisation) -> None:
    case = received(load('<af:countersign signers="li zhao"/>'), org)
    before = case_state(case)
    for kwargs in ({"opinion": "maybe"}, {"opinion": 1}, {"instance": -1}, {"instance": True}, {"comment": 3}):
        with pytest.raises(InvalidInputError):
            case.complete("expert_review", "li", **kwargs)
    with pytest.raises(StepNotReady):
        case.complete("expert_review", "li", instance=5)
    assert case_state(case) == before
    # Any step takes an opinion and a comment (审批意见, engine/opinions.py); only a multi-instance one an instance.
    with pytest.raises(InvalidInputError, match="not a multi-instance"):
        start_case(definition := load('<af:countersign signers="li zhao"/>'), org, clock=FakeClock(START)).complete(
            "receive", "clerk", opinion="agree", instance=0
        )
    assert definition.steps["expert_review"].countersign is not None


# -- saved cases -----------------------------------------------------------------------------------------------------
def test_a_case_mid_round_saves_and_loads(org: Organisation) -> None:
    definition = load_process(DATA / "expert_review.bpmn")
    case = received(definition, org)
    case.complete("expert_review", "li", comment="ok")
    again = load_case(dump_case(case), definition, org, clock=FakeClock(START))
    assert instances(again) == instances(case)
    assert refused_rules(again, "expert_review", "li") == ["signed-twice"]
    again.complete("expert_review", "zhao")
    again.complete("expert_review", "sun")
    assert outcome(again) == (3, 0, True)


def test_a_sequential_round_saves_and_loads_between_turns(org: Organisation) -> None:
    definition = load('<af:countersign mode="sequence" signers="sun li zhao"/>', SEQUENTIAL)
    case = received(definition, org)
    case.complete("expert_review", "sun", comment="第一位")
    again = load_case(dump_case(case), definition, org, clock=FakeClock(START))
    assert instances(again) == [("expert_review", 1, "li")]
    with pytest.raises(StepNotReady):
        again.complete("expert_review", "zhao")
    again.complete("expert_review", "li")
    again = load_case(dump_case(again), definition, org, clock=FakeClock(START))
    again.complete("expert_review", "zhao", opinion="不同意")
    assert outcome(again) == (2, 1, False)
    assert [o["comment"] for o in again.data["expert_review_opinions"]] == ["第一位", None, None]


def test_a_forged_round_is_refused(org: Organisation) -> None:
    import json

    definition = load_process(DATA / "expert_review.bpmn")
    case = received(definition, org)
    case.complete("expert_review", "li")
    doc = json.loads(dump_case(case))
    tasks = doc["workflow"]["tasks"]
    parent = next(t for t in tasks.values() if "countersign" in t["internal_data"])
    parent["internal_data"]["countersign"]["opinions"].append(
        {"index": 1, "signer": "li", "opinion": "agree", "comment": None, "at": START, "data": {}}
    )
    with pytest.raises(CaseFormatError):
        load_case(json.dumps(doc), definition, org)


def test_a_case_mid_round_round_trips_through_sqlite(org: Organisation, tmp_path: Path) -> None:
    from approvalflow.store.cases import add_case, complete_step, load_case_from
    from approvalflow.store.factory import open_store

    definition = load_process(DATA / "expert_review.bpmn")
    store = open_store(f"sqlite:///{tmp_path / 'cases.db'}")
    try:
        stored = add_case(store, received(definition, org))
        complete_step(store, stored, "expert_review", "li", opinion="同意", comment="可行")
        loaded = load_case_from(store, stored.case.id, definition, org)
        assert [i[1:] for i in instances(loaded.case)] == [(1, "zhao"), (2, "sun")]
        with pytest.raises(StepRefused):
            complete_step(store, loaded, "expert_review", "li")
        complete_step(store, loaded, "expert_review", "zhao", opinion="不同意")
        final = load_case_from(store, stored.case.id, definition, org)
        assert outcome(final.case) == (1, 1, False)
    finally:
        store.close()


# -- hostile signer lists --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("panel", "words"),
    [
        ("li zhao", "must be a list"),
        ({"li": 1}, "must be a list"),
        ([], "needs 1 to"),
        (["li", 3], "people ids"),
        (["li", "ghost"], "ghost"),
        (["li", "zhao", "li"], "twice"),
        (["li"] * 2000, "needs 1 to"),
    ],
)
def test_hostile_signer_lists_change_nothing(org: Organisation, panel: Any, words: str) -> None:
    definition = load('<af:countersign signersFrom="panel"/>')
    case = start_case(definition, org, clock=FakeClock(START), data={"panel": panel})
    before, count = case_state(case), case.trail.count
    with pytest.raises(EngineError, match=words):
        case.complete("receive", "clerk")
    assert case_state(case) == before
    assert case.trail.entries[-1]["outcome"] == "engine-error" and case.trail.count == count + 1


def test_missing_signer_key_and_bad_cardinality(org: Organisation) -> None:
    case = start_case(load('<af:countersign signersFrom="panel"/>'), org, clock=FakeClock(START))
    with pytest.raises(EngineError, match="does not have"):
        case.complete("receive", "clerk")
    loop = "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>n</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
    for n in (0, -1, 10**6, True, "3"):
        case = start_case(load("", loop), org, clock=FakeClock(START), data={"n": n})
        with pytest.raises(EngineError, match="cardinality"):
            case.complete("receive", "clerk")


def test_max_cardinality_bounds_the_signers(org: Organisation) -> None:
    definition = load('<af:countersign signers="li zhao sun"/>')
    case = start_case(definition, org, clock=FakeClock(START), max_cardinality=2)
    with pytest.raises(EngineError, match=r"needs 1 to 2 \(max_cardinality"):
        case.complete("receive", "clerk")


# -- Camunda's collection and the load-time errors ----------------------------------------------------------------
def test_camunda_collection_maps_to_signers_from(org: Organisation) -> None:
    definition = load_process(DATA / "camunda_collection.bpmn")
    rule = definition.steps["expert_review"].countersign
    assert rule is not None and (rule.signers_from, rule.element_variable, rule.declared) == (
        "experts",
        "expert",
        False,
    )
    case = start_case(definition, org, clock=FakeClock(START), data={"experts": ["sun", "li"]})
    assert [i[2] for i in instances(case)] == ["sun", "li"]
    case.complete("expert_review", "li")
    case.complete("expert_review", "sun")
    assert case.is_completed and case.data["expert_review_passed"] is True
    assert [f for f in validate_file(DATA / "camunda_collection.bpmn", org=org) if f.severity == "error"] == []


@pytest.mark.parametrize(
    "loop",
    [
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>panel</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="expert" name="expert"/></bpmn:multiInstanceLoopCharacteristics>',
        '<bpmn:multiInstanceLoopCharacteristics xmlns:flowable="http://flowable.org/bpmn" '
        'flowable:collection="${panel}" flowable:elementVariable="expert"/>',
    ],
)
def test_loop_data_input_and_flowable_collection_map_too(org: Organisation, loop: str) -> None:
    definition = load("", loop)
    rule = definition.steps["expert_review"].countersign
    assert rule is not None and (rule.signers_from, rule.element_variable, rule.mode) == ("panel", "expert", "all")
    case = received(definition, org, panel=["zhao", "li"])
    assert [i[1:] for i in instances(case)] == [(0, "zhao"), (1, "li")]


def line_of(text: str, marker: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


@pytest.mark.parametrize(
    ("annotation", "loop", "error", "words", "marker"),
    [
        ("", '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${experts.list()}"/>', ExtensionError,
         "not an expression", "camunda:collection"),
        ("", '<bpmn:multiInstanceLoopCharacteristics camunda:collection="experts" camunda:elementVariable="a b"/>',
         ExtensionError, "camunda:elementVariable", "camunda:collection"),
        ('<af:countersign signers="li"/>', '<bpmn:multiInstanceLoopCharacteristics camunda:collection="e"/>',
         ExtensionError, "given twice", "af:countersign"),
        ('<af:countersign signers="li zhao li"/>', PARALLEL, ExtensionError, "more than once", "af:countersign"),
        ('<af:countersign mode="sequence" signers="li"/>', PARALLEL, ExtensionError, "isSequential",
         "af:countersign"),
        ('<af:countersign mode="ratio" signers="li"/>', PARALLEL, ExtensionError, "pass=", "af:countersign"),
        ('<af:countersign pass="2/3" signers="li"/>', PARALLEL, ExtensionError, "票签", "af:countersign"),
        ('<af:countersign mode="ratio" pass="0" signers="li"/>', PARALLEL, ExtensionError, "above 0",
         "af:countersign"),
        ('<af:countersign signers="li"/>', "", ExtensionError, "needs bpmn:multiInstanceLoopCharacteristics",
         "af:countersign"),
        ("", PARALLEL, NotExecutableError, "neither who signs nor how many", "isSequential"),
        ('<af:countersign signers="li zhao"/>',
         '<bpmn:multiInstanceLoopCharacteristics><bpmn:completionCondition>x</bpmn:completionCondition>'
         "</bpmn:multiInstanceLoopCharacteristics>", NotExecutableError, "completionCondition", "completionCondition"),
        ('<af:countersign signers="li zhao"/><af:once/>', PARALLEL, ExtensionError, "af:once", "expert_review"),
    ],
)  # fmt: skip
def test_load_time_errors_name_file_line_and_element(
    annotation: str, loop: str, error: type[Exception], words: str, marker: str
) -> None:
    text = model(annotation, loop)
    with pytest.raises(error) as exc:
        load_process_string(text, filename="review.bpmn")
    message = str(exc.value)
    assert words in message and "review.bpmn" in message
    assert getattr(exc.value, "element", None) == "expert_review"
    assert getattr(exc.value, "line", None) == line_of(text, marker)


def test_countersign_on_a_call_activity_is_refused() -> None:
    text = model('<af:countersign signers="li"/>')
    text = text.replace(
        '<bpmn:userTask id="expert_review" name="专家评审">',
        '<bpmn:callActivity id="expert_review" calledElement="review_process">',
    )
    text = text.replace(
        "</bpmn:userTask>\n    <bpmn:exclusiveGateway", "</bpmn:callActivity>\n    <bpmn:exclusiveGateway"
    )
    with pytest.raises(ExtensionError, match="only a user, manual or plain task"):
        load_process_string(text, filename="review.bpmn")


def test_validate_has_no_false_finding_on_the_models(org: Organisation) -> None:
    for annotation, loop in [
        ('<af:countersign signers="li zhao sun"/>', PARALLEL),
        ('<af:countersign mode="sequence" signers="li zhao"/>', SEQUENTIAL),
        ('<af:countersign mode="ratio" pass="2/3" signersFrom="panel"/>', PARALLEL),
    ]:
        findings = validate_string(model(annotation, loop), filename="review.bpmn", org=org)
        assert [f for f in findings if f.severity == "error"] == []
    assert [f for f in validate_file(DATA / "expert_review.bpmn", org=org) if f.severity == "error"] == []


# -- the property: refused attempts change nothing, the decision is the declared rule's --------------------------
ATTEMPT = st.tuples(
    st.sampled_from(["li", "zhao", "sun", "qian", "wu", "ghost"]), st.booleans(), st.sampled_from([None, 0, 1, 2, 7])
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["all", "any", "sequence", "ratio"]), attempts=st.lists(ATTEMPT, max_size=10))
def test_refused_attempts_change_nothing_and_the_rule_decides(
    org: Organisation, mode: str, attempts: list[tuple[str, bool, int | None]]
) -> None:
    """Random signing attempts (a signer, one who signed already, an outsider, an unknown person; their own
    instance, another's, one that does not exist): each refused one leaves the case as it was (the trail records
    it), and the outcome is the declared rule applied to the opinions that went through."""
    case = received(_models(mode), org)
    signed: list[tuple[str, bool]] = []
    for actor, agree, instance in attempts:
        if case.data.get("expert_review_passed") is not None:
            break
        before, count = case_state(case), case.trail.count
        try:
            case.complete("expert_review", actor, opinion="同意" if agree else "不同意", instance=instance)
        except (StepRefused, StepNotReady, UnknownActorError):
            assert case_state(case) == before and case.trail.count == count + 1
            continue
        assert actor in EXPERTS and actor not in {who for who, _ in signed}
        signed.append((actor, agree))
    if mode == "sequence":  # one at a time, in the order given
        assert [who for who, _ in signed] == EXPERTS[: len(signed)]
    ayes = sum(agree for _, agree in signed)
    need = {"all": 3, "sequence": 3, "any": 1, "ratio": 2}[mode]  # ratio: 2/3 of 3 signers
    expected = True if ayes >= need else False if ayes + (3 - len(signed)) < need else None
    assert case.data["expert_review_passed"] is expected
    assert (case.data["expert_review_approvals"], case.data["expert_review_rejections"]) == (ayes, len(signed) - ayes)
    assert [o["signer"] for o in case.data["expert_review_opinions"]] == [who for who, _ in signed]
    ready = [r.id for r in case.ready_steps()]
    if expected is not None:
        assert ready == ["decide" if expected else "receive"]


_MODELS: dict[str, ProcessDefinition] = {}


def _models(mode: str) -> ProcessDefinition:
    if mode not in _MODELS:
        share = ' pass="2/3"' if mode == "ratio" else ""
        loop = SEQUENTIAL if mode == "sequence" else PARALLEL
        _MODELS[mode] = load(f'<af:countersign mode="{mode}"{share} signers="li zhao sun"/>', loop)
    return _MODELS[mode]


PARALLEL_REQUIRES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"
    id="defs" targetNamespace="urn:test">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:userTask id="expert_review">
      <bpmn:extensionElements><af:step posts="expert"/><af:countersign mode="all" signers="li zhao sun"/>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="false"/>
    </bpmn:userTask>
    <bpmn:userTask id="draft">
      <bpmn:extensionElements><af:step posts="leader"/><af:requires steps="expert_review"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="expert_review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="draft"/>
    <bpmn:sequenceFlow id="f4" sourceRef="expert_review" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="draft" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_step_that_requires_a_signed_step_waits_until_its_round_has_decided(org: Organisation) -> None:
    """af:requires names a 会签: one signature of three is not the step done (precedence refuses), the third is."""
    definition = load_process_string(PARALLEL_REQUIRES, filename="requires.bpmn")
    case = start_case(definition, org, clock=FakeClock(START), data={"applicant": "宏达公司"})
    case.complete("expert_review", "li")
    case.complete("expert_review", "zhao")
    assert refused_rules(case, "draft", "deputy") == ["precedence"]  # two of three signed: not decided yet
    case.complete("expert_review", "sun")  # the third: the 会签 has decided
    case.complete("draft", "deputy")
    assert case.is_completed
    again = load_case(dump_case(case), definition, org)  # the undecided signatures are saved as such
    assert [c.decided for c in again.history] == [False, False, True, True]
