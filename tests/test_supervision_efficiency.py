"""Efficiency figures (效能评估) derived by hand for four licensing cases accepted on Mon 2026-09-28.

Promised limit 15 working days -> deadline Fri Oct 23 (Sep 29, 30, Oct 8, 9, 10 (Sat, worked), 12-16, 19-23).
- done: delivered Mon Oct 12: 6 working days (Sep 29, 30, Oct 8, 9, 10, 12), 9 left -> early (and on time);
- late: delivered Mon Oct 26: 16 working days -> overdue;
- two open cases, one with a refused attempt (zhang deciding).
So: received 4, completed 2, on time 1/2, early 1/2, overdue 1/2, average 11 working days against 15, refusals 1.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from approvalflow import FakeClock, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine.case import Case
from approvalflow.org.organisation import Organisation
from approvalflow.store.base import CaseStore
from approvalflow.store.cases import add_case
from approvalflow.supervision.efficiency import evaluate_efficiency
from approvalflow.testing.scenario import run_scenario

from .store_support import store  # noqa: F401  (fixture)

DATA = Path(__file__).parent / "data" / "supervision"
T = "2026-{}:00+08:00"


def _late_case(licensing: ProcessDefinition, org: Organisation) -> Case:

    clock = FakeClock(T.format("09-28T09:00"))
    case = start_case(licensing, org, clock=clock, case_id="late", data={"applicant": "某公司"})
    for task, actor, at, data in [
        ("receive", "wang", "09-28T09:30", {"materials_complete": True}),
        ("accept", "wang", "09-28T10:00", {}),
        ("review", "liu", "10-09T11:00", {"needs_extension": False}),
        ("decide", "li", "10-20T11:00", {"approved": True}),
        ("deliver", "chen", "10-26T11:00", {}),
    ]:
        clock.to(T.format(at))
        case.complete(task, actor, data=data)
    return case


@pytest.fixture
def filled(store: CaseStore, licensing: ProcessDefinition, org: Organisation) -> CaseStore:  # noqa: F811
    for name in ("lic_done", "lic_decide_refused", "lic_review_open"):
        add_case(store, run_scenario(DATA / f"{name}.scenario.yaml").case)
    add_case(store, _late_case(licensing, org))
    return store


def test_figures_per_unit_and_period(filled: CaseStore) -> None:
    ev = evaluate_efficiency(filled.summaries(), until=datetime.fromisoformat(T.format("10-30T09:00")))
    unit = ev.to_json()["by_unit"]["market-bureau"]
    assert unit == {
        "received": 4,
        "completed": 2,
        "on_time_rate": 0.5,
        "early_rate": 0.5,
        "overdue_rate": 0.5,
        "avg_working_days": 11.0,
        "avg_limit": 15.0,
        "avg_suspended_days": 0.0,
        "refusals": 1,
        "withdrawn": 0,  # no case of the store was withdrawn (撤回) or terminated (终止)
        "terminated": 0,
        "urges": 0,
        "good_rate": None,  # no case of the store was evaluated (好差评): nothing to divide
        "rectification_rate": None,
    }
    periods = ev.to_json()["by_period"]
    assert periods["2026-09"]["received"] == 4 and periods["2026-09"]["completed"] == 0
    assert periods["2026-10"]["completed"] == 2
    # Per post: decide (2 working days) by li: ready Oct 9 -> deadline Oct 12: on time in "done" (Oct 10),
    # late in "late" (Oct 20). The refused attempt was zhang's as a principal, who holds no post of decide.
    deputy = ev.to_json()["by_post"]["deputy"]
    assert (deputy["completed"], deputy["on_time_rate"]) == (2, 0.5)


def test_until_leaves_out_what_had_not_happened(filled: CaseStore) -> None:
    ev = evaluate_efficiency(filled.summaries(), until=datetime.fromisoformat(T.format("10-20T09:00")))
    assert ev.total.completed == 1 and ev.total.received == 4  # only "done" had ended by Oct 20


def test_csv_has_a_row_per_group(filled: CaseStore) -> None:
    rows = list(csv.DictReader(io.StringIO(evaluate_efficiency(filled.summaries()).to_csv())))
    unit = next(r for r in rows if r["dimension"] == "unit")
    assert (unit["group"], unit["completed"], unit["overdue_rate"]) == ("market-bureau", "2", "0.5")
    assert rows[0]["dimension"] == "total"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_html_report_renders_in_headless_chromium(filled: CaseStore, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(evaluate_efficiency(filled.summaries()).to_html(), encoding="utf-8")
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    # The browser parsed the inline SVG charts: the unit chart carries the overdue rate bar of 0.5.
    assert 'data-chart="unit-rates"' in dom
    assert 'data-group="market-bureau" data-metric="overdue_rate" data-value="0.5"' in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=900,1200",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 5000  # a real picture, not an empty page
