"""加签 and 减签 on a multi-instance step (issue 17 item 5).

Done when: a signer can be added to or removed from the running round of a 会签, 或签, 票签 or 依次审批 (before or
after the current signer), rule-checked (the new signer must be allowed to sign; a signer who signed cannot be
removed; the last one neither); the round decides exactly when its rule over the actual signers says so, a removal
included; refused operations change nothing; no opinion is lost. The model is the template of test_countersign
(受理 -> 专家评审 -> 决定 or back to 受理); li, zhao, sun, qian and chief hold the post ``expert``, wu and clerk do not;
qian declared a conflict with 宏达公司, the applicant.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, load_organisation, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine import case_state
from approvalflow.engine.case import Case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.errors import CaseFormatError, InvalidInputError, StepNotReady, UnknownActorError
from approvalflow.org.organisation import Organisation

from .test_countersign import DATA, PARALLEL, SEQUENTIAL, START, instances, load, received


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DATA / "org.yaml")


def refused(case: Case, op: str, *args: Any, **kwargs: Any) -> list[str]:
    """The rule ids of a refused 加签/减签; the case is exactly as it was, the trail records the attempt."""
    before, count = case_state(case), case.trail.count
    with pytest.raises(StepRefused) as exc:
        getattr(case, op)(*args, **kwargs)
    assert case_state(case) == before
    assert case.trail.count == count + 1 and case.trail.entries[-1]["outcome"] == "refused"
    assert case.trail.entries[-1]["action"] == op.replace("_", "-")
    return list(exc.value.rules)


# -- 加签 ------------------------------------------------------------------------------------------------------------
def test_a_signer_added_to_a_countersign_must_sign_too(org: Organisation) -> None:
    case = received(load('<af:countersign mode="all" signers="li zhao sun"/>'), org)
    case.add_signer("expert_review", "li", "chief", reason="需要财务专家")
    assert instances(case)[-1] == ("expert_review", 3, "chief")
    entry = case.trail.entries[-1]
    assert (entry["action"], entry["actor"], entry["outcome"]) == ("add-signer", "li", "noted")
    assert entry["data"] == {"person": "chief", "reason": "需要财务专家", "instance": 3}
    for expert in ("li", "zhao", "sun"):
        case.complete("expert_review", expert)
    # 会签 of four: three approvals do not pass it; the fourth decides
    assert case.data["expert_review_passed"] is None and instances(case) == [("expert_review", 3, "chief")]
    case.complete("expert_review", "chief", comment="同意")
    assert case.data["expert_review_passed"] is True and case.data["expert_review_approvals"] == 4
    assert case.trail.verify().ok


def test_a_ratio_counts_the_added_signer(org: Organisation) -> None:
    """票签 2/3 of three needs 2 approvals; of four it needs ceil(8/3) = 3."""
    case = received(load('<af:countersign mode="ratio" pass="2/3" signers="li zhao sun"/>'), org)
    case.add_signer("expert_review", "li", "chief", reason="增加评审")
    case.complete("expert_review", "li")
    case.complete("expert_review", "zhao")
    assert case.data["expert_review_passed"] is None  # 2 of 4 is short of 3
    case.complete("expert_review", "chief")
    assert case.data["expert_review_passed"] is True


@pytest.mark.parametrize(
    ("person", "rules"),
    [("wu", ["unauthorized"]), ("qian", ["recusal"]), ("zhao", ["already-signer"])],
)
def test_a_signer_who_may_not_sign_is_not_added(org: Organisation, person: str, rules: list[str]) -> None:
    case = received(load('<af:countersign signers="li zhao sun"/>'), org)
    assert refused(case, "add_signer", "expert_review", "li", person, reason="x") == rules


def test_someone_who_signed_is_not_added_again(org: Organisation) -> None:
    case = received(load('<af:countersign mode="ratio" pass="2/3" signers="li zhao sun"/>'), org)
    case.complete("expert_review", "li")
    assert refused(case, "add_signer", "expert_review", "zhao", "li", reason="x") == ["already-signer"]


def test_under_record_a_breach_is_recorded_and_the_signer_added(org: Organisation) -> None:
    definition = load('<af:countersign signers="li zhao sun"/>')
    case = start_case(definition, org, clock=FakeClock(START), data={"applicant": "宏达公司"}, policy="record")
    case.complete("receive", "clerk")
    found = case.add_signer("expert_review", "li", "qian", reason="x")
    assert [f.rule for f in found] == ["recusal"] and case.findings[-1].rule == "recusal"
    assert case.trail.entries[-1]["outcome"] == "recorded"
    assert instances(case)[-1] == ("expert_review", 3, "qian")
    # already-signer refuses under either policy
    assert refused(case, "add_signer", "expert_review", "li", "qian", reason="x") == ["already-signer"]


def test_only_a_signer_or_someone_who_may_do_the_step_adds(org: Organisation) -> None:
    case = received(load('<af:countersign signers="li zhao sun"/>'), org)
    assert refused(case, "add_signer", "expert_review", "wu", "chief", reason="x") == ["unauthorized"]
    case.add_signer("expert_review", "qian", "chief", reason="组长加签")  # qian holds the post; not a signer


def test_bad_requests_are_refused_before_anything(org: Organisation) -> None:
    case = received(load('<af:countersign signers="li zhao sun"/>'), org)
    before, count = case_state(case), case.trail.count
    with pytest.raises(InvalidInputError, match="依次审批"):
        case.add_signer("expert_review", "li", "chief", position="before", reason="x")
    with pytest.raises(InvalidInputError, match="reason"):
        case.add_signer("expert_review", "li", "chief", reason=" ")
    with pytest.raises(InvalidInputError, match="not a multi-instance"):
        case.add_signer("receive", "li", "chief", reason="x")
    with pytest.raises(UnknownActorError):
        case.add_signer("expert_review", "li", "nobody", reason="x")
    with pytest.raises(UnknownActorError):
        case.remove_signer("expert_review", "nobody", "li", reason="x")
    assert case_state(case) == before and case.trail.count == count
    case.complete("expert_review", "li")
    case.complete("expert_review", "zhao")
    case.complete("expert_review", "sun")
    with pytest.raises(StepNotReady):
        case.add_signer("expert_review", "li", "chief", reason="x")


def test_max_cardinality_bounds_the_added_signers(org: Organisation) -> None:
    definition = load('<af:countersign signers="li zhao"/>')
    case = start_case(definition, org, clock=FakeClock(START), max_cardinality=2)
    case.complete("receive", "clerk")
    with pytest.raises(InvalidInputError, match="max_cardinality"):
        case.add_signer("expert_review", "li", "sun", reason="x")


# -- 依次审批: before and after the current signer ---------------------------------------------------------------------
def test_sequential_after_and_before_the_current_signer(org: Organisation) -> None:
    case = received(load('<af:countersign mode="sequence" signers="li zhao sun"/>', SEQUENTIAL), org)
    case.add_signer("expert_review", "li", "chief", position="after", reason="x")  # li, chief, zhao, sun
    assert instances(case) == [("expert_review", 0, "li")]
    case.complete("expert_review", "li")
    assert instances(case) == [("expert_review", 1, "chief")]
    case.complete("expert_review", "chief")
    assert instances(case) == [("expert_review", 2, "zhao")]
    # before the current signer: the new signer signs first, then the current one (their instance comes again)
    case2 = received(case.definition, org)
    case2.add_signer("expert_review", "zhao", "chief", position="before", reason="先请组长")  # chief, li, zhao, sun
    assert instances(case2) == [("expert_review", 0, "chief")]
    with pytest.raises(StepNotReady):
        case2.complete("expert_review", "li")
    order = []
    while instances(case2) and instances(case2)[0][0] == "expert_review":
        who = instances(case2)[0][2]
        assert who is not None
        order.append(who)
        case2.complete("expert_review", who)
    assert order == ["chief", "li", "zhao", "sun"]
    assert case2.data["expert_review_passed"] is True and case2.data["expert_review_approvals"] == 4


def test_sequential_removal_of_the_current_and_of_a_later_signer(org: Organisation) -> None:
    case = received(load('<af:countersign mode="sequence" signers="li zhao sun"/>', SEQUENTIAL), org)
    case.remove_signer("expert_review", "zhao", "li", reason="出差")  # the current one: zhao is next
    assert instances(case) == [("expert_review", 0, "zhao")]
    case.remove_signer("expert_review", "zhao", "sun", reason="回避")  # a later one
    assert refused(case, "remove_signer", "expert_review", "zhao", "zhao", reason="x") == ["no-signer-left"]
    case.complete("expert_review", "zhao")
    assert case.data["expert_review_passed"] is True and case.data["expert_review_approvals"] == 1


# -- 减签 ------------------------------------------------------------------------------------------------------------
def test_removing_the_last_unsigned_signer_decides_the_round(org: Organisation) -> None:
    """会签 of three, two approvals: without the third signer every signer left approved, so the round passes."""
    case = received(load('<af:countersign mode="all" signers="li zhao sun"/>'), org)
    case.complete("expert_review", "li")
    case.complete("expert_review", "zhao", comment="同意")
    assert case.data["expert_review_passed"] is None
    case.remove_signer("expert_review", "li", "sun", reason="回避")
    entry = case.trail.entries[-1]
    assert (entry["action"], entry["outcome"]) == ("remove-signer", "completed")
    assert entry["data"]["decided"] is True and entry["data"]["instance"] == 2
    assert case.data["expert_review_passed"] is True and case.data["expert_review_approvals"] == 2
    assert [r.id for r in case.ready_steps()] == ["decide"]
    assert case.history[-1].decided  # the last signature is now the one after which the step was done
    # the rules see 专家评审 as done by li and zhao: 决定 separateFrom it refuses them, takes deputy
    case.complete("decide", "deputy")
    assert case.is_completed and case.trail.verify().ok


def test_a_removal_that_leaves_a_rejection_rejects(org: Organisation) -> None:
    """或签: sun rejected; li is removed; zhao may still approve; zhao rejects: every signer left rejected."""
    case = received(load('<af:countersign mode="any" signers="li zhao sun"/>'), org)
    case.complete("expert_review", "sun", opinion="不同意")
    case.remove_signer("expert_review", "sun", "li", reason="x")
    assert case.data["expert_review_passed"] is None  # zhao may still approve
    case.complete("expert_review", "zhao", opinion="不同意")
    assert case.data["expert_review_passed"] is False and [r.id for r in case.ready_steps()] == ["receive"]


def test_a_removal_can_reject_a_round(org: Organisation) -> None:
    """或签 of three: li and zhao rejected; removing sun leaves only rejections: rejected, back to 受理."""
    case = received(load('<af:countersign mode="any" signers="li zhao sun"/>'), org)
    case.complete("expert_review", "li", opinion="disagree")
    case.complete("expert_review", "zhao", opinion="disagree")
    case.remove_signer("expert_review", "li", "sun", reason="x")
    assert case.data["expert_review_passed"] is False and [r.id for r in case.ready_steps()] == ["receive"]


def test_removal_refusals(org: Organisation) -> None:
    case = received(load('<af:countersign mode="all" signers="li zhao"/>'), org)
    case.complete("expert_review", "li")
    assert refused(case, "remove_signer", "expert_review", "zhao", "li", reason="x") == ["signer-signed"]
    assert refused(case, "remove_signer", "expert_review", "zhao", "sun", reason="x") == ["not-signer"]
    # zhao is the only unsigned signer, but li signed: without zhao, every signer left approved, so it passes
    case.remove_signer("expert_review", "li", "zhao", reason="x")
    assert case.data["expert_review_passed"] is True


def test_the_last_signer_of_a_round_is_not_removed(org: Organisation) -> None:
    case = received(load('<af:countersign mode="all" signers="li zhao"/>'), org)
    case.remove_signer("expert_review", "li", "zhao", reason="x")
    assert refused(case, "remove_signer", "expert_review", "li", "li", reason="x") == ["no-signer-left"]


def test_a_removed_signer_cannot_sign(org: Organisation) -> None:
    case = received(load('<af:countersign mode="all" signers="li zhao sun"/>'), org)
    case.remove_signer("expert_review", "li", "zhao", reason="x")
    before = case_state(case)
    with pytest.raises(StepRefused) as exc:
        case.complete("expert_review", "zhao")
    assert exc.value.rules == ["not-signer"] and case_state(case) == before
    case.complete("expert_review", "li")
    case.complete("expert_review", "sun")
    assert case.data["expert_review_passed"] is True and case.data["expert_review_approvals"] == 2


def test_a_changed_round_saves_and_loads(org: Organisation) -> None:
    definition = load('<af:countersign mode="all" signers="li zhao sun"/>')
    case = received(definition, org)
    case.add_signer("expert_review", "li", "chief", reason="x")
    case.remove_signer("expert_review", "li", "zhao", reason="y")
    again = load_case(dump_case(case), definition, org, clock=FakeClock(START))
    assert case_state(again) == case_state(case) and instances(again) == instances(case)
    for who in ("li", "sun", "chief"):
        again.complete("expert_review", who)
    assert again.data["expert_review_passed"] is True and again.data["expert_review_approvals"] == 3


@pytest.mark.parametrize("removed", [[5], [0], "x", [1, 1], [0, 1, 2]])
def test_a_forged_removal_is_refused_on_load(org: Organisation, removed: Any) -> None:
    definition = load('<af:countersign mode="all" signers="li zhao sun"/>')
    case = received(definition, org)
    case.complete("expert_review", "li")  # instance 0 signed
    case.remove_signer("expert_review", "li", "sun", reason="y")
    doc = json.loads(dump_case(case))
    rounds = [t for t in doc["workflow"]["tasks"].values() if "countersign" in t.get("internal_data", {})]
    assert len(rounds) == 1 and rounds[0]["internal_data"]["countersign"]["removed"] == [2]
    rounds[0]["internal_data"]["countersign"]["removed"] = removed
    with pytest.raises(CaseFormatError):
        load_case(json.dumps(doc), definition, org)


# -- property: random 加签 / 减签 / signatures ----------------------------------------------------------------------
POOL = ["li", "zhao", "sun", "qian", "chief", "wu"]
MODES = {
    "all": ('<af:countersign mode="all" signers="li zhao sun"/>', PARALLEL),
    "any": ('<af:countersign mode="any" signers="li zhao sun"/>', PARALLEL),
    "ratio": ('<af:countersign mode="ratio" pass="2/3" signers="li zhao sun"/>', PARALLEL),
    "sequence": ('<af:countersign mode="sequence" signers="li zhao sun"/>', SEQUENTIAL),
}
_DEFINITIONS: dict[str, ProcessDefinition] = {}


def _definition(mode: str) -> ProcessDefinition:
    if mode not in _DEFINITIONS:
        _DEFINITIONS[mode] = load(*MODES[mode])
    return _DEFINITIONS[mode]


def _verdict(mode: str, signers: list[str], opinions: dict[str, bool]) -> bool | None:
    """The round's decision worked out from the mode's definition (not the engine's function)."""
    yes = sum(1 for s in signers if opinions.get(s) is True)
    no = sum(1 for s in signers if opinions.get(s) is False)
    open_ = len(signers) - yes - no
    if mode in ("all", "sequence"):
        return False if no else (True if open_ == 0 else None)
    if mode == "any":
        return True if yes else (False if open_ == 0 else None)
    need = -(-2 * len(signers) // 3)  # ceil(2/3 of the signers)
    need = max(need, 1)
    return True if yes >= need else (False if yes + open_ < need else None)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["sign", "add", "remove"]),
        st.sampled_from(POOL),
        st.booleans(),
        st.sampled_from(["after", "before"]),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(MODES)), OPS)
