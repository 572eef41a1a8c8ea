"""A save writes only the index rows that changed, and the store then holds exactly the rows a full rewrite gives.

A SQL store handle keeps the index rows it last wrote for a case and, when it saves the next version of that case
(and finds the case row as it left it), deletes and inserts only the rows that differ (``store/sql.py``,
``_write_children``). Here random operations (complete, return, take back, claim, transfer, withdraw, suspend and
resume, refusals among them) run on two cases through :func:`~approvalflow.store.cases.act`, with reloads from other
handles of the same store, conflicts (another handle saves first) and a ``store reindex`` by another handle with an
organisation that gives other rows, in between. After every operation ``store check`` must find nothing: every index
row of every case is the one the index computes afresh from the stored case (what ``store reindex`` would write),
the worklist rows at the case row's version.

Every case object here, the writers' and those ``store check`` and ``store reindex`` load, reads the same clock (the
moment the cases started; operations give their moments): while a case is suspended (中止) the deadlines of its open
steps and of the case move with the clock, so a check at another moment than the save would compute others, whatever
writes the rows. (A completed step's deadline no longer moves: ``tests/test_suspended_summary.py``.)
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, start_case
from approvalflow.engine.case import Case
from approvalflow.errors import ApprovalflowError
from approvalflow.store.base import ConflictError
from approvalflow.store.cases import StoredCase, act, add_case, load_case_from, save_case
from approvalflow.store.check import check_store, reindex_store
from approvalflow.store.sql import SqlStoreBase
from approvalflow.store.sqlite import SqliteStore

from .store_support import PG_SKIP, PG_URL, fresh_postgres
from .test_worklists import PROCESS, org_with

ORG = org_with()
# ma holds every post of the bureau but the principal's: a reindex with this organisation writes other 待办 rows and
# other responsible people on the deadlines of every step than the cases' own organisation gives
OTHER = org_with(ma={"unit": "market-bureau", "posts": ["clerk", "reviewer", "deputy", "leader"]})
# wang, liu and li declare a conflict with the cases' applicant: other 待办 rows, the same deadlines (the case row's
# seal, which covers them, is then the same)
RECUSED = org_with(conflicts={p: ["某餐饮有限公司"] for p in ("wang", "liu", "li")})
START = datetime.fromisoformat("2026-09-28T09:00:00+08:00")  # a Monday
KINDS = ("complete", "complete", "complete", "return", "take back", "claim", "transfer", "withdraw", "suspend",
         "resume", "reload", "conflict", "reindex")  # fmt: skip
DATA: dict[str, Any] = {
    "receive": lambda pick: {"materials_complete": pick % 3 != 0},
    "review": lambda pick: {"needs_extension": False, "needs_hearing": False},
    "decide": lambda pick: {"approved": pick % 2 == 0},
}
operations = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 1), st.integers(0, 11)), max_size=14)


def holders(step: str, pick: int) -> list[str]:
    """The people of ORG holding a post of ``step``, from the ``pick``-th on (every person for a step without)."""
    posts = set(PROCESS.steps[step].posts)
    found = sorted(p for p, person in ORG.people.items() if person.unit == "market-bureau" and person.posts & posts)
    return found[pick % len(found) :] + found[: pick % len(found)]


def operate(case: Case, kind: str, pick: int, at: str) -> None:
    """One operation on the case; any refusal or error is the engine's (the case is then as it was, or the refusal
    is in its trail)."""
    ready = case.ready_steps()
    if kind == "withdraw":
        case.withdraw("wang", reason="申请人撤回申请", at=at)
    elif kind == "suspend":
        case.suspend("li", reason="等待检验报告", basis="行政许可法第四十五条", at=at)
    elif kind == "resume":
        case.resume("li", at=at)
    elif kind == "take back" and case.history:
        done = case.history[-1]
        case.take_back(done.step, done.actor, reason="发现填写错误", at=at)
    elif ready:
        r = ready[pick % len(ready)]
        people = holders(r.id, pick)
        actor = r.assignee if r.assignee is not None and pick % 2 else people[0]
        if kind == "complete":
            case.complete(r.id, actor, data=DATA.get(r.id, lambda _: {})(pick), at=at)
        elif kind == "return":
            case.return_to(r.id, actor, reason="材料需补充说明", at=at)
        elif kind == "claim":
            case.claim(r.id, actor, at=at)
        elif kind == "transfer":
            case.transfer(r.id, actor, people[-1], reason="工作调整", at=at)


class Run:
    """Two cases, each used through one handle of the store at a time; other handles reload, conflict, reindex."""

    def __init__(self, first: SqlStoreBase, more: Any) -> None:
        self.handles = [first]
        self.more = more  # opens another handle of the same store
        self.at = START
        self.cases: list[tuple[SqlStoreBase, StoredCase]] = []
        for n in range(2):
            case = start_case(PROCESS, ORG, unit="market-bureau", clock=FakeClock(START.isoformat()),
                              data={"applicant": "某餐饮有限公司"}, case_id=f"c{n}")  # fmt: skip
            self.cases.append((first, add_case(first, case)))

    @staticmethod
    def clock() -> FakeClock:
        return FakeClock(START.isoformat())

    def moment(self) -> str:
        self.at += timedelta(hours=1)
        return self.at.isoformat()

    def handle(self, pick: int, other_than: SqlStoreBase | None = None) -> SqlStoreBase:
        """An open handle (a new one now and then), not ``other_than``."""
        choices = [h for h in self.handles if h is not other_than]
        if not choices or (pick % 3 == 0 and len(self.handles) < 4):
            self.handles.append(self.more())
            return self.handles[-1]
        return choices[pick % len(choices)]

    def reload(self, n: int, handle: SqlStoreBase) -> None:
        case_id = f"c{n}"
        stored = load_case_from(handle, case_id, PROCESS, ORG, clock=self.clock())
        self.cases[n] = (handle, stored)

    def step(self, kind: str, n: int, pick: int) -> None:
        handle, stored = self.cases[n]
        if kind == "reload":
            self.reload(n, self.handle(pick))
        elif kind == "conflict":  # another handle saves the case first: our next save is refused, nothing written
            other = self.handle(pick, other_than=handle)
            save_case(other, load_case_from(other, stored.case.id, PROCESS, ORG, clock=self.clock()))
            with pytest.raises(ConflictError):
                save_case(handle, stored)
            self.reload(n, handle)
        elif kind == "reindex":  # another handle rebuilds the index with another organisation; then each case is saved
            org = OTHER if pick % 2 else RECUSED
            assert reindex_store(self.handle(pick // 2), [PROCESS], [org]).refused == []
            for m in range(len(self.cases)):
                owner, kept = self.cases[m]
                save_case(owner, kept)
        else:
            at = self.moment()
            with contextlib.suppress(ApprovalflowError):  # refused (saved with its trail entry) or invalid (nothing)
                act(handle, stored, lambda case: operate(case, kind, pick, at))

    def close(self) -> None:
        for h in self.handles:
            h.close()


def check_each_step(run: Run, program: list[tuple[str, int, int]]) -> None:
    from approvalflow.engine.persistence import load_case as restore
    from approvalflow.store import check

    def load_case(*args: Any, **options: Any) -> Case:
        return restore(*args, **options, clock=run.clock())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(check, "load_case", load_case)
        _check_each_step(run, program)


def _check_each_step(run: Run, program: list[tuple[str, int, int]]) -> None:
    try:
        for kind, n, pick in program:
            run.step(kind, n, pick)
            found = check_store(run.handles[0], [PROCESS], [ORG])
            assert found.problems == [], (kind, n, pick)
        # the rows written step by step are the rows of one full rewrite: a reindex changes nothing
        for h in run.handles:
            h.rows_kept = 0
        before = {n: run.handles[0].raw_worklists(f"c{n}") for n in range(2)}
        assert reindex_store(run.handles[0], [PROCESS], [ORG]).reindexed == 2
        assert {n: run.handles[0].raw_worklists(f"c{n}") for n in range(2)} == before
    finally:
        run.close()


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(operations)
@example([("complete", 0, 0), ("complete", 0, 0), ("take back", 0, 0)])  # one 已办 row of three deleted
@example([("complete", 0, 1), ("reindex", 0, 0), ("complete", 0, 1), ("reindex", 1, 1), ("conflict", 0, 2)])
def test_a_sqlite_store_written_incrementally_holds_the_rows_of_a_full_rewrite(program: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cases.db"
        check_each_step(Run(SqliteStore(path), lambda: SqliteStore(path)), program)


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_a_postgres_store_written_incrementally_holds_the_rows_of_a_full_rewrite(program: list[Any]) -> None:
    from approvalflow.store.postgres import PostgresStore

    assert PG_URL
    first = fresh_postgres()
    assert isinstance(first, PostgresStore)
    check_each_step(Run(first, lambda: PostgresStore(PG_URL)), program)


def test_a_save_writes_only_the_rows_that_changed(tmp_path: Path) -> None:
    """The 已办 rows of earlier completions are kept (renumbered to the case's version), the new one inserted; a
    handle that keeps nothing deletes and inserts them all, with the same rows as the result."""
    store = SqliteStore(tmp_path / "cases.db")
    case = start_case(PROCESS, ORG, unit="market-bureau", clock=FakeClock(START.isoformat()), case_id="c1")
    stored = add_case(store, case)
    act(store, stored, lambda c: c.complete("receive", "wang", data={"materials_complete": True}))
    act(store, stored, lambda c: c.complete("accept", "wang"))
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    act(store, stored, lambda c: c.complete("review", "liu", data={"needs_extension": False, "needs_hearing": False}))
    done = [s for s in statements if "af_done" in s]
    # receive and accept (seq 0, 1) are kept and get version 4; review (seq 2) is inserted
    assert not any(s.startswith("DELETE") for s in done)
    assert [s for s in done if s.startswith("UPDATE")] == ["UPDATE af_done SET version = 4 WHERE case_id = 'c1'"]
    assert len([s for s in done if s.startswith("INSERT")]) == 1
    assert check_store(store, [PROCESS], [ORG]).ok
    kept = store.raw_worklists("c1")
    store.rows_kept = 0
    statements.clear()
    act(store, stored, lambda c: c.cc("wang", ["li"]))
    done = [s for s in statements if "af_done" in s]
    assert done[0] == "DELETE FROM af_done WHERE case_id = 'c1'" and len(done) == 4  # and three rows inserted
    assert [r[:2] + r[3:] for r in store.raw_worklists("c1")[1]] == [r[:2] + r[3:] for r in kept[1]]
    assert check_store(store, [PROCESS], [ORG]).ok
    store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_the_summary_text_a_save_writes_is_the_json_of_the_summary(program: list[Any]) -> None:
    # record_of puts the summary's JSON together from each completion's JSON kept since it was first indexed; it must
    # be exactly the JSON of the record's summary, after any operation, and only while the summary is that dict
    import json
    from dataclasses import replace

    from approvalflow.engine.persistence import dump_case
    from approvalflow.store.index import record_of

    case = start_case(PROCESS, ORG, unit="market-bureau", clock=FakeClock(START.isoformat()),
                      data={"applicant": "某餐饮有限公司"})  # fmt: skip
    at, most = START, 0
    for kind, _n, pick in [("complete", 0, 0), *program]:
        at += timedelta(hours=1)
        with contextlib.suppress(ApprovalflowError):
            operate(case, kind, pick, at.isoformat())
        record = record_of(case, dump_case(case))
        expected = json.dumps(record.summary, ensure_ascii=False, sort_keys=True)
        assert record.summary_text() == expected
        assert record.with_version(7).summary_text() == expected
        other = {**record.summary, "completions": record.summary["completions"][:1], "status": "其他"}
        assert replace(record, summary=other).summary_text() == json.dumps(other, ensure_ascii=False, sort_keys=True)
        most = max(most, len(record.summary["completions"]))
    assert most >= 1  # the first completion went through (a summary with completions was compared)
