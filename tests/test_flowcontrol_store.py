"""Statuses in the case store, the sweep and 效能评估 (issue 17 item 4: "A withdrawn or terminated case gets no card
and is counted apart in 效能评估"). Dates on the 2026 calendar (docs/time.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine.case import Case
from approvalflow.org.organisation import Organisation
from approvalflow.store.base import CaseStore
from approvalflow.store.cases import add_case, load_case_from
from approvalflow.supervision.efficiency import evaluate_efficiency
from approvalflow.supervision.sweep import sweep_store

from .store_support import store  # noqa: F401  (fixture)

DATA = Path(__file__).parent / "data"
MONDAY = "2026-09-28T09:00:00+08:00"


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DATA / "countersign" / "org.yaml")


@pytest.fixture(scope="module")
def block() -> ProcessDefinition:
    return load_process(DATA / "flowcontrol" / "block.bpmn")


def accepted(block: ProcessDefinition, org: Organisation, case_id: str) -> Case:
    case = start_case(block, org, clock=FakeClock(MONDAY), data={"applicant": "宏达公司"}, case_id=case_id)
    case.complete("accept", "clerk", at="2026-09-28T10:00:00+08:00")
    return case


def finished(case: Case) -> None:
    for who in ("li", "zhao", "sun"):
        case.complete("experts", who, at="2026-09-29T10:00:00+08:00")
    case.complete("check1", "wu", at="2026-09-29T11:00:00+08:00")
    case.complete("check2", "clerk", at="2026-09-29T12:00:00+08:00")
    case.complete("decide", "deputy", at="2026-09-30T10:00:00+08:00")


def test_statuses_in_the_store_the_sweep_and_efficiency(
    store: CaseStore,  # noqa: F811
    block: ProcessDefinition,
    org: Organisation,
) -> None:
    running = accepted(block, org, "running")
    withdrawn = accepted(block, org, "withdrawn")
    withdrawn.withdraw("clerk", reason="申请人撤回", at="2026-09-29T09:00:00+08:00")
    terminated = accepted(block, org, "terminated")
    terminated.terminate("deputy", reason="申请人主体资格消灭", basis="某法第X条", at="2026-09-29T09:00:00+08:00")
    suspended = accepted(block, org, "suspended")
    suspended.suspend("deputy", reason="等待鉴定", at="2026-09-29T09:00:00+08:00")
    done = accepted(block, org, "done")
    finished(done)
    done.record_outcome("deputy", "approved", at="2026-09-30T11:00:00+08:00")
    for case in (running, withdrawn, terminated, suspended, done):
        add_case(store, case)
    assert store.ids("open") == ["running"]
    assert store.ids("withdrawn") == ["withdrawn"] and store.ids("terminated") == ["terminated"]
    assert store.ids("suspended") == ["suspended"] and store.ids("completed") == ["done"]
    back = load_case_from(store, "suspended", block, org)
    assert back.case.status == "suspended"
    # At 2026-11-02 09:00 the running case is long past its statutory deadline (10-30) and its steps are late: red.
    # The withdrawn and terminated cases get nothing; the suspended case gets no step card, and its case clock has
    # stood still since 09-29, so its deadlines keep moving (SPEC-style counting) and no case card is red.
    result = sweep_store(store, "2026-11-02T09:00:00+08:00")
    cases = {c.case for c in result.cards}
    assert "running" in cases and {"withdrawn", "terminated", "done"}.isdisjoint(cases)
    assert all(c.scope == "case" and c.level != "red" for c in result.cards_of("suspended"))
    assert result.open_cases == 2  # running and suspended
    ev = evaluate_efficiency(store.summaries())
    total = ev.total.to_json()
    assert (total["withdrawn"], total["terminated"], total["completed"]) == (1, 1, 1)
    assert total["on_time_rate"] == 1.0  # only the decided case counts in the rates
    assert ev.figures("unit", "bureau").to_json()["withdrawn"] == 1
