"""A step returned or taken back to its doer, then delegated: the case saves and loads, and the step stays theirs.

Found through the HTTP API: the delegation kept the holding's kind ``returned``, which a saved case may not hold,
so the case could no longer be loaded from the store."""

from __future__ import annotations

import pytest

from approvalflow import FakeClock, load_organisation, load_process_string
from approvalflow.engine.case import start_case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.engine.state import case_state
from approvalflow.errors import StepRefused

from .conftest import MARKET_ORG
from .registry_support import permit

MONDAY = "2026-03-02T09:00:00+08:00"


def test_a_taken_back_step_delegated_saves_loads_and_stays_its_holders() -> None:
    org, definition = load_organisation(MARKET_ORG), load_process_string(permit())
    case = start_case(definition, org, clock=FakeClock(MONDAY))
    case.complete("accept", "wang")
    case.take_back("accept", "wang", reason="录入有误")
    case.delegate("accept", "wang", "chen", reason="代为核对")
    [ready] = case.ready_steps()
    assert (ready.assignee, ready.held, ready.owner) == ("chen", "delegated", "wang")
    again = load_case(dump_case(case), definition, org, clock=FakeClock(MONDAY))
    assert case_state(again) == case_state(case)
    before = case_state(again)
    with pytest.raises(StepRefused) as refused:  # zhou is a clerk too, but the step is wang's (delegated to chen)
        again.complete("accept", "zhou")
    assert refused.value.rules == ["claimed"]
    assert case_state(again) == before
    again.complete("accept", "chen", comment="已核对")  # the delegate resolves ...
    again.complete("accept", "wang")  # ... and the holder completes
    assert [r.id for r in again.ready_steps()] == ["review"]
