"""Scenario tests of processes/decision/collective_decision.bpmn (三重一大 集体决策 in 县人民政府).

The meeting has four members (county-head, deputy-a, deputy-b, deputy-c): a quorum of 2/3 needs 3 of them
(2/4 = 1/2 < 2/3, 3/4 >= 2/3); the principal speaks last (末位表态); the matter passes with a majority of those
present. No case limit: the reform sets none for 三重一大; step limits only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import load_process
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused, violations

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "collective_decision"
PROCESS = ROOT / "processes" / "decision" / "collective_decision.bpmn"


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_metadata() -> None:
    d = load_process(PROCESS)
    assert d.time_limit is None
    assert d.power is not None and d.power.category.value == "internal"
    rule = d.step("meeting").collective
    assert rule is not None and rule.last_speaker == "principal" and str(rule.quorum) == "2/3"
    assert d.step("meeting").requires == ("solicit",)
    assert d.step("implement").same_actor_as == "propose"
    assert all(s.node.risks and s.posts and s.time_limit for s in d.steps.values())


def test_clean_decision() -> None:
    out = run("clean")
    assert out["completed"] is True and out["path"] == ["propose", "solicit", "meeting", "minutes", "implement"]
    assert out["refused"] == [] and out["violations"] == [] and out["deadlines"] is None


def test_quorum_last_speaker_and_the_proposer_implements() -> None:
    out = run("meeting_rules")
    # 2: 2 of 4 present; 3: the county head spoke first; 6: deputy-a did not propose the matter (deputy-b did)
    assert refused(out) == [(2, ["quorum"]), (3, ["last-speaker"]), (6, ["same-actor"])]
    assert out["completed"] is True and out["path"][-1] == "implement"


def test_rejected_matter_is_not_implemented() -> None:
    out = run("rejected")
    # 1 for, 2 against of 3 present: no majority of those present -> meeting_passed False -> default flow
    assert out["completed"] is True and out["path"] == ["propose", "solicit", "meeting", "minutes"]
    # minutes ready Fri Jun 5 15:00, 2 working days: Jun 8, 9 -> Jun 9; done Jun 12: late
    assert violations(out) == [("step-overdue", "minutes", "gz-mishu")]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "collective_decision.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
