"""好差评 (issue 19 item 6): the applicant's evaluation of a completed case; a 差评 opens a linked 整改 case with a
deadline of 15 working days and a 回访 step, supervised like any case; 好评率 and 差评整改率 in 效能评估.

Dates are worked out on the 2026 calendar (国务院办公厅 arrangement: 国庆 1-7 October off, Sunday 20 September and
Saturday 10 October working days).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.engine.case import Case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.engine.state import case_state
from approvalflow.errors import InvalidInputError, StepRefused, UnknownActorError
from approvalflow.exchange import RECTIFICATION_DAYS, evaluate_stored, open_rectification, rectification_process
from approvalflow.store.cases import StoredCase, act, add_case, load_case_from
from approvalflow.store.memory import MemoryStore
from approvalflow.supervision.efficiency import evaluate_efficiency

from .test_exchange import APPLICANT, definition, new_case, organisation

STEPS = (("accept", "wang"), ("review", "liu"), ("expert", "zhou"), ("extend", "li"), ("decide", "zhao"))


def completed(case_id: str = "c1", end: str = "2026-09-25T16:00:00+08:00") -> Case:
    """A case started on Monday 21 September 2026 and completed at ``end``."""
    case = new_case(case_id, "2026-09-21T09:00:00+08:00")
    for step, actor in STEPS:
        case.complete(step, actor, at=end)
    return case


def test_a_running_case_cannot_be_evaluated_and_nothing_changes() -> None:
    case = new_case()
    case.complete("accept", "wang", at="2026-10-13T11:00:00+08:00")
    before, entries = case_state(case), case.trail.count
    with pytest.raises(StepRefused) as exc:
        case.evaluate(APPLICANT, "满意", at="2026-10-14T09:00:00+08:00")
    assert [getattr(f, "rule", None) for f in exc.value.findings] == ["case-status"]
    assert case_state(case) == before and case.evaluation is None
    last = case.trail.entries[-1]
    assert case.trail.count == entries + 1 and (last["action"], last["outcome"]) == ("evaluate", "refused")
    assert case.trail.verify().ok


def test_a_withdrawn_case_cannot_be_evaluated() -> None:
    case = new_case()
    case.withdraw("wang", reason="申请人撤回", at="2026-10-12T10:00:00+08:00")
    with pytest.raises(StepRefused, match="case-status"):
        case.evaluate(APPLICANT, "满意", at="2026-10-13T09:00:00+08:00")


def test_an_evaluation_is_recorded_on_the_ended_case_without_reopening_it() -> None:
    case = completed()
    ended, deadlines = case.ended_at, case.deadlines(case.ended_at)
    rated = case.evaluate(APPLICANT, "very-satisfied", text="办事快", channel="移动服务端",
                          at="2026-09-28T10:00:00+08:00")  # fmt: skip
    assert (rated.grade, rated.code, rated.poor) == ("非常满意", 1, False)
    assert case.status == "completed" and case.ended_at == ended and case.ready_steps() == []
    assert case.deadlines(case.ended_at) == deadlines and case.alerts("2026-12-01T09:00:00+08:00") == []
    last = case.trail.entries[-1]
    assert (last["action"], last["outcome"], last["data"]["grade"], last["data"]["code"]) == (
        "evaluate", "evaluated", "非常满意", 1)  # fmt: skip
    assert case.trail.verify().ok
    again = load_case(dump_case(case), definition(), organisation())
    assert again.evaluation == rated and again.status == "completed"
    # once only
    before = case_state(case)
    with pytest.raises(StepRefused) as exc:
        case.evaluate(APPLICANT, "不满意", text="改主意了", at="2026-09-29T10:00:00+08:00")
    assert [getattr(f, "rule", None) for f in exc.value.findings] == ["evaluated-once"]
    assert case_state(case) == before


@pytest.mark.parametrize(
    ("actor", "grade", "options", "error"),
    [
        (APPLICANT, "一般", {}, InvalidInputError),
        (APPLICANT, 3, {}, InvalidInputError),
        (APPLICANT, "不满意", {}, InvalidInputError),  # a 差评 says what was wrong
        (APPLICANT, "非常不满意", {"text": "  "}, InvalidInputError),
        (APPLICANT, "满意", {"text": "好\x00"}, InvalidInputError),
        (APPLICANT, "满意", {"channel": "x" * 51}, InvalidInputError),
        (APPLICANT, "满意", {"rectification": "c1-zg"}, InvalidInputError),  # only a 差评 opens a 整改 case
        (APPLICANT, "不满意", {"text": "慢", "rectification": "a b"}, InvalidInputError),
        ("stranger", "满意", {}, UnknownActorError),
    ],
)
def test_bad_evaluations_change_nothing(actor: str, grade: Any, options: dict[str, Any], error: type) -> None:
    case = completed()
    before, entries = case_state(case), case.trail.count
    with pytest.raises(error):
        case.evaluate(actor, grade, at="2026-09-28T10:00:00+08:00", **options)
    assert case_state(case) == before and case.trail.count == entries


def test_an_evaluation_before_the_case_ended_is_refused() -> None:
    case = completed()
    with pytest.raises(StepRefused, match="before the case ended"):
        case.evaluate(APPLICANT, "满意", at="2026-09-25T15:00:00+08:00")


@settings(max_examples=25, deadline=None)
@given(grade=st.sampled_from(["非常满意", "满意", "基本满意", "不满意", "非常不满意"]),
       text=st.one_of(st.none(), st.text(max_size=30)))  # fmt: skip
def test_an_evaluation_never_moves_the_case_and_the_trail_verifies(grade: str, text: str | None) -> None:
    case = completed()
    before = case_state(case)
    try:
        case.evaluate(APPLICANT, grade, text=text, at="2026-09-28T10:00:00+08:00")
    except (InvalidInputError, StepRefused):
        assert case_state(case) == before
    else:
        after = case_state(case)
        assert {k: v for k, v in after.items() if k != "evaluation"} == before
    assert case.status == "completed" and case.trail.verify().ok


# -- 差评 -> 整改 in a store --------------------------------------------------------------------------------------
def stored_completed(store: MemoryStore, case_id: str, end: str = "2026-09-25T16:00:00+08:00") -> StoredCase:
    return add_case(store, completed(case_id, end))


def test_a_poor_evaluation_opens_a_linked_rectification_case_with_its_deadline() -> None:
    store = MemoryStore()
    stored = stored_completed(store, "c1")
    rated = evaluate_stored(store, stored, APPLICANT, "非常不满意", text="窗口态度差", at="2026-09-28T10:00:00+08:00")
    assert rated.evaluation.rectification == "c1-zg" and rated.rectification is not None
    rect = load_case_from(store, "c1-zg", rectification_process(), organisation()).case
    assert rect.data["rectifies"] == "c1" and rect.data["grade"] == "非常不满意"
    assert rect.data["complaint"] == "窗口态度差" and rect.data["applicant"] == APPLICANT
    assert rect.unit.id == "bureau" and [r.id for r in rect.ready_steps()] == ["rectify"]
    assert rect.started_at == datetime.fromisoformat("2026-09-28T10:00:00+08:00")
    # 15 working days after Monday 28 September 2026: 29, 30 Sep (2); 1-7 Oct are 国庆 holidays; 8, 9 Oct (4);
    # Saturday 10 Oct is a working day (5); 12-16 Oct (10); 19-23 Oct (15) -> Friday 23 October 2026.
    assert RECTIFICATION_DAYS == 15
    deadlines = rect.deadlines("2026-09-28T10:00:00+08:00")
    assert deadlines is not None and deadlines.promised is not None
    assert deadlines.promised.day.isoformat() == "2026-10-23"
    # supervised like any case: its deadline is in the store's index, red once 23 October has passed
    due = [d for d in store.due(datetime.fromisoformat("2026-10-26T09:00:00+08:00")) if d.case_id == "c1-zg"]
    assert due and due[0].day.isoformat() == "2026-10-23"
    # the evaluated case names it and stays completed
    original = load_case_from(store, "c1", definition(), organisation()).case
    assert original.status == "completed" and original.evaluation is not None
    assert original.evaluation.rectification == "c1-zg"
    # 回访 is someone else than who rectified
    rect_stored = load_case_from(store, "c1-zg", rectification_process(), organisation())
    act(store, rect_stored, lambda c: c.complete("rectify", "li", comment="已整改", at="2026-10-09T10:00:00+08:00"))
    with pytest.raises(StepRefused):
        act(store, rect_stored, lambda c: c.complete("revisit", "li", at="2026-10-12T10:00:00+08:00"))
    act(store, rect_stored, lambda c: c.complete("revisit", "zhao", at="2026-10-12T10:00:00+08:00"))
    assert rect_stored.case.status == "completed"
    # asking again adds nothing
    assert open_rectification(store, load_case_from(store, "c1", definition(), organisation())) is None


def test_a_good_evaluation_opens_nothing_and_a_refused_one_is_saved() -> None:
    store = MemoryStore()
    stored = stored_completed(store, "c1")
    rated = evaluate_stored(store, stored, APPLICANT, "基本满意", at="2026-09-28T10:00:00+08:00")
    assert rated.rectification is None and store.ids() == ["c1"]
    with pytest.raises(StepRefused):
        evaluate_stored(store, stored, APPLICANT, "不满意", text="慢", at="2026-09-29T10:00:00+08:00")
    assert store.ids() == ["c1"]  # no 整改 case for a refused evaluation
    reread = load_case_from(store, "c1", definition(), organisation()).case
    assert reread.trail.entries[-1]["outcome"] == "refused" and reread.evaluation is not None
    assert reread.evaluation.grade == "基本满意"


def test_open_rectification_adds_a_missing_rectification_case() -> None:
    store = MemoryStore()
    stored = stored_completed(store, "c1")
    # the evaluation saved but the 整改 case lost (as if its write had failed)
    act(store, stored, lambda c: c.evaluate(APPLICANT, "不满意", text="慢", rectification="c1-zg",
                                            at="2026-09-28T10:00:00+08:00"))  # fmt: skip
    assert store.ids() == ["c1"]
    added = open_rectification(store, stored)
    assert added is not None and added.case.id == "c1-zg" and sorted(store.ids()) == ["c1", "c1-zg"]


def test_good_rate_and_rectification_rate() -> None:
    store = MemoryStore()
    grades = {"a": ("满意", None), "b": ("不满意", "slow"), "c": ("非常不满意", "rude"), "d": ("非常满意", None)}
    rects = {}
    for case_id, (grade, text) in grades.items():
        rated = evaluate_stored(store, stored_completed(store, case_id), APPLICANT, grade, text=text,
                                at="2026-09-28T10:00:00+08:00")  # fmt: skip
        rects[case_id] = rated.rectification
    stored_completed(store, "e")  # not evaluated: in no rate
    # b's 整改 ends on 22 October (before its deadline of 23 October); c's on 26 October (after it)
    for case_id, end in (("b", "2026-10-22T10:00:00+08:00"), ("c", "2026-10-26T10:00:00+08:00")):
        rect = rects[case_id]
        assert rect is not None
        act(store, rect, lambda case, end=end: case.complete("rectify", "li", at=end))  # type: ignore[misc]
        act(store, rect, lambda case, end=end: case.complete("revisit", "zhao", at=end))  # type: ignore[misc]
    figures = evaluate_efficiency(store.summaries()).to_json()
    # 好评: a (满意) and d (非常满意) of four evaluations; 差评 b and c, only b rectified on time
    assert figures["total"]["good_rate"] == 0.5
    assert figures["total"]["rectification_rate"] == 0.5
    assert figures["by_unit"]["bureau"]["good_rate"] == 0.5
    assert figures["by_period"]["2026-09"]["good_rate"] == 0.5  # the evaluations' month
    # as of 24 October, c's 整改 is still open: not rectified; b's is
    early = evaluate_efficiency(store.summaries(), until=datetime.fromisoformat("2026-10-24T00:00:00+08:00"))
    assert early.to_json()["total"]["rectification_rate"] == 0.5
    # as of 25 September nothing is evaluated yet
    none = evaluate_efficiency(store.summaries(), until=datetime.fromisoformat("2026-09-25T17:00:00+08:00"))
    assert none.to_json()["total"]["good_rate"] is None and none.to_json()["total"]["rectification_rate"] is None


# -- the scenario action ------------------------------------------------------------------------------------------
SCENARIO = """process: exlicence.bpmn
org: org.yaml
start: 2026-09-21T09:00:00+08:00
data: {applicant: 某某科技有限公司}
steps:
  - {action: evaluate, actor: 某某科技有限公司, at: 2026-09-22T09:00:00+08:00, grade: 满意}
  - {task: accept, actor: wang, at: 2026-09-22T10:00:00+08:00}
  - {task: review, actor: liu, at: 2026-09-23T10:00:00+08:00}
  - {task: expert, actor: zhou, at: 2026-09-24T10:00:00+08:00}
  - {task: extend, actor: li, at: 2026-09-24T11:00:00+08:00}
  - {task: decide, actor: zhao, at: 2026-09-25T10:00:00+08:00}
  - {action: evaluate, actor: 某某科技有限公司, at: 2026-09-28T09:00:00+08:00, grade: dissatisfied,
     comment: 等待时间过长, note: 移动服务端}
