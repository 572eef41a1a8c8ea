"""Scenario tests of processes/petition/petition.bpmn (信访工作条例 art. 22, 23, 34), in calendar days.

Accepted Mon 2026-07-06: Jul 7-31 is 25 days, Aug 1-30 brings 55 (promised), Aug 31 + Sep 1-4 brings 60
(statutory): promised 2026-08-30, statutory 2026-09-04.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import load_process
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused, violations

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "petition"
PROCESS = ROOT / "processes" / "petition/petition.bpmn"


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_metadata() -> None:
    d = load_process(PROCESS)
    tl = d.time_limit
    assert (
        tl is not None
        and tl.promised is not None
        and (tl.statutory, tl.promised, tl.extension, tl.unit) == (60, 55, 30, "day")
    )
    assert tl.starts_after == "accept"
    register, accept = d.step("register").time_limit, d.step("accept").time_limit
    assert register is not None and accept is not None and register + accept == 15  # art. 22/23: 15 days to accept

    assert all(s.node.risks for s in d.steps.values())
    # on the clock: investigate 35 + extend 1 + decide 10 + reply 5 = 51 <= 55
    assert sum(d.step(s).time_limit or 0 for s in ("investigate", "extend", "decide", "reply")) <= tl.promised


def test_clean_petition() -> None:
    out = run("clean")
    assert out["completed"] is True and out["path"] == ["register", "accept", "investigate", "decide", "reply"]
    assert out["refused"] == [] and out["violations"] == []
    assert out["deadlines"] == {"promised": "2026-08-30", "statutory": "2026-09-04"}


def test_recusal_and_extension_of_at_most_thirty_days() -> None:
    out = run("recusal_extension")
    # 石伟 declared an interest in 某物业服务有限公司, a party; 40 days > the 30 of art. 34
    assert refused(out) == [(2, ["recusal"]), (4, ["extension"])]
    # +30 days: Aug 30 -> Sep 29, Sep 4 -> Oct 4
    assert out["deadlines"] == {"promised": "2026-09-29", "statutory": "2026-10-04"}
    # decide became ready Aug 6 10:00 with 10 days (-> Aug 16) and was done Sep 10: late
    assert violations(out) == [("step-overdue", "decide", "liang")]
    assert out["completed"] is True


def test_late_acceptance_and_red_cards() -> None:
    out = run("late_acceptance")
    # accept ready Jul 1 10:00, 14 days -> Jul 15 (with register's 1 day: the 15 days of art. 23); done Jul 20
    assert violations(out) == [("step-overdue", "accept", "shiwei")]
    # accepted Jul 20: Jul 21-31 is 11 days, Aug 42, Sep 1-13 -> 55 (promised Sep 13), Sep 18 -> 60;
    # investigate ready Jul 20 with 35 days -> Aug 24. At Sep 20 all three have passed.
    assert out["deadlines"] == {"promised": "2026-09-13", "statutory": "2026-09-18"}
    assert out["alerts"] == [
        {"level": "red", "scope": "case", "limit": "promised", "task": None, "deadline": "2026-09-13"},
        {"level": "red", "scope": "case", "limit": "statutory", "task": None, "deadline": "2026-09-18"},
        {"level": "red", "scope": "step", "limit": "step", "task": "investigate", "deadline": "2026-08-24"},
    ]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "petition.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
