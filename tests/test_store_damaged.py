"""Damaged case stores: every command that reads one gives a clear one-line error naming what is damaged.

Each test writes a damaged SQLite store itself (from a good one) and runs ``supervise``, ``log export`` and
``store check`` in-process: an exception escaping ``main`` (a traceback) fails the test. Row damage is done
to the case that carries cards at the sweep moment (``lic-review-open``) so that the sweep has to read it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from approvalflow.cli.main import main
from approvalflow.store.base import StoreError
from approvalflow.store.factory import open_store
from approvalflow.store.keeping import store_scenario_case
from approvalflow.testing.scenario import run_scenario

from .store_support import drop_postgres_tables

DATA = Path(__file__).parent / "data" / "supervision"
ROOT = Path(__file__).resolve().parents[1]
AT = "2026-10-30T09:00:00+08:00"
CASE = "lic-review-open"
CHECK_ARGS = [
    "--process",
    str(ROOT / "processes" / "licensing"),
    "--org",
    str(ROOT / "processes/org/sample_county.yaml"),
]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "cases.db"
    for name in ("lic_decide_refused", "lic_review_open", "lic_done"):
        store_scenario_case(str(path), run_scenario(DATA / f"{name}.scenario.yaml"))
    store = open_store(path)
    store.close()  # checkpointed: one file, no -wal
    return path


def _sql(*statements: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        conn = sqlite3.connect(path)
        for statement in statements:
            conn.execute(statement)
        conn.commit()
        conn.close()

    return damage


def _loosened(table: str, *statements: str) -> Callable[[Path], None]:
    """Rebuild ``table`` without its constraints (as a hostile writer may, keeping its indexes), then ``statements``."""
    from approvalflow.store.sql import SCHEMA

    indexes = [s for s in SCHEMA if s.startswith("CREATE INDEX") and f" ON {table} " in s]
    return _sql(
        f"CREATE TABLE loose AS SELECT * FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE loose RENAME TO {table}",
        *indexes,
        *statements,
    )


def _truncate(fraction: float) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])

    return damage


def _random(keep_header: bool) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = path.read_bytes()
        noise = os.urandom(len(data))
        path.write_bytes(data[:100] + noise[100:] if keep_header else noise)

    return damage


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _state(value: str) -> Callable[[Path], None]:
    return _sql(f"UPDATE af_cases SET state = '{value}' WHERE id = '{CASE}'")


def _state_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        conn = sqlite3.connect(path)
        (text,) = conn.execute("SELECT state FROM af_cases WHERE id = ?", (CASE,)).fetchone()
        doc = json.loads(text)
        edit(doc)
        conn.execute("UPDATE af_cases SET state = ? WHERE id = ?", (json.dumps(doc), CASE))
        conn.commit()
        conn.close()

    return damage


def _history_wrong(doc: dict[str, Any]) -> None:
    doc["history"] = [{"step": 5, "since": 7}] * 3


def _trail_not_dicts(doc: dict[str, Any]) -> None:
    doc["trail"] = [1, 2, 3]


W = f"WHERE case_id = '{CASE}'"
C = f"WHERE id = '{CASE}'"
# name, damage, (supervise, log export) exit status, words the error must carry (each command that fails)
DAMAGES: list[tuple[str, Callable[[Path], None], tuple[int, int], tuple[str, ...]]] = [
    ("truncated to half", _truncate(0.5), (2, 2), ()),
    ("truncated to its header", _truncate(0.02), (2, 2), ()),
    ("random bytes", _random(False), (2, 2), ("not a case store",)),
    ("random pages after a valid header", _random(True), (2, 2), ()),
    ("empty file", _empty, (2, 2), ("empty",)),
    ("dropped af_deadlines", _sql("DROP TABLE af_deadlines"), (2, 2), ("af_deadlines",)),
    ("dropped af_cases", _sql("DROP TABLE af_cases"), (2, 2), ("af_cases",)),
    ("dropped af_meta", _sql("DROP TABLE af_meta"), (2, 2), ("af_meta",)),
    ("dropped af_anomalies", _sql("DROP TABLE af_anomalies"), (2, 2), ("af_anomalies",)),
    ("dropped index of moving cases", _sql("DROP INDEX af_cases_moving"), (2, 0), ("af_cases", "af_cases_moving")),
    (
        "af_deadlines without the column people",
        _sql("ALTER TABLE af_deadlines DROP COLUMN people"),
        (2, 2),
        ("af_deadlines",),
    ),
    (
        "af_cases without the column index_seal",
        _sql("ALTER TABLE af_cases DROP COLUMN index_seal"),
        (2, 2),
        ("af_cases",),
    ),
    (
        "NULL unit in af_cases",
        _loosened("af_cases", f"UPDATE af_cases SET unit = NULL {C}"),
        (2, 2),
        ("af_cases", CASE, "unit"),
    ),
    (
        "NULL yellow_at in af_deadlines",
        _loosened("af_deadlines", f"UPDATE af_deadlines SET yellow_at = NULL {W}"),
        (2, 0),
        ("af_deadlines", CASE, "yellow_at"),
    ),
    (
        "text end_at in af_deadlines",
        _sql(f"UPDATE af_deadlines SET end_at = 'soon' {W}"),
        (2, 0),
        ("af_deadlines", CASE, "end_at"),
    ),
    ("text trail_count in af_cases", _sql(f"UPDATE af_cases SET trail_count = 'many' {C}"), (2, 2), ("af_cases", CASE)),
    ("a BLOB id in af_cases", _sql(f"UPDATE af_cases SET id = X'00ff' {C}"), (2, 2), ("af_cases",)),
    (
        "summary that is not JSON",
        _sql(f"UPDATE af_cases SET summary = '{{nope' {C}"),
        (2, 2),
        ("af_cases", CASE, "summary"),
    ),
    (
        "summary that is a JSON list",
        _sql(f"UPDATE af_cases SET summary = '[1]' {C}"),
        (2, 2),
        ("af_cases", CASE, "summary"),
    ),
    ("clock that is not JSON", _sql(f"UPDATE af_cases SET clock = 'tick' {C}"), (2, 2), ("af_cases", CASE, "clock")),
    (
        "clock facts of the wrong shape",
        _sql(f"""UPDATE af_cases SET clock = '{{"promised": "x"}}' {C}"""),
        (2, 2),
        ("af_cases", CASE, "clock"),
    ),
    (
        "status out of its values",
        _sql(f"UPDATE af_cases SET status = 'lost' {C}"),
        (2, 2),
        ("af_cases", CASE, "status"),
    ),
    (
        "day that is not a date",
        _sql(f"UPDATE af_deadlines SET day = 'Tuesday' {W}"),
        (2, 0),
        ("af_deadlines", CASE, "day"),
    ),
    (
        "yellow_at beyond any date",
        _sql(f"UPDATE af_deadlines SET yellow_at = -9000000000000000000 {W}"),
        (2, 0),
        ("af_deadlines", CASE, "yellow_at"),
    ),
    (
        "started_at without a timezone",
        _sql(f"UPDATE af_cases SET started_at = '2026-01-01T00:00:00' {C}"),
        (2, 2),
        ("af_cases", CASE, "started_at"),
    ),
    ("wrong schema version", _sql("UPDATE af_meta SET value = '99'"), (2, 2), ("af_meta", "schema version")),
    ("schema version 1", _sql("UPDATE af_meta SET value = '1'"), (2, 2), ("af_meta", "reindex")),
    ("state that is not JSON", _state("{not json"), (0, 2), (CASE,)),
    ("state that is a JSON list", _state("[1, 2]"), (0, 2), (CASE,)),
    ("state whose history has the wrong types", _state_edit(_history_wrong), (0, 2), (CASE,)),
    ("state whose trail entries are not objects", _state_edit(_trail_not_dicts), (0, 2), (CASE,)),
]


def _damaged_copy(good: Path, tmp_path: Path, damage: Callable[[Path], None]) -> Path:
    path = tmp_path / "damaged.db"
    shutil.copy(good, path)
    damage(path)
    return path


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(("name", "damage", "codes", "words"), DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_store_is_a_clear_error_never_a_traceback(
    name: str,
    damage: Callable[[Path], None],
    codes: tuple[int, int],
    words: tuple[str, ...],
    good: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _damaged_copy(good, tmp_path, damage)
    before = path.read_bytes()
    out = tmp_path / "log.csv"
    for args, expected in (
        (["supervise", str(path), "--at", AT, "--json"], codes[0]),
        (["log", "export", str(path), str(out)], codes[1]),
    ):
        code, err = _run(args, capsys)
        if expected == 0:
            assert code in (0, 1), (name, args, err)
            continue
        assert code == 2, (name, args, err)
        assert err.startswith("approvalflow: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
        for word in words:
            assert word in err, (name, args, word, err)
    assert path.read_bytes() == before  # reading a damaged store changes nothing
    if codes[1] == 2:
        assert not out.exists()  # a refused export writes nothing
    code, err = _run(["store", "check", str(path), *CHECK_ARGS], capsys)
    assert code in (1, 2), (name, err)  # problems (1) or a store that cannot be read at all (2)
    assert path.read_bytes() == before


def test_store_check_names_the_case_table_and_row_of_a_damaged_row(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _damaged_copy(good, tmp_path, _sql(f"UPDATE af_deadlines SET end_at = 'soon' {W} AND ordinal = 1"))
    code = main(["store", "check", str(path), "--json", *CHECK_ARGS])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and not doc["ok"]
    damaged = [p for p in doc["problems"] if "damaged row" in p["message"]]
    assert (
        damaged == [{"case": CASE, "table": "af_deadlines", "row": 1, "message": damaged[0]["message"]}]
        and "end_at" in damaged[0]["message"]
    )


def test_a_folder_given_as_a_store_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["supervise", str(tmp_path), "--at", AT]) == 2
    assert "not a file" in capsys.readouterr().err


def test_reading_a_damaged_row_through_the_api_is_a_store_error(good: Path, tmp_path: Path) -> None:
    path = _damaged_copy(good, tmp_path, _sql(f"UPDATE af_cases SET summary = '{{nope' {C}"))
    store = open_store(path, readonly=True)
    try:
        with pytest.raises(StoreError, match=f"case {CASE}: .*table af_cases.*column summary: not JSON"):
            store.get(CASE)
        with pytest.raises(StoreError, match="column summary"):
            list(store.summaries())
    finally:
        store.close()


def test_an_oversized_summary_or_state_is_a_damaged_row_not_a_memory_hog(
    good: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from approvalflow.engine import persistence
    from approvalflow.store import sql

    path = _damaged_copy(good, tmp_path, _sql(f"UPDATE af_cases SET summary = '[' || printf('%.2000000c', '1') {C}"))
    assert main(["supervise", str(path), "--at", AT]) == 2
    err = capsys.readouterr().err
    assert "column summary" in err and "MAX_INDEX_JSON_CHARS" in err and CASE in err
    monkeypatch.setattr(sql, "MAX_INDEX_JSON_CHARS", 3_000_000)  # the documented way to raise it
    assert main(["supervise", str(path), "--at", AT]) == 2
    assert "not JSON" in capsys.readouterr().err  # now parsed (and found not JSON)
    monkeypatch.setattr(persistence, "MAX_CASE_BYTES", 1000)
    assert main(["log", "export", str(good), str(tmp_path / "log.csv")]) == 2
    assert "MAX_CASE_BYTES" in capsys.readouterr().err


_BOUNDED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
from approvalflow.cli.main import main
sys.exit(main(["supervise", sys.argv[1], "--at", "2026-10-30T09:00:00+08:00"]))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "value", ["'[' || printf('%.40000000c', '[')", "printf('%.40000000c', '1')", "'\"' || printf('%.40000000c', 'x')"]
)
def test_a_huge_hostile_index_cell_is_refused_within_bounded_memory_and_time(
    value: str, good: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    path = _damaged_copy(good, tmp_path, _sql(f"UPDATE af_cases SET summary = {value} {C}"))
    done = subprocess.run(
        [sys.executable, "-c", _BOUNDED, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "MAX_INDEX_JSON_CHARS" in done.stderr and "Traceback" not in done.stderr


# -- PostgreSQL ------------------------------------------------------------------------------------------

_PG_DAMAGES = [
    ("dropped af_deadlines", ["DROP TABLE af_deadlines"], ("af_deadlines",)),
    ("af_cases without index_seal", ["ALTER TABLE af_cases DROP COLUMN index_seal"], ("af_cases",)),
    ("wrong schema version", ["UPDATE af_meta SET value = '99'"], ("af_meta", "schema version")),
    (
        "NULL unit in af_cases",
        ["ALTER TABLE af_cases ALTER COLUMN unit DROP NOT NULL", f"UPDATE af_cases SET unit = NULL {C}"],
        ("af_cases", CASE, "unit"),
    ),
    ("summary not JSON", [f"UPDATE af_cases SET summary = '{{nope' {C}"], ("af_cases", CASE, "summary")),
    ("day not a date", [f"UPDATE af_deadlines SET day = 'Tuesday' {W}"], ("af_deadlines", CASE, "day")),
]


@pytest.mark.skipif(not os.environ.get("APPROVALFLOW_TEST_POSTGRES"), reason="no PostgreSQL server configured")
@pytest.mark.parametrize(("name", "statements", "words"), _PG_DAMAGES, ids=[d[0] for d in _PG_DAMAGES])
def test_a_damaged_postgres_store_is_a_clear_error(
    name: str, statements: list[str], words: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    url = os.environ["APPROVALFLOW_TEST_POSTGRES"]
    drop_postgres_tables(url)  # whatever an earlier test left
    for scenario in ("lic_decide_refused", "lic_review_open", "lic_done"):
        store_scenario_case(url, run_scenario(DATA / f"{scenario}.scenario.yaml"))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)
        assert main(["supervise", url, "--at", AT]) == 2
        err = capsys.readouterr().err
        assert err.startswith("approvalflow: error:") and err.count("\n") == 1
        for word in words:
            assert word in err, err
    finally:
        drop_postgres_tables(url)  # whatever an earlier test left
