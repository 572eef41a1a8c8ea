"""The supervision sweep gives the same cards as ``approvalflow run`` for the same cases at the same moment.

Scenarios in tests/data/supervision run around the 2026 National Day holidays (Oct 1-7 off, Sep 20 and Oct 10
worked); each file's comment derives its expected cards by hand, checked here too.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from approvalflow import FakeClock, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.org.organisation import Organisation
from approvalflow.store.base import CaseStore
from approvalflow.store.cases import add_case
from approvalflow.supervision.sweep import sweep_store
from approvalflow.testing.scenario import load_scenario, run_scenario

from .store_support import store  # noqa: F401  (fixture)

DATA = Path(__file__).parent / "data" / "supervision"
SCENARIOS = sorted(DATA.glob("*.scenario.yaml"))

# Derived by hand in each scenario file's comment: (level, scope, limit, task, deadline).
EXPECTED = {
    "lic-review-open": [("red", "step", "step", "review", "2026-10-14")],
    "lic-decide-refused": [
        ("red", "case", "promised", None, "2026-10-23"),
        ("yellow", "case", "statutory", None, "2026-10-30"),
        ("red", "step", "step", "decide", "2026-10-14"),
    ],
    "lic-promised-yellow": [
        ("yellow", "case", "promised", None, "2026-10-23"),
        ("red", "step", "step", "decide", "2026-10-12"),
    ],
    "lic-done": [],
    "timed-expert-open": [],
    "timed-extended": [("yellow", "case", "promised", None, "2026-10-30")],
}


def _tuples(alerts: list[dict[str, str | None]]) -> list[tuple[str | None, ...]]:
    return [(a["level"], a["scope"], a["limit"], a["task"], a["deadline"]) for a in alerts]


def _check_at(path: Path) -> datetime:
    scenario, _, _ = load_scenario(path)
    assert scenario.check_at is not None
    return scenario.check_at


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name.split(".")[0] for p in SCENARIOS])
def test_sweep_gives_the_cards_run_gives(store: CaseStore, path: Path) -> None:  # noqa: F811
    result = run_scenario(path)
    add_case(store, result.case)
    at = _check_at(path)
    cards = sweep_store(store, at).cards_of(result.case.id)
    assert [c.alert_json() for c in cards] == result.alerts
    assert _tuples(result.alerts) == EXPECTED[result.case.id]


def test_one_sweep_over_all_cases_at_several_moments(store: CaseStore) -> None:  # noqa: F811
    results = [run_scenario(p) for p in SCENARIOS]
    for r in results:
        add_case(store, r.case)
    for moment in (
        "2026-09-30T09:00:00+08:00",
        "2026-10-09T18:00:00+08:00",
        "2026-10-22T09:00:00+08:00",
        "2026-10-30T23:59:00+08:00",
        "2026-11-20T09:00:00+08:00",
    ):
        at = datetime.fromisoformat(moment)
        swept = sweep_store(store, at)
        for r in results:
            assert [c.alert_json() for c in swept.cards_of(r.case.id)] == [a.to_json() for a in r.case.alerts(at)], (
                r.case.id,
                moment,
            )
        assert swept.open_cases == 5  # every scenario but lic-done leaves its case open


def test_cards_name_who_is_responsible_and_the_catalog_clause(
    store: CaseStore,  # noqa: F811
    licensing: ProcessDefinition,
    org: Organisation,
) -> None:
    # tests/data/market_bureau.yaml: the reviewers are liu and zhou.
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), case_id="lic-review-open")
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T09:30:00+08:00")
    case.complete("accept", "wang", at="2026-09-28T10:00:00+08:00")
    add_case(store, case)
    duty = {"140500-XK-0001": ("审查：对申请材料进行审查", "不在法定期限内作出决定的")}
    (card,) = sweep_store(store, datetime.fromisoformat("2026-10-15T09:00:00+08:00"), responsibility=duty).cards
    # review needs post reviewer; in market-bureau liu and zhou hold it.
    assert card.to_json() | {} == {
        "case": "lic-review-open",
        "level": "red",
        "scope": "step",
        "limit": "step",
        "task": "review",
        "deadline": "2026-10-14",
        "rule": "step-overdue",
        "card_rule": "deadline",
        "unit": "market-bureau",
        "power": "140500-XK-0001",
        "posts": ["reviewer"],
        "people": ["liu", "zhou"],
        "responsibility": "审查：对申请材料进行审查",
        "accountability": "不在法定期限内作出决定的",
    }


def test_anomalies_name_refusals_by_person_and_rule(store: CaseStore) -> None:  # noqa: F811
    result = run_scenario(DATA / "lic_decide_refused.scenario.yaml")
    add_case(store, result.case)
    swept = sweep_store(store, datetime.fromisoformat("2026-10-30T09:00:00+08:00"))
    refused = [a for a in swept.anomalies if a.kind == "refused"]
    # zhang (principal) tried decide: not a deputy (unauthorized) and the principal (five-not-direct).
    assert [(a.actor, a.step, a.rules) for a in refused] == [("zhang", "decide", ("unauthorized", "five-not-direct"))]
    assert swept.to_json()["refusals_by_person"] == {"zhang": {"five-not-direct": 1, "unauthorized": 1}}
    # The refusal happened on Oct 13: a sweep on Oct 12 does not show it yet.
    assert sweep_store(store, datetime.fromisoformat("2026-10-12T09:00:00+08:00")).anomalies == []
