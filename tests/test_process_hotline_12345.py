"""Scenario tests of processes/hotline/hotline_12345.bpmn (12345 热线工单, the centre's promised limits).

Accepted Mon 2026-11-02 (no holiday in November 2026): 15 working days are Nov 3-6 (4), Nov 9-13 (9),
Nov 16-20 (14), Nov 23 (15): promised 2026-11-23; there is no statutory limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import load_process
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused, violations

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "hotline_12345"
PROCESS = ROOT / "processes" / "hotline/hotline_12345.bpmn"


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_metadata() -> None:
    d = load_process(PROCESS)
    tl = d.time_limit
    assert (
        tl is not None
        and tl.promised is not None
        and (tl.promised, tl.statutory, tl.starts_after) == (15, None, "accept_call")
    )
    assert (d.step("handle_emergency").time_limit, d.step("handle_emergency").unit) == (2, "hour")
    assert (d.step("handle").time_limit, d.step("handle").unit) == (10, "workday")
    assert set(d.step("callback").separate_from) == {"handle", "handle_emergency", "reply"}
    assert all(s.node.risks for s in d.steps.values())
    # general path on the clock: dispatch 1 + handle 10 + reply 1 + callback 2 + close 1 = 15 <= 15
    steps = ("dispatch", "handle", "reply", "callback", "close")
    assert sum(d.step(s).time_limit or 0 for s in steps) <= tl.promised


def test_clean_general_work_order() -> None:
    out = run("clean")
    assert out["completed"] is True
    assert out["path"] == ["accept_call", "dispatch", "handle", "reply", "callback", "close"]
    assert out["refused"] == [] and out["violations"] == []
    assert out["deadlines"] == {"promised": "2026-11-23", "statutory": None}


def test_emergency_late_and_the_handler_may_not_call_back() -> None:
    out = run("emergency_callback_by_handler")
    # 谢文 handled and replied: one separate-actors finding for each of the two steps, the rule id listed once
    assert refused(out) == [(4, ["separate-actors"])]
    # handle_emergency ready 09:30 with 2 hours -> 11:30; done 12:30: late
    assert violations(out) == [("step-overdue", "handle_emergency", "xiewen")]
    assert out["path"][1:3] == ["dispatch_emergency", "handle_emergency"] and out["completed"] is True


def test_emergency_red_card_by_the_hour() -> None:
    out = run("emergency_red_card")
    # at 12:00 the 2-hour limit that ended at 11:30 has passed; the case (Nov 23) has no card
    assert out["alerts"] == [
        {"level": "red", "scope": "step", "limit": "step", "task": "handle_emergency", "deadline": "2026-11-02"}
    ]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "hotline_12345.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
