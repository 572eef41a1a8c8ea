"""Writes over HTTP retry optimistic-version conflicts (issue 19): another request or serve process saving the case
between this request's read and its save is met by reading the case again and applying the operation again, at most
``WRITE_ATTEMPTS`` times; a refusal under the rules is never retried; after the last conflict the answer is 409
``conflict`` and nothing changed.

The concurrent tests run two applications, each over its own connection to one store (SQLite file, PostgreSQL),
as two ``serve`` processes would: their locks do not serialise each other, so their writes of one case really
conflict in the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from approvalflow.service import api
from approvalflow.service.app import create_app
from approvalflow.service.context import ServiceContext
from approvalflow.store.base import CaseStore, ConflictError
from approvalflow.store.cases import load_case_from
from approvalflow.store.factory import open_store

from .service_support import MARKET, Service, TestClient, make_service, service  # noqa: F401  (fixtures)
from .store_support import PG_SKIP, PG_URL


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def trail_actions(s: Service, case_id: str, *, refused: bool = True) -> list[str]:
    """The actions of the case's trail (verified), without the refused attempts unless ``refused``."""
    stored = load_case_from(s.store, case_id, None, s.context.organisations[MARKET])
    assert stored.case.trail.verify().ok
    return [e["action"] for e in stored.case.trail.entries if refused or e.get("outcome") != "refused"]


def _update_failing(store: CaseStore, times: int) -> tuple[Callable[..., Any], list[int]]:
    """A replacement of ``store.update`` raising a conflict the first ``times`` calls, then saving; its calls."""
    real = store.update
    calls: list[int] = []

    def update(record: Any, *, expected: int) -> Any:
        calls.append(expected)
        if len(calls) <= times:
            raise ConflictError("saved by another writer meanwhile", case=record.id)
        return real(record, expected=expected)

    return update, calls


def test_a_conflict_is_retried_and_the_operation_applied_once(
    service: Service,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = service
    ok(s.deploy(), 201)
    ok(s.start("c1"), 201)
    update, calls = _update_failing(s.store, api.WRITE_ATTEMPTS - 1)
    monkeypatch.setattr(s.store, "update", update)
    done = ok(s.post("/api/v1/cases/c1/steps/accept/complete", {"actor": "wang"}))
    monkeypatch.undo()
    assert len(calls) == api.WRITE_ATTEMPTS  # two conflicts, then the save
    assert [r["id"] for r in done["ready"]] == ["review"]
    assert done["store_version"] == 2  # started at 1, saved once
    assert trail_actions(s, "c1").count("complete") == 1


def test_after_the_last_conflict_409_and_nothing_changed(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    s = service
    ok(s.deploy(), 201)
    ok(s.start("c1"), 201)
    before = trail_actions(s, "c1")
    update, calls = _update_failing(s.store, 10**6)
    monkeypatch.setattr(s.store, "update", update)
    r = s.post("/api/v1/cases/c1/steps/accept/claim", {"actor": "wang"})
    monkeypatch.undo()
    assert len(calls) == api.WRITE_ATTEMPTS
    assert (r.status_code, r.headers["content-type"]) == (409, "application/problem+json")
    body = r.json()
    assert (body["type"], body["case"]) == ("/problems/conflict", "c1")
    assert "changed concurrently" in body["detail"] and "nothing was changed" in body["detail"]
    assert trail_actions(s, "c1") == before
    assert ok(s.get("/api/v1/cases/c1"))["store_version"] == 1


def test_a_refusal_is_not_retried(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    s = service
    ok(s.deploy(), 201)
    ok(s.start("c1"), 201)
    import approvalflow.store.cases as cases

    real, loads = cases.load_case_from, []

    def counting(*args: Any, **kw: Any) -> Any:
        loads.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(cases, "load_case_from", counting)
    refused = s.post("/api/v1/cases/c1/steps/accept/complete", {"actor": "liu"})  # a reviewer, not a clerk
    monkeypatch.undo()
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/refused"
    assert loads == ["c1"]  # read once, refused once
    assert trail_actions(s, "c1").count("complete") == 1  # the refused attempt, recorded once


# -- two applications over one store -----------------------------------------------------------------------------------
def _backends() -> list[Any]:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason=PG_SKIP))]


