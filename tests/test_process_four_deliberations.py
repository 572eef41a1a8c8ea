"""Scenario tests of processes/village/four_deliberations.bpmn (四议两公开, 村民委员会组织法 art. 24, 26, 30, 32).

Quorums: two thirds of the members attend every meeting (2 of 3, 4 of 6 suffice; 3 of 6 does not). The party
members' meeting passes with more than half of the members due to attend (majority-of-members: 3 of 6 is not
enough); the villagers' representatives' meeting with a majority of those present (art. 26: 2 of 4 is not).
No case limit (none in law); step limits in calendar days.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import load_process
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "four_deliberations"
PROCESS = ROOT / "processes" / "village" / "four_deliberations.bpmn"
FULL = [
    "branch_proposal",
    "committees_deliberation",
    "party_meeting",
    "representatives_meeting",
    "publish_resolution",
    "implement",
    "supervise",
    "publish_result",
]


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_metadata() -> None:
    d = load_process(PROCESS)
    meetings = {s: i.collective for s, i in d.steps.items() if i.collective is not None}
    assert set(meetings) == {"committees_deliberation", "party_meeting", "representatives_meeting"}
    assert all(str(c.quorum) == "2/3" for c in meetings.values())
    assert meetings["party_meeting"].pass_rule == "majority-of-members"
    assert meetings["representatives_meeting"].pass_rule == "majority-of-present"
    assert d.step("supervise").posts == ("supervision-committee",)
    assert d.step("supervise").separate_from == ("branch_proposal", "committees_deliberation", "implement")
    assert all(s.node.risks and s.posts and s.time_limit for s in d.steps.values())


def test_clean_four_deliberations_two_publications() -> None:
    out = run("clean")
    assert out["completed"] is True and out["path"] == FULL
    assert out["refused"] == [] and out["violations"] == []


def test_party_meeting_quorum_and_majority_of_those_due() -> None:
    out = run("party_rejected")
    assert refused(out) == [(2, ["quorum"])]  # 3 of 6 present
    # 4 of 6 present, 3 for: 3 is not more than half of 6 -> not adopted -> end
    assert out["completed"] is True and out["path"] == FULL[:3]


def test_representatives_quorum_and_majority_of_those_present() -> None:
    out = run("representatives_rejected")
    assert refused(out) == [(3, ["quorum"])]  # 3 of 6 present
    # 4 of 6 present, 2 for, 2 against: no majority of those present (art. 26) -> not adopted
    assert out["completed"] is True and out["path"] == FULL[:4]


def test_a_committee_member_on_the_supervision_committee_cannot_supervise_his_matter() -> None:
    out = run("supervisor_not_committee")
    # cun-zhuren deliberated and implemented the matter; he also holds supervision-committee in this org
    assert refused(out) == [(6, ["separate-actors"])]
    assert out["completed"] is True and out["path"] == FULL


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "four_deliberations.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
