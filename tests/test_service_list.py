"""``GET /api/v1/cases`` (issue 19): a unit's cases with filters and cursor pages, authorised by role and unit.

The cases (the permit process of tests/registry_support.py, clock starting Monday 2 March 2026 09:00 +08:00, one
hour later for each case started):

- market bureau: m1 (09:00, applicant 某建材公司, completed by its three steps), m2 (10:00, 某餐饮店, open),
  m3 (11:00, 某建材公司, withdrawn), m4 (12:00, no applicant, open), m5 (13:00, 某餐饮店 Ltd, open);
- tax bureau: t1 (14:00, 某建材公司, open).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .service_support import Service, make_service
from .store_support import BACKENDS

MARKET_IDS = ["m1", "m2", "m3", "m4", "m5"]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(params=BACKENDS)
def s(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    made = make_service(request.param, tmp_path)
    ok(made.deploy(), 201)
    applicants = {"m1": "某建材公司", "m2": "某餐饮店", "m3": "某建材公司", "m4": None, "m5": "某餐饮店 Ltd"}
    for case_id, applicant in applicants.items():
        ok(made.start(case_id, data={"applicant": applicant} if applicant else {}), 201)
        made.clock.advance("PT1H")
    ok(made.start("t1", who="tax", data={"applicant": "某建材公司"}), 201)
    for step, actor in (("accept", "wang"), ("review", "liu"), ("decide", "li")):
        ok(made.post(f"/api/v1/cases/m1/steps/{step}/complete", {"actor": actor}))
    ok(made.post("/api/v1/cases/m3/withdraw", {"actor": "wang", "reason": "申请人撤回"}))
    yield made
    made.store.close()


def ids(page: Any) -> list[str]:
    return [item["case"] for item in page["items"]]


def test_a_platform_lists_its_own_units_cases_only(s: Service) -> None:
    page = ok(s.get("/api/v1/cases"))
    assert (ids(page), page["next"]) == (MARKET_IDS, None)
    m1 = page["items"][0]
    assert (m1["unit"], m1["status"], m1["process"], m1["applicant"], m1["steps"]) == (
        "market-bureau", "completed", "permit", "某建材公司", [],
    )  # fmt: skip
    assert m1["started_at"] == "2026-03-02T09:00:00+08:00" and m1["ended_at"] is not None
    assert page["items"][1]["steps"] == ["accept"]
    assert ids(ok(s.get("/api/v1/cases", params={"unit": "market-bureau"}))) == MARKET_IDS
    assert ids(ok(s.get("/api/v1/cases", who="tax"))) == ["t1"]


def test_another_units_cases_are_403_and_nothing_leaks(s: Service) -> None:
    for who, unit, hidden in (("market", "tax-bureau", "t1"), ("tax", "market-bureau", "m1")):
        r = s.get("/api/v1/cases", params={"unit": unit}, who=who)
        assert (r.status_code, r.json()["type"]) == (403, "/problems/forbidden")
        assert hidden not in r.text
    # filters never widen the scope: the market key asking for the tax bureau's applicant sees its own cases only
    assert ids(ok(s.get("/api/v1/cases", params={"applicant": "某建材公司"}))) == ["m1", "m3"]


def test_a_supervisor_lists_every_unit_or_one(s: Service) -> None:
    assert ids(ok(s.get("/api/v1/cases", who="supervisor"))) == [*MARKET_IDS, "t1"]
    assert ids(ok(s.get("/api/v1/cases", params={"unit": "tax-bureau"}, who="supervisor"))) == ["t1"]
    assert ids(ok(s.get("/api/v1/cases", params={"unit": "no-such-unit"}, who="supervisor"))) == []


def test_an_applicant_key_may_not_list(s: Service) -> None:
    key = s.applicant_key("m2")
    r = s.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {key}"})
    assert (r.status_code, r.json()["type"]) == (403, "/problems/forbidden")
    assert "m1" not in r.text
    assert s.client.get("/api/v1/cases").status_code == 401


def test_filters(s: Service) -> None:
    def listed(**params: Any) -> list[str]:
        return ids(ok(s.get("/api/v1/cases", params=params, who="supervisor")))

    assert listed(status="open") == ["m2", "m4", "m5", "t1"]
    assert listed(status="completed") == ["m1"]
    assert listed(status="withdrawn", unit="market-bureau") == ["m3"]
    assert listed(status="terminated") == []
    assert listed(process="permit") == [*MARKET_IDS, "t1"]
    assert listed(process="other") == []
    assert listed(power="no-such-power") == []
    assert listed(applicant="某餐饮店") == ["m2"]  # exactly: not m5's "某餐饮店 Ltd"
    assert listed(applicant="某建材公司", status="open") == ["t1"]
    # opened from 10:00 (inclusive) to 12:00 (exclusive): m2 (10:00) and m3 (11:00); the same moments in UTC
    assert listed(opened_from="2026-03-02T10:00:00+08:00", opened_to="2026-03-02T12:00:00+08:00") == ["m2", "m3"]
    assert listed(opened_from="2026-03-02T02:00:00Z", opened_to="2026-03-02T04:00:00Z") == ["m2", "m3"]
    assert listed(opened_from="2026-03-02T13:00:00+08:00") == ["m5", "t1"]
    bad = s.get("/api/v1/cases", params={"status": "lost"})
    assert (bad.status_code, bad.json()["type"]) == (422, "/problems/invalid-input")
    naive = s.get("/api/v1/cases", params={"opened_from": "2026-03-02T10:00:00"})
    assert naive.status_code == 422


def test_cursor_pages_walk_every_case_once_in_a_stable_order(s: Service) -> None:
    seen: list[str] = []
    pages = 0
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = ok(s.get("/api/v1/cases", params=params, who="supervisor"))
        pages += 1
        assert len(page["items"]) <= 2
        seen += ids(page)
        if pages == 1:  # a case started between two pages, its id after the cursor: listed on a later page
            ok(s.start("z9"), 201)
        if page["next"] is None:
            break
        params["cursor"] = page["next"]
    assert seen == [*MARKET_IDS, "t1", "z9"]
    assert pages == 4  # 7 cases, 2 a page
    # a filtered walk: the open cases of the market bureau, one a page
    walked, params = [], {"limit": 1, "status": "open"}
    while True:
        page = ok(s.get("/api/v1/cases", params=params))
        walked += ids(page)
        if page["next"] is None:
            break
        params["cursor"] = page["next"]
    assert walked == ["m2", "m4", "m5", "z9"]


def test_limits_and_bad_cursors_are_422(s: Service) -> None:
    assert len(ok(s.get("/api/v1/cases", params={"limit": 500}))["items"]) == 5
    for params in ({"limit": 501}, {"limit": 0}, {"cursor": "!!!"}, {"cursor": "_w"}, {"cursor": ""}):
        r = s.get("/api/v1/cases", params=params)
        assert (r.status_code, r.json()["type"]) == (422, "/problems/invalid-input"), params


def test_a_short_page_says_where_to_go_on(s: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """A filter few rows meet: a page ends after its share of rows read, with a cursor (never a silent end)."""
    import approvalflow.store.listing as listing

    monkeypatch.setattr(listing, "SCAN", 2)
    pages: list[list[str]] = []
    params: dict[str, Any] = {"applicant": "某餐饮店 Ltd"}
    for _ in range(10):
        page = ok(s.get("/api/v1/cases", params=params))
        pages.append(ids(page))
        if page["next"] is None:
            break
        params["cursor"] = page["next"]
    # 2 rows a page: m1 m2 (none), m3 m4 (none), m5 (found, the end)
    assert pages == [[], [], ["m5"]]


def test_the_openapi_document_shows_the_list() -> None:
    from approvalflow.service.app import create_app
    from approvalflow.service.context import ServiceContext
    from approvalflow.store.memory import MemoryStore

    doc = create_app(ServiceContext(MemoryStore(), {}), console=False).openapi()
    get = doc["paths"]["/api/v1/cases"]["get"]
    names = {p["name"] for p in get["parameters"]}
    assert {"unit", "status", "process", "power", "applicant", "opened_from", "opened_to", "limit", "cursor"} <= names
    assert {"200", "401", "403", "422"} <= set(get["responses"])
    assert get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CasePageOut")
    limit = next(p for p in get["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 500
