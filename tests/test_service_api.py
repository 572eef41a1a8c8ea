"""The HTTP API over a case store: a full case, refusals (409 with rule ids, nothing changed), errors as RFC 9457
problems, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute

from approvalflow.engine.state import case_state
from approvalflow.service.api import router
from approvalflow.store.base import ConflictError
from approvalflow.store.cases import load_case_from

from .service_support import MARKET, Service, TestClient, any_service, service  # noqa: F401  (fixtures)

SHA = "ab" * 32
TUESDAY = "2026-03-03T10:00:00+08:00"
WEDNESDAY = "2026-03-04T10:00:00+08:00"


def snapshot(s: Service, case_id: str) -> tuple[dict[str, Any], int]:
    """The case's state without its trail, as stored, and the trail's length (loaded and verified)."""
    stored = load_case_from(s.store, case_id, None, s.context.organisations[MARKET])
    return case_state(stored.case), stored.case.trail.count


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_full_case_over_http(any_service: Service) -> None:  # noqa: F811
    s = any_service
    [deployed] = ok(s.deploy(), 201)
    assert (deployed["process"], deployed["version"], deployed["new"]) == ("permit", 1, True)
    assert [d["version"] for d in ok(s.get("/api/v1/processes/permit/versions"))] == [1]
    detail = ok(s.start("c1", data={"applicant": "某建材公司"}), 201)
    assert (detail["status"], detail["unit"], [r["id"] for r in detail["ready"]]) == ("running", MARKET, ["accept"])
    # the permit process promises 10 working days from Monday 2 March 2026 (no holiday in March): 3-6, 9-13 and
    # 16 March; 20 statutory working days end on 30 March (17-20, 23-27, 30)
    assert (detail["deadlines"]["promised"], detail["deadlines"]["statutory"]) == ("2026-03-16", "2026-03-30")

    claimed = ok(s.post("/api/v1/cases/c1/steps/accept/claim", {"actor": "wang"}))
    assert (claimed["ready"][0]["assignee"], claimed["ready"][0]["held"]) == ("wang", "claimed")
    attachment = {"name": "申请书.pdf", "media_type": "application/pdf", "size": 1024, "sha256": SHA}
    done = ok(s.post("/api/v1/cases/c1/steps/accept/complete",
                     {"actor": "wang", "opinion": "同意", "comment": "材料齐全", "attachments": [attachment]}))  # fmt: skip
    assert [r["id"] for r in done["ready"]] == ["review"]
    moved = ok(s.post("/api/v1/cases/c1/steps/review/transfer", {"actor": "liu", "to": "zhou", "reason": "分工"}))
    assert (moved["ready"][0]["assignee"], moved["ready"][0]["held"]) == ("zhou", "transferred")
    assert [t["task"] for t in ok(s.get("/api/v1/people/zhou/todo"))] == ["review"]
    assert ok(s.get("/api/v1/people/liu/todo")) == []  # transferred away from the reviewers
    ok(s.post("/api/v1/cases/c1/steps/review/complete", {"actor": "zhou", "at": TUESDAY}))
    back = ok(s.post("/api/v1/cases/c1/steps/decide/return", {"actor": "li", "to": "review", "reason": "补充意见",
                                                               "at": WEDNESDAY}))  # fmt: skip
    assert back["result"] == "review"
    assert (back["ready"][0]["id"], back["ready"][0]["assignee"]) == ("review", "zhou")  # 首办负责: back to zhou
    ok(s.post("/api/v1/cases/c1/steps/review/complete", {"actor": "zhou", "at": WEDNESDAY}))
    ok(s.post("/api/v1/cases/c1/cc", {"actor": "li", "to": ["zhang"], "note": "请阅", "at": WEDNESDAY}))
    ok(s.post("/api/v1/cases/c1/steps/decide/complete", {"actor": "li", "at": WEDNESDAY}))
    decided = ok(s.post("/api/v1/cases/c1/outcome", {"actor": "li", "outcome": "approved", "at": WEDNESDAY}))
    assert (decided["status"], decided["outcome"]) == ("completed", "approved")

    final = ok(s.get("/api/v1/cases/c1", params={"trail": "true"}))
    assert final["path"] == ["accept", "review", "review", "decide"]
    actions = [e["action"] for e in final["trail"]]
    for action in ("claim", "complete", "transfer", "return", "cc", "outcome"):
        assert action in actions
    assert [d["task"] for d in ok(s.get("/api/v1/people/zhou/done"))] == ["review", "review"]
    assert ok(s.get("/api/v1/cases/c1/trail")) == final["trail"]
    # the stored case loads with its trail verified against the store's head
    stored = load_case_from(s.store, "c1", None, s.context.organisations[MARKET])
    assert stored.case.trail.verify().ok


def test_withdraw_take_back_suspend_resume_urge_delegate(service: Service) -> None:  # noqa: F811
    s = service
    ok(s.deploy(), 201)
    ok(s.start("c2"), 201)
    ok(s.post("/api/v1/cases/c2/steps/accept/complete", {"actor": "wang"}))
    taken = ok(s.post("/api/v1/cases/c2/steps/accept/take-back", {"actor": "wang", "reason": "录入有误"}))
    assert (taken["ready"][0]["id"], taken["ready"][0]["assignee"]) == ("accept", "wang")
    urged = ok(s.post("/api/v1/cases/c2/steps/accept/urge", {"actor": "zhang", "note": "请尽快"}))
    assert urged["result"]["kind"] == "urge"
    delegated = ok(s.post("/api/v1/cases/c2/steps/accept/delegate", {"actor": "wang", "to": "chen", "reason": "代办"}))
    assert (delegated["ready"][0]["assignee"], delegated["ready"][0]["owner"]) == ("chen", "wang")
    paused = ok(s.post("/api/v1/cases/c2/suspend", {"actor": "zhang", "reason": "等待鉴定", "at": TUESDAY}))
    assert paused["status"] == "suspended"
    assert ok(s.post("/api/v1/cases/c2/resume", {"actor": "zhang", "at": WEDNESDAY}))["status"] == "running"
    ok(s.start("c3"), 201)
    gone = ok(s.post("/api/v1/cases/c3/withdraw", {"actor": "wang", "reason": "申请人撤回"}))
    assert (gone["status"], gone["outcome"], gone["ready"]) == ("withdrawn", "withdrawn", [])
    assert ok(s.get("/api/v1/cases/c3"))["status"] == "withdrawn"


REFUSALS = [
    ("complete by a reviewer", [], "steps/accept/complete", {"actor": "liu"}, "unauthorized"),
    ("transfer to a reviewer", [], "steps/accept/transfer", {"actor": "wang", "to": "liu", "reason": "r"},
     "unauthorized"),
    ("take back another's completion", [("steps/accept/complete", {"actor": "wang"})], "steps/accept/take-back",
     {"actor": "chen", "reason": "r"}, "take-back"),
    ("terminate by a clerk", [], "terminate", {"actor": "wang", "reason": "r", "basis": "b"}, "flow-authority"),
    ("unclaim what nobody holds", [], "steps/accept/unclaim", {"actor": "wang"}, "claimed"),
    ("a second outcome", [("outcome", {"actor": "li", "outcome": "approved"})], "outcome",
     {"actor": "li", "outcome": "denied", "reason": "r"}, "outcome"),
]  # fmt: skip


@pytest.mark.parametrize(("before", "path", "body", "rule"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_a_refusal_is_409_with_its_rule_ids_and_changes_nothing_but_the_trail(
    service: Service,  # noqa: F811
    before: list[tuple[str, dict[str, Any]]],
    path: str,
    body: dict[str, Any],
    rule: str,
) -> None:
    s = service
    ok(s.deploy(), 201)
    ok(s.start("c1"), 201)
    for p, b in before:
        ok(s.post(f"/api/v1/cases/c1/{p}", b))
    state, entries = snapshot(s, "c1")
    r = s.post(f"/api/v1/cases/c1/{path}", body)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert (problem["type"], problem["status"], problem["case"]) == ("/problems/refused", 409, "c1")
    assert rule in problem["rules"]
    assert any(f["rule"] == rule for f in problem["findings"])
    after, entries_after = snapshot(s, "c1")
    assert after == state  # nothing changed ...
    assert entries_after == entries + 1  # ... but the trail, which records the refused attempt
    last = ok(s.get("/api/v1/cases/c1/trail"))[-1]
    assert last["outcome"] == "refused"


def test_errors_are_problems_with_their_status(service: Service) -> None:  # noqa: F811
    s = service
    ok(s.deploy(), 201)
    ok(s.start("c1"), 201)
    state = snapshot(s, "c1")
    cases: list[tuple[Any, int, str]] = [
        (s.post("/api/v1/cases/c1/steps/decide/complete", {"actor": "li"}), 409, "/problems/not-ready"),
        (s.post("/api/v1/cases/nope/steps/accept/complete", {"actor": "wang"}), 404, "/problems/not-found"),
        (s.get("/api/v1/cases/nope"), 404, "/problems/not-found"),
        (s.get("/api/v1/processes/nothing/versions"), 404, "/problems/not-found"),
        (s.post("/api/v1/cases", {"process": "nothing"}), 404, "/problems/not-found"),
        (s.post("/api/v1/cases/c1/steps/accept/complete", {"actor": "wang", "at": "2026-03-02T09:00:00"}), 422,
         "/problems/invalid-input"),  # a moment without an offset
        (s.post("/api/v1/cases/c1/steps/accept/complete", {"actor": "nobody"}), 422, "/problems/invalid-input"),
        (s.post("/api/v1/cases/c1/steps/accept/complete", {"actor": "wang", "colour": "red"}), 422,
         "/problems/invalid-input"),  # an unknown field
        (s.post("/api/v1/cases/c1/outcome", {"actor": "li", "outcome": "maybe"}), 422, "/problems/invalid-input"),
        (s.get("/api/v1/supervision/cards", params={"at": "yesterday"}), 422, "/problems/invalid-input"),
        (s.start("c1"), 409, "/problems/conflict"),  # the id is taken
    ]  # fmt: skip
    for response, status, kind in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert (body["type"], body["status"]) == (kind, status)
        assert body["title"] and body["detail"]
    assert snapshot(s, "c1") == state


def test_a_conflict_is_409_reload_and_retry(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    s = service
    ok(s.deploy(), 201)
    ok(s.start("c1"), 201)
    state = snapshot(s, "c1")

    def saved_meanwhile(record: Any, *, expected: int) -> Any:
        raise ConflictError("the case was saved by someone else; reload it and try again", case=record.id)

    monkeypatch.setattr(s.store, "update", saved_meanwhile)
    r = s.post("/api/v1/cases/c1/steps/accept/complete", {"actor": "wang"})
    monkeypatch.undo()
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/conflict"
    assert "retry" in r.json()["detail"]
    assert snapshot(s, "c1") == state


def test_deploy_refuses_a_bad_document_and_takes_several_as_json(service: Service) -> None:  # noqa: F811
    s = service
    bad = s.deploy("<definitions/>")
    assert bad.status_code == 422
    assert bad.json()["type"] == "/problems/invalid-definition"
    assert ok(s.get("/api/v1/processes")) == []  # nothing was written
    from .registry_support import permit

    docs = {"documents": [{"name": "permit.bpmn", "content": permit(promised=12)}]}
    [d] = ok(s.post("/api/v1/processes", docs), 201)
    assert (d["process"], d["version"], d["file"]) == ("permit", 1, "permit.bpmn")
    path_name = s.post("/api/v1/processes", {"documents": [{"name": "../x.bpmn", "content": permit()}]})
    assert path_name.status_code == 422
    again = ok(s.deploy(permit(promised=15)), 201)
    assert [x["version"] for x in again] == [2]


def test_the_openapi_document_lists_every_route_and_is_openapi_3(service: Service) -> None:  # noqa: F811
    doc = service.client.get("/openapi.json").json()  # served without a key
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "approvalflow" and doc["info"]["version"]
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 30
    for route in routes:
        assert route.path in doc["paths"], route.path
        for method in route.methods or set():
            operation = doc["paths"][route.path][method.lower()]
            assert operation["summary"] and operation["operationId"]
            assert "401" in operation["responses"] and "403" in operation["responses"]
            if method == "POST" and "/cases/{case_id}/" in route.path:
                assert "409" in operation["responses"]
                assert "application/json" in operation["requestBody"]["content"]
    schemas = doc["components"]["schemas"]
    assert {"Problem", "CaseDetail", "OperationResult", "CompleteBody"} <= set(schemas)

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return ([node["$ref"]] if "$ref" in node else []) + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(doc):  # every reference resolves
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    deploy = doc["paths"]["/api/v1/processes"]["post"]["requestBody"]["content"]
    assert {"application/xml", "application/json"} <= set(deploy)


def test_the_console_router_is_served_when_its_module_is_there(
    service: Service,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys
    import types

    from fastapi import APIRouter

    from approvalflow.service.app import create_app

    pages = APIRouter(prefix="/console")

    @pages.get("")
    def page() -> dict[str, bool]:
        return {"console": True}

    fake = types.ModuleType("approvalflow.service.console")
    fake.router = pages  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "approvalflow.service.console", fake)
    with_console = TestClient(create_app(service.context))
    assert with_console.get("/console").json() == {"console": True}
    assert with_console.get("/", follow_redirects=False).headers["location"] == "/console"
    without = TestClient(create_app(service.context, console=False))
    assert without.get("/console").status_code == 404


def test_deploy_as_json_keeps_the_files_a_call_activity_uses(service: Service) -> None:  # noqa: F811
    from .conftest import DATA

    folder = DATA / "calls"
    docs = [{"name": n, "content": (folder / n).read_text(encoding="utf-8")} for n in ("main.bpmn", "hearing.bpmn")]
    alone = service.post("/api/v1/processes", {"documents": docs})  # hearing.bpmn is no process on its own
    assert (alone.status_code, alone.json()["element"]) == (422, "preside")
    [main] = ok(service.post("/api/v1/processes", {"documents": docs, "deploy": ["main.bpmn"]}), 201)
    assert (main["process"], main["files"]) == ("main_process", ["main.bpmn", "hearing.bpmn"])
    from approvalflow.store.registry import stored_definition

    kept = stored_definition(service.store, "main_process")  # loads back from the stored bytes alone
    assert kept.digest == main["digest"]


def test_the_guide_lists_every_route() -> None:
    from .conftest import ROOT

    page = (ROOT / "docs" / "service.md").read_text(encoding="utf-8")
    for route in router.routes:
        assert isinstance(route, APIRoute)
        path = route.path.replace("{case_id}", "{case}")
        for method in route.methods or set():
            assert f"`{method} {path}" in page, f"{method} {path} is not in docs/service.md"


def test_deadlines_counted_from_the_law_are_shown_provisional(service: Service) -> None:  # noqa: F811
    s = service
    ok(s.deploy(), 201)
    # Monday 21 December 2026: 2026 has 8 working days left (22-25, 28-31 December), so the 10 promised working days
    # end in January 2027, a year whose official arrangement is not published: counted from the law, provisional
    s.clock.to("2026-12-21T09:00:00+08:00")
    detail = ok(s.start("c-dec"), 201)
    assert detail["deadlines"]["promised"].startswith("2027-01")
    assert detail["deadlines"]["provisional"] == [2027]
    again = ok(s.get("/api/v1/cases/c-dec", params={"at": "2027-02-26T09:00:00+08:00"}))
    assert again["cards"] and again["deadlines"]["provisional"] == [2027]
    swept = ok(s.get("/api/v1/supervision/cards", params={"at": "2027-02-26T09:00:00+08:00"}))
    assert swept["cards"] and all(c["provisional"] == [2027] for c in swept["cards"])


def test_a_damaged_stored_case_is_a_500_problem_never_a_traceback(service: Service) -> None:  # noqa: F811
    from dataclasses import replace

    s = service
    ok(s.deploy(), 201)
    ok(s.start("c1"), 201)
    record = s.store.get("c1")
    s.store._cases["c1"] = replace(record, state='{"version": 4}')  # type: ignore[attr-defined]
    r = s.get("/api/v1/cases/c1")
    assert r.status_code == 500
    assert r.json()["type"] == "/problems/store"
    assert "case c1" in r.json()["detail"]  # names the case
    assert "Traceback" not in r.text


def test_signals_and_messages_are_delivered_over_http(tmp_path: Any) -> None:
    """tests/data/events/notice.bpmn: after 受理 the case waits for the signal ``published``, then for the message
    ``reply`` whose ``agrees`` routes it to 决定."""
    from approvalflow import FakeClock, load_organisation
    from approvalflow.service.app import create_app
    from approvalflow.service.context import ServiceContext
    from approvalflow.store.keys import create_key
    from approvalflow.store.memory import MemoryStore

    from .conftest import DATA

    store, unit = MemoryStore(), "natural-resources-bureau"
    org = load_organisation(DATA / "cross_unit" / "org.yaml")
    context = ServiceContext(store, dict.fromkeys(org.units, org), clock=FakeClock("2026-06-01T09:00:00+08:00"))
    headers = {"Authorization": "Bearer " + create_key(store, "platform", unit=unit)[1]}
    client = TestClient(create_app(context, console=False))
    bpmn = (DATA / "events" / "notice.bpmn").read_bytes()
    deployed = client.post("/api/v1/processes?name=notice.bpmn", content=bpmn,
                           headers={**headers, "Content-Type": "application/xml"})  # fmt: skip
    assert deployed.status_code == 201
    assert client.post("/api/v1/cases", json={"process": "notice", "case_id": "n1"}, headers=headers).status_code == 201
    body = {"actor": "nr_qian", "at": "2026-06-01T10:00:00+08:00"}
    assert client.post("/api/v1/cases/n1/steps/accept/complete", json=body, headers=headers).status_code == 200
    early = client.post("/api/v1/cases/n1/messages", json={"name": "reply", "data": {"agrees": True}}, headers=headers)
    assert (early.status_code, early.json()["type"]) == (409, "/problems/not-ready")  # waits for the signal first
    signal = client.post("/api/v1/cases/n1/signals", headers=headers,
                         json={"name": "published", "actor": "nr_qian", "at": "2026-06-02T10:00:00+08:00"})  # fmt: skip
    assert (signal.status_code, signal.json()["result"]) == (200, ["wait_published"])
    waits = client.get("/api/v1/cases/n1", headers=headers).json()["waiting_for"]
    assert sorted(waits) == [["message", "reply", "wait_answer"], ["signal", "withdrawn", "wait_answer"]]
    reply = client.post("/api/v1/cases/n1/messages", headers=headers,
                        json={"name": "reply", "data": {"agrees": True}, "at": "2026-06-03T10:00:00+08:00"})  # fmt: skip
    assert reply.status_code == 200
    assert [r["id"] for r in reply.json()["ready"]] == ["decide"]


def test_add_and_remove_signers_of_a_countersign_over_http(tmp_path: Any) -> None:
    """The 会签 of tests/test_countersign.py (专家评审 by li, zhao and sun); qian declared a conflict with the
    applicant 宏达公司 (回避)."""
    from approvalflow import FakeClock, load_organisation
    from approvalflow.service.app import create_app
    from approvalflow.service.context import ServiceContext
    from approvalflow.store.keys import create_key
    from approvalflow.store.memory import MemoryStore

    from .test_countersign import DATA as COUNTERSIGN
    from .test_countersign import START, model

    store = MemoryStore()
    org = load_organisation(COUNTERSIGN / "org.yaml")
    context = ServiceContext(store, {"bureau": org}, clock=FakeClock(START))
    headers = {"Authorization": "Bearer " + create_key(store, "platform", unit="bureau")[1]}
    client = TestClient(create_app(context, console=False))
    text = model('<af:countersign mode="all" signers="li zhao sun"/>')
    assert client.post("/api/v1/processes?name=review.bpmn", content=text.encode(),
                       headers={**headers, "Content-Type": "application/xml"}).status_code == 201  # fmt: skip
    started = client.post("/api/v1/cases", headers=headers,
                          json={"process": "review_process", "case_id": "r1", "data": {"applicant": "宏达公司"}})  # fmt: skip
    assert started.status_code == 201

    def post(path: str, body: dict[str, Any]) -> Any:
        return client.post(f"/api/v1/cases/r1/{path}", json=body, headers=headers)

    assert post("steps/receive/complete", {"actor": "clerk"}).status_code == 200
    added = post("steps/expert_review/add-signer", {"actor": "li", "person": "chief", "reason": "需要财务专家"})
    assert added.status_code == 200
    assert sorted(r["assignee"] for r in added.json()["ready"]) == ["chief", "li", "sun", "zhao"]
    conflict = post("steps/expert_review/add-signer", {"actor": "li", "person": "qian", "reason": "r"})
    assert (conflict.status_code, conflict.json()["rules"]) == (409, ["recusal"])
    removed = post("steps/expert_review/remove-signer", {"actor": "li", "person": "sun", "reason": "出差"})
    assert sorted(r["assignee"] for r in removed.json()["ready"]) == ["chief", "li", "zhao"]
    for expert in ("li", "zhao"):
        assert post("steps/expert_review/complete", {"actor": expert, "opinion": "同意"}).status_code == 200
    last = post("steps/expert_review/complete", {"actor": "chief", "opinion": "agree", "comment": "同意"})
    assert last.status_code == 200
    detail = client.get("/api/v1/cases/r1", headers=headers).json()
    assert detail["data"]["expert_review_passed"] is True
    assert "expert_review" not in [r["id"] for r in detail["ready"]]


def test_notice_and_supplement_over_http(tmp_path: Any) -> None:
    """The licence process of tests/test_materials.py: 申请书 and 营业执照 required of the process, 场地平面图 of 受理."""
    from approvalflow import FakeClock, load_organisation
    from approvalflow.service.app import create_app
    from approvalflow.service.context import ServiceContext
    from approvalflow.store.keys import create_key
    from approvalflow.store.memory import MemoryStore

    from .test_materials import DATA as MATERIALS
    from .test_materials import PROCESS_MATERIALS, START, STEP_MATERIALS, TEMPLATE, material

    store = MemoryStore()
    context = ServiceContext(store, {"bureau": load_organisation(MATERIALS / "org.yaml")}, clock=FakeClock(START))
    headers = {"Authorization": "Bearer " + create_key(store, "platform", unit="bureau")[1]}
    client = TestClient(create_app(context, console=False))
    text = TEMPLATE.format(process=PROCESS_MATERIALS, step=STEP_MATERIALS)
    assert client.post("/api/v1/processes?name=licence.bpmn", content=text.encode(),
                       headers={**headers, "Content-Type": "application/xml"}).status_code == 201  # fmt: skip
    body = {"process": "licence", "case_id": "m1", "data": {"applicant": "张三"}}
    assert client.post("/api/v1/cases", json=body, headers=headers).status_code == 201

    def post(path: str, body: dict[str, Any]) -> Any:
        return client.post(f"/api/v1/cases/m1/{path}", json=body, headers=headers)

    first = post("supplement", {"actor": "张三", "materials": [material("application_form", "申请书.pdf")]})
    assert first.status_code == 200
    notice = post("notify-missing", {"actor": "clerk", "step": "accept", "text": "请补正"})
    assert notice.status_code == 200
    again = post("notify-missing", {"actor": "clerk", "step": "accept"})  # 一次告知: one notice a round
    assert (again.status_code, again.json()["rules"]) == (409, ["once"])
    partly = post("supplement", {"actor": "张三", "materials": [material("business_license")]})
    assert [f["rule"] for f in partly.json()["findings"]] == ["supplement-incomplete"]  # a warning, not a refusal
    entries = client.get("/api/v1/cases/m1/trail", headers=headers).json()
    assert [e["action"] for e in entries[-4:]] == ["supplement", "notify-missing", "notify-missing", "supplement"]
    assert entries[-2]["outcome"] == "refused"


def test_check_parties_and_evaluate_over_http(service: Service) -> None:  # noqa: F811
    s = service
    ok(s.deploy(), 201)
    ok(s.start("c1", data={"applicant": "某餐饮有限公司"}), 201)
    # may liu (a reviewer) do accept (a clerk's step)? No: unauthorized; may wang? Yes. Nothing changes.
    before = snapshot(s, "c1")
    no = ok(s.get("/api/v1/cases/c1/steps/accept/check", params={"actor": "liu"}))
    assert no["allowed"] is False and [f["rule"] for f in no["findings"]] == ["unauthorized"]
    yes = ok(s.get("/api/v1/cases/c1/steps/accept/check", params={"actor": "wang"}))
    assert yes["allowed"] is True and yes["findings"] == []
    assert snapshot(s, "c1") == before
    assert s.get("/api/v1/cases/c1/steps/accept/check", params={"actor": "tx_wang"}).status_code == 403
    # liu declared a conflict with 某建筑工程有限公司 (tests/data/market_bureau.yaml): once it is a party of the
    # case, liu may no longer do the review (回避)
    ok(s.post("/api/v1/cases/c1/steps/accept/complete", {"actor": "wang"}))
    ok(s.post("/api/v1/cases/c1/parties", {"actor": "wang", "parties": ["某建筑工程有限公司"], "reason": "补充第三人"}))
    recused = ok(s.get("/api/v1/cases/c1/steps/review/check", params={"actor": "liu"}))
    assert recused["allowed"] is False and [f["rule"] for f in recused["findings"]] == ["recusal"]
    ok(s.post("/api/v1/cases/c1/steps/review/complete", {"actor": "zhou"}))
    # 好差评 only once the case is completed; a 差评 opens its 整改 case in the same store
    early = s.post("/api/v1/cases/c1/evaluate", {"actor": "某餐饮有限公司", "grade": "满意"})
    assert early.status_code == 409 and "case-status" in early.json()["rules"]
    ok(s.post("/api/v1/cases/c1/steps/decide/complete", {"actor": "li"}))
    rated = ok(s.post("/api/v1/cases/c1/evaluate", {"actor": "某餐饮有限公司", "grade": "不满意", "text": "等待太久"}))
    opened = rated["result"]["rectification"]
    assert rated["result"]["evaluation"]["grade"] and opened and s.store.get(opened).status == "open"
    assert s.post("/api/v1/cases/c1/evaluate", {"actor": "某餐饮有限公司", "grade": "满意"}).status_code == 409
    assert s.post("/api/v1/cases/c1/evaluate", {"actor": "x", "grade": "满意"}, who="supervisor").status_code == 403
