"""Index rows a sweep cannot tie to their case are never trusted: ``supervise``, ``store check``, ``store reindex``.

The stores are filled with the three supervision scenarios; the rows are then changed behind the store's back
with plain SQL, as anyone with access to the database file or server could.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow.cli.main import main
from approvalflow.engine.trail import MAX_KEY_FILE_BYTES
from approvalflow.store import integrity
from approvalflow.store.base import StoreError
from approvalflow.store.factory import open_store
from approvalflow.store.keeping import store_scenario_case
from approvalflow.testing.scenario import run_scenario
from approvalflow.time.clock import parse_moment

from .store_support import PG_SKIP, PG_URL

DATA = Path(__file__).parent / "data" / "supervision"
ROOT = Path(__file__).resolve().parents[1]
AT = "2026-10-30T09:00:00+08:00"
OPEN = "lic-review-open"  # three deadline rows, all due (two red, one yellow) at AT
REFUSED = "lic-decide-refused"  # due rows and one anomaly (the refusal)
CHECK_ARGS = [
    "--process",
    str(ROOT / "processes" / "licensing"),
    "--org",
    str(ROOT / "processes/org/sample_county.yaml"),
]
KEY = b"k" * 32


def _fill(url: str, key: bytes | None = None) -> None:
    for name in ("lic_decide_refused", "lic_review_open", "lic_done"):
        store_scenario_case(url, run_scenario(DATA / f"{name}.scenario.yaml"), key=key)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "cases.db"
    _fill(str(path))
    open_store(path).close()
    return path


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keyed") / "cases.db"
    _fill(str(path), KEY)
    open_store(path).close()
    return path


@pytest.fixture
def db(good: Path, tmp_path: Path) -> Path:
    path = tmp_path / "cases.db"
    shutil.copy(good, path)
    return path


def _exec(path: Path, *statements: str, params: tuple[Any, ...] = ()) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement, params if "?" in statement else ())
    conn.commit()
    conn.close()


def _supervise(path: Path | str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["supervise", str(path), "--at", AT, "--json", *extra])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else {"error": captured.err}


def _cards(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["case"], c["level"], c["task"] or c["limit"]) for c in doc["cards"]}


def test_the_untouched_store_sweeps_clean(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _supervise(good, capsys)
    assert code == 0 and doc["integrity"] == []
    assert {c for c, _, _ in _cards(doc)} == {OPEN, REFUSED} and len(doc["anomalies"]) >= 1


TAMPERING: list[tuple[str, tuple[str, ...], str, str]] = [
    # name, SQL, the case that must be reported, the table named
    ("every deadline row deleted", ("DELETE FROM af_deadlines",), OPEN, "af_deadlines"),
    ("every anomaly row deleted", ("DELETE FROM af_anomalies",), REFUSED, "af_anomalies"),
    (
        "one red row deleted",
        (f"DELETE FROM af_deadlines WHERE case_id = '{OPEN}' AND ordinal = 0",),
        OPEN,
        "af_deadlines",
    ),
    (
        "a row moved out of the sweep",
        (f"UPDATE af_deadlines SET yellow_at = 4102444800000000 WHERE case_id = '{OPEN}'",),
        OPEN,
        "af_deadlines",
    ),
    (
        "a red card turned yellow",
        (f"UPDATE af_deadlines SET end_at = 4102444800000000 WHERE case_id = '{OPEN}'",),
        OPEN,
        "af_deadlines",
    ),
    (
        "responsible people changed",
        (f"UPDATE af_deadlines SET people = 'nobody' WHERE case_id = '{OPEN}'",),
        OPEN,
        "af_deadlines",
    ),
    (
        "a forged row added",
        (
            f"INSERT INTO af_deadlines SELECT case_id, 7, scope, lim, task, day, end_at, yellow_at, unit, power, posts,"
            f" people FROM af_deadlines WHERE case_id = '{OPEN}' AND ordinal = 0",
        ),
        OPEN,
        "af_deadlines",
    ),
    ("anomaly rows moved to the future", ("UPDATE af_anomalies SET at = 4102444800000000",), REFUSED, "af_anomalies"),
    (
        "the case row's marker moved and rows deleted",
        (
            f"UPDATE af_cases SET next_yellow = 4102444800000000 WHERE id = '{OPEN}'",
            f"DELETE FROM af_deadlines WHERE case_id = '{OPEN}'",
        ),
        OPEN,
        "af_cases",
    ),
    (
        "the case row marked completed",
        (f"UPDATE af_cases SET status = 'completed' WHERE id = '{OPEN}'",),
        OPEN,
        "af_cases",
    ),
    (
        "the case row's counts lowered with its rows",
        (
            f"UPDATE af_cases SET deadline_count = 0, next_yellow = NULL WHERE id = '{OPEN}'",
            f"DELETE FROM af_deadlines WHERE case_id = '{OPEN}'",
        ),
        OPEN,
        "af_cases",
    ),
    ("the case row deleted, its rows left", (f"DELETE FROM af_cases WHERE id = '{OPEN}'",), OPEN, "af_deadlines"),
]


@pytest.mark.parametrize(("name", "sql", "case", "table"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_supervise_reports_a_case_whose_index_does_not_tie(
    name: str, sql: tuple[str, ...], case: str, table: str, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _exec(db, *sql)
    code, doc = _supervise(db, capsys)
    assert code == 1, doc
    assert any(p["case"] == case and p["table"] == table for p in doc["integrity"]), doc["integrity"]
    assert case not in {c for c, _, _ in _cards(doc)}  # an untied case's rows are not shown as if true
    code = main(["store", "check", str(db), *CHECK_ARGS])
    out = capsys.readouterr().out
    assert code == 1 and f"case {case}" in out, out


def test_human_output_lists_the_index_problems(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _exec(db, "DELETE FROM af_deadlines")
    assert main(["supervise", str(db), "--at", AT]) == 1
    out = capsys.readouterr().out
    assert "INDEX PROBLEMS" in out and f"case {OPEN}: af_deadlines" in out


def test_the_api_raises_without_a_problems_list(db: Path) -> None:
    from approvalflow.store.base import IndexProblem
    from approvalflow.supervision.sweep import sweep_store

    _exec(db, f"DELETE FROM af_deadlines WHERE case_id = '{OPEN}' AND ordinal = 1")
    store = open_store(db, readonly=True)
    try:
        with pytest.raises(StoreError, match=f"case {OPEN}: .*af_deadlines"):
            sweep_store(store, AT)
        problems: list[IndexProblem] = []
        store.due(parse_moment(AT), problems=problems)
        assert {p.case_id for p in problems} == {OPEN}
    finally:
        store.close()


_COLUMNS = {
    "af_deadlines": [
        "ordinal",
        "scope",
        "lim",
        "task",
        "day",
        "end_at",
        "yellow_at",
        "unit",
        "power",
        "posts",
        "people",
    ],
    "af_anomalies": ["seq", "kind", "at", "at_text", "step", "actor", "rules", "unit", "power", "detail"],
    "af_cases": [
        "process",
        "power",
        "unit",
        "status",
        "steps",
        "ended_at",
        "trail_hash",
        "trail_count",
        "clock",
        "deadline_count",
        "anomaly_count",
        "next_yellow",
        "first_anomaly",
        "index_rows",
    ],
}
_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.text(max_size=12),
    st.sampled_from(["open", "completed", "case", "step", "promised", "2026-10-14", "2026-10-14T00:00:00+08:00"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=st.sampled_from(sorted(_COLUMNS)),
    data=st.data(),
    case=st.sampled_from([OPEN, REFUSED]),
    value=_VALUES,
)
def test_any_single_cell_changed_is_reported_or_refused_never_silently_swept(
    table: str,
    data: st.DataObject,
    case: str,
    value: Any,
    good: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    column = data.draw(st.sampled_from(_COLUMNS[table]))
    path = tmp_path_factory.mktemp("cell") / "cases.db"
    shutil.copy(good, path)
    key = "id" if table == "af_cases" else "case_id"
    conn = sqlite3.connect(path)
    before = conn.execute(f"SELECT {column} FROM {table} WHERE {key} = ?", (case,)).fetchall()
    try:
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (value, case))
        conn.commit()
    except sqlite3.IntegrityError:
        return  # a NOT NULL or key constraint refused the change itself
    after = conn.execute(f"SELECT {column} FROM {table} WHERE {key} = ?", (case,)).fetchall()
    conn.close()
    code, doc = _supervise(path, capsys)
    if after == before or not before:
        return  # nothing changed (the same value, or the case has no row in that table)
    if code == 2:
        assert "Traceback" not in doc["error"] and doc["error"].startswith("approvalflow: error:")
        return
    assert code == 1 and any(p["case"] == case for p in doc["integrity"]), (table, column, value, doc)


def _reseal_without_key(path: Path, case: str) -> None:
    """What a writer without the key can do: delete a case's deadline rows and recompute every digest."""
    from approvalflow.store.sql import TABLES, _header

    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM af_deadlines WHERE case_id = ?", (case,))
    row = conn.execute(f"SELECT {TABLES['af_cases']} FROM af_cases WHERE id = ?", (case,)).fetchone()
    anomalies = conn.execute(
        f"SELECT {TABLES['af_anomalies']} FROM af_anomalies WHERE case_id = ? ORDER BY seq", (case,)
    ).fetchall()
    row = list(row)
    row[14], row[16] = 0, None  # deadline_count, next_yellow
    rows = integrity.rows_digest([], anomalies)
    conn.execute(
        "UPDATE af_cases SET deadline_count = 0, next_yellow = NULL, index_rows = ?, index_seal = ? WHERE id = ?",
        (rows, integrity.seal(_header(row), rows, None), case),
    )
    conn.commit()
    conn.close()


