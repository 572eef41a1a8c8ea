"""Scenario tests of processes/procurement/government_procurement.bpmn (政府采购 in 县财政局).

五不直接分管: 钱局长 (qian, principal) may not approve or award; 沈副局长 (shen) holds procurement. 采购经办兼审核
(cg-jianzhi) holds both posts: the separation rules, not the posts, keep him from checking his own purchase.
评审专家甲 (cg-zhuanjia1) declared a stake in 某建设工程有限公司. No case limit (the procurement law is not in
REFERENCE.md); step limits only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import load_process
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "government_procurement"
PROCESS = ROOT / "processes" / "procurement" / "government_procurement.bpmn"
PATH = ["request", "budget_review", "approve", "evaluate", "award", "contract", "acceptance"]


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_metadata() -> None:
    d = load_process(PROCESS)
    assert [s for s, i in d.steps.items() if i.domain is not None] == ["approve", "award"]
    assert all(d.step(s).domain.value == "procurement" for s in ("approve", "award"))  # type: ignore[union-attr]
    assert d.step("budget_review").separate_from == ("request",)
    assert d.step("acceptance").separate_from == ("request", "contract")
    assert all(s.node.risks and s.posts and s.time_limit for s in d.steps.values())


def test_clean_procurement() -> None:
    out = run("clean")
    assert out["completed"] is True and out["path"] == PATH
    assert out["refused"] == [] and out["violations"] == []


def test_five_not_direct_separation_and_recusal() -> None:
    out = run("refusals")
    assert refused(out) == [
        (1, ["separate-actors"]),  # cg-jianzhi requested: may not review his own budget
        (3, ["unauthorized", "five-not-direct"]),  # qian is the principal, not a deputy
        (5, ["recusal"]),  # cg-zhuanjia1 and the supplier 某建设工程有限公司
        (7, ["unauthorized", "five-not-direct"]),
        (10, ["separate-actors"]),  # cg-jianzhi requested and signed: may not accept the delivery
    ]
    assert out["completed"] is True and out["path"] == PATH and out["violations"] == []


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "government_procurement.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
