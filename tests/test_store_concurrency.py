"""Real processes against one store: two writers of the same step, and a writer killed mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.store.cases import add_case, load_case_from
from approvalflow.store.factory import open_store

from .conftest import LICENSING, MARKET_ORG
from .store_support import PG_SKIP, PG_URL, fresh_postgres

WORKER = Path(__file__).parent / "data" / "supervision" / "store_worker.py"
SHARED = ["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason=PG_SKIP))]


def _url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return str(tmp_path / "cases.db")
    fresh_postgres().close()
    assert PG_URL
    return PG_URL


def _wait_for(paths: list[Path], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, "the workers did not get ready"
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHARED)
@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_complete_the_same_step_exactly_one_wins(kind: str, attempt: int, tmp_path: Path) -> None:
    url = _url(kind, tmp_path)
    process, org = load_process(LICENSING), load_organisation(MARKET_ORG)
    store = open_store(url)
    add_case(store, start_case(process, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), case_id="race"))
    ready = [tmp_path / "ready-a", tmp_path / "ready-b"]
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "complete", url, "race", str(r), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in ready
    ]
    _wait_for(ready)  # both have read the case at version 1
    go.touch()  # the barrier: both complete `receive` now
    outcomes = sorted(w.communicate(timeout=60)[0].strip() for w in workers)
    assert outcomes == ["conflict", "ok"]
    assert sorted(w.returncode for w in workers) == [0, 3]
    stored = load_case_from(store, "race", process, org)
    assert stored.version == 2  # inserted at 1, one completion saved
    completions = [e for e in stored.case.trail.entries if e.get("action") == "complete"]
    assert [(e["step"], e["outcome"]) for e in completions] == [("receive", "completed")]
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHARED)
def test_a_writer_killed_mid_write_leaves_every_case_whole(kind: str, tmp_path: Path) -> None:
    url = _url(kind, tmp_path)
    process, org = load_process(LICENSING), load_organisation(MARKET_ORG)
    for round_ in range(4):
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), "churn", url, f"r{round_}"], stdout=subprocess.PIPE, text=True
        )
        assert worker.stdout is not None
        saves = 0
        while saves < 5 + 7 * round_:  # kill at a different point of the loop each round
            assert worker.stdout.readline() == "saved\n"
            saves += 1
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        worker.stdout.close()
    store = open_store(url)
    ids = store.ids()
    assert len(ids) >= 4
    for case_id in ids:
        stored = load_case_from(store, case_id, process, org)  # verifies the trail against the stored head
        record = store.get(case_id)
        case = stored.case
        assert record.version == len(case.path) + 1  # one save per completion after the insert
        assert record.steps == tuple(r.id for r in case.ready_steps())
        assert record.status == ("completed" if case.is_completed else "open")
        assert record.trail_head == case.trail.head
    store.close()
