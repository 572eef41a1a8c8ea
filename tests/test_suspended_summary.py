"""A case suspension (中止) moves the deadlines of the steps still open, never those of steps already done.

The general licensing process (``processes/licensing/general_licensing.bpmn``) with ``tests/data/market_bureau.yaml``:
收件 and 受理 (one working day each) done on Monday 28 September 2026, the case suspended on Tuesday 29 September
and still suspended. The deadlines of the two steps done, and whether each was on time, are those of a twin case
never suspended, however long the suspension lasts: a store saved while suspended is not found to drift later.
"""

from __future__ import annotations

from pathlib import Path

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.engine.case import Case
from approvalflow.engine.timing import time_report
from approvalflow.store.cases import add_case
from approvalflow.store.check import check_store
from approvalflow.store.index import summary_of
from approvalflow.store.sqlite import SqliteStore

from .conftest import LICENSING, ROOT

ORG = load_organisation(ROOT / "tests" / "data" / "market_bureau.yaml")
PROCESS = load_process(LICENSING)


def two_steps_done(clock: FakeClock) -> Case:
    case = start_case(PROCESS, ORG, unit="market-bureau", clock=clock, case_id="c1")
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    case.complete("accept", "wang", at="2026-09-28T11:00:00+08:00")
    return case


def done_rows(case: Case) -> list[dict[str, object]]:
    return [c for c in summary_of(case)["completions"] if c["step"] in ("receive", "accept")]


def test_a_suspension_after_a_step_is_done_does_not_move_its_deadline() -> None:
    twin = two_steps_done(FakeClock("2026-09-28T09:00:00+08:00"))
    clock = FakeClock("2026-09-28T09:00:00+08:00")
    case = two_steps_done(clock)
    clock.to("2026-09-29T09:00:00+08:00")
    case.suspend("li", reason="等待鉴定结论")
    clock.to("2026-09-29T10:00:00+08:00")
    soon = done_rows(case)
    clock.to("2026-11-20T10:00:00+08:00")  # seven weeks of suspension, National Day within
    assert done_rows(case) == soon == done_rows(twin)
    assert [r["on_time"] for r in soon] == [True, True]
    done = ("receive", "accept")
    report = {s.step: s.deadline for s in time_report(case).steps if s.step in done}
    assert report == {s.step: s.deadline for s in time_report(twin).steps if s.step in done} and len(report) == 2
    # the step still open (审查, ready since 受理) is moved: the suspension stops its clock
    (review,) = [s.deadline for s in time_report(case).steps if s.step == "review"]
    (unmoved,) = [s.deadline for s in time_report(twin).steps if s.step == "review"]
    assert review is not None and unmoved is not None and review.day > unmoved.day


def test_a_store_saved_while_suspended_is_not_found_to_drift(tmp_path: Path) -> None:
    clock = FakeClock("2026-09-28T09:00:00+08:00")
    case = two_steps_done(clock)
    clock.to("2026-09-29T09:00:00+08:00")
    case.suspend("li", reason="等待鉴定结论")
    store = SqliteStore(tmp_path / "cases.db")
    try:
        add_case(store, case)  # indexed on 29 September; checked below at today's date, the suspension still open
        found = check_store(store, [PROCESS], [ORG])
    finally:
        store.close()
    assert found.cases == 1 and found.problems == []