def test_random_rounds_decide_when_their_rule_says(org: Organisation, mode: str, ops: list[Any]) -> None:
    """Random signatures, 加签 and 减签 against a model of the round: who may sign now, when the round decides, what
    is refused (and then changes nothing), and that every signature's opinion is kept."""
    case = received(_definition(mode), org)
    signers = ["li", "zhao", "sun"]  # the order of 依次审批
    opinions: dict[str, bool] = {}
    signatures = 0
    for op, person, agree, position in ops:
        unsigned = [s for s in signers if s not in opinions]
        current = unsigned[0] if mode == "sequence" else None
        before, count = case_state(case), case.trail.count
        if op == "sign":
            may = person in unsigned and (mode != "sequence" or person == current)
            if not may:
                with pytest.raises((StepRefused, StepNotReady)):
                    case.complete("expert_review", person)
                assert case_state(case) == before
                continue
            case.complete("expert_review", person, opinion="同意" if agree else "不同意")
            opinions[person] = agree
            signatures += 1
        elif op == "add":
            if person in signers or person in ("wu", "qian"):  # already a signer; unauthorized; recusal (宏达公司)
                with pytest.raises(StepRefused):
                    case.add_signer("expert_review", "li", person, reason="加签", **(
                        {"position": position} if mode == "sequence" else {}))  # fmt: skip
                assert case_state(case) == before and case.trail.count == count + 1
                continue
            case.add_signer("expert_review", "li", person, reason="加签",
                            **({"position": position} if mode == "sequence" else {}))  # fmt: skip
            if mode == "sequence":
                assert current is not None
                signers.insert(signers.index(current) + (1 if position == "after" else 0), person)
            else:
                signers.append(person)
        else:
            if person in opinions or person not in signers or len(signers) == 1:
                with pytest.raises(StepRefused):
                    case.remove_signer("expert_review", "li", person, reason="减签")
                assert case_state(case) == before and case.trail.count == count + 1
                continue
            case.remove_signer("expert_review", "li", person, reason="减签")
            signers.remove(person)
        verdict = _verdict(mode, signers, opinions)
        assert case.data["expert_review_passed"] is verdict
        if verdict is not None:
            assert [r.id for r in case.ready_steps()] == (["decide"] if verdict else ["receive"])
            break
        ready = [r.assignee for r in case.ready_steps()]
        left = [s for s in signers if s not in opinions]
        assert ready == (left[:1] if mode == "sequence" else left)
    assert len(case.opinions_of("expert_review")) == signatures
    assert {o.actor: o.kind == "agree" for o in case.opinions_of("expert_review")} == opinions
    assert case.trail.verify().ok
    again = load_case(dump_case(case), case.definition, org, clock=FakeClock(START))
    assert case_state(again) == case_state(case)