"""


def test_the_evaluate_scenario_action(tmp_path: Path) -> None:
    import yaml

    from approvalflow.testing.scenario import run_scenario

    from .test_exchange import BPMN, ORG

    (tmp_path / "exlicence.bpmn").write_text(BPMN, encoding="utf-8")
    (tmp_path / "org.yaml").write_text(yaml.safe_dump(ORG, allow_unicode=True), encoding="utf-8")
    path = tmp_path / "rate.scenario.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    result = run_scenario(path)
    # the first evaluation comes while the case runs: refused (listed), the scenario goes on
    assert [(r["step"], r.get("action")) for r in result.refused] == [(0, "evaluate")]
    rated = result.case.evaluation
    assert rated is not None and (rated.grade, rated.text, rated.channel) == ("不满意", "等待时间过长", "移动服务端")
    assert rated.rectification is None  # a scenario has no store: no 整改 case
    assert result.case.status == "completed"


@pytest.mark.parametrize(
    "change",
    [
        {"grade": "meh"},
        {"actor": "stranger"},
        {"at": "2026-09-28T10:00:00"},  # no time zone
        {"text": "好\x00"},
        {"rectification": "c1-zg"},  # a 好评 names no 整改 case
        {"extra": 1},
    ],
)
def test_a_hostile_saved_evaluation_is_refused(change: dict[str, Any]) -> None:
    import json

    from approvalflow.engine.evaluation import evaluation_from_state
    from approvalflow.errors import CaseFormatError

    case = completed()
    case.evaluate(APPLICANT, "满意", at="2026-09-28T10:00:00+08:00")
    doc = json.loads(dump_case(case))
    assert evaluation_from_state(doc["evaluation"], case, doc["data"]) == case.evaluation  # as saved: read back
    doc["evaluation"].update(change)
    with pytest.raises(ValueError, match="evaluation"):  # the check itself (the digest would catch it first)
        evaluation_from_state(doc["evaluation"], case, doc["data"])
    with pytest.raises(CaseFormatError):
        load_case(json.dumps(doc, ensure_ascii=False), definition(), organisation())
