"""The 电子监察 console over HTTP (TestClient): what each page shows, to whom, and that it changes nothing.

The store is the one of tests/console_support.py; its docstring derives every card from the 2026 calendar. At
Oct 15 09:00 three steps are red: water-accept-open's accept (due Oct 13), and lic-decide-refused's decide and
lic-review-open's review (both due Oct 14). On Oct 22 the two open market cases' promised deadline (Oct 23) is yellow.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from approvalflow.service.auth import Principal
from approvalflow.service.context import ServiceContext
from approvalflow.store.base import CaseStore
from approvalflow.store.cases import complete_step, load_case_from
from approvalflow.store.memory import MemoryStore
from approvalflow.time.clock import FakeClock

from .console_support import (
    APPLICANT,
    BLAME,
    DUTY,
    LATER,
    MARKET_PLATFORM,
    SUPERVISOR,
    WATER_PLATFORM,
    make_app,
    make_context,
)
from .store_support import store  # noqa: F401  (fixture)

with warnings.catch_warnings():  # Starlette warns that its test client will move to httpx2 (not installed)
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

PAGES = ["/console/", "/console/live", "/console/cases/lic-review-open", "/console/efficiency", "/console/search?q=lic"]


@pytest.fixture
def context(store: CaseStore, tmp_path: Path) -> ServiceContext:  # noqa: F811
    return make_context(store, tmp_path)


def client(context: ServiceContext, principal: Principal = SUPERVISOR) -> TestClient:
    return TestClient(make_app(context, principal))


def cards_of(page: str) -> list[tuple[str, str, str]]:
    """(case, level, task) of each card of the wall, in page order."""
    tree = lxml_html.fromstring(page)
    return [(a.get("data-case"), a.get("data-level"), a.get("data-task")) for a in tree.xpath("//article")]


def count(page: str, name: str) -> int:
    tree = lxml_html.fromstring(page)
    (tile,) = tree.xpath(f'//div[@data-count="{name}"]/b')
    return int(tile.text_content().replace(",", ""))


def element(page: str, element_id: str) -> Any:
    tree = lxml_html.fromstring(page)
    (found,) = tree.xpath(f'//*[@data-element-id="{element_id}"]')
    return found


# -- the card wall ---------------------------------------------------------------------------------------------------
def test_the_wall_shows_the_red_cards_most_urgent_first(context: ServiceContext) -> None:
    page = client(context).get("/console/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # red first, then the earliest deadline: accept was due Oct 13, decide and review Oct 14 (then by case id)
    assert cards_of(page.text) == [
        ("water-accept-open", "red", "accept"),
        ("lic-decide-refused", "red", "decide"),
        ("lic-review-open", "red", "review"),
    ]
    assert count(page.text, "red") == 3
    assert count(page.text, "yellow") == 0
    assert count(page.text, "cases") == 3
    assert count(page.text, "open") == 3  # lic-done is completed
    # Oct 15 is 2 days after accept's deadline day and 1 after review's
    assert "已超期 2 天" in page.text and "已超期 1 天" in page.text
    # who holds reviewer in the market bureau: 刘审查员 (liu) and 周审查员 (zhou); the catalog's clauses
    tree = lxml_html.fromstring(page.text)
    (review,) = tree.xpath('//article[@data-case="lic-review-open"]')
    text = review.text_content()
    assert "刘审查员" in text and "周审查员" in text and "审查" in text
    assert DUTY in text and BLAME in text
    assert "县水务局" in page.text  # the unit by its name


def test_the_wall_counts_by_unit_power_and_person(context: ServiceContext) -> None:
    tree = lxml_html.fromstring(client(context).get("/console/").text)

    def rows(group: str) -> dict[str, tuple[str, str]]:
        out = {}
        for tr in tree.xpath(f'//section[@data-group="{group}"]//tbody/tr'):
            link = tr.xpath(".//a")[0].get("href")
            key = re.search(rf"{group}=([^&]+)", link)
            assert key is not None
            cells = tr.xpath("./td")
            out[key.group(1)] = (cells[1].text_content(), cells[2].text_content())
        return out

    assert rows("unit") == {"market-bureau": ("2", ""), "water-bureau": ("1", "")}
    assert rows("power") == {"140500-XK-0001": ("3", "")}
    # zhou holds both reviewer (review) and clerk (accept): two red cards; liu one; wang and chen one (accept)
    people = rows("person")
    assert people["zhou"] == ("2", "") and people["liu"] == ("1", "") and people["wang"] == ("1", "")


def test_the_wall_filters_by_unit_power_and_person(context: ServiceContext) -> None:
    c = client(context)
    assert cards_of(c.get("/console/?unit=water-bureau").text) == [("water-accept-open", "red", "accept")]
    assert [x[0] for x in cards_of(c.get("/console/?person=liu").text)] == ["lic-review-open"]
    assert cards_of(c.get("/console/?power=no-such-power").text) == []
    assert "当前没有黄牌或红牌" in c.get("/console/?power=no-such-power").text


def test_without_a_catalog_cards_carry_no_clause(store: CaseStore, tmp_path: Path) -> None:  # noqa: F811
    page = client(make_context(store, tmp_path, with_catalog=False)).get("/console/").text
    assert len(cards_of(page)) == 3
    assert "责任事项" not in page and DUTY not in page


def test_live_json_changes_when_a_card_appears_or_goes(context: ServiceContext) -> None:
    c = client(context)
    first = c.get("/console/live").json()
    assert first["counts"] == {"red": 3, "yellow": 0, "cases": 3}
    again = c.get("/console/live", params={"since": first["signature"]}).json()
    assert again["signature"] == first["signature"] and again["html"] is None  # nothing changed: nothing sent
    assert isinstance(context.clock, FakeClock)
    context.clock.to(LATER)  # the promised deadline Oct 23 of both open market cases is yellow from Oct 22
    later = c.get("/console/live", params={"since": first["signature"]}).json()
    assert later["counts"] == {"red": 3, "yellow": 2, "cases": 3}
    assert later["signature"] != first["signature"]
    assert cards_of(later["html"])[:3] == cards_of(c.get("/console/").text)[:3]
    # liu completes the review (late: recorded with its finding): its red card goes
    market = context.organisations["market-bureau"]
    stored = load_case_from(context.store, "lic-review-open", context.processes[0], market)
    complete_step(context.store, stored, "review", "liu", data={"needs_extension": False}, at=LATER)
    done = c.get("/console/live").json()
    assert done["counts"] == {"red": 2, "yellow": 2, "cases": 3}
    assert ("lic-review-open", "red", "review") not in cards_of(done["html"])


def test_the_wall_page_polls_the_live_fragment(context: ServiceContext) -> None:
    page = client(context).get("/console/?every=3&unit=market-bureau").text
    tree = lxml_html.fromstring(page)
    (live,) = tree.xpath('//*[@id="live"]')
    assert live.get("data-every") == "3"
    assert live.get("data-src") == "/console/live?unit=market-bureau"
    assert "setTimeout(poll" in page
    assert client(context).get("/console/?every=0").status_code == 422  # 1 to 300 seconds


# -- the case page ---------------------------------------------------------------------------------------------------
def test_the_case_page_colours_its_flowchart_by_state(context: ServiceContext) -> None:
    page = client(context).get("/console/cases/lic-decide-refused")
    assert page.status_code == 200
    # receive, accept and review were completed; decide is ready, red (due Oct 14) and was refused once (zhang)
    for step in ("receive", "accept", "review"):
        assert element(page.text, step).get("data-state") == "completed", step
    decide = element(page.text, "decide")
    assert decide.get("data-state") == "overdue"
    assert {"af-state-overdue", "af-state-current", "af-state-refused"} <= set(decide.get("class").split())
    outline = decide[0] if decide[0].tag != "title" else decide[1]
    assert outline.get("fill") == "#fcd4d4" and outline.get("stroke-dasharray") == "7 4"
    assert element(page.text, "deliver").get("data-state") is None  # not reached
    assert "af-state" not in (element(page.text, "deliver").get("class") or "")


def test_the_case_page_lists_the_trail_cards_and_deadlines(context: ServiceContext) -> None:
    page = client(context).get("/console/cases/lic-decide-refused").text
    tree = lxml_html.fromstring(page)
    rows = tree.xpath('//table[@id="trail"]/tbody/tr')
    # start, receive, accept, review, the refused decision
    assert [(r.get("data-step"), r.get("data-outcome")) for r in rows] == [
        ("", "started"),
        ("receive", "completed"),
        ("accept", "completed"),
        ("review", "completed"),
        ("decide", "refused"),
    ]
    assert "five-not-direct" in rows[-1].text_content() or "unauthorized" in rows[-1].text_content()
    assert "张局长" in rows[-1].text_content()
    (alert,) = tree.xpath('//ul[@id="alerts"]/li')
    assert alert.get("data-level") == "red" and alert.get("data-task") == "decide"
    assert "2026-10-14" in alert.text_content()
    assert "某建材有限公司" in page  # the applicant
    # promised: 15 working days after accept (Sep 28) -> Oct 23; statutory 20 -> Oct 30 (see console_support)
    assert "2026-10-23" in page and "2026-10-30" in page
    assert "在办" in tree.xpath('//*[@id="status-badge"]')[0].text_content()


def test_a_completed_case_has_no_current_step(context: ServiceContext) -> None:
    page = client(context).get("/console/cases/lic-done").text
    assert "办结" in page
    for step in ("receive", "accept", "review", "decide", "deliver"):
        assert element(page, step).get("data-state") == "completed"
    assert 'data-state="current"' not in page and 'data-state="overdue"' not in page


def test_the_flowchart_comes_from_the_registry_when_deployed(store: CaseStore, tmp_path: Path) -> None:  # noqa: F811
    from approvalflow.store.registry import deploy

    from .console_support import LICENSING

    context = make_context(store, tmp_path)
    deploy(store, [LICENSING], at="2026-09-01T09:00:00+08:00")
    context.processes = ()  # the case loads on the deployed definition, and the chart is drawn from its bytes
    page = client(context).get("/console/cases/lic-review-open").text
    assert element(page, "review").get("data-state") == "overdue"


def test_an_unknown_case_is_404_for_a_supervisor(context: ServiceContext) -> None:
    assert client(context).get("/console/cases/no-such-case").status_code == 404


def test_a_case_whose_unit_has_no_organisation_is_a_clear_error(context: ServiceContext) -> None:
    context.organisations = {"market-bureau": context.organisations["market-bureau"]}
    page = client(context).get("/console/cases/water-accept-open")
    assert page.status_code == 500
    assert "no organisation with unit 'water-bureau'" in page.text
    assert "Traceback" not in page.text


# -- search and efficiency -------------------------------------------------------------------------------------------
def hits(page: str) -> list[str]:
    return [tr.get("data-case") for tr in lxml_html.fromstring(page).xpath('//table[@id="hits"]/tbody/tr')]


def test_search_by_case_id_applicant_power_and_process(context: ServiceContext) -> None:
    c = client(context)
    assert hits(c.get("/console/search?q=DECIDE").text) == ["lic-decide-refused"]  # case-insensitive
    assert hits(c.get("/console/search", params={"q": "某建材"}).text) == ["lic-decide-refused"]
    assert hits(c.get("/console/search", params={"q": "某餐饮"}).text) == ["lic-done", "lic-review-open"]
    every = ["lic-decide-refused", "lic-done", "lic-review-open", "water-accept-open"]
    assert hits(c.get("/console/search?q=140500-XK").text) == every
    assert hits(c.get("/console/search", params={"q": "一般行政许可"}).text) == every
    assert hits(c.get("/console/search?q=general_licensing").text) == every
    assert hits(c.get("/console/search?q=nothing-like-this").text) == []
    assert "没有找到" in c.get("/console/search?q=nothing-like-this").text
    assert c.get("/console/search").status_code == 200


def test_search_never_echoes_markup(tmp_path: Path) -> None:
    c = client(make_context(MemoryStore(), tmp_path))

    @settings(max_examples=25, deadline=None)
    @given(st.text(alphabet="<>&\"'ab/ 某", max_size=12), st.text(alphabet="<>&\"'ab/ 某", max_size=12))
    def check(before: str, after: str) -> None:
        query = f'{before}<i id="injected">{after}'
        tree = lxml_html.fromstring(c.get("/console/search", params={"q": query}).text)
        assert tree.xpath('//*[@id="injected"]') == []  # shown as text, never as markup
        assert query in tree.xpath("//h2")[0].text_content()
        assert tree.xpath('//input[@name="q"]')[0].get("value") == query

    check()


def test_efficiency_has_charts_per_unit_and_month(context: ServiceContext) -> None:
    page = client(context).get("/console/efficiency").text
    tree = lxml_html.fromstring(page)
    charts = {svg.get("data-chart") for svg in tree.xpath("//svg")}
    assert {"unit-rates", "unit-volume", "period-rates", "period-volume"} <= charts
    # every case is received (its clock started, or it was started): 4; only lic-done ended, early (Oct 12 < Oct 23)
    assert tree.xpath('//div[@data-total="received"]/b')[0].text_content() == "4"
    assert tree.xpath('//div[@data-total="completed"]/b')[0].text_content() == "1"
    assert tree.xpath('//div[@data-total="on time"]/b')[0].text_content() == "100.0%"
    groups = {r.get("data-group") for r in tree.xpath('//svg[@data-chart="unit-volume"]//rect[@data-group]')}
    assert groups == {"market-bureau", "water-bureau"}
    # receipts: the three market cases in September (accepted Sep 28), the water case in October (started Oct 12)
    received = {
        r.get("data-group"): r.get("data-value")
        for r in tree.xpath('//svg[@data-chart="period-volume"]//rect[@data-metric="received"]')
    }
    assert received == {"2026-09": "3.0", "2026-10": "1.0"}
    assert "2026-Q4" in client(context).get("/console/efficiency?period=quarter").text


# -- who sees what ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PAGES)
def test_an_applicant_gets_403_everywhere(context: ServiceContext, path: str) -> None:
    assert client(context, APPLICANT).get(path).status_code == 403


def test_a_platform_without_a_unit_gets_403(context: ServiceContext) -> None:
    assert client(context, Principal("k", "platform")).get("/console/").status_code == 403


def test_a_platform_sees_only_its_own_unit(context: ServiceContext) -> None:
    c = client(context, MARKET_PLATFORM)
    wall = c.get("/console/").text
    assert [x[0] for x in cards_of(wall)] == ["lic-decide-refused", "lic-review-open"]
    assert "water-accept-open" not in wall and "县水务局" not in wall
    assert "water-accept-open" not in c.get("/console/live").text
    assert "water-accept-open" not in c.get("/console/?unit=water-bureau").text  # a filter does not widen the scope
    assert hits(c.get("/console/search?q=140500").text) == ["lic-decide-refused", "lic-done", "lic-review-open"]
    assert hits(c.get("/console/search", params={"q": "某水务"}).text) == []
    eff = lxml_html.fromstring(c.get("/console/efficiency").text)
    assert eff.xpath('//div[@data-total="received"]/b')[0].text_content() == "3"
    assert "water-bureau" not in c.get("/console/efficiency").text
    assert c.get("/console/cases/lic-review-open").status_code == 200


@pytest.mark.parametrize("case_id", ["water-accept-open", "no-such-case"])
def test_a_platform_cannot_tell_another_units_case_from_a_missing_one(context: ServiceContext, case_id: str) -> None:
    answer = client(context, MARKET_PLATFORM).get(f"/console/cases/{case_id}")
    assert answer.status_code == 403
    assert answer.json() == {"detail": "not a case of your unit (or no such case)"}
    assert client(context, WATER_PLATFORM).get("/console/cases/water-accept-open").status_code == 200


def test_the_console_reads_and_never_writes(context: ServiceContext) -> None:
    def versions() -> dict[str, int]:
        return {i: context.store.get(i).version for i in context.store.ids()}

    before = versions()
    c = client(context)
    for path in [*PAGES, "/console/cases/lic-decide-refused", "/console/cases/lic-done"]:
        assert c.get(path).status_code == 200, path
    assert versions() == before
    for method in ("post", "put", "delete", "patch"):
        assert getattr(c, method)("/console/").status_code == 405
    assert versions() == before


def test_the_wall_draws_the_most_urgent_cards_and_counts_them_all(
    context: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from approvalflow.service import console_pages

    monkeypatch.setattr(console_pages, "MAX_CARDS", 2)
    page = client(context).get("/console/").text
    assert [x[0] for x in cards_of(page)] == ["water-accept-open", "lic-decide-refused"]  # the two due earliest
    assert count(page, "red") == 3
    assert lxml_html.fromstring(page).xpath("//p[@data-more]")[0].get("data-more") == "1"


def test_a_case_whose_flowchart_is_not_at_hand_is_shown_without_it(context: ServiceContext, tmp_path: Path) -> None:
    import shutil

    from approvalflow.bpmn.loader import load_process

    from .console_support import LICENSING

    copy = tmp_path / "gone.bpmn"
    shutil.copy(LICENSING, copy)
    definition = load_process(copy, search=[LICENSING.parent / "hearing.bpmn"])  # the call activity's process
    assert definition.digest == context.processes[0].digest  # the same process, from another file
    copy.unlink()  # not deployed, and its file is gone: nothing to draw from
    context.processes = [definition]
    page = client(context).get("/console/cases/lic-review-open")
    assert page.status_code == 200
    assert "流程图不可用" in page.text and "data-element-id" not in page.text
    assert lxml_html.fromstring(page.text).xpath('//table[@id="trail"]/tbody/tr')  # the trail is still listed


def test_a_card_names_who_holds_the_step(context: ServiceContext) -> None:
    from approvalflow.store.cases import act

    market = context.organisations["market-bureau"]
    stored = load_case_from(context.store, "lic-review-open", context.processes[0], market)
    # before: the review is open to both reviewers, liu and zhou; zhou claims it (签收) on Oct 14
    act(context.store, stored, lambda case: case.claim("review", "zhou", at="2026-10-14T09:00:00+08:00"))
    tree = lxml_html.fromstring(client(context).get("/console/").text)
    (review,) = tree.xpath('//article[@data-case="lic-review-open"]')
    assert "周审查员" in review.text_content() and "刘审查员" not in review.text_content()
    assert cards_of(client(context).get("/console/?person=liu").text) == []
    assert ("lic-review-open", "red", "review") in cards_of(client(context).get("/console/?person=zhou").text)


def test_efficiency_of_one_unit(context: ServiceContext) -> None:
    def received(c: TestClient, path: str) -> str:
        tree = lxml_html.fromstring(c.get(path).text)
        return str(tree.xpath('//div[@data-total="received"]/b')[0].text_content())

    assert received(client(context), "/console/efficiency?unit=water-bureau") == "1"  # the one water case
    assert received(client(context), "/console/efficiency?unit=market-bureau") == "3"
    # a platform's filter never widens its scope: the market platform asking for water sees nothing
    assert received(client(context, MARKET_PLATFORM), "/console/efficiency?unit=water-bureau") == "0"
