"""A failure inside an operation of issue 17 item 5/6 puts everything back (opinions, notices, supplements, rounds).

The trail entry of the successful outcome is made to fail (the last thing each operation does): the case must then
be exactly as before, with only an ``engine-error`` entry recording the attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from approvalflow import FakeClock, start_case
from approvalflow.engine import case_state
from approvalflow.engine.case import Case
from approvalflow.errors import EngineError
from approvalflow.org.organisation import Organisation

from .test_countersign import START, load, received
from .test_materials import material, model
from .test_opinions import PDF


def failing_success(monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    """Make the trail entry of a successful ``action`` raise (a failure after the case has changed)."""
    original = Case._append

    def append(self: Case, **fields: Any) -> None:
        if fields.get("action") == action and fields.get("outcome") in ("noted", "recorded", "completed"):
            raise RuntimeError("injected failure")
        original(self, **fields)

    monkeypatch.setattr(Case, "_append", append)


def assert_rolled_back(case: Case, action: str, run: Callable[[], object], monkeypatch: pytest.MonkeyPatch) -> None:
    before, count = case_state(case), case.trail.count
    failing_success(monkeypatch, action)
    with pytest.raises(EngineError):
        run()
    monkeypatch.undo()
    assert case_state(case) == before
    assert case.trail.count == count + 1 and case.trail.entries[-1]["outcome"] == "engine-error"
    assert case.trail.verify().ok


@pytest.fixture(scope="module")
def org() -> Organisation:
    from approvalflow import load_organisation

    from .test_countersign import DATA

    return load_organisation(DATA / "org.yaml")


def test_a_failed_completion_keeps_no_opinion(org: Organisation, monkeypatch: pytest.MonkeyPatch) -> None:
    case = received(load('<af:countersign signers="li zhao"/>'), org)
    assert_rolled_back(case, "complete", lambda: case.complete("expert_review", "li", comment="x", attachments=[PDF]),
                       monkeypatch)  # fmt: skip
    assert case.opinions_of("expert_review") == []


def test_a_failed_add_or_remove_leaves_the_round(org: Organisation, monkeypatch: pytest.MonkeyPatch) -> None:
    case = received(load('<af:countersign signers="li zhao sun"/>'), org)
    case.complete("expert_review", "li")
    case.complete("expert_review", "zhao")
    assert_rolled_back(case, "add-signer", lambda: case.add_signer("expert_review", "li", "chief", reason="x"),
                       monkeypatch)  # fmt: skip
    # the removal that decides the round (the engine moves on to 决定) is put back too
    assert_rolled_back(case, "remove-signer", lambda: case.remove_signer("expert_review", "li", "sun", reason="x"),
                       monkeypatch)  # fmt: skip
    assert [r.assignee for r in case.ready_steps()] == ["sun"] and not case.history[-1].decided
    case.remove_signer("expert_review", "li", "sun", reason="x")  # and it still works afterwards
    assert case.data["expert_review_passed"] is True


def test_a_sequential_insertion_before_is_put_back(org: Organisation, monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_countersign import SEQUENTIAL

    case = received(load('<af:countersign mode="sequence" signers="li zhao"/>', SEQUENTIAL), org)
    assert_rolled_back(case, "add-signer", lambda: case.add_signer("expert_review", "li", "chief", position="before",
                       reason="x"), monkeypatch)  # fmt: skip
    assert [r.assignee for r in case.ready_steps()] == ["li"]


def test_failed_notices_and_supplements_leave_nothing(org: Organisation, monkeypatch: pytest.MonkeyPatch) -> None:
    case = start_case(model(), org, clock=FakeClock(START), data={"applicant": "张三"})
    assert_rolled_back(case, "notify-missing", lambda: case.notify_missing("clerk"), monkeypatch)
    assert_rolled_back(case, "supplement", lambda: case.supplement("张三", materials=[material("site_plan")]),
                       monkeypatch)  # fmt: skip
    assert case.notices == [] and case.supplements == []
