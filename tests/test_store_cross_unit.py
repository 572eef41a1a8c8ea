"""The case store names as responsible for a cross-department step the people the engine lets do it.

A consultation step (征求意见) of the 住建局 inside a 自然资源局 case: its deadline row in the store's index must list
the 住建局's reviewers, not the 自然资源局's reviewers, who may not do it (rule ``other-unit``); with
``caseUnit="true"`` both units' reviewers may, and both are listed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from approvalflow import load_organisation
from approvalflow.org.organisation import Organisation
from approvalflow.store.index import record_of

from .test_cross_unit_steps import reviewed_case

DATA = Path(__file__).parent / "data" / "cross_unit"
HOUSING_STEP = '<af:step posts="reviewer" units="housing-bureau"/>'


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DATA / "org.yaml")


def consultation_people(org: Organisation, step: str) -> tuple[str, ...]:
    """The people of the deadline row of ``consult_housing`` once it is ready (the step given a 3-workday limit)."""
    text = (DATA / "construction_permit.bpmn").read_text(encoding="utf-8")
    assert text.count(HOUSING_STEP) == 1
    case = reviewed_case(org, text.replace(HOUSING_STEP, step))
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
