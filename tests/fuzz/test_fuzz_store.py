"""Fuzz case stores (SQLite): ``approvalflow supervise STORE --at T --json``, ``log export STORE OUT`` and
``store check``.

Seed: a store of scenario runs (see :mod:`tests.fuzz.seeds`). Variants: SQL edits made with sqlite3 (tables
dropped, renamed or replaced by a view; columns added; cells set to hostile values of any storage class; JSON
cells edited as trees; rows deleted or duplicated; the schema version changed) and byte edits of the file
(bytes flipped in a page, the file truncated).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .harness import ROOT, check_cli, fuzz_settings, run_ci_profile
from .mutate import byte_mutation, dump_json, hostile_text, hostile_value, tree_mutation
from .seeds import seed_store

KIND, EXT = "store", "db"
TABLES = ("af_meta", "af_cases", "af_deadlines", "af_anomalies")
PROCESSES = ROOT / "processes" / "licensing"
ORG = ROOT / "processes" / "org" / "sample_county.yaml"


def exercise(data: bytes) -> None:
    """``supervise``, ``log export`` (XES and CSV) and ``store check`` on the store file ``data``."""
    with tempfile.TemporaryDirectory(prefix="af-fuzz-") as tmp:
        db = Path(tmp) / "cases.db"
        for argv in (
            ["supervise", str(db), "--at", "2026-11-30T09:00:00+08:00", "--json"],
            ["supervise", str(db), "--at", "2026-10-20T09:00:00+08:00"],
            ["log", "export", str(db), str(Path(tmp) / "out.xes")],
            ["log", "export", str(db), str(Path(tmp) / "out.csv")],
            ["store", "check", str(db), "--process", str(PROCESSES), "--org", str(ORG), "--json"],
        ):
            db.write_bytes(data)  # each command on the damaged file as given
            check_cli(KIND, EXT, data, argv)


def replay(path: Path) -> None:
    """Replay one corpus file."""
    exercise(path.read_bytes())


def _sql_value() -> st.SearchStrategy[Any]:
    """A value of any SQLite storage class: hostile texts and numbers, blobs, NULL."""
    return st.one_of(
        hostile_text(),
        st.sampled_from([None, 0, -1, 10**9, 2**63 - 1, -(2**63), 1e308, float("nan"), 0.5]),
        st.binary(max_size=32),
        st.sampled_from(["{}", "[]", "null", '{"a": 1}', "[" * 10000, '"\\ud800"', "1e999", "NaN"]),
    )


def _row_keys(con: sqlite3.Connection, table: str, info: list[Any]) -> tuple[str, list[tuple[Any, ...]]]:
    """How to address each row of ``table``: by rowid, or by primary key in a ``WITHOUT ROWID`` table (a new
    store's index tables); the condition and each row's parameters for it."""
    try:
        return "rowid = ?", [(r[0],) for r in con.execute(f"SELECT rowid FROM {table}")]
    except sqlite3.OperationalError:  # no rowid column: a WITHOUT ROWID table (a view has a rowid of nulls)
        pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
        if not pk:
            return "", []
        where = " AND ".join(f"{c} = ?" for c in pk)
        return where, [tuple(r) for r in con.execute(f"SELECT {', '.join(pk)} FROM {table}")]


@st.composite
def sql_mutation(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` (a SQLite file) with a few SQL-level edits."""
    with tempfile.TemporaryDirectory(prefix="af-fuzz-") as tmp:
        db = Path(tmp) / "m.db"
        db.write_bytes(seed)
        con = sqlite3.connect(db, isolation_level=None)
        try:
            for _ in range(draw(st.integers(1, 4))):
                table = draw(st.sampled_from(TABLES))
                op = draw(
                    st.sampled_from(
                        ("cell", "cell", "cell", "json", "drop", "view", "rename", "column", "delete", "dup", "meta")
                    )
                )
                info = list(con.execute(f"PRAGMA table_info({table})"))
                columns = [r[1] for r in info]
                where, keys = _row_keys(con, table, info) if columns else ("", [])
                try:
                    if op == "cell" and keys:
                        column = draw(st.sampled_from(columns))
                        con.execute(
                            f"UPDATE {table} SET {column} = ? WHERE {where}",
                            (draw(_sql_value()), *draw(st.sampled_from(keys))),
                        )
                    elif op == "json" and keys:
                        column = draw(st.sampled_from(columns))
                        key = draw(st.sampled_from(keys))
                        found = con.execute(f"SELECT {column} FROM {table} WHERE {where}", key).fetchone()
                        if found is None:  # a view: no rowid
                            continue
                        value = found[0]
                        try:
                            tree = json.loads(value)
                        except (TypeError, ValueError, RecursionError):  # not JSON, or nested too deep
                            tree = draw(hostile_value())
                        mutated = dump_json(draw(tree_mutation(tree))).decode("utf-8", "surrogatepass")
                        con.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (mutated, *key))
                    elif op == "drop":
                        con.execute(f"DROP TABLE IF EXISTS {table}")
                    elif op == "view":
                        con.execute(f"DROP TABLE IF EXISTS {table}")
                        con.execute(f"CREATE VIEW {table} AS SELECT 1 AS id, 'x' AS state")
                    elif op == "rename" and columns:
                        con.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
                    elif op == "column" and columns:
                        con.execute(f"ALTER TABLE {table} ADD COLUMN extra TEXT DEFAULT 'x'")
                    elif op == "delete" and keys:
                        con.execute(f"DELETE FROM {table} WHERE {where}", draw(st.sampled_from(keys)))
                    elif op == "dup" and keys and columns:
                        found = con.execute(
                            f"SELECT * FROM {table} WHERE {where}", draw(st.sampled_from(keys))
                        ).fetchone()
                        if found is None:  # a view: no rowid
                            continue
                        row = list(found)
                        row[0] = draw(_sql_value())
                        con.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
                    elif op == "meta":
                        con.execute("UPDATE af_meta SET value = ? WHERE key = 'schema'", (draw(_sql_value()),))
                except sqlite3.Error:
                    continue  # a constraint refused the edit: try the next one
        finally:
            con.close()
        return db.read_bytes()


