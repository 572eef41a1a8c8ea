"""Timers fired once across workers (issue 19, item 7): ``serve --tick`` and ``fire_due`` from several workers.

Model: ``tests/data/timers/review.bpmn`` (see ``tests/test_store_timers.py``): once ``accept`` is done, ``review``
has the non-interrupting boundary timer ``remind`` due 4 hours later. Every case below is accepted at 09:00 on
Tuesday 29 September 2026, so ``remind`` is due at 13:00 that day; the workers tick at 15:00, when it is due in every
case and nothing else is (``overdue`` is 5 working days away). Each firing appends one ``timer`` trail entry, so a
case fired twice would show two.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.cli.main import main
from approvalflow.org.organisation import Organisation
from approvalflow.service.context import ServiceContext
from approvalflow.service.ticker import Ticker, tick_once
from approvalflow.store import CaseStore, add_case, fire_due, load_case_from, open_store
from approvalflow.store.base import CaseRecord
from approvalflow.store.registry import deploy_sources
from approvalflow.store.timers import FiredCase

from .store_support import PG_SKIP, PG_URL, fresh_postgres

DATA = Path(__file__).parent / "data"
BPMN = DATA / "timers" / "review.bpmn"
ORG = DATA / "market_bureau.yaml"
CST = "+08:00"
ACCEPTED = f"2026-09-29T09:00:00{CST}"
TICK = f"2026-09-29T15:00:00{CST}"  # 'remind' due at 13:00 (09:00 + PT4H)
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def process() -> ProcessDefinition:
    return load_process(BPMN)


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(ORG)


def _fill(store: CaseStore, process: ProcessDefinition, org: Organisation, n: int) -> list[str]:
    ids = []
    for k in range(n):
        case = start_case(process, org, clock=FakeClock(f"2026-09-28T09:00:00{CST}"), case_id=f"w{k:03d}")
        case.complete("accept", "wang", at=ACCEPTED)
        add_case(store, case)
        ids.append(case.id)
    return ids


def _context(store: CaseStore, process: ProcessDefinition, org: Organisation) -> ServiceContext:
    return ServiceContext(store, {u: org for u in org.units}, clock=FakeClock(TICK), processes=[process])


def _timer_entries(store: CaseStore, case_id: str, process: ProcessDefinition, org: Organisation) -> list[str]:
    stored = load_case_from(store, case_id, process, org)  # the trail verifies against the store's head
    return [e["data"]["timer"] for e in stored.case.trail.entries if e["action"] == "timer"]


def _race(contexts: list[ServiceContext], rounds: int) -> list[list[FiredCase]]:
    """Each context ticks ``rounds`` times in its own thread, all starting together; what each round returned."""
    barrier = threading.Barrier(len(contexts))
    out: list[list[FiredCase]] = [[] for _ in contexts]
    failures: list[BaseException] = []

    def work(k: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(rounds):
                out[k].extend(tick_once(contexts[k]))
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(contexts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures, failures
    return out


def _check_fired_once(results: list[list[FiredCase]], ids: list[str], store: CaseStore, process: Any, org: Any) -> None:
    every = [r for worker in results for r in worker]
    assert [r for r in every if r.error is not None] == []  # losing a race is never an error
    fired = sorted(r.case for r in every if r.fired)
    assert fired == ids  # each case fired by exactly one worker, once
    assert all([f.element for f in r.fired] == ["remind"] for r in every if r.fired)
    for case_id in ids:
        assert _timer_entries(store, case_id, process, org) == ["remind"], case_id


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_two_workers_over_one_postgresql_fire_each_timer_once(process: ProcessDefinition, org: Organisation) -> None:
    from approvalflow.store.postgres import PostgresStore

    assert PG_URL
    setup = fresh_postgres()
    ids = _fill(setup, process, org, 80)
    stores = [PostgresStore(PG_URL), PostgresStore(PG_URL)]
    try:
        results = _race([_context(s, process, org) for s in stores], rounds=3)
        _check_fired_once(results, ids, setup, process, org)
        # both workers took part: SKIP LOCKED hands each the cases the other does not hold (not a proof of
        # parallelism on a loaded machine, hence only that the split is recorded, not its balance)
        assert sum(len([r for r in w if r.fired]) for w in results) == len(ids)
        record = setup.get(ids[0])
        assert record.version == 2  # added with accept done (version 1), then saved once by the one firing
    finally:
        for s in stores:
            s.close()
        setup.close()


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_a_claimed_case_is_skipped_by_the_other_worker_without_an_error(
    process: ProcessDefinition, org: Organisation
) -> None:
    from approvalflow.store.base import micros
    from approvalflow.store.postgres import PostgresStore
    from approvalflow.time.clock import parse_moment

    assert PG_URL
    setup = fresh_postgres()
    ids = _fill(setup, process, org, 3)
    holder, other = PostgresStore(PG_URL), PostgresStore(PG_URL)
    try:
        with holder.claim(ids[1], micros(parse_moment(TICK))) as held:
            assert held
            results = fire_due(other, TICK, [process], [org])  # does not wait for the lock: SKIP LOCKED
        assert [r.case for r in results] == [ids[0], ids[2]]
        assert all(r.error is None for r in results)
        assert _timer_entries(setup, ids[1], process, org) == []  # the holder fired nothing: still due
        assert [r.case for r in fire_due(other, TICK, [process], [org])] == [ids[1]]
        # nothing due any more: the claim says so without reading the case
        with holder.claim(ids[1], micros(parse_moment(TICK))) as held:
            assert not held
    finally:
        holder.close()
        other.close()
        setup.close()


def test_two_workers_over_one_sqlite_file_fire_each_timer_once(
    tmp_path: Path, process: ProcessDefinition, org: Organisation
) -> None:
    db = tmp_path / "cases.db"
    setup = open_store(db)
    ids = _fill(setup, process, org, 30)
    stores = [open_store(db), open_store(db)]
    try:
        results = _race([_context(s, process, org) for s in stores], rounds=2)
        every = [r for w in results for r in w]
        assert [r for r in every if r.error is not None] == []
        assert sorted(r.case for r in every if r.fired) == ids
        for case_id in ids:
            assert _timer_entries(setup, case_id, process, org) == ["remind"]
    finally:
        for s in stores:
            s.close()
        setup.close()


class Racing:
    """A store whose first save of a case is preceded by another worker firing that case (a lost race)."""

    def __init__(self, store: CaseStore, rival: CaseStore, process: ProcessDefinition, org: Organisation) -> None:
        self.store, self.rival, self.process, self.org = store, rival, process, org
        self.url = store.url
        self.raced: list[str] = []

    def update(self, record: CaseRecord, *, expected: int) -> CaseRecord:
        if record.id not in self.raced:
            self.raced.append(record.id)
            fire_due(self.rival, TICK, [self.process], [self.org])  # the rival saves first
        return self.store.update(record, expected=expected)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_worker_that_loses_the_save_reads_again_and_reports_no_error(
    tmp_path: Path, process: ProcessDefinition, org: Organisation
) -> None:
    db = tmp_path / "cases.db"
    setup = open_store(db)
    ids = _fill(setup, process, org, 2)
    racing = Racing(open_store(db), open_store(db), process, org)
    results = fire_due(racing, TICK, [process], [org])
    assert racing.raced == [ids[0]]  # the rival fired both cases before the first save
    # read again after the conflict: nothing due any more, nothing fired, no error
    assert [(r.case, r.fired, r.error) for r in results] == [(ids[0], (), None), (ids[1], (), None)]
    for case_id in ids:
        assert _timer_entries(setup, case_id, process, org) == ["remind"]  # once, by the rival
    setup.close()


def test_the_ticker_fires_at_the_service_clock_and_stops(
    tmp_path: Path, process: ProcessDefinition, org: Organisation
) -> None:
    store = open_store(tmp_path / "cases.db")
    ids = _fill(store, process, org, 3)
    ticker = Ticker(_context(store, process, org), 0.05)
    ticker.start()
    try:
        for _ in range(400):
            if ticker.rounds >= 2:
                break
            threading.Event().wait(0.05)
    finally:
        ticker.stop()
    assert ticker.rounds >= 2 and not ticker.is_alive()
    for case_id in ids:
        assert _timer_entries(store, case_id, process, org) == ["remind"]  # fired once over two rounds
    store.close()


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "1e9"])
def test_serve_refuses_a_tick_that_is_not_a_number_of_seconds(
    seconds: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cases.db"
    open_store(db).close()
    assert main(["serve", str(db), "--org", str(ORG), "--tick", seconds]) == 2
    assert "--tick" in capsys.readouterr().err


def test_a_ticker_needs_a_positive_period(tmp_path: Path, process: ProcessDefinition, org: Organisation) -> None:
    store = open_store(tmp_path / "cases.db")
    with pytest.raises(ValueError, match="--tick"):
        Ticker(_context(store, process, org), 0)
    store.close()


def _serve(store: str, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    """``approvalflow serve STORE --tick 0.3`` on a free loopback port, its output in a log file."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "approvalflow", "serve", store, "--org", str(ORG), "--port", str(port),
               "--log-level", "warning", "--no-console", "--tick", "0.3"]  # fmt: skip
    with (tmp_path / f"{name}.log").open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.parametrize(
    "kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason=PG_SKIP))]
)
def test_two_serve_processes_with_tick_fire_each_due_timer_once(
    kind: str, tmp_path: Path, process: ProcessDefinition, org: Organisation
) -> None:
    # the served processes read the system clock: accepted 5 hours ago, 'remind' (PT4H) has been due for an hour
    accepted = datetime.now(UTC) - timedelta(hours=5)
    url = str(tmp_path / "cases.db") if kind == "sqlite" else str(PG_URL)
    setup = open_store(url) if kind == "sqlite" else fresh_postgres()
    ids = []
    for k in range(20):
        case = start_case(process, org, clock=FakeClock(accepted - timedelta(hours=1)), case_id=f"s{k:02d}")
        case.complete("accept", "wang", at=accepted)
        add_case(setup, case)
        ids.append(case.id)
    deploy_sources(setup, [(BPMN.name, BPMN.read_bytes())])  # the served processes find the process by digest
    servers = [_serve(url, tmp_path, "a"), _serve(url, tmp_path, "b")]
    try:
        deadline = time.monotonic() + 60
        while setup.timers_due(datetime.now(UTC)) and time.monotonic() < deadline:
            for server in servers:
                assert server.poll() is None, (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
            time.sleep(0.2)
        time.sleep(1.0)  # a few more rounds of both: nothing may fire twice
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=15)
    logs = (tmp_path / "a.log").read_text(errors="replace") + (tmp_path / "b.log").read_text(errors="replace")
    assert "not fired" not in logs and "round failed" not in logs, logs
    assert setup.timers_due(datetime.now(UTC)) == []
    for case_id in ids:
        assert _timer_entries(setup, case_id, process, org) == ["remind"], case_id
    setup.close()


