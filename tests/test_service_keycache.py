"""The serve process's memory of verified API keys (:mod:`approvalflow.service.keycache`) and its worker threads.

A key verified a moment ago is not read from the store again; a key revoked by this process is refused at once; a
key revoked elsewhere (another process writing the store) is refused once its entry is older than ``seconds``; an
unknown key is never remembered.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import approvalflow.store.keys as keys
from approvalflow.service.app import create_app
from approvalflow.service.keycache import KeyCache

from .service_support import Service, TestClient, make_service


@pytest.fixture
def s(tmp_path: Path) -> Any:
    made = make_service("sqlite", tmp_path)
    yield made
    made.store.close()


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the store reads of keys (``authenticate``)."""
    real, calls = keys.authenticate, []

    def counted(store: Any, key: str) -> Any:
        calls.append(key)
        return real(store, key)

    monkeypatch.setattr(keys, "authenticate", counted)
    return calls


def test_a_verified_key_is_not_read_again(s: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    for _ in range(3):
        assert s.get("/api/v1/processes").status_code == 200
    assert len(calls) == 1
    assert s.get("/api/v1/processes", who="supervisor").status_code == 200
    assert len(calls) == 2  # another key: read once


def test_a_key_revoked_by_this_process_is_refused_at_once(s: Service) -> None:
    assert s.get("/api/v1/processes").status_code == 200  # remembered now
    key_id = s.keys["market"].split("_")[1]
    keys.revoke_key(s.store, key_id)
    r = s.get("/api/v1/processes")
    assert (r.status_code, r.json()["type"]) == (401, "/problems/unauthenticated")
    assert s.get("/api/v1/processes", who="supervisor").status_code == 200  # the others still work


def test_a_key_revoked_elsewhere_is_refused_after_the_memory_span(s: Service) -> None:
    s.context.keys = KeyCache(seconds=0.3)
    assert s.get("/api/v1/processes").status_code == 200
    key_id = s.keys["market"].split("_")[1]
    # another process revokes it: the store changes, this process's revocation count does not
    assert keys.keys_of(s.store).revoke(key_id, "2026-03-02T09:00:00+08:00")
    assert s.get("/api/v1/processes").status_code == 200  # within the span: still remembered
    time.sleep(0.35)
    assert s.get("/api/v1/processes").status_code == 401


def test_without_memory_every_request_reads_the_store(s: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    s.context.keys = KeyCache(seconds=0)
    calls = _counting(monkeypatch)
    for _ in range(3):
        assert s.get("/api/v1/processes").status_code == 200
    assert len(calls) == 3


def test_unknown_keys_are_never_remembered(s: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    wrong = {"Authorization": "Bearer af_0123456789abcdef_" + "0" * 64}
    for _ in range(2):
        assert s.client.get("/api/v1/processes", headers=wrong).status_code == 401
    assert len(calls) == 2


def test_the_memory_is_bounded_and_validated() -> None:
    record = keys.ApiKey("0123456789abcdef", "supervisor", None, None, "2026-03-02T09:00:00+08:00")
    cache = KeyCache(seconds=60, size=2)
    for n in range(3):
        cache.put(f"key-{n}", record, keys.revocations())
    assert cache.get("key-0") is None and cache.get("key-2") == record  # the oldest forgotten
    cache.put("stale", record, keys.revocations() - 1)  # verified before a revocation: never used
    assert cache.get("stale") is None
    cache.clear()
    assert cache.get("key-2") is None
    with pytest.raises(ValueError):
        KeyCache(seconds=-1)


def test_threads_bound_the_routes_worker_threads(s: Service) -> None:
    import anyio.to_thread

    s.context.threads = 1
    app = create_app(s.context, console=False)

    @app.get("/tokens")
    async def tokens() -> float:
        return float(anyio.to_thread.current_default_thread_limiter().total_tokens)

    with TestClient(app) as client:  # the lifespan runs
        assert client.get("/tokens").json() == 1
        assert client.get("/api/v1/processes", headers=s.auth("market")).status_code == 200


def test_serve_refuses_a_bad_thread_count(capsys: pytest.CaptureFixture[str]) -> None:
    from approvalflow.cli.main import main

    with pytest.raises(SystemExit) as stopped:
        main(["serve", "x.db", "--org", "o.yaml", "--threads", "0"])
    assert stopped.value.code == 2
    assert "a whole number of threads from 1 to 256" in capsys.readouterr().err


def test_definitions_are_remembered_by_digest_and_a_missing_one_is_not(
    s: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case added by a host on a definition it never deployed: served once ``processes`` or the registry has it
    (the context's memory of definitions never remembers that a digest was missing)."""
    from approvalflow import load_organisation
    from approvalflow.bpmn.loader import load_process_string
    from approvalflow.engine.case import start_case
    from approvalflow.store.cases import add_case

    from .conftest import MARKET_ORG
    from .registry_support import permit

    definition = load_process_string(permit())
    add_case(s.store, start_case(definition, load_organisation(MARKET_ORG), case_id="h1", clock=s.clock))
    missing = s.get("/api/v1/cases/h1")
    assert (missing.status_code, missing.json()["type"]) == (500, "/problems/store")
    assert "not deployed" in missing.json()["detail"]
    assert s.deploy().status_code == 201  # the same definition, deployed now
    assert s.get("/api/v1/cases/h1").status_code == 200
    assert s.context.definition(definition.digest) is not None
    # the same context serves it from memory now, without the registry
    import approvalflow.store.registry as registry

    def unreadable(*args: Any, **kw: Any) -> Any:
        raise AssertionError("read the registry again")

    monkeypatch.setattr(registry, "definition_of", unreadable)
    assert s.post("/api/v1/cases/h1/steps/accept/complete", {"actor": "wang"}).status_code == 200
