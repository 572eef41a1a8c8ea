"""Timers across a store (issue 16, item 2): ``fire_due(store, at, ...)`` and ``approvalflow tick STORE --at T``.

The store indexes each open case's waiting timers (``af_timers``); ``fire_due`` reads only the cases the index names
and saves each fired case back through the normal path. Model: ``tests/data/timers/review.bpmn`` (see
``tests/test_timers.py``): once ``accept`` is done, ``review`` has ``remind`` due 4 hours later and ``overdue`` due
at the end of the 5th working day.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.cli.main import main
from approvalflow.org.organisation import Organisation
from approvalflow.store import CaseRecord, CaseStore, StoreError, add_case, fire_due, load_case_from, open_store

DATA = Path(__file__).parent / "data"
BPMN = DATA / "timers" / "review.bpmn"
ORG = DATA / "market_bureau.yaml"
CST = "+08:00"
ARGS = ["--process", str(BPMN), "--org", str(ORG)]


@pytest.fixture(scope="module")
def process() -> ProcessDefinition:
    return load_process(BPMN)


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(ORG)


class Counting:
    """A store that counts the cases read (``get``); everything else goes to the store it wraps."""

    def __init__(self, store: CaseStore) -> None:
        self.store = store
        self.url = store.url
        self.read: list[str] = []

    def get(self, case_id: str) -> CaseRecord:
        self.read.append(case_id)
        return self.store.get(case_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _fill(store: CaseStore, process: ProcessDefinition, org: Organisation, n: int = 30) -> dict[str, str]:
    """``n`` cases: every third is still at 'accept' (no timer); the others accepted on 2026-09-29 at hour 8 + k % 9
    (so 'remind' is due at hour 12 + k % 9). Returns the 'accept' moment of each accepted case."""
    accepted = {}
    for k in range(n):
        case = start_case(process, org, clock=FakeClock(f"2026-09-28T09:00:00{CST}"), case_id=f"c{k:02d}")
        if k % 3:
            at = f"2026-09-29T{8 + k % 9:02d}:00:00{CST}"
            case.complete("accept", "wang", at=at)
            accepted[case.id] = at
        add_case(store, case)
    return accepted


@pytest.mark.parametrize("url", ["memory:", "sqlite"])
def test_fire_due_fires_exactly_the_due_cases_and_reads_no_other(
    url: str, tmp_path: Path, process: ProcessDefinition, org: Organisation
) -> None:
    store = open_store(tmp_path / "s.db" if url == "sqlite" else url)
    accepted = _fill(store, process, org)
    at = f"2026-09-29T15:00:00{CST}"
    # 'remind' is due at accept + 4h: by 15:00 for the cases accepted at 11:00 or earlier (hours 8 to 11)
    due = sorted(c for c, t in accepted.items() if datetime.fromisoformat(t).hour <= 11)
    assert 0 < len(due) < len(accepted)
    counting = Counting(store)
    results = fire_due(counting, at, [process], [org])
    assert sorted(counting.read) == due  # the index named them; no other case was read
    assert [r.case for r in results] == due
    assert all([f.element for f in r.fired] == ["remind"] and r.error is None for r in results)
    for case_id in due:
        stored = load_case_from(store, case_id, process, org)  # saved through the normal path: trail verifies
        assert sorted(s.id for s in stored.case.ready_steps()) == ["notify", "review"]
        assert stored.version == 2
    assert fire_due(store, at, [process], [org]) == []  # nothing left due by then
    later = fire_due(store, f"2026-10-13T00:00:00{CST}", [process], [org])
    # the end of the 5th working day after 09-29 (tests/test_timers.py): every accepted case's 'overdue' fires
    assert sorted(r.case for r in later) == sorted(accepted)
    assert all(r.fired[-1].element == "overdue" and r.fired[-1].interrupted == ("review",) for r in later)
    store.close()


def test_a_case_whose_process_is_not_given_is_reported_and_the_others_fire(
    tmp_path: Path, process: ProcessDefinition, org: Organisation
) -> None:
    store = open_store(tmp_path / "s.db")
    _fill(store, process, org, n=3)
    results = fire_due(store, f"2026-10-13T00:00:00{CST}", [], [org])
    assert [r.case for r in results] == ["c01", "c02"]
    assert all(r.error is not None and "no such process" in r.error and not r.fired for r in results)
    store.close()


def _tick(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["tick", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_tick_json_prints_each_case_and_what_fired(
    tmp_path: Path, process: ProcessDefinition, org: Organisation, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    _fill(store, process, org, n=3)  # c01 accepted at 09:00, c02 at 10:00
    store.close()
    code, out, _ = _tick(capsys, str(db), "--at", f"2026-09-29T13:30:00{CST}", "--json", *ARGS)
    assert code == 0
    assert json.loads(out) == [
        {
            "case": "c01",
            "fired": [
                {"timer": "remind", "due": f"2026-09-29T13:00:00{CST}", "at": f"2026-09-29T13:00:00{CST}",
                 "interrupted": []}
            ],
            "error": None,
        }
    ]  # fmt: skip
    code, out, _ = _tick(capsys, str(db), "--at", f"2026-10-13T00:00:00{CST}", *ARGS)
    assert code == 0
    assert "3 timers fired in 2 cases" in out and "c01: overdue fired at 2026-10-13T00:00:00+08:00" in out


@pytest.mark.parametrize("moment", ["tomorrow", "2026-10-13T00:00:00", "99999-01-01T00:00:00+08:00", "x" * 5000])
def test_tick_refuses_a_bad_moment_before_touching_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], moment: str
) -> None:
    db = tmp_path / "s.db"
    code, _, err = _tick(capsys, str(db), "--at", moment, *ARGS)
    assert code == 2 and "approvalflow: error:" in err and "Traceback" not in err
    assert not db.exists()


def test_tick_never_creates_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _tick(capsys, str(tmp_path / "none.db"), "--at", f"2026-10-13T00:00:00{CST}", *ARGS)
    assert code == 2 and "tick never creates one" in err


def test_a_version_2_store_is_upgraded_by_reindex_and_refused_before(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    open_store(db).close()
    with sqlite3.connect(db) as conn:  # what a store of the previous schema version looks like
        conn.execute("DROP TABLE af_timers")
        conn.execute("UPDATE af_meta SET value = '2' WHERE key = 'schema'")
    with pytest.raises(StoreError, match="reindex"):
        open_store(db)
    open_store(db, upgrade=True).close()
    store = open_store(db)
    assert store.timers_due(datetime.fromisoformat(f"2026-10-13T00:00:00{CST}")) == []
    store.close()


def test_store_check_reports_a_timer_row_deleted_or_changed_and_reindex_restores_it(
    tmp_path: Path, process: ProcessDefinition, org: Organisation, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    _fill(store, process, org, n=3)  # c01 and c02 wait on 'remind' and 'overdue'
    store.close()
    check = ["store", "check", str(db), *ARGS, "--json"]
    assert main(check) == 0
    capsys.readouterr()
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM af_timers WHERE case_id = 'c01' AND element = 'overdue'")
        conn.execute("UPDATE af_timers SET due = due + 1 WHERE case_id = 'c02' AND element = 'remind'")
    assert main(check) == 1
    found = {(p["case"], p["table"]) for p in json.loads(capsys.readouterr().out)["problems"]}
    assert found == {("c01", "af_timers"), ("c02", "af_timers")}
    assert main(["store", "reindex", str(db), *ARGS]) == 0
    assert main(check) == 0