HOLD = """
import sys, time
from approvalflow.store.postgres import PostgresStore
store = PostgresStore(sys.argv[1])
with store.claim(sys.argv[2], int(sys.argv[3])) as held:
    print("held" if held else "not held", flush=True)
    time.sleep(120)  # killed here, the claim's transaction open
"""


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_a_worker_killed_while_it_holds_a_case_leaves_it_to_the_others(
    process: ProcessDefinition, org: Organisation
) -> None:
    from approvalflow.store.base import micros
    from approvalflow.time.clock import parse_moment

    assert PG_URL
    setup = fresh_postgres()
    ids = _fill(setup, process, org, 2)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, PG_URL, ids[0], str(micros(parse_moment(TICK)))],
        env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        first = fire_due(setup, TICK, [process], [org])
        assert [r.case for r in first] == [ids[1]]  # ids[0] is held: skipped, not waited for
    finally:
        holder.kill()
        holder.wait(timeout=15)
        if holder.stdout is not None:
            holder.stdout.close()
    # the server ends the dead worker's transaction when its connection drops: the case is free, nothing was saved
    deadline = time.monotonic() + 30
    fired: list[FiredCase] = []
    while not fired and time.monotonic() < deadline:
        fired = fire_due(setup, TICK, [process], [org])
        time.sleep(0.1)
    assert [(r.case, [f.element for f in r.fired], r.error) for r in fired] == [(ids[0], ["remind"], None)]
    assert all(_timer_entries(setup, c, process, org) == ["remind"] for c in ids)
    setup.close()