@fuzz_settings(default=12, ci=600)
@given(data=st.data())
def test_store_sql(data: st.DataObject) -> None:
    exercise(data.draw(sql_mutation(seed_store())))


@st.composite
def page_damage(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with bytes flipped in a page, spans overwritten, or the file truncated (at a page boundary or not)."""
    data = bytearray(seed)
    op = draw(st.sampled_from(("flip", "flip", "truncate", "page", "header", "bytes")))
    if op == "flip":
        for _ in range(draw(st.integers(1, 16))):
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    elif op == "truncate":
        cut = draw(st.one_of(st.integers(0, len(data)), st.integers(0, len(data) // 4096).map(lambda p: p * 4096)))
        del data[cut:]
    elif op == "page":  # one page overwritten with random bytes
        page = draw(st.integers(0, len(data) // 4096 - 1))
        data[page * 4096 : page * 4096 + 4096] = draw(st.binary(min_size=4096, max_size=4096))
    elif op == "header":  # the 100-byte header: page size, counts, schema cookie
        at = draw(st.integers(16, 99))
        data[at] = draw(st.integers(0, 255))
    else:
        return bytes(draw(byte_mutation(bytes(data), max_ops=3)))
    return bytes(data)


@fuzz_settings(default=10, ci=500)
@given(data=st.data())
def test_store_bytes(data: st.DataObject) -> None:
    exercise(data.draw(page_damage(seed_store())))


@pytest.mark.slow
def test_store_ci_profile() -> None:
    """The fuzz tests above under the ci profile, in a subprocess bounded in memory and time."""
    output = run_ci_profile(__file__)
    assert " passed" in output