def test_without_a_key_a_consistent_rewrite_passes_the_sweep(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The documented limit: without a key the digests are checksums, not signatures."""
    _reseal_without_key(db, OPEN)
    code, doc = _supervise(db, capsys)
    assert code == 0 and OPEN not in {c for c, _, _ in _cards(doc)}
    assert main(["store", "check", str(db), *CHECK_ARGS]) == 1  # recomputing from the case still finds it
    assert f"case {OPEN}: af_deadlines row 0: row missing" in capsys.readouterr().out


def test_with_a_key_a_rewrite_without_it_is_reported(
    keyed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cases.db"
    shutil.copy(keyed, path)
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    code, doc = _supervise(path, capsys, "--key-file", str(key_file))
    assert code == 0 and doc["integrity"] == []
    _reseal_without_key(path, OPEN)
    code, doc = _supervise(path, capsys, "--key-file", str(key_file))
    assert code == 1 and any(p["case"] == OPEN and "not sealed with the key" in p["message"] for p in doc["integrity"])
    wrong = tmp_path / "wrong"
    wrong.write_bytes(b"w" * 32)
    code, doc = _supervise(keyed, capsys, "--key-file", str(wrong))
    assert code == 1 and {p["case"] for p in doc["integrity"]} >= {OPEN, REFUSED}


def test_a_key_file_that_cannot_be_a_key_is_bad_input(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "short"
    short.write_bytes(b"abc")
    big = tmp_path / "big"
    big.write_bytes(b"x" * (MAX_KEY_FILE_BYTES + 1))
    for path, words in ((short, "at least 16 bytes"), (big, "MAX_KEY_FILE_BYTES"), (tmp_path / "none", "cannot read")):
        assert main(["supervise", str(good), "--at", AT, "--key-file", str(path)]) == 2
        assert words in capsys.readouterr().err


def test_the_seal_is_hmac_with_a_key_and_sha256_without() -> None:
    header, rows = ["c1", "p", 3], "a:b"
    message = json.dumps(
        [integrity.SEAL_DOMAIN, header, rows], ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    assert integrity.seal(header, rows, None) == "sha256:" + hashlib.sha256(message.encode()).hexdigest()
    import hmac

    assert integrity.seal(header, rows, KEY) == "hmac-sha256:" + hmac.new(KEY, message.encode(), "sha256").hexdigest()


def test_store_check_is_clean_on_a_good_store_and_names_broken_trails(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["store", "check", str(db), "--json", *CHECK_ARGS]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"ok": True, "cases": 3, "problems": []}
    conn = sqlite3.connect(db)
    (text,) = conn.execute("SELECT state FROM af_cases WHERE id = ?", (OPEN,)).fetchone()
    state = json.loads(text)
    state["trail"][1]["actor"] = "mallory"
    conn.execute("UPDATE af_cases SET state = ? WHERE id = ?", (json.dumps(state), OPEN))
    conn.commit()
    conn.close()
    assert main(["store", "check", str(db), "--json", *CHECK_ARGS]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [(p["case"], p["table"]) for p in doc["problems"]] == [(OPEN, "af_cases")]
    assert "entry 2" in doc["problems"][0]["message"]


def test_store_check_needs_the_process_and_the_unit(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = ["--process", str(ROOT / "processes" / "penalty"), "--org", str(ROOT / "processes/org/sample_county.yaml")]
    assert main(["store", "check", str(db), "--json", *other]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert {p["case"] for p in doc["problems"]} == {OPEN, REFUSED, "lic-done"}
    assert all("no such process was given" in p["message"] for p in doc["problems"])
    assert main(["store", "check", str(db), "--process", str(ROOT / "nope.bpmn"), "--org", "x.yaml"]) == 2


def test_reindex_restores_the_index_and_refuses_broken_trails(
    db: Path, good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, expected = _supervise(good, capsys)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM af_deadlines")
    conn.execute("UPDATE af_anomalies SET detail = 'forged'")
    conn.execute(
        "INSERT INTO af_anomalies SELECT 'ghost', seq, kind, at, at_text, step, actor, rules, unit, power,"
        " detail FROM af_anomalies"
    )
    (text,) = conn.execute("SELECT state FROM af_cases WHERE id = 'lic-done'").fetchone()
    state = json.loads(text)
    state["trail"] = state["trail"][:-1]  # cut: the case row's head no longer matches
    conn.execute("UPDATE af_cases SET state = ? WHERE id = 'lic-done'", (json.dumps(state),))
    conn.commit()
    conn.close()
    assert main(["store", "reindex", str(db), "--json", *CHECK_ARGS]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["reindexed"] == 2 and [p["case"] for p in doc["refused"]] == ["lic-done"]
    assert doc["orphans_removed"] == 1
    code, after = _supervise(db, capsys)
    assert code == 0 and _cards(after) == _cards(expected) and after["anomalies"] == expected["anomalies"]


def test_reindex_upgrades_a_schema_1_store(db: Path, good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from approvalflow.store.sql import _UPGRADE_1_2

    conn = sqlite3.connect(db)  # back to schema 1: without the columns and indexes version 2 added
    conn.execute("DROP INDEX af_cases_next_yellow")
    conn.execute("DROP INDEX af_cases_first_anomaly")
    for column in _UPGRADE_1_2:
        conn.execute(f"ALTER TABLE af_cases DROP COLUMN {column.split()[0]}")
    conn.execute("UPDATE af_meta SET value = '1'")
    conn.commit()
    conn.close()
    assert main(["supervise", str(db), "--at", AT]) == 2
    assert "reindex" in capsys.readouterr().err
    assert main(["store", "reindex", str(db), *CHECK_ARGS]) == 0
    capsys.readouterr()
    _, expected = _supervise(good, capsys)
    code, after = _supervise(db, capsys)
    assert code == 0 and _cards(after) == _cards(expected)


# -- PostgreSQL ------------------------------------------------------------------------------------------


@pytest.fixture
def pg() -> Iterator[str]:
    from approvalflow.store.postgres import PostgresStore

    assert PG_URL
    store = PostgresStore(PG_URL)
    store.drop()
    store.close()
    _fill(PG_URL)
    yield PG_URL


def _pg_exec(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
@pytest.mark.parametrize(("name", "sql", "case", "table"), TAMPERING[:6], ids=[t[0] for t in TAMPERING[:6]])
def test_postgres_supervise_reports_a_case_whose_index_does_not_tie(
    name: str, sql: tuple[str, ...], case: str, table: str, pg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = _supervise(pg, capsys)
    assert code == 0 and doc["integrity"] == []
    _pg_exec(pg, *sql)
    code, doc = _supervise(pg, capsys)
    assert code == 1 and any(p["case"] == case and p["table"] == table for p in doc["integrity"]), doc
    assert main(["store", "check", pg, *CHECK_ARGS]) == 1
    assert f"case {case}" in capsys.readouterr().out
    assert main(["store", "reindex", pg, *CHECK_ARGS]) == 0
    capsys.readouterr()
    code, doc = _supervise(pg, capsys)
    assert code == 0 and doc["integrity"] == []


def test_a_rows_digest_is_the_digest_of_its_values_and_their_types() -> None:
    """Digests are remembered by row; 1, 1.0 and True are equal in Python but not in the stored JSON, so a damaged
    row holding one where another was written never passes for it."""
    from approvalflow.store.integrity import SEAL_DOMAIN, row_digest

    def direct(row: tuple[object, ...]) -> str:  # the definition, computed afresh
        text = json.dumps([SEAL_DOMAIN, "af_deadlines", list(row)], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    rows = [("c1", 1, "x"), ("c1", 1.0, "x"), ("c1", True, "x"), ("c1", 1, "x")]
    digests = [row_digest("af_deadlines", r) for r in rows]
    assert digests == [direct(r) for r in rows]
    assert len(set(digests[:3])) == 3 and digests[3] == digests[0]
    assert row_digest("af_anomalies", rows[0]) != digests[0]  # a row never passes for another table's
