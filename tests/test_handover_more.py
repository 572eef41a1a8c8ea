"""Handing work on, continued: multi-instance steps, concurrent claims in a store, scenario actions (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvalflow import FakeClock, StepRefused, load_organisation, load_process, start_case
from approvalflow.engine.state import case_state
from approvalflow.errors import InvalidInputError, ScenarioError
from approvalflow.store.base import ConflictError
from approvalflow.store.cases import add_case, load_case_from, save_case
from approvalflow.store.factory import open_store
from approvalflow.testing.scenario import run_scenario

from .conftest import LICENSING, MARKET_ORG
from .test_countersign import DATA, START, load

ORG = load_organisation(DATA / "org.yaml")
OPEN_LOOP = ("<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>n</bpmn:loopCardinality>"
             "</bpmn:multiInstanceLoopCharacteristics>")  # fmt: skip


def test_claiming_an_open_instance_and_signing_it() -> None:
    case = start_case(load("<af:countersign/>", OPEN_LOOP), ORG, clock=FakeClock(START),
                      data={"n": 2, "applicant": "宏达公司"})  # fmt: skip
    case.complete("receive", "clerk")
    case.claim("expert_review", "zhao", instance=1)
    assert [(r.instance, r.assignee, r.held) for r in case.ready_steps()] == [(0, None, None), (1, "zhao", "claimed")]
    with pytest.raises(StepRefused) as exc:
        case.complete("expert_review", "li", instance=1)
    assert exc.value.rules == ["claimed"]
    case.complete("expert_review", "zhao")  # signs the instance he holds, not the first open one
    assert [(r.instance, r.assignee) for r in case.ready_steps()] == [(0, None)]
    assert case.data["expert_review_opinions"][0]["index"] == 1
    # qian declared a conflict with 宏达公司: she may not claim the other instance; li may
    with pytest.raises(StepRefused) as exc:
        case.claim("expert_review", "qian")
    assert exc.value.rules == ["recusal"]
    with pytest.raises(StepRefused) as exc:
        case.transfer("expert_review", "li", "zhao", reason="r")  # zhao signed this round already
    assert exc.value.rules == ["signed-twice"]


def test_a_named_signers_instance_is_not_transferred_but_may_be_delegated() -> None:
    case = start_case(load('<af:countersign signers="li zhao sun"/>'), ORG, clock=FakeClock(START),
                      data={"applicant": "宏达公司"})  # fmt: skip
    case.complete("receive", "clerk")
    with pytest.raises(StepRefused) as exc:
        case.claim("expert_review", "qian", instance=0)  # li's instance
    assert exc.value.rules == ["not-signer"]
    before = case_state(case)
    with pytest.raises(InvalidInputError, match="加签"):
        case.transfer("expert_review", "li", "qian", reason="出差")
    assert case_state(case) == before
    case.delegate("expert_review", "zhao", "chief", reason="请首席专家把关", instance=1)
    assert [(r.instance, r.assignee, r.held, r.owner) for r in case.ready_steps()][1] == (
        1,
        "chief",
        "delegated",
        "zhao",
    )
    case.complete("expert_review", "chief", comment="可行")  # resolves: zhao's instance is still to sign
    assert case.data["expert_review_approvals"] == 0
    case.complete("expert_review", "zhao", instance=1)
    assert case.data["expert_review_approvals"] == 1 and case.trail.verify().ok


def test_concurrent_claims_in_a_store_exactly_one_wins(tmp_path: Path) -> None:
    process, org = load_process(LICENSING), load_organisation(MARKET_ORG)
    store = open_store(tmp_path / "cases.db")
    try:
        case = start_case(process, org, clock=FakeClock(START), case_id="c1", data={"applicant": "某餐饮有限公司"})
        case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
        case.complete("accept", "wang", at="2026-09-28T11:00:00+08:00")
        add_case(store, case)
        first = load_case_from(store, "c1", process, org)
        second = load_case_from(store, "c1", process, org)
        first.case.claim("review", "liu", at="2026-09-28T14:00:00+08:00")
        second.case.claim("review", "zhou", at="2026-09-28T14:00:01+08:00")  # each copy sees the step open
        save_case(store, first)
        with pytest.raises(ConflictError):
            save_case(store, second)
        kept = load_case_from(store, "c1", process, org)
        assert [(r.assignee, r.held) for r in kept.case.ready_steps()] == [("liu", "claimed")]
        with pytest.raises(StepRefused):  # the loser, reloading, finds it claimed
            kept.case.claim("review", "zhou", at="2026-09-28T14:01:00+08:00")
    finally:
        store.close()


SCENARIO = """
process: {process}
org: {org}
start: 2026-09-28T09:00:00+08:00
data: {{applicant: 某餐饮有限公司}}
steps:
  - {{task: receive, actor: wang, at: 2026-09-28T10:00:00+08:00, data: {{materials_complete: true}}}}
  - {{task: accept, actor: wang, at: 2026-09-28T11:00:00+08:00}}
  - {{action: claim, task: review, actor: liu, at: 2026-09-28T14:00:00+08:00}}
  - {{action: transfer, task: review, actor: liu, to: chen, reason: 出差, at: 2026-09-28T15:00:00+08:00}}
  - {{action: transfer, task: review, actor: liu, to: zhou, reason: 出差, at: 2026-09-28T15:01:00+08:00}}
  - {{action: cc, actor: zhou, to: [zhang], task: review, note: 请阅, at: 2026-09-28T16:00:00+08:00}}
  - {{action: urge, task: review, actor: zhang, note: 请尽快, at: 2026-09-29T09:00:00+08:00}}
  - {{action: delegate, task: review, actor: zhou, to: liu, reason: 协助, at: 2026-09-29T10:00:00+08:00}}
  - {{task: review, actor: liu, at: 2026-09-29T11:00:00+08:00, data: {{note: 建议准予}}}}
  - {{action: unclaim, task: review, actor: liu, at: 2026-09-29T11:30:00+08:00}}
  - {{task: review, actor: zhou, at: 2026-09-29T12:00:00+08:00, data: {{needs_extension: false, needs_hearing: false}}}}
