"""The service survives a dropped PostgreSQL connection (issue 19): a request that meets it is answered 503
``unavailable`` and the next one reconnects; the timer loop (``serve --tick``) logs it, reconnects after a backoff and
goes on, so a timer due afterwards still fires once.

The connection is dropped as a server restart or an administrator would: ``pg_terminate_backend`` on every other
backend of the test database (``current_database()``: only the database APPROVALFLOW_TEST_POSTGRES names).

Model of the ticker test: ``tests/data/timers/review.bpmn`` (see ``tests/test_service_workers.py``): ``accept`` done
at 09:00 on Tuesday 29 September 2026 starts the boundary timer ``remind`` of ``review``, due 4 hours later, at
13:00. The clock stands at 12:00 (nothing due) while the connection is dropped, then at 15:00 (``remind`` due;
``overdue`` is 5 working days away).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.service.context import ServiceContext
from approvalflow.service.ticker import Ticker
from approvalflow.store import add_case, load_case_from
from approvalflow.store.base import StoreUnavailable

from .service_support import MARKET, Service, make_service
from .store_support import PG_SKIP, PG_URL, fresh_postgres

pytestmark = pytest.mark.skipif(not PG_URL, reason=PG_SKIP)

DATA = Path(__file__).parent / "data"
CST = "+08:00"


def drop_connections() -> int:
    """Terminate every other backend of the test database; how many."""
    import psycopg

    assert PG_URL
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return sum(bool(r[0]) for r in rows)


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def pg_service(tmp_path: Path) -> Iterator[Service]:
    made = make_service("postgres", tmp_path)
    yield made
    made.store.close()


def test_a_request_meeting_a_dropped_connection_is_503_and_the_next_reconnects(pg_service: Service) -> None:
    s = pg_service
    assert s.deploy().status_code == 201
    assert s.start("c1").status_code == 201
    assert drop_connections() >= 1

    lost = s.get("/api/v1/cases/c1")
    assert (lost.status_code, lost.headers["content-type"]) == (503, "application/problem+json")
    assert lost.headers["retry-after"] == "1"
    assert lost.json()["type"] == "/problems/unavailable"
    assert "connection" in lost.json()["detail"]
    again = s.get("/api/v1/cases/c1")
    assert again.status_code == 200, again.text
    assert again.json()["ready"][0]["id"] == "accept"

    # a write: the dropped connection is met, nothing is done; the next write reconnects and is done once
    assert drop_connections() >= 1
    first = s.post("/api/v1/cases/c1/steps/accept/complete", {"actor": "wang"})
    assert first.status_code == 503, first.text
    done = s.post("/api/v1/cases/c1/steps/accept/complete", {"actor": "wang"})
    assert done.status_code == 200, done.text
    stored = load_case_from(s.store, "c1", None, s.context.organisations[MARKET])
    assert stored.case.path == ["accept"]
    assert [e["action"] for e in stored.case.trail.entries].count("complete") == 1


def test_the_store_reconnects_after_a_dropped_connection_and_backs_off_while_unreachable() -> None:
    from approvalflow.store.postgres import PostgresStore

    assert PG_URL
    store = PostgresStore(PG_URL)
    try:
        stored = store.count()
        assert drop_connections() >= 1
        with pytest.raises(StoreUnavailable, match="connection to the case store's database was lost"):
            store.count()
        assert store.count() == stored  # reconnected
        # a server that cannot be reached: the attempt fails, and the next one within the backoff fails at once
        store._secret_url = "postgresql://nobody@127.0.0.1:1/nothing"  # a port nobody listens on
        assert drop_connections() >= 1
        with pytest.raises(StoreUnavailable):
            store.count()  # meets the dropped connection
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            store.count()  # tries to reconnect: refused
        began = time.monotonic()
        with pytest.raises(StoreUnavailable, match="next attempt to reconnect is in"):
            store.count()  # within the backoff: no attempt
        assert time.monotonic() - began < 0.2
    finally:
        store.close()


def test_the_ticker_survives_a_dropped_connection_and_fires_a_due_timer_once(caplog: pytest.LogCaptureFixture) -> None:
    process = load_process(DATA / "timers" / "review.bpmn")
    org = load_organisation(DATA / "market_bureau.yaml")
    setup = fresh_postgres()
    case = start_case(process, org, clock=FakeClock(f"2026-09-28T09:00:00{CST}"), case_id="t1")
    case.complete("accept", "wang", at=f"2026-09-29T09:00:00{CST}")
    add_case(setup, case)
    setup.close()

    from approvalflow.store.postgres import PostgresStore

    assert PG_URL
    store = PostgresStore(PG_URL)
    clock = FakeClock(f"2026-09-29T12:00:00{CST}")  # remind is due at 13:00
    context = ServiceContext(store, {u: org for u in org.units}, clock=clock, processes=[process])
    ticker = Ticker(context, 0.05)
    caplog.set_level(logging.WARNING)
    ticker.start()
    try:
        assert wait_for(lambda: ticker.rounds >= 2)
        assert drop_connections() >= 1
        assert wait_for(lambda: ticker.failures >= 1)  # the next round met the dropped connection
        clock.to(f"2026-09-29T15:00:00{CST}")
        reader = PostgresStore(PG_URL)
        try:

            def timers() -> list[str]:
                stored = load_case_from(reader, "t1", process, org)
                return [e["data"]["timer"] for e in stored.case.trail.entries if e["action"] == "timer"]

            assert wait_for(lambda: timers() != [])
            rounds = ticker.rounds
            assert wait_for(lambda: ticker.rounds >= rounds + 3)  # more rounds: nothing fires twice
            assert timers() == ["remind"]
            assert reader.timers_due(clock.now()) == []
        finally:
            reader.close()
        assert ticker.is_alive() and ticker.failures == 0
    finally:
        ticker.stop()
        store.close()
    logged = [r.getMessage() for r in caplog.records if r.name == "approvalflow.service.ticker"]
    assert any("cannot be reached" in m and "reconnecting" in m for m in logged), logged
    assert any("go on after" in m for m in logged), logged


def test_reads_run_in_one_repeatable_read_snapshot_and_writes_at_read_committed() -> None:
    """A read's transaction starts in one statement (BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY); a write's
    is at the server's default again."""
    from approvalflow.store.postgres import PostgresStore

    assert PG_URL
    store = PostgresStore(PG_URL)
    try:
        for _ in range(2):  # a read after a write after a read
            with store._read() as cur:
                cur.execute("SHOW transaction_isolation")
                isolation = cur.fetchone()
                cur.execute("SHOW transaction_read_only")
                assert (isolation, cur.fetchone()) == (("repeatable read",), ("on",))
            with store._tx() as cur:
                cur.execute("SHOW transaction_isolation")
                isolation = cur.fetchone()
                cur.execute("SHOW transaction_read_only")
                assert (isolation, cur.fetchone()) == (("read committed",), ("off",))
    finally:
        store.close()
