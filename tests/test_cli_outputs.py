"""Outputs of ``run``, ``supervise`` and ``log export`` are checked before anything is written; passwords never show."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvalflow.cli.main import main
from approvalflow.store.base import StoreError, redact
from approvalflow.store.factory import open_store
from approvalflow.store.keeping import store_scenario_case
from approvalflow.testing.scenario import run_scenario

from .store_support import drop_postgres_tables

DATA = Path(__file__).parent / "data" / "supervision"
ROOT = Path(__file__).resolve().parents[1]
SCENARIO = str(DATA / "lic_done.scenario.yaml")
AT = "2026-10-30T09:00:00+08:00"
SECRET = "s3cret-Pa55"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "cases.db"
    for name in ("lic_decide_refused", "lic_review_open", "lic_done"):
        store_scenario_case(str(path), run_scenario(DATA / f"{name}.scenario.yaml"))
    open_store(path).close()
    return path


def test_run_writes_the_store_and_the_trail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trail, db = tmp_path / "trail.jsonl", tmp_path / "cases.db"
    assert main(["run", SCENARIO, "--json", "--trail", str(trail), "--store", str(db)]) == 0
    assert trail.read_text(encoding="utf-8").count("\n") >= 3
    store = open_store(db, readonly=True)
    assert store.ids() == ["lic-done"]
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("cases.db")) == ["trail.jsonl"]


@pytest.mark.parametrize(
    ("trail", "store", "words"),
    [
        ("missing/trail.jsonl", "cases.db", "--trail"),
        ("trail.jsonl", "missing/cases.db", "--store"),
        (".", "cases.db", "is a folder"),
        ("trail.jsonl", ".", "is a folder"),
        ("same.db", "same.db", "the same file"),
    ],
)
def test_run_checks_every_output_before_writing_any(
    trail: str,
    store: str,
    words: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", SCENARIO, "--trail", trail, "--store", store]) == 2
    err = capsys.readouterr().err
    assert err.startswith("approvalflow: error:") and words in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # neither the store nor the trail nor a temporary file


def test_run_store_refuses_an_id_already_stored_and_writes_no_trail(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cases.db"
    shutil.copy(good, db)
    before = open_store(db, readonly=True)
    stored = before.get("lic-done")
    before.close()
    trail = tmp_path / "trail.jsonl"
    assert main(["run", SCENARIO, "--trail", str(trail), "--store", str(db)]) == 2
    assert "never replaces a stored case" in capsys.readouterr().err
    assert not trail.exists() and sorted(p.name for p in tmp_path.iterdir() if "trail" in p.name) == []
    after = open_store(db, readonly=True)
    assert after.get("lic-done") == stored
    after.close()


def test_supervise_checks_its_report_files_before_reading(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for option in ("--html", "--csv"):
        assert main(["supervise", str(good), "--at", AT, option, str(tmp_path / "no" / "report")]) == 2
        assert "no such folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_log_export_refused_leaves_out_as_it_was(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    db = tmp_path / "cases.db"
    shutil.copy(good, db)
    out = tmp_path / "log.csv"
    out.write_text("the previous export\n", encoding="utf-8")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE af_cases SET state = '{' WHERE id = 'lic-review-open'")
    conn.commit()
    conn.close()
    assert main(["log", "export", str(db), str(out)]) == 2
    assert "lic-review-open" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "the previous export\n"
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("cases.db-"))  # SQLite's -wal, -shm
    assert left == ["cases.db", "log.csv"]  # no temporary file left
    assert main(["log", "export", str(good), str(tmp_path / "log.txt")]) == 2
    err = capsys.readouterr().err
    assert "log.txt" in err and ".af-export" not in err
    assert main(["log", "export", str(good), str(tmp_path / "no" / "log.csv")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_log_export_writes_out(good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "log.csv"
    assert main(["log", "export", str(good), str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("case,activity") and "3 cases" in capsys.readouterr().out


# -- passwords -------------------------------------------------------------------------------------------

URLS = [
    f"postgresql://alice:{SECRET}@127.0.0.1:1/cases",  # nothing listens on port 1: the connection fails
    f"postgres://alice:{SECRET}@127.0.0.1:1/cases?sslmode=disable",
    f"postgresql://alice@127.0.0.1:1/cases?password={SECRET}&connect_timeout=2",
    f"postgresql://alice:{SECRET}@no-such-host.invalid:5432/cases",
]


@pytest.mark.parametrize("url", URLS)
def test_a_password_in_a_store_url_is_never_printed(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("psycopg")
    commands = [
        ["supervise", url, "--at", AT],
        ["log", "export", url, str(tmp_path / "log.csv")],
        [
            "store",
            "check",
            url,
            "--process",
            str(ROOT / "processes/licensing/general_licensing.bpmn"),
            "--org",
            str(ROOT / "processes/org/sample_county.yaml"),
        ],
        ["run", SCENARIO, "--store", url],
    ]
    for args in commands:
        assert main(args) == 2
        captured = capsys.readouterr()
        assert SECRET not in captured.err + captured.out
        assert "cannot open the case store" in captured.err and "***" in captured.err, captured.err
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)
    assert caught.value.__cause__ is None  # the driver's exception (which may quote the URL) is not chained
    assert caught.value.__suppress_context__


@pytest.mark.skipif(not __import__("os").environ.get("APPROVALFLOW_TEST_POSTGRES"), reason="no PostgreSQL server")
def test_a_reachable_store_with_a_password_shows_none_in_its_repr() -> None:
    import os

    url = os.environ["APPROVALFLOW_TEST_POSTGRES"]
    drop_postgres_tables(url)  # whatever an earlier test left
    with_password = url.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@")
    store = open_store(with_password)  # trust authentication: any password is accepted
    try:
        assert SECRET not in repr(store) and SECRET not in store.url and "***" in store.url
    finally:
        store.close()


_PASSWORD = st.text(alphabet=st.characters(codec="ascii", exclude_characters="@/?#& \t\n\r\x0b\x0c;"), min_size=4)


@given(user=st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), password=_PASSWORD)
def test_redact_removes_any_password_from_any_message(user: str, password: str) -> None:
    url = f"postgresql://{user}:{password}@db.example:5432/cases"
    message = f"{url}: cannot open the case store (password {password!s} refused for {url})"
    redacted = redact(message, url)
    assert password not in redacted
    if password not in f"postgresql://{user}@db.example:5432/cases":  # else the URL's other parts lose it too
        assert f"postgresql://{user}:***@db.example:5432/cases" in redacted
    query = f"postgresql://{user}@db.example/cases?sslmode=require&password={password}"
    assert password not in redact(f"opening {query} failed", query)
    assert password not in redact(f"opening {query} failed")  # the pattern alone, without the URL
