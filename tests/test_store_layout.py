"""How a SQLite store lays out a case's index rows, and that every layout reads and writes the same.

A new SQLite store (and a table an upgrade creates) keeps each of the case's index tables ``WITHOUT ROWID``: the
rows of a case sit together in the primary key's B-tree, with no second tree for the key, so a save changes fewer
pages. A store made before that (rowid tables) keeps its tables and must behave exactly the same: here the same
cases, saved through both layouts, give the same rows, the same 待办 and 已办, and ``store check`` finds nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from approvalflow import FakeClock, start_case
from approvalflow.engine.trail import TrailHead
from approvalflow.store.cases import add_case, complete_step
from approvalflow.store.check import check_store
from approvalflow.store.sql import SCHEMA, SCHEMA_VERSION
from approvalflow.store.sqlite import SqliteStore

from .test_store_incremental import ORG, START
from .test_worklists import PROCESS

CHILD_TABLES = ("af_deadlines", "af_anomalies", "af_timers", "af_todo", "af_done")


def _table_sql(path: Path) -> dict[str, str]:
    con = sqlite3.connect(path)
    try:
        return {name: sql for name, sql in con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()


def _rowid_store(path: Path) -> None:
    """A store as this version's schema was created before its index tables were made WITHOUT ROWID."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        for statement in SCHEMA:
            con.execute(statement)
        con.execute("INSERT INTO af_meta (key, value) VALUES (?, ?)", ("schema", SCHEMA_VERSION))
    finally:
        con.close()


def _run(store: SqliteStore) -> None:
    """Two cases: one taken through 补正 to its decision, one left at its first step."""
    for n, steps in enumerate(
        [
            [("receive", "wang", {"materials_complete": False}), ("notify_correction", "wang", {}),
             ("receive", "wang", {"materials_complete": True}), ("accept", "wang", {}),
             ("review", "liu", {"needs_extension": False, "needs_hearing": False})],
            [],
        ]
    ):  # fmt: skip
        clock = FakeClock(START)
        stored = add_case(store, start_case(PROCESS, ORG, unit="market-bureau", clock=clock, case_id=f"c{n}"))
        for step, actor, data in steps:
            clock.advance("PT1H")
            complete_step(store, stored, step, actor, data=data)


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every index row, and every column of the case rows but the trail's hash, the seal over it and the state."""
    con = sqlite3.connect(path)
    try:
        columns = [r[1] for r in con.execute("PRAGMA table_info(af_cases)")]
        kept = ", ".join(c for c in columns if c not in ("trail_hash", "index_seal", "state"))
        out = {"af_cases": list(con.execute(f"SELECT {kept} FROM af_cases ORDER BY id"))}
        for table in CHILD_TABLES:
            out[table] = list(con.execute(f"SELECT * FROM {table} ORDER BY 1, 2"))
        return out
    finally:
        con.close()


def test_a_new_store_keeps_its_index_tables_without_rowid(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "new.db").close()
    tables = _table_sql(tmp_path / "new.db")
    for table in CHILD_TABLES:
        assert tables[table].endswith(") WITHOUT ROWID"), table
    for table in ("af_cases", "af_meta", "af_processes", "af_definitions", "af_files", "af_keys"):
        assert "WITHOUT ROWID" not in tables[table], table


def test_a_store_with_rowid_tables_behaves_the_same(tmp_path: Path) -> None:
    _rowid_store(tmp_path / "old.db")
    assert not any("WITHOUT ROWID" in sql for sql in _table_sql(tmp_path / "old.db").values())
    stores = {name: SqliteStore(tmp_path / f"{name}.db") for name in ("old", "new")}
    try:
        for store in stores.values():
            _run(store)
        for store in stores.values():
            result = check_store(store, [PROCESS], [ORG])
            assert result.cases == 2 and not result.problems, result.problems
        old, new = stores["old"], stores["new"]
        for person in ("wang", "liu", "li", "chen"):
            assert old.todo(person) == new.todo(person), person
            assert old.done(person) == new.done(person), person
        assert old.todo("liu") or old.todo("li")  # someone has the second case's or the first's next step
        # the same records but for what the engine's random task ids make differ (the state, and the trail that binds
        # its digest)
        unbound = [
            [replace(r, state="", trail_head=TrailHead("", r.trail_head.count)) for r in s.records()]
            for s in (old, new)
        ]
        assert unbound[0] == unbound[1] and len(unbound[0]) == 2
    finally:
        for store in stores.values():
            store.close()
    rows = _rows(tmp_path / "old.db")
    assert all(rows[table] for table in ("af_cases", "af_deadlines", "af_todo", "af_done"))
    assert rows == _rows(tmp_path / "new.db")
    # the old store kept its layout: nothing was rebuilt behind its owner's back
    assert not any("WITHOUT ROWID" in sql for sql in _table_sql(tmp_path / "old.db").values())


def test_with_version_is_replace(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        _run(store)
        record = store.get("c0")
    finally:
        store.close()
    moved = record.with_version(record.version + 5)
    assert moved == replace(record, version=record.version + 5)
    assert moved.version == record.version + 5 and record.version == 6  # 1 added + 5 completions
    assert type(moved) is type(record)
