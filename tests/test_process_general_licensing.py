"""Scenario tests of processes/licensing/general_licensing.bpmn with the hearing sub-process (hearing.bpmn).

Dates (China's 2026 calendar, checked with chinese_calendar): 中秋 Sep 25-27 and 国庆 Oct 1-7 off, Oct 10 (Sat)
worked. Accepted Mon 2026-09-28: the working days after it are Sep 29 (1), Sep 30 (2), Oct 8 (3), Oct 9 (4),
Oct 10 (5), Oct 12-16 (6-10), Oct 19-23 (11-15), Oct 26-30 (16-20), so promised 15 -> Oct 23 and statutory
20 -> Oct 30 before any suspension or extension.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import load_process
from approvalflow.errors import UnknownReferenceError
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "general_licensing"
PROCESS = ROOT / "processes" / "licensing" / "general_licensing.bpmn"


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_the_call_activity_brings_the_hearing_steps_and_their_rules() -> None:
    d = load_process(PROCESS)
    assert d.steps["hearing"].node.kind == "callActivity"
    assert d.steps["hearing"].suspends_clock == "听证"
    # the presider's rule names 'review', a step of the calling process (行政许可法 art. 48)
    assert d.steps["hearing_preside"].separate_from == ("review",)
    assert d.steps["hearing_preside"].posts == ("hearing-officer",)
    # the call activity itself suspends the clock while the sub-process runs; its steps do not need to
    assert all(d.steps[s].suspends_clock is None for s in ("hearing_notice", "hearing_preside", "hearing_record"))
    assert d.flows["f_gwh_hearing"].condition == 'get("needs_hearing", False) == True'
    assert d.flows["f_gwh_join"].default
    assert all(s.node.risks for s in d.steps.values())


def test_the_hearing_process_alone_does_not_load() -> None:
    # its af:separateFrom names 'review', which only the calling process has
    with pytest.raises(UnknownReferenceError, match="review"):
        load_process(ROOT / "processes" / "licensing" / "hearing.bpmn")


def test_hearing_clean_path_suspends_the_case_clock() -> None:
    out = run("hearing_clean")
    assert out["completed"] is True
    assert out["path"] == [
        "receive", "accept", "review", "hearing_notice", "hearing_preside", "hearing_record", "decide", "deliver",
    ]  # fmt: skip
    assert out["refused"] == [] and out["violations"] == []
    # The call activity 'hearing' runs from Fri Oct 9 10:00 (review done) to Thu Oct 22 10:00 (record done): the working
    # days after Oct 9 up to Oct 22 are Oct 10, 12-16, 19-22 = 10, so both deadlines move 10 working days later:
    # promised Oct 23 -> Oct 26-30 (5), Nov 2-6 (10) = Nov 6; statutory Oct 30 -> Nov 2-6, Nov 9-13 = Nov 13.
    assert out["deadlines"] == {"promised": "2026-11-06", "statutory": "2026-11-13"}


def test_the_reviewer_may_not_preside_the_hearing() -> None:
    out = run("presider_is_reviewer")
    assert refused(out) == [(4, ["separate-actors"])]  # 马立 reviewed, then tried to preside
    assert out["path"][-1] == "hearing_preside" and not out["completed"]
    # At check_at (Oct 21 12:00) the record step is still open: suspended working days after Oct 9 up to Oct 21
    # are Oct 10, 12-16, 19-21 = 9: promised Oct 23 + 9 = Nov 5, statutory Oct 30 + 9 = Nov 12.
    assert out["deadlines"] == {"promised": "2026-11-05", "statutory": "2026-11-12"}
    # hearing_record became ready Oct 21 with 2 working days (Oct 22, 23): two days left, so no card yet
    assert out["alerts"] == []


def test_one_extension_of_at_most_ten_days_and_the_principal_may_not_decide() -> None:
    out = run("extension")
    assert refused(out) == [(3, ["extension"]), (5, ["unauthorized", "five-not-direct"])]
    assert out["completed"] is True
    assert out["path"] == ["receive", "accept", "review", "extend", "decide", "deliver"]
    # +10 working days (行政许可法 art. 42): promised Oct 23 -> Nov 6, statutory Oct 30 -> Nov 13
    assert out["deadlines"] == {"promised": "2026-11-06", "statutory": "2026-11-13"}


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "general_licensing_hearing.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
