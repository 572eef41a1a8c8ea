"""Scenario tests of processes/disclosure/info_disclosure.bpmn (政府信息公开条例 art. 30, 32, 33).

Dates (2026, checked with chinese_calendar): 端午 Jun 19-21 off. Registered Mon 2026-06-15: working days after
it are Jun 16-18 (1-3), Jun 22-26 (4-8), Jun 29-30 (9-10), Jul 1-3 (11-13), Jul 6-7 (14-15), Jul 8-10 (16-18),
Jul 13-14 (19-20): promised 15 -> Jul 7, statutory 20 -> Jul 14.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import load_process
from approvalflow.testing.scenario import run_scenario

from .process_checks import assert_expect_block_holds, refused

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios" / "info_disclosure"
PROCESS = ROOT / "processes" / "disclosure/info_disclosure.bpmn"


def run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / f"{name}.scenario.yaml").to_json()


def test_metadata() -> None:
    d = load_process(PROCESS)
    tl = d.time_limit
    assert (
        tl is not None
        and tl.promised is not None
        and (tl.statutory, tl.promised, tl.extension, tl.starts_after) == (20, 15, 20, "register")
    )
    assert d.step("notify_correction").once
    assert d.step("await_correction").suspends_clock == "补正"
    assert d.step("consult_third_party").suspends_clock == "征求第三方意见"
    assert d.step("extend").extension
    assert all(s.node.risks for s in d.steps.values())
    # on the clock: examine 10 + extend 1 + decide 2 + reply 2 = 15 <= promised 15
    assert sum(d.step(s).time_limit or 0 for s in ("examine", "extend", "decide", "reply")) <= tl.promised


def test_clean_request() -> None:
    out = run("clean")
    assert out["completed"] is True and out["path"] == ["register", "examine", "decide", "reply"]
    assert out["refused"] == [] and out["violations"] == []
    assert out["deadlines"] == {"promised": "2026-07-07", "statutory": "2026-07-14"}


def test_correction_restarts_the_clock() -> None:
    out = run("correction_restarts_clock")
    assert out["completed"] is True and out["path"].count("register") == 2
    # re-registered Wed Jun 24: Jun 25-26 (2), Jun 29-30 (4), Jul 1-3 (7), Jul 6-10 (12), Jul 13-15 (15),
    # Jul 16-17 (17), Jul 20-22 (20): promised Jul 15, statutory Jul 22 (not Jul 7 / Jul 14)
    assert out["deadlines"] == {"promised": "2026-07-15", "statutory": "2026-07-22"}
    assert out["violations"] == []


def test_a_second_correction_notice_is_refused() -> None:
    out = run("second_correction_refused")
    assert refused(out) == [(4, ["once"])]
    assert out["path"] == ["register", "notify_correction", "await_correction", "register"]
    assert out["deadlines"] == {"promised": "2026-07-15", "statutory": "2026-07-22"}


def test_third_party_time_is_not_counted_and_one_extension_of_twenty() -> None:
    out = run("third_party_extension")
    assert refused(out) == [(3, ["extension"])]  # 25 > 20 working days (art. 33)
    # consultation open Mon Jun 22 10:00 -> Mon Jul 6 10:00: working days after Jun 22 up to Jul 6 are
    # Jun 23-26, Jun 29-30, Jul 1-3, Jul 6 = 10. Promised Jul 7 + 10 = Jul 8-10 (3), 13-17 (8), 20-21 (10) = Jul 21,
    # + 20 extension = Jul 22-24 (3), 27-31 (8), Aug 3-7 (13), 10-14 (18), 17-18 (20) = Aug 18.
    # Statutory Jul 14 + 10 = Jul 28, + 20 = Jul 29-31 (3), Aug 3-7 (8), 10-14 (13), 17-21 (18), 24-25 (20) = Aug 25.
    assert out["deadlines"] == {"promised": "2026-08-18", "statutory": "2026-08-25"}
    assert out["completed"] is True and out["violations"] == []


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.scenario.yaml")), ids=lambda p: p.name)
def test_expect_blocks_hold(path: Path) -> None:
    assert_expect_block_holds(path)


def test_the_example_runs_clean() -> None:
    out = run_scenario(ROOT / "examples" / "scenarios" / "info_disclosure.scenario.yaml").to_json()
    assert out["completed"] and out["refused"] == [] and out["violations"] == []
