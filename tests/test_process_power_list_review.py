"""Scenario tests of processes/powerlist/power_list_review.bpmn (权力清单编制审核, 三报三审三会一确认).

People of the sample county (county-government): the department's liaison qd-lianluo (list-drafter) reports; its
head qd-buzhang (dept-head) with qd-fubuzhang and qd-dangzu form its leadership; 县委编办 reviewers bb-shenhe and
bb-jianzhi (list-reviewer; bb-jianzhi also drafts 编办's own list); 司法局 gz-fazhi (legal-reviewer); experts
gz-zhuanjia, gz-zhuanjia2, gz-zhuanjia3; the standing meeting county-head, deputy-a, deputy-b, deputy-c.
Quorum 2/3 everywhere: 2 of 3 and 3 of 4 suffice, 1 of 3 and 2 of 4 do not.

Time: promised 100 working days from the start (the project's model; no source sets one). 2026 calendar: National
Day 10-01..10-07 off, Sun 09-20 and Sat 10-10 working days, Fri 09-25 off (Mid-Autumn).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from approvalflow import (
    FakeClock,
    StepNotReady,
    StepRefused,
    load_organisation,
    load_process,
    start_case,
    validate_file,
)
from approvalflow.testing.scenario import run_scenario
from approvalflow.testing.strategies import walks

from .process_checks import assert_expect_block_holds, refused, violations

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "power_list_review"
PROCESS = ROOT / "processes" / "powerlist" / "power_list_review.bpmn"
ORG = ROOT / "processes" / "org" / "sample_county.yaml"
FULL = [
    "report_1",
    "review_1",
    "report_2",
    "review_2",
    "dept_meeting",
    "report_3",
    "review_3",
    "expert_meeting",
    "gov_meeting",
    "confirm",
    "publish",
]
REPORTS = ("report_1", "report_2", "report_3")


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def new_case() -> Any:
    return start_case(
        load_process(PROCESS),
        load_organisation(ORG),
        unit="county-government",
        clock=FakeClock("2026-08-03T09:00:00+08:00"),
        data={"department": "县发展和改革局"},
    )


def test_metadata() -> None:
    d = load_process(PROCESS)
    assert d.power is not None and d.power.category.value == "internal" and d.power.body == "县人民政府"
    tl = d.time_limit
    assert tl is not None and (tl.promised, tl.statutory, tl.unit, tl.starts_after) == (100, None, "workday", None)
    # three reports, three reviews, three meetings, one confirmation
    assert [s for s in d.steps if s.startswith("report_")] == list(REPORTS)
    assert all(d.step(f"review_{i}").separate_from == REPORTS for i in (1, 2, 3))
    meetings = {s: i.collective for s, i in d.steps.items() if i.collective is not None}
    assert set(meetings) == {"dept_meeting", "expert_meeting", "gov_meeting"}
    assert all(str(c.quorum) == "2/3" for c in meetings.values())
    assert meetings["dept_meeting"].last_speaker == "dept-head"
    assert meetings["gov_meeting"].last_speaker == "principal"
    assert meetings["expert_meeting"].last_speaker is None
    assert d.step("gov_meeting").requires == ("review_1", "review_2", "dept_meeting", "review_3", "expert_meeting")
    assert all(s.domain is None for s in d.steps.values())
    assert all(s.node.risks and s.posts and s.time_limit for s in d.steps.values())
    # the step limits of the one loop-free path add up to no more than the promised 100 working days
    assert sum(s.time_limit or 0 for s in d.steps.values()) == 98


def test_validates_clean_with_the_sample_county() -> None:
    assert validate_file(PROCESS, org=load_organisation(ORG)) == []


def test_clean_three_reports_three_reviews_three_meetings_one_confirmation() -> None:
    out = run("clean")
    assert out["completed"] is True and out["path"] == FULL
    assert out["refused"] == [] and out["violations"] == []
    # 100 working days after Mon 08-03: 20 in August, 22 in September (with Sun 09-20, without Fri 09-25), 18 in
    # October (08, 09, Sat 10, then 12..30), 21 in November -> 81 by Mon 11-30; 19 more in December -> Fri 12-25
    assert out["deadlines"] == {"promised": "2026-12-25", "statutory": None}


def test_a_department_may_not_review_its_own_list() -> None:
    out = run("own_list")
    assert refused(out) == [(1, ["separate-actors"]), (4, ["separate-actors"])]  # bb-jianzhi drafted report_1
    # the other reviewer's return sends the first report back (退回重报)
    assert out["path"] == ["report_1", "review_1", "report_1", "review_1", "report_2", "review_2"]
    assert out["completed"] is False and out["violations"] == []


def test_meetings_need_a_quorum_and_the_head_last_and_a_rejection_sends_the_list_back() -> None:
    out = run("meetings")
    assert refused(out) == [
        (4, ["quorum"]),  # 1 of 3 of the department's leadership
        (5, ["last-speaker"]),  # the department head spoke first
        (11, ["quorum"]),  # 1 of 3 experts
        (13, ["quorum"]),  # 2 of 4 of the standing meeting
    ]
    assert out["path"] == [
        "report_1",
        "review_1",
        "report_2",
        "review_2",
        "dept_meeting",
        "report_3",
        "review_3",
        "report_3",
        "review_3",  # 三审 returned the third report once
        "expert_meeting",
        "gov_meeting",  # not adopted: 1 for, 2 against of 3 present
        "report_3",
        "review_3",
        "expert_meeting",
        "gov_meeting",
        "confirm",
        "publish",
    ]
    assert out["completed"] is True and out["violations"] == []


def test_late_legality_review_and_a_red_card_on_the_meeting() -> None:
    out = run("late_review")
    # ready Fri 09-18: Sun 09-20, 09-21..24, 09-28..30, 10-08, 10-09 -> due 10-09; done Mon 10-12
    assert violations(out) == [("step-overdue", "review_2", "gz-fazhi")]
    # the department meeting ready 10-12, 5 working days -> 10-19; on 10-20 it is overdue
    assert [(a["level"], a["task"], a["deadline"]) for a in out["alerts"]] == [("red", "dept_meeting", "2026-10-19")]


def test_the_standing_meeting_is_not_offered_before_the_reviews() -> None:
    case = new_case()
    case.complete("report_1", "qd-lianluo", at="2026-08-21T10:00:00+08:00")
    with pytest.raises(StepNotReady):
        case.complete(
            "gov_meeting",
            "county-head",
            at="2026-08-24T15:00:00+08:00",
            meeting={"members": ["county-head"], "present": ["county-head"], "votes": [["county-head", "for"]]},
        )
    assert [s.id for s in case.ready_steps()] == ["review_1"]


def test_a_drafter_does_not_review_a_later_round_either() -> None:
    case = new_case()
    case.complete("report_1", "qd-lianluo", at="2026-08-21T10:00:00+08:00")
    case.complete("review_1", "bb-shenhe", at="2026-08-28T10:00:00+08:00")
    case.complete("report_2", "bb-jianzhi", at="2026-09-04T10:00:00+08:00")  # 编办's cadre drafts round two
    case.complete("review_2", "gz-fazhi", at="2026-09-11T10:00:00+08:00")
    case.complete(
        "dept_meeting",
        "qd-buzhang",
        at="2026-09-15T15:00:00+08:00",
        meeting={
            "members": ["qd-buzhang", "qd-fubuzhang", "qd-dangzu"],
            "present": ["qd-buzhang", "qd-fubuzhang"],
            "votes": [["qd-fubuzhang", "for"], ["qd-buzhang", "for"]],
        },
    )
    case.complete("report_3", "qd-lianluo", at="2026-09-18T10:00:00+08:00")
    with pytest.raises(StepRefused) as exc:
        case.complete("review_3", "bb-jianzhi", at="2026-09-22T10:00:00+08:00")
    assert exc.value.rules == ["separate-actors"]
    case.complete("review_3", "bb-shenhe", at="2026-09-22T10:00:00+08:00")
    assert [s.id for s in case.ready_steps()] == ["expert_meeting"]


def test_a_department_meeting_that_rejects_sends_back_to_the_second_report() -> None:
    case = new_case()
    case.complete("report_1", "qd-lianluo", at="2026-08-21T10:00:00+08:00")
    case.complete("review_1", "bb-shenhe", at="2026-08-28T10:00:00+08:00")
    case.complete("report_2", "qd-lianluo", at="2026-09-04T10:00:00+08:00")
    case.complete("review_2", "gz-fazhi", at="2026-09-11T10:00:00+08:00")
    case.complete(
        "dept_meeting",
        "qd-buzhang",
        at="2026-09-15T15:00:00+08:00",
        meeting={
            "members": ["qd-buzhang", "qd-fubuzhang", "qd-dangzu"],
            "present": ["qd-buzhang", "qd-fubuzhang", "qd-dangzu"],
            "votes": [["qd-fubuzhang", "against"], ["qd-dangzu", "against"], ["qd-buzhang", "for"]],
        },
    )
    assert case.data["dept_meeting_passed"] is False
    assert [s.id for s in case.ready_steps()] == ["report_2"]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "power_list_review.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
    assert out["path"][:4] == ["report_1", "review_1", "report_1", "review_1"]  # one 退回重报


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_walk_lets_a_drafter_review_or_skips_a_round(data: st.DataObject) -> None:
    walk = data.draw(walks(load_process(PROCESS), load_organisation(ORG), unit="county-government", max_steps=20))
    done = [(s.task, s.actor) for s in walk.steps if not s.breaks]
    tasks = [t for t, _ in done]
    event("published" if "publish" in tasks else "unfinished")
    for i, (task, actor) in enumerate(done):
        if task.startswith("review_"):  # nobody who drafted any round of this list reviews it
            assert actor not in {a for t, a in done[:i] if t.startswith("report_")}
    if "gov_meeting" in tasks:
        before = tasks[: tasks.index("gov_meeting")]
        assert {"review_1", "review_2", "dept_meeting", "review_3", "expert_meeting"} <= set(before)
