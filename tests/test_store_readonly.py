"""``supervise``, ``log export`` and ``store check`` open stores read-only and work on read-only files.

The read-only file is a chmod 0444 store in a chmod 0555 folder. Root ignores file modes, so when the tests run
as root the commands run in a forked child that has dropped to the unprivileged uid 65534 (after a first run
as root has imported every module they need: the interpreter's own files may be out of that user's reach).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from approvalflow.cli.main import main
from approvalflow.store.base import CaseRecord, StoreError
from approvalflow.store.factory import open_store
from approvalflow.store.keeping import store_scenario_case
from approvalflow.testing.scenario import run_scenario

from .store_support import PG_SKIP, PG_URL, drop_postgres_tables

DATA = Path(__file__).parent / "data" / "supervision"
ROOT = Path(__file__).resolve().parents[1]
AT = "2026-10-30T09:00:00+08:00"
CHECK_ARGS = [
    "--process",
    str(ROOT / "processes" / "licensing"),
    "--org",
    str(ROOT / "processes/org/sample_county.yaml"),
]
NOBODY = 65534


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "cases.db"
    for name in ("lic_decide_refused", "lic_review_open", "lic_done"):
        store_scenario_case(str(path), run_scenario(DATA / f"{name}.scenario.yaml"))
    open_store(path).close()
    return path


def _digest(folder: Path) -> dict[str, tuple[str, float]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime) for p in sorted(folder.iterdir())}


@pytest.fixture
def readonly_store(good: Path) -> Iterator[Path]:
    """A store file chmod 0444 in a folder chmod 0555 (outside pytest's root-only temp folder)."""
    folder = Path(tempfile.mkdtemp(prefix="af-ro-", dir="/tmp"))
    path = folder / "cases.db"
    shutil.copy(good, path)
    path.chmod(0o444)
    folder.chmod(0o555)
    yield path
    folder.chmod(0o755)
    shutil.rmtree(folder)


@pytest.fixture
def out_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="af-out-", dir="/tmp"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def _unprivileged(run: Callable[[], int]) -> int:
    """``run()`` as a user the file modes apply to: a forked child at uid 65534 when we are root."""
    if os.geteuid() != 0:
        return run()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            code = run()
        except BaseException:
            traceback.print_exc()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _cli(args: list[str], out: Path) -> Callable[[], int]:
    def run() -> int:
        with out.open("w") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
            return main(args)

    return run


def test_the_folder_and_file_really_are_read_only_for_the_child(readonly_store: Path, out_folder: Path) -> None:
    def write() -> int:
        try:
            sqlite3.connect(readonly_store).execute("CREATE TABLE x (y)")
        except sqlite3.OperationalError:
            return 0  # refused: the modes apply
        return 1

    assert _unprivileged(write) == 0


def _commands(store: Path, out: Path) -> dict[str, list[str]]:
    return {
        "supervise": ["supervise", str(store), "--at", AT, "--json"],
        "export": ["log", "export", str(store), str(out / "log.csv")],
        "check": ["store", "check", str(store), "--json", *CHECK_ARGS],
    }


def test_supervise_export_and_check_work_on_a_read_only_store(
    readonly_store: Path, good: Path, out_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _digest(readonly_store.parent)
    shutil.copy(good, tmp_path / "warm.db")
    for args in _commands(tmp_path / "warm.db", tmp_path).values():  # every module the commands need imported
        assert main(args) == 0
    capsys.readouterr()
    commands = _commands(readonly_store, out_folder)
    for name, args in commands.items():
        report = out_folder / f"{name}.out"
        assert _unprivileged(_cli(args, report)) == 0, report.read_text()
    doc = json.loads((out_folder / "supervise.out").read_text())
    assert doc["counts"]["red"] == 4 and doc["integrity"] == []
    assert json.loads((out_folder / "check.out").read_text().splitlines()[-1])["ok"] is True
    assert (out_folder / "log.csv").read_text().startswith("case,activity")
    assert _digest(readonly_store.parent) == before  # nothing written, no -wal or -shm created


def test_a_store_left_in_wal_mode_by_a_running_writer_is_read_with_its_newest_cases(good: Path, tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    shutil.copy(good, path)
    writer = open_store(path)
    record = writer.get("lic-done")
    from dataclasses import replace

    writer.insert(replace(record, id="lic-done-2", version=0))  # committed into the -wal, not checkpointed
    assert Path(f"{path}-wal").exists()
    reader = open_store(path, readonly=True)
    try:
        assert "lic-done-2" in reader.ids()
    finally:
        reader.close()
        writer.close()


def test_a_read_only_store_refuses_writes(good: Path, tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    shutil.copy(good, path)
    before = path.read_bytes()
    store = open_store(path, readonly=True)
    record: CaseRecord = store.get("lic-done")
    try:
        with pytest.raises(StoreError, match="read-only"):
            store.update(record, expected=record.version)
        with pytest.raises(StoreError, match="read-only"):
            store.insert_many([record])
    finally:
        store.close()
    assert path.read_bytes() == before


@pytest.mark.parametrize("command", ["supervise", "export", "check"])
def test_a_missing_or_empty_file_is_an_error_and_never_becomes_a_store(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for path, words in ((tmp_path / "missing.db", "no such case store"), (empty, "empty file")):
        args = {
            "supervise": ["supervise", str(path), "--at", AT],
            "export": ["log", "export", str(path), str(tmp_path / "log.csv")],
            "check": ["store", "check", str(path), *CHECK_ARGS],
        }[command]
        assert main(args) == 2
        assert words in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists() and empty.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]  # no -wal, -shm or log either


def test_supervise_never_recreates_a_dropped_table(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cases.db"
    shutil.copy(good, path)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE af_anomalies")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    assert main(["supervise", str(path), "--at", AT]) == 2
    assert "af_anomalies" in capsys.readouterr().err
    assert path.read_bytes() == before
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'af_anomalies'").fetchone() == (0,)
    conn.close()


def test_the_read_only_file_mode_is_what_the_fixture_says(readonly_store: Path) -> None:
    assert stat.S_IMODE(readonly_store.stat().st_mode) == 0o444
    assert stat.S_IMODE(readonly_store.parent.stat().st_mode) == 0o555


# -- PostgreSQL ------------------------------------------------------------------------------------------


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_postgres_read_only_store_refuses_writes_and_never_creates_tables(capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg

    from approvalflow.store.postgres import PostgresStore

    assert PG_URL
    setup = PostgresStore(PG_URL)
    setup.drop()
    setup.close()
    with pytest.raises(StoreError, match="af_"):  # an empty database is no store to read
        PostgresStore(PG_URL, readonly=True)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'af_%'").fetchone()
    assert tables == (0,)
    store_scenario_case(PG_URL, run_scenario(DATA / "lic_done.scenario.yaml"))
    store = PostgresStore(PG_URL, readonly=True)
    record = store.get("lic-done")
    try:
        with pytest.raises(StoreError, match="read-only"):
            store.update(record, expected=record.version)
        with store._conn.cursor() as cur, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            cur.execute("CREATE TABLE af_sneaky (x int)")  # the session itself is read-only
    finally:
        store.close()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("DROP TABLE af_anomalies")
    assert main(["supervise", PG_URL, "--at", AT]) == 2
    assert "af_anomalies" in capsys.readouterr().err
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        found = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'af_anomalies'")
        assert found.fetchone() == (0,)
    drop_postgres_tables(PG_URL)  # leave no damaged store to the next test
