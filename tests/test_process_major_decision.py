"""Scenario tests of processes/decision/major_decision.bpmn (重大行政决策程序暂行条例, 国务院令第713号).

The four procedures (公众参与, 专家论证, 风险评估, 合法性审查) come before 集体讨论决定: the flow makes them
(a parallel join, then the legality review) and the meeting's af:requires names all four. The 30 days of public
comment are enforced by af:minDuration (rule min-duration) and by a gateway on the recorded comment_days.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import FakeClock, StepNotReady, StepRefused, load_organisation, load_process, start_case
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "major_decision"
PROCESS = ROOT / "processes" / "decision" / "major_decision.bpmn"
ORG = ROOT / "processes" / "org" / "sample_county.yaml"
FOUR = ("public_participation", "expert_review", "risk_assessment", "legality_review")


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_metadata() -> None:
    d = load_process(PROCESS)
    meeting = d.step("collective_decision")
    assert meeting.requires == FOUR
    assert meeting.collective is not None and meeting.collective.last_speaker == "principal"
    assert d.step("legality_review").separate_from == ("draft",)
    least = d.step("public_participation").min_duration
    assert least is not None and (least.value, least.unit) == (30, "day")
    assert d.flows["f_public_join"].condition == 'get("comment_days", 0) >= 30'
    assert all(s.node.risks and s.posts and s.time_limit for s in d.steps.values())


def test_clean_major_decision() -> None:
    out = run("clean")
    assert out["completed"] is True
    assert out["path"] == [
        "draft",
        "expert_review",
        "risk_assessment",
        "public_participation",
        "legality_review",
        "collective_decision",
        "publish",
        "archive",
    ]
    assert out["refused"] == [] and out["violations"] == []


def test_short_comment_period_loops_and_the_head_speaks_last() -> None:
    out = run("short_comment_period")
    # 公众参与 opens with the parallel split after 起草 on Fri 03-06 10:00. Closing it on 03-26 is 20 days in:
    # refused (30 days counted from 03-07 end with 04-05). Closed on 04-07 with comment_days 20 < 30: back to
    # 公众参与, which then stays open from 04-07 to 05-08 (31 days) and, with 31 recorded, goes on.
    assert out["path"][3:5] == ["public_participation", "public_participation"]
    assert refused(out) == [(3, ["min-duration"]), (7, ["last-speaker"])]  # the county head spoke first
    # 1 for, 3 against: not passed -> no 决策公布, only archiving
    assert out["completed"] is True and out["path"][-2:] == ["collective_decision", "archive"]


def test_the_meeting_cannot_come_before_the_four_procedures() -> None:
    case = start_case(
        load_process(PROCESS),
        load_organisation(ORG),
        unit="county-government",
        clock=FakeClock("2026-03-02T09:00:00+08:00"),
    )
    case.complete("draft", "gz-mishu", at="2026-03-02T10:00:00+08:00")
    for step in ("public_participation", "expert_review", "risk_assessment"):
        # 30 days counted from 03-03 end with 04-01: 04-02 is the first day 公众参与 may close
        case.complete(
            step,
            {"public_participation": "gz-mishu", "expert_review": "gz-zhuanjia", "risk_assessment": "gz-pinggu"}[step],
            data={"comment_days": 30},
            at="2026-04-02T10:00:00+08:00",
        )
    # the three are done; the legality review is not: the meeting is not ready (the flow enforces art. 28)
    with pytest.raises(StepNotReady):
        case.complete(
            "collective_decision",
            "county-head",
            meeting={"members": ["county-head"], "present": ["county-head"], "votes": []},
        )
    assert [s.id for s in case.ready_steps()] == ["legality_review"]


def test_public_participation_may_not_close_before_30_days() -> None:
    case = start_case(
        load_process(PROCESS),
        load_organisation(ORG),
        unit="county-government",
        clock=FakeClock("2026-03-02T09:00:00+08:00"),
    )
    case.complete("draft", "gz-mishu", at="2026-03-02T10:00:00+08:00")
    # ready Mon 03-02 10:00; 30 calendar days counted from 03-03 end with Wed 04-01 (March has 31 days:
    # 03-03..03-31 are 29 days, 04-01 the 30th), so 04-01 16:00 is still inside the period, 04-02 09:00 is not
    with pytest.raises(StepRefused) as refused_exc:
        case.complete("public_participation", "gz-mishu", data={"comment_days": 30}, at="2026-04-01T16:00:00+08:00")
    assert refused_exc.value.rules == ["min-duration"]
    assert "2026-04-02T00:00:00+08:00" in str(refused_exc.value)
    case.complete("public_participation", "gz-mishu", data={"comment_days": 30}, at="2026-04-02T09:00:00+08:00")
    assert "public_participation" in case.path


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "major_decision.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
