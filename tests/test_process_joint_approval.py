"""Scenario tests of processes/joint/joint_approval.bpmn (联合办理 / 并联审批, 行政许可法 art. 26).

Dates (2026, checked with chinese_calendar): 清明 Apr 4-6 and 劳动节 May 1-5 off, Sat May 9 worked. Accepted
Wed 2026-04-01: working days after it are Apr 2 (1), Apr 3 (2), Apr 7-10 (3-6), Apr 13-17 (7-11), Apr 20-24
(12-16), Apr 27-30 (17-20), May 6-8 (21-23), May 9 (24), May 11-15 (25-29), May 18 (30), May 19-22 (31-34),
May 25-29 (35-39), Jun 1-5 (40-44), Jun 8 (45): promised 30 -> May 18, statutory 45 -> Jun 8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import load_process
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "joint_approval"
PROCESS = ROOT / "processes" / "joint/joint_approval.bpmn"


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_metadata() -> None:
    d = load_process(PROCESS)
    assert d.power is not None and d.power.code == "140500-XK-0101"
    tl = d.time_limit
    assert (
        tl is not None
        and tl.promised is not None
        and (tl.statutory, tl.promised, tl.extension, tl.starts_after) == (45, 30, 15, "accept")
    )
    assert d.nodes["split"].kind == "parallelGateway" and d.nodes["join"].kind == "parallelGateway"
    domain = d.step("decide").domain
    assert domain is not None and domain.value == "approval"

    assert set(d.step("decide").separate_from) == {"review_market", "review_environment", "review_construction"}
    assert all(s.node.risks for s in d.steps.values())
    # the longest path on the case clock: one review (20) + extend (1) + decide (3) + deliver (5) = 29 <= 30
    assert sum(d.step(s).time_limit or 0 for s in ("review_market", "extend", "decide", "deliver")) <= tl.promised


def test_clean_path_across_qingming_and_may_day() -> None:
    out = run("clean")
    assert out["completed"] is True
    assert out["path"] == ["accept", "review_market", "review_environment", "review_construction", "decide", "deliver"]
    assert out["refused"] == [] and out["violations"] == []
    assert out["deadlines"] == {"promised": "2026-05-18", "statutory": "2026-06-08"}


def test_recusal_and_five_not_direct() -> None:
    out = run("recusal_five_not_direct")
    # 郭敏 declared a conflict with 某化工有限公司; 高局长 is the principal (五不直接分管) and holds no deputy post
    assert refused(out) == [(1, ["recusal"]), (5, ["unauthorized", "five-not-direct"])]
    assert out["completed"] is True and out["violations"] == []


def test_separation_extension_and_cards() -> None:
    out = run("separation_extension")
    # 肖红 accepted, so she may not review; 20 extension days > the 15 of art. 26
    assert refused(out) == [(1, ["separate-actors"]), (5, ["extension"])]
    # +15 working days: promised May 18 -> May 19-22 (4), May 25-29 (9), Jun 1-5 (14), Jun 8 (15) = Jun 8;
    # statutory Jun 8 -> Jun 9-12 (4), Jun 15-18 (8), [端午 Jun 19 off], Jun 22-26 (13), Jun 29 (14), Jun 30 (15)
    assert out["deadlines"] == {"promised": "2026-06-08", "statutory": "2026-06-30"}
    # At Fri Jun 5 09:00: one working day (Jun 8) is left of the promised limit -> yellow; decide became ready
    # Fri Apr 24 11:30 with 3 working days (Apr 27, 28, 29) -> red since Apr 30.
    assert out["alerts"] == [
        {"level": "yellow", "scope": "case", "limit": "promised", "task": None, "deadline": "2026-06-08"},
        {"level": "red", "scope": "step", "limit": "step", "task": "decide", "deadline": "2026-04-29"},
    ]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "joint_approval.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