def test_the_model_counts_ratio_as_the_statute_of_the_rule_says() -> None:
    """票签 2/3: of 4 signers 3 must approve (8/3 rounded up), of 3 two."""
    assert _verdict("ratio", ["a", "b", "c", "d"], {"a": True, "b": True}) is None
    assert _verdict("ratio", ["a", "b", "c"], {"a": True, "b": True}) is True
    assert Fraction(8, 3).__ceil__() == 3


@pytest.mark.parametrize(("key", "value"), [("cardinality", 5), ("cardinality", 3), ("current", 9), ("current", "1")])
def test_a_forged_sequential_count_is_refused_on_load(org: Organisation, key: str, value: Any) -> None:
    """After 加签 a 依次审批 round counts 4 instances; a saved count of 5 would make a fifth instance open to anyone."""
    definition = load('<af:countersign mode="sequence" signers="li zhao sun"/>', SEQUENTIAL)
    case = received(definition, org)
    case.add_signer("expert_review", "li", "chief", reason="x")
    doc = json.loads(dump_case(case))
    [internal] = [t["internal_data"] for t in doc["workflow"]["tasks"].values() if "countersign" in t["internal_data"]]
    assert internal["cardinality"] == 4
    internal[key] = value
    with pytest.raises(CaseFormatError):
        load_case(json.dumps(doc), definition, org)


def test_under_record_an_outsider_adds_and_removes_with_findings(org: Organisation) -> None:
    """wu holds no expert post: under enforce his 加签 is refused (``unauthorized``); under record it goes through
    and the finding is kept, for 减签 too."""
    definition = load('<af:countersign signers="li zhao sun"/>')
    case = start_case(definition, org, clock=FakeClock(START), data={"applicant": "宏达公司"}, policy="record")
    case.complete("receive", "clerk")
    assert [f.rule for f in case.add_signer("expert_review", "wu", "chief", reason="x")] == ["unauthorized"]
    assert [f.rule for f in case.remove_signer("expert_review", "wu", "sun", reason="x")] == ["unauthorized"]
    assert [f.rule for f in case.findings] == ["unauthorized", "unauthorized"]
    assert [e["outcome"] for e in case.trail.entries[-2:]] == ["recorded", "recorded"]
    assert [r.assignee for r in case.ready_steps()] == ["li", "zhao", "chief"]
