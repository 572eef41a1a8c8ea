"""The case store names as responsible for a cross-department step the people the engine lets do it.

A consultation step (征求意见) of the 住建局 inside a 自然资源局 case: its deadline row in the store's index must list
the 住建局's reviewers, not the 自然资源局's reviewers, who may not do it (rule ``other-unit``); with
``caseUnit="true"`` both units' reviewers may, and both are listed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from approvalflow import FakeClock, load_organisation, load_process_string, start_case
from approvalflow.org.organisation import Organisation
from approvalflow.store.index import record_of

DATA = Path(__file__).parent / "data" / "cross_unit"
HOUSING_STEP = '<af:step posts="reviewer" units="housing-bureau"/>'


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DATA / "org.yaml")


def consultation_people(org: Organisation, step: str) -> tuple[str, ...]:
    """The people of the deadline row of ``consult_housing`` once it is ready (the step given a 3-workday limit)."""
    text = (DATA / "construction_permit.bpmn").read_text(encoding="utf-8")
    assert text.count(HOUSING_STEP) == 1
    definition = load_process_string(text.replace(HOUSING_STEP, step))
    case = start_case(
        definition,
        org,
        unit="natural-resources-bureau",
        clock=FakeClock("2026-06-01T09:00:00+08:00"),
        data={"materials_complete": True},
    )
    case.complete("receive", "nr_qian", at="2026-06-01T10:00:00+08:00")
    case.complete("review", "nr_sun", at="2026-06-02T10:00:00+08:00")
    rows = [d for d in record_of(case, "open").deadlines if d.task == "consult_housing"]
    assert rows, "the consultation has a time limit, so it has a deadline row"
    return tuple(sorted({p for row in rows for p in row.people}))


def test_the_named_units_reviewers_are_responsible(org: Organisation) -> None:
    step = '<af:step posts="reviewer" units="housing-bureau" timeLimit="3" unit="workday"/>'
    # org.yaml: hb_zhou is the 住建局's only reviewer; nr_wang and nr_sun review for the 自然资源局.
    assert consultation_people(org, step) == ("hb_zhou",)


def test_with_case_unit_both_units_reviewers_are_responsible(org: Organisation) -> None:
    step = '<af:step posts="reviewer" units="housing-bureau" caseUnit="true" timeLimit="3" unit="workday"/>'
    assert consultation_people(org, step) == ("hb_zhou", "nr_sun", "nr_wang")
