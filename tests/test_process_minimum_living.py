"""Scenario tests of processes/assistance/minimum_living.bpmn (最低生活保障审核确认, 社会救助暂行办法 art. 11).

Case limits: statutory 30, promised 25 working days after 受理 (民发〔2021〕57号, secondary sources); 公示 is not
counted. Accepted Mon 2026-09-14 (2026 calendar: Sep 20 Sun worked, Sep 25-27 and Oct 1-7 off, Oct 10 Sat worked):
Sep 15-18 (4), Sep 20 (5), Sep 21-24 (9), Sep 28-30 (12), Oct 8-9 (14), Oct 10 (15), Oct 12-16 (20), Oct 19-23 (25)
-> promised Oct 23; Oct 26-30 -> statutory Oct 30.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest

from approvalflow import load_process
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused, violations

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "minimum_living"
PROCESS = ROOT / "processes" / "assistance" / "minimum_living.bpmn"
ON_CLOCK = ("investigate", "investigate_second", "democratic_review", "township_review", "county_approval")


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_the_2026_calendar_facts_used_here() -> None:
    assert chinese_calendar.is_workday(date(2026, 9, 20)) and chinese_calendar.is_workday(date(2026, 10, 10))
    assert not any(chinese_calendar.is_workday(date(2026, 9, d)) for d in (25, 26, 27))
    assert not any(chinese_calendar.is_workday(date(2026, 10, d)) for d in range(1, 8))


def test_metadata() -> None:
    d = load_process(PROCESS)
    tl = d.time_limit
    assert (
        tl is not None
        and tl.promised is not None
        and (tl.statutory, tl.promised, tl.unit, tl.starts_after) == (30, 25, "workday", "accept")
    )
    assert d.power is not None and d.power.category.value == "payment"
    assert d.step("investigate_second").separate_from == ("investigate",)
    assert d.step("democratic_review").collective is not None
    assert d.step("publicity").suspends_clock == "公示"
    assert d.step("county_approval").domain is not None and d.step("county_approval").posts == ("deputy",)
    assert all(s.node.risks and s.posts and s.time_limit for s in d.steps.values())
    # on the case clock (公示 suspends it): 7 + 2 + 5 + 3 + 5 + 2 (公布 or 书面告知) = 24 <= 25
    assert sum(d.step(s).time_limit or 0 for s in ON_CLOCK) + 2 <= tl.promised


def test_clean_case_with_publicity_not_counted() -> None:
    out = run("clean")
    assert out["completed"] is True
    assert out["path"] == [
        "accept",
        "investigate",
        "investigate_second",
        "democratic_review",
        "township_review",
        "publicity",
        "county_approval",
        "announce",
    ]
    assert out["refused"] == [] and out["violations"] == []
    # 公示 open from Fri Oct 9 10:00 (乡镇审核 done) to Fri Oct 16 10:00: removes the working days after Oct 9 up to
    # and including Oct 16: Oct 10 (Sat, worked), 12, 13, 14, 15, 16 = 6. Oct 23 + 6 -> Oct 26-30, Nov 2;
    # Oct 30 + 6 -> Nov 2-6, Nov 9.
    assert out["deadlines"] == {"promised": "2026-11-02", "statutory": "2026-11-09"}


def test_recusal_two_investigators_quorum_and_five_not_direct() -> None:
    out = run("refusals")
    # 0: xz-sun declared a conflict with 低保申请人王某 (近亲属); 3: xz-zhao did the first investigation;
    # 5: 3 of 6 members present < 2/3; 9: the bureau's head holds no deputy post and may not approve (五不直接分管)
    assert refused(out) == [
        (0, ["recusal"]),
        (3, ["separate-actors"]),
        (5, ["quorum"]),
        (9, ["unauthorized", "five-not-direct"]),
    ]
    assert out["completed"] is True and out["path"][-2:] == ["county_approval", "notify_refusal"]
    assert out["violations"] == []
    # same dates as the clean case: the suspension is Oct 9 10:00 - Oct 16 10:00 again
    assert out["deadlines"] == {"promised": "2026-11-02", "statutory": "2026-11-09"}


def test_late_investigation_and_yellow_card() -> None:
    out = run("late_investigation")
    # investigate ready Sep 14 10:00, 7 working days: Sep 15-18, 20, 21, 22 -> Sep 22; done Sep 28: late
    assert violations(out) == [("step-overdue", "investigate", "xz-zhao")]
    assert out["deadlines"] == {"promised": "2026-10-23", "statutory": "2026-10-30"}
    # investigate_second ready Sep 28 10:00, 2 working days -> Sep 30; at Sep 29 one working day (Sep 30) is left
    assert out["alerts"] == [
        {"level": "yellow", "scope": "step", "limit": "step", "task": "investigate_second", "deadline": "2026-09-30"}
    ]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "minimum_living.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