"""


def test_a_scenario_hands_work_on(tmp_path: Path) -> None:
    path = tmp_path / "handover.scenario.yaml"
    path.write_text(SCENARIO.format(process=LICENSING, org=MARKET_ORG), encoding="utf-8")
    result = run_scenario(path)
    out = result.to_json()
    # step 3: chen is a clerk, not a reviewer; step 9: liu no longer holds review (zhou does) and cannot give it back
    assert out["refused"] == [
        {"step": 3, "task": "review", "actor": "liu", "rules": ["unauthorized"], "action": "transfer"},
        {"step": 9, "task": "review", "actor": "liu", "rules": ["claimed"], "action": "unclaim"},
    ]
    assert out["path"] == ["receive", "accept", "review"]
    case = result.case
    assert [e.action for e in case.handovers] == ["claim", "transfer", "delegate", "resolve"]
    assert case.history[-1].actor == "zhou" and len(case.ccs) == len(case.urges) == 1


def test_a_scenario_transfer_without_a_receiver_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "bad.scenario.yaml"
    text = SCENARIO.format(process=LICENSING, org=MARKET_ORG).replace("to: chen, ", "")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match="needs 'to'"):
        run_scenario(path)


def test_urges_are_counted_in_the_efficiency_figures() -> None:
    from approvalflow.store.memory import MemoryStore
    from approvalflow.supervision.efficiency import evaluate_efficiency

    process, org = load_process(LICENSING), load_organisation(MARKET_ORG)
    store = MemoryStore()
    for n, urges in enumerate((2, 0, 1)):
        case = start_case(process, org, clock=FakeClock(START), case_id=f"c{n}", data={"applicant": "某餐饮有限公司"})
        for k in range(urges):
            case.urge("zhang", "receive", note="请尽快", at=f"2026-09-28T1{k}:00:00+08:00")
        add_case(store, case)
    figures = evaluate_efficiency(store.summaries()).to_json()
    assert figures["total"]["urges"] == 3 and figures["by_unit"]["market-bureau"]["urges"] == 3
    assert "urges" not in store.get("c1").summary  # a case never urged keeps the summary it had before
