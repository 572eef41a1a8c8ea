"""Scenario tests of processes/penalty/ordinary_penalty.bpmn (行政处罚普通程序, 行政处罚法 2021).

The 90 days of art. 60 run in calendar days (unit day) from 立案 on Mon 2026-03-02: Mar 3-31 is 29 days, April
30 more (59), May 31 more (90): both deadlines are 2026-05-31.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import load_process
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused, violations

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "ordinary_penalty"
PROCESS = ROOT / "processes" / "penalty/ordinary_penalty.bpmn"


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_metadata() -> None:
    d = load_process(PROCESS)
    assert d.power is not None and d.power.category.value == "penalty"
    tl = d.time_limit
    assert (
        tl is not None
        and tl.promised is not None
        and (tl.statutory, tl.unit, tl.starts_after) == (90, "day", "file_case")
    )
    assert d.step("cosign_investigation").separate_from == ("investigate",)
    assert d.step("legal_review").separate_from == ("investigate", "cosign_investigation")
    assert d.step("hearing").separate_from == ("investigate", "cosign_investigation")
    assert d.step("confirm_payment").separate_from == ("decide",)
    assert d.step("collective").collective is not None
    assert d.step("decide").requires == ("legal_review",)
    assert all(s.node.risks for s in d.steps.values())
    # longest path after 立案: 25 + 2 + 5 + 3 + 20 (hearing) + 5 (collective) + 3 + 7 + 15 = 85 <= 90
    steps = ["investigate", "cosign_investigation", "legal_review", "notify_rights", "hearing", "collective",
             "decide", "deliver", "confirm_payment"]  # fmt: skip
    assert sum(d.step(s).time_limit or 0 for s in steps) == 85 <= tl.promised


def test_clean_ordinary_case() -> None:
    out = run("clean")
    assert out["completed"] is True
    assert out["path"] == [
        "file_case", "investigate", "cosign_investigation", "legal_review", "notify_rights", "statement",
        "decide", "deliver", "confirm_payment",
    ]  # fmt: skip
    # every step within its limit, e.g. statement ready Mar 25 with 5 days -> Mar 30, done Mar 30 (on time)
    assert out["refused"] == [] and out["violations"] == []
    assert out["deadlines"] == {"promised": "2026-05-31", "statutory": "2026-05-31"}


def test_two_officers_legal_review_hearing_and_fine_collection_are_separate() -> None:
    out = run("separate_officers")
    assert refused(out) == [
        (2, ["separate-actors"]),  # 郑义 may not co-sign his own investigation (art. 42)
        (4, ["separate-actors"]),  # nor review it as legal reviewer (art. 58)
        (7, ["separate-actors"]),  # nor preside the hearing (art. 64: 非本案调查人员)
        (11, ["unauthorized", "separate-actors"]),  # the deciding deputy may not confirm the fine (art. 67)
    ]
    assert out["completed"] is True and out["path"][5] == "hearing" and out["violations"] == []


def test_major_case_collective_discussion() -> None:
    out = run("major_case_collective")
    # 2 of 4 present < 2/3; then 张局长 (principal) spoke first instead of last (末位表态)
    assert refused(out) == [(6, ["quorum"]), (7, ["last-speaker"])]
    assert out["path"][-2:] == ["collective", "decide"] and out["violations"] == []


def test_overdue_investigation_and_case() -> None:
    out = run("overdue")
    # investigate ready Mar 2 10:00, 25 days -> Mar 27; done May 25: late
    assert violations(out) == [("step-overdue", "investigate", "wuqiang")]
    # at Jun 1 the case deadline May 31 has passed (red, both limits); legal_review ready May 26 with 5 days
    # -> May 31, passed too
    assert out["alerts"] == [
        {"level": "red", "scope": "case", "limit": "promised", "task": None, "deadline": "2026-05-31"},
        {"level": "red", "scope": "case", "limit": "statutory", "task": None, "deadline": "2026-05-31"},
        {"level": "red", "scope": "step", "limit": "step", "task": "legal_review", "deadline": "2026-05-31"},
    ]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "ordinary_penalty.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
