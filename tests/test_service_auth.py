"""Who may do what over HTTP: 401 without a valid key, 403 for every cross-unit read and write and each missing
scope, and nothing changed either way; the keys kept hashed; ``approvalflow keys``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from approvalflow.cli.main import main
from approvalflow.store.factory import open_store
from approvalflow.store.keys import authenticate, create_key, list_keys, revoke_key

from .service_support import TAX, Service, service  # noqa: F401  (fixture)

ATTACHMENT = {"name": "a.pdf", "media_type": "application/pdf", "size": 1, "sha256": "cd" * 32}

#: Every write on a case, with a body valid for the market bureau's platform (its people act).
CASE_WRITES: list[tuple[str, dict[str, Any]]] = [
    ("steps/accept/complete", {"actor": "wang"}),
    ("steps/accept/claim", {"actor": "wang"}),
    ("steps/accept/unclaim", {"actor": "wang"}),
    ("steps/accept/transfer", {"actor": "wang", "to": "chen", "reason": "r"}),
    ("steps/accept/delegate", {"actor": "wang", "to": "chen", "reason": "r"}),
    ("steps/accept/return", {"actor": "wang", "reason": "r"}),
    ("steps/accept/take-back", {"actor": "wang", "reason": "r"}),
    ("steps/accept/add-signer", {"actor": "wang", "person": "chen", "reason": "r"}),
    ("steps/accept/remove-signer", {"actor": "wang", "person": "chen", "reason": "r"}),
    ("steps/accept/urge", {"actor": "wang"}),
    ("withdraw", {"actor": "wang", "reason": "r"}),
    ("terminate", {"actor": "zhang", "reason": "r", "basis": "b"}),
    ("suspend", {"actor": "zhang", "reason": "r"}),
    ("resume", {"actor": "zhang"}),
    ("outcome", {"actor": "zhang", "outcome": "approved"}),
    ("cc", {"actor": "wang", "to": ["chen"]}),
    ("notify-missing", {"actor": "wang"}),
    ("supplement", {"actor": "wang", "materials": [ATTACHMENT]}),
    ("signals", {"name": "paid", "actor": "wang"}),
    ("messages", {"name": "paid", "actor": "wang"}),
]
CASE_READS = ["/api/v1/cases/c1", "/api/v1/cases/c1/ready", "/api/v1/cases/c1/trail"]
LIST_READS = [
    "/api/v1/processes",
    "/api/v1/processes/permit/versions",
    "/api/v1/people/wang/todo",
    "/api/v1/people/wang/done",
    "/api/v1/supervision/cards",
    "/api/v1/supervision/efficiency",
    "/api/v1/supervision/event-log",
]
WRITE_IDS = [p for p, _ in CASE_WRITES]


@pytest.fixture
def s(service: Service) -> Service:  # noqa: F811
    """A store with the permit process deployed and case c1 of the market bureau started."""
    assert service.deploy().status_code == 201
    assert service.start("c1", data={"applicant": "某公司"}).status_code == 201
    return service


def stored(s: Service) -> tuple[int, str]:
    record = s.store.get("c1")
    return record.version, record.state


def forbidden(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/forbidden"


@pytest.mark.parametrize(("path", "body"), CASE_WRITES, ids=WRITE_IDS)
def test_every_write_on_another_units_case_is_403_and_changes_nothing(s: Service, path: str, body: Any) -> None:
    before = stored(s)
    forbidden(s.post(f"/api/v1/cases/c1/{path}", body, who="tax"))
    assert stored(s) == before


@pytest.mark.parametrize(("path", "body"), CASE_WRITES, ids=WRITE_IDS)
def test_a_supervisor_and_an_applicant_write_nothing(s: Service, path: str, body: Any) -> None:
    s.keys["applicant"] = s.applicant_key("c1")
    before = stored(s)
    for who in ("supervisor", "applicant"):
        forbidden(s.post(f"/api/v1/cases/c1/{path}", body, who=who))
    assert stored(s) == before


@pytest.mark.parametrize(("path", "body"), [(p, b) for p, b in CASE_WRITES if "actor" in b], ids=lambda v: str(v))
def test_a_platform_acts_only_for_the_people_of_its_unit(s: Service, path: str, body: Any) -> None:
    before = stored(s)
    forbidden(s.post(f"/api/v1/cases/c1/{path}", {**body, "actor": "tx_wang"}))
    for field in ("to", "person"):
        if field in body:
            other = ["tx_liu"] if isinstance(body[field], list) else "tx_liu"
            forbidden(s.post(f"/api/v1/cases/c1/{path}", {**body, field: other}))
    assert stored(s) == before


@pytest.mark.parametrize("path", CASE_READS)
def test_every_read_of_another_units_case_is_403(s: Service, path: str) -> None:
    forbidden(s.get(path, who="tax"))
    s.keys["applicant"] = s.applicant_key("c1")  # an applicant reads its case's status only
    forbidden(s.get(path, who="applicant"))
    assert s.get(path, who="supervisor").status_code == 200  # a supervisor reads every unit
    assert s.get(path).status_code == 200


@pytest.mark.parametrize("path", LIST_READS)
def test_an_applicant_reads_no_list_and_no_figures(s: Service, path: str) -> None:
    s.keys["applicant"] = s.applicant_key("c1")
    forbidden(s.get(path, who="applicant"))
    assert s.get(path, who="supervisor").status_code == 200


def test_starting_deploying_and_worklists_are_scoped(s: Service) -> None:
    forbidden(s.start("c9", unit=TAX))  # a market key starts cases of its own unit only
    forbidden(s.start("c9", who="supervisor"))
    forbidden(s.deploy(who="supervisor"))
    forbidden(s.get("/api/v1/people/wang/todo", who="tax"))  # wang is of the market bureau
    forbidden(s.get("/api/v1/people/wang/done", who="tax"))
    forbidden(s.get("/api/v1/people/nobody/todo"))
    assert s.store.ids() == ["c1"]


def test_supervision_figures_of_a_platform_are_its_units_only(s: Service) -> None:
    late = "2026-04-30T09:00:00+08:00"  # past every deadline of c1: red cards
    market = s.get("/api/v1/supervision/cards", params={"at": late}).json()
    assert {c["case"] for c in market["cards"]} == {"c1"} and market["open_cases"] == 1
    tax = s.get("/api/v1/supervision/cards", params={"at": late}, who="tax").json()
    assert (tax["cards"], tax["open_cases"]) == ([], 0)
    assert s.get("/api/v1/supervision/efficiency", who="tax").json()["total"]["received"] == 0
    assert s.get("/api/v1/supervision/efficiency").json()["total"]["received"] == 1
    log = s.get("/api/v1/supervision/event-log", params={"format": "csv", "open": "true"}, who="tax").text
    assert "c1" not in log
    assert "c1," in s.get("/api/v1/supervision/event-log", params={"format": "csv", "open": "true"}).text


def test_an_applicant_reads_the_status_of_its_own_case_only(s: Service) -> None:
    assert s.start("c2").status_code == 201
    key = s.applicant_key("c1")
    own = s.client.get("/api/v1/status/c1", headers={"Authorization": f"Bearer {key}"})
    assert own.status_code == 200
    assert (own.json()["status"], own.json()["steps"]) == ("running", ["accept"])
    assert "data" not in own.json() and "trail" not in own.json()  # the status, nothing else
    forbidden(s.client.get("/api/v1/status/c2", headers={"Authorization": f"Bearer {key}"}))
    forbidden(s.get("/api/v1/status/c1", who="tax"))


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-key", "Bearer af_0123456789abcdef_" + "0" * 64],
    ids=["none", "empty", "basic", "malformed", "unknown"],
)
def test_without_a_valid_key_every_route_is_401_and_changes_nothing(s: Service, header: str | None) -> None:
    before = stored(s)
    headers = {} if header is None else {"Authorization": header}
    for path, body in CASE_WRITES[:3]:
        r = s.client.post(f"/api/v1/cases/c1/{path}", json=body, headers=headers)
        assert r.status_code == 401, r.text
        assert r.json()["type"] == "/problems/unauthenticated"
        assert r.headers["www-authenticate"].startswith("Bearer")
    for path in [*CASE_READS, *LIST_READS, "/api/v1/status/c1"]:
        assert s.client.get(path, headers=headers).status_code == 401
    assert stored(s) == before


def test_a_revoked_key_is_401(s: Service) -> None:
    record, key = create_key(s.store, "platform", unit="market-bureau")
    headers = {"Authorization": f"Bearer {key}"}
    assert s.client.get("/api/v1/cases/c1", headers=headers).status_code == 200
    revoke_key(s.store, record.key_id)
    assert s.client.get("/api/v1/cases/c1", headers=headers).status_code == 401
    # a key differing in one digit of its secret is another key: refused
    assert s.client.get("/api/v1/cases/c1", headers={"Authorization": "Bearer " + s.keys["market"][:-1] + (
        "0" if s.keys["market"][-1] != "0" else "1")}).status_code == 401  # fmt: skip


def test_keys_are_kept_hashed_and_shown_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cases.db"
    open_store(db).close()
    assert main(["keys", "create", str(db), "--role", "platform", "--unit", "market-bureau", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    key = made["key"]
    assert key.startswith(f"af_{made['key_id']}_")
    assert main(["keys", "list", str(db), "--json"]) == 0
    listed = capsys.readouterr().out
    assert made["key_id"] in listed and key not in listed  # the key is never shown again
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key_id, hash, role, unit, case_id, revoked_at FROM af_keys").fetchall()
    [(key_id, digest, role, unit, case_id, revoked)] = rows
    assert (key_id, role, unit, case_id, revoked) == (made["key_id"], "platform", "market-bureau", None, None)
    assert key not in digest and len(digest) == 64  # SHA-256, hexadecimal
    store = open_store(db)
    try:
        found = authenticate(store, key)
        assert found is not None and found.unit == "market-bureau"
    finally:
        store.close()
    assert main(["keys", "revoke", str(db), made["key_id"]]) == 0
    assert "revoked" in capsys.readouterr().out
    store = open_store(db)
    try:
        assert authenticate(store, key) is None
        assert list_keys(store)[0].revoked_at is not None
    finally:
        store.close()
    assert main(["keys", "revoke", str(db), made["key_id"]]) == 2  # revoked already
    assert "revoked already" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "platform"], "names its unit"),
        (["--role", "supervisor", "--unit", "x"], "names no unit"),
        (["--role", "applicant"], "names its case"),
        (["--role", "platform", "--unit", " x"], "is an id"),
    ],
)
def test_keys_create_refuses_a_key_without_its_scope(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    db = tmp_path / "cases.db"
    open_store(db).close()
    assert main(["keys", "create", str(db), *args]) == 2
    assert message in capsys.readouterr().err
    store = open_store(db)
    try:
        assert list_keys(store) == []
    finally:
        store.close()


def test_keys_create_never_makes_a_new_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", str(tmp_path / "typo.db"), "--role", "supervisor"]) == 2
    assert "no such case store" in capsys.readouterr().err
    assert not (tmp_path / "typo.db").exists()


def test_a_store_made_before_the_keys_table_gets_it_when_opened_for_writing(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    open_store(db).close()
    with sqlite3.connect(db) as conn:  # what a store of this schema version looked like before af_keys
        conn.execute("DROP TABLE af_keys")
    store = open_store(db)
    try:
        record, key = create_key(store, "supervisor")
        assert authenticate(store, key) == record
    finally:
        store.close()