@pytest.fixture(params=_backends())
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Service, ServiceContext]]:
    """A service, and a second context over its own connection to the same store (a second serve process)."""
    s = make_service(request.param, tmp_path)
    other = open_store(tmp_path / "cases.db") if request.param == "sqlite" else open_store(PG_URL or "")
    second = ServiceContext(other, s.context.organisations, clock=s.context.clock)
    yield s, second
    other.close()
    s.store.close()


def _hammer(apps: list[Any], headers: dict[str, str], requests: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Send the requests at once, one thread each, request k to app k % len(apps); the responses, in order."""
    out: list[Any] = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def run(k: int) -> None:
        client = TestClient(apps[k % len(apps)], raise_server_exceptions=False)
        start.wait()
        path, body = requests[k]
        out[k] = client.post(path, json=body, headers=headers)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(r is not None for r in out)
    return out


def test_concurrent_writes_of_one_case_from_two_workers_lose_nothing(pair: tuple[Service, ServiceContext]) -> None:
    s, second = pair
    ok(s.deploy(), 201)
    ok(s.start("c1"), 201)
    apps = [s.client.app, create_app(second, console=False)]
    urges = [("/api/v1/cases/c1/steps/accept/urge", {"actor": "zhang", "note": f"催办 {k}"}) for k in range(12)]
    answers = _hammer(apps, s.auth("market"), urges)
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {200, 409}, [r.text for r in answers if r.status_code not in (200, 409)]
    assert all(r.json()["type"] == "/problems/conflict" for r in answers if r.status_code == 409)
    assert statuses.count(200) >= 2  # both workers got writes through
    # every answered 200 is in the trail once, nothing else is: nothing lost, nothing doubled
    notes = sorted(r.json()["result"]["note"] for r in answers if r.status_code == 200)
    stored = load_case_from(s.store, "c1", None, s.context.organisations[MARKET])
    assert stored.case.trail.verify().ok
    assert sorted(e["data"]["note"] for e in stored.case.trail.entries if e["action"] == "urge") == notes
    assert stored.version == 1 + len(notes)


def test_concurrent_completions_of_one_step_do_it_once(pair: tuple[Service, ServiceContext]) -> None:
    s, second = pair
    ok(s.deploy(), 201)
    ok(s.start("c1"), 201)
    apps = [s.client.app, create_app(second, console=False)]
    answers = _hammer(apps, s.auth("market"), [("/api/v1/cases/c1/steps/accept/complete", {"actor": "wang"})] * 6)
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [409] * 5, [r.text for r in answers]
    # the others found the step done when they read the case again: not ready any more (or a conflict at the last)
    assert {r.json()["type"] for r in answers if r.status_code == 409} <= {"/problems/not-ready", "/problems/conflict"}
    detail = ok(s.get("/api/v1/cases/c1"))
    assert (detail["path"], [r["id"] for r in detail["ready"]]) == (["accept"], ["review"])
    assert trail_actions(s, "c1").count("complete") == 1


def test_concurrent_claims_one_wins(pair: tuple[Service, ServiceContext]) -> None:
    s, second = pair
    ok(s.deploy(), 201)
    ok(s.start("c1"), 201)
    apps = [s.client.app, create_app(second, console=False)]
    claims = [("/api/v1/cases/c1/steps/accept/claim", {"actor": who}) for who in ("wang", "chen") * 3]
    answers = _hammer(apps, s.auth("market"), claims)
    won = [r for r in answers if r.status_code == 200]
    assert len(won) >= 1 and all(r.status_code in (200, 409) for r in answers), [r.text for r in answers]
    assert all(r.json()["type"] in ("/problems/refused", "/problems/conflict") for r in answers if r.status_code == 409)
    holder = ok(s.get("/api/v1/cases/c1"))["ready"][0]["assignee"]
    # the holder's own repeated claim may be answered 200 (nothing to do) but never another person's after it
    assert {r.json()["ready"][0]["assignee"] for r in won} == {holder}
    assert trail_actions(s, "c1", refused=False).count("claim") == 1
    # every refused claim answered 409 is in the trail once, as a refused attempt
    refusals = sum(r.status_code == 409 and r.json()["type"] == "/problems/refused" for r in answers)
    assert trail_actions(s, "c1").count("claim") == 1 + refusals
