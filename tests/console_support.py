"""A small county's store for the console tests (no tests here): four cases of 一般行政许可 in two units.

Calendar (2026, National Day): Oct 1-7 off, Sep 27 (Sun) and Oct 10 (Sat) worked. A step's limit counts working
days from the day after it became ready; a card is red from the end of the deadline day.

- ``lic-review-open`` (market-bureau, applicant 某餐饮有限公司): accepted Mon Sep 28 10:00; review (8 working days:
  Sep 29, 30, Oct 8, 9, 10, 12, 13, 14) is due Oct 14, so it is red on Oct 15.
- ``lic-decide-refused`` (market-bureau, applicant 某建材有限公司): accepted Sep 28 10:00, reviewed Oct 12 16:00;
  the principal zhang's decision on Oct 13 is refused (the step needs a deputy holding approval); decide
  (2 working days: Oct 13, 14) is due Oct 14: red on Oct 15.
- ``lic-done`` (market-bureau): done on time by Oct 12: no card.
- ``water-accept-open`` (water-bureau, applicant 某水务公司): received Mon Oct 12 09:30; accept (1 working day: Oct 13)
  is due Oct 13: red on Oct 15.

The case clock starts after accept (promised 15 working days). For the two open market cases accepted Sep 28 the
promised deadline is Oct 23 (Sep 29, 30, Oct 8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23); a yellow card is due
from the start of the working day before the deadline day: Thu Oct 22.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from approvalflow import FakeClock, start_case
from approvalflow.bpmn.loader import ProcessDefinition, load_process
from approvalflow.bpmn.model import Category
from approvalflow.catalog.model import Catalog, PowerRow
from approvalflow.errors import StepRefused
from approvalflow.org.organisation import Organisation, load_organisation
from approvalflow.service import console
from approvalflow.service.auth import Principal, current_principal
from approvalflow.service.context import ServiceContext
from approvalflow.store.base import CaseStore
from approvalflow.store.cases import add_case

ROOT = Path(__file__).resolve().parents[1]
LICENSING = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
MARKET = ROOT / "tests" / "data" / "market_bureau.yaml"
NOW = "2026-10-15T09:00:00+08:00"
LATER = "2026-10-22T09:00:00+08:00"  # the promised deadlines (Oct 23) of the two open market cases turn yellow
DUTY = "受理阶段责任：对申请材料进行审查；决定阶段责任：依法作出决定"
BLAME = "不在法定期限内作出准予行政许可决定的"

SUPERVISOR = Principal("k-sup", "supervisor")
MARKET_PLATFORM = Principal("k-market", "platform", unit="market-bureau")
WATER_PLATFORM = Principal("k-water", "platform", unit="water-bureau")
APPLICANT = Principal("k-app", "applicant", case="lic-review-open")


def water_org(tmp: Path) -> Organisation:
    """The market bureau's organisation file with the unit renamed: a second unit with the same posts."""
    text = MARKET.read_text(encoding="utf-8").replace("market-bureau", "water-bureau")
    text = text.replace("县市场监督管理局", "县水务局")
    path = tmp / "water_bureau.yaml"
    path.write_text(text, encoding="utf-8")
    return load_organisation(path)


def catalog() -> Catalog:
    """A power list with the licensing power's 责任事项 and 追责情形."""
    row = PowerRow(
        code="140500-XK-0001",
        name="一般行政许可",
        category=Category.LICENSING,
        responsibilities=DUTY,
        accountability=BLAME,
    )
    return Catalog(powers=[row])


def fill(store: CaseStore, definition: ProcessDefinition, market: Organisation, water: Organisation) -> None:
    """The four cases of the module's docstring."""
    clock = FakeClock("2026-09-28T09:00:00+08:00")
    case = start_case(definition, market, clock=clock, case_id="lic-review-open", data={"applicant": "某餐饮有限公司"})
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T09:30:00+08:00")
    case.complete("accept", "wang", at="2026-09-28T10:00:00+08:00")
    add_case(store, case)

    case = start_case(
        definition, market, clock=clock, case_id="lic-decide-refused", data={"applicant": "某建材有限公司"}
    )
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T09:30:00+08:00")
    case.complete("accept", "wang", at="2026-09-28T10:00:00+08:00")
    case.complete("review", "liu", data={"needs_extension": False}, at="2026-10-12T16:00:00+08:00")
    try:
        case.complete("decide", "zhang", at="2026-10-13T10:00:00+08:00")
    except StepRefused:
        pass
    else:  # pragma: no cover - the fixture relies on the refusal
        raise AssertionError("zhang's decision should have been refused")
    add_case(store, case)

    case = start_case(definition, market, clock=clock, case_id="lic-done", data={"applicant": "某餐饮有限公司"})
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T09:30:00+08:00")
    case.complete("accept", "wang", at="2026-09-28T10:00:00+08:00")
    case.complete("review", "liu", data={"needs_extension": False}, at="2026-10-09T11:00:00+08:00")
    case.complete("decide", "li", data={"approved": True}, at="2026-10-10T11:00:00+08:00")
    case.complete("deliver", "chen", at="2026-10-12T11:00:00+08:00")
    add_case(store, case)

    later = FakeClock("2026-10-12T09:00:00+08:00")
    case = start_case(definition, water, clock=later, case_id="water-accept-open", data={"applicant": "某水务公司"})
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-10-12T09:30:00+08:00")
    add_case(store, case)


def make_context(store: CaseStore, tmp: Path, *, with_catalog: bool = True) -> ServiceContext:
    """A filled store's context at :data:`NOW`, the definition given by the host (not deployed)."""
    definition = load_process(LICENSING)
    market, water = load_organisation(MARKET), water_org(tmp)
    fill(store, definition, market, water)
    orgs = {"market-bureau": market, "water-bureau": water}
    return ServiceContext(
        store, orgs, FakeClock(NOW), catalog=catalog() if with_catalog else None, processes=[definition]
    )


def make_app(context: ServiceContext, principal: Principal = SUPERVISOR) -> FastAPI:
    """A test app with only the console, the caller fixed to ``principal``."""
    app = FastAPI()
    app.state.context = context
    app.include_router(console.router)
    app.dependency_overrides[current_principal] = lambda: principal
    return app
