"""A store written by an earlier release opens and works after the upgrade (issue 18, item 4).

``tests/data/stores/schema2_03e87db.db`` was written at commit 03e87db (store schema 2, saved cases of format 2,
before timers and the state bound at rest); see its README. Today's code refuses to open it as it is, naming the
upgrade; ``store reindex`` upgrades it in place; then its cases verify, the sweep gives their cards, and an open case
runs on and is saved in today's format.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from approvalflow import load_organisation, load_process
from approvalflow.cli.main import main
from approvalflow.store.base import StoreError
from approvalflow.store.cases import complete_step, load_case_from
from approvalflow.store.factory import open_store
from approvalflow.store.sql import SCHEMA_VERSION

from .conftest import LICENSING, MARKET_ORG, ROOT

FIXTURE = Path(__file__).parent / "data" / "stores" / "schema2_03e87db.db"


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    copy = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, copy)
    return copy


def _schema(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("SELECT value FROM af_meta WHERE key = 'schema'").fetchone()[0])


def test_an_old_store_is_refused_with_the_upgrade_named_then_upgraded_in_place(
    old_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _schema(old_store) == "2"
    with pytest.raises(StoreError, match=r"schema version '2'.*store reindex"):
        open_store(old_store)
    assert _schema(old_store) == "2"  # refusing changed nothing
    code = main(["store", "reindex", str(old_store), "--process", str(ROOT / "processes" / "licensing"),
                 "--org", str(MARKET_ORG)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    assert _schema(old_store) == SCHEMA_VERSION
    assert main(["store", "check", str(old_store), "--process", str(ROOT / "processes" / "licensing"),
                 "--org", str(MARKET_ORG)]) == 0  # fmt: skip


def test_after_the_upgrade_an_old_case_runs_on_and_is_saved_in_todays_format(old_store: Path) -> None:
    assert main(["store", "reindex", str(old_store), "--process", str(ROOT / "processes" / "licensing"),
                 "--org", str(MARKET_ORG)]) == 0  # fmt: skip
    process, org = load_process(LICENSING), load_organisation(MARKET_ORG)
    store = open_store(old_store)
    try:
        stored = load_case_from(store, "lic-decide-refused", process, org)
        assert [r.id for r in stored.case.ready_steps()] == ["decide"]  # zhang was refused in the old release
        complete_step(store, stored, "decide", "li", data={"approved": True}, at="2026-10-13T10:00:00+08:00")
        again = load_case_from(store, "lic-decide-refused", process, org)
        assert again.case.path[-1] == "decide" and again.case.trail.verify().ok
        assert '"version":4' in store.get("lic-decide-refused").state.replace(" ", "")  # saved in today's format
    finally:
        store.close()


def test_store_upgrade_brings_the_old_store_to_todays_schema_in_place(
    old_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = ["--process", str(ROOT / "processes" / "licensing"), "--org", str(MARKET_ORG)]
    assert main(["store", "upgrade", str(old_store), *given]) == 0
    assert (
        f"upgraded in place from schema 2 to {SCHEMA_VERSION}; 3 cases reindexed, 0 refused" in capsys.readouterr().out
    )
    assert _schema(old_store) == SCHEMA_VERSION
    assert main(["store", "upgrade", str(old_store), *given]) == 0  # again: only the index rebuilt
    assert f"schema {SCHEMA_VERSION} already" in capsys.readouterr().out
    assert main(["store", "check", str(old_store), *given]) == 0


def test_a_store_of_a_newer_schema_is_refused_saying_so_and_a_missing_one_is_not_created(
    old_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(old_store) as conn:
        conn.execute("UPDATE af_meta SET value = '9' WHERE key = 'schema'")
    given = ["--process", str(ROOT / "processes" / "licensing"), "--org", str(MARKET_ORG)]
    assert main(["store", "upgrade", str(old_store), *given]) == 2
    assert "written by a newer approvalflow" in capsys.readouterr().err
    assert _schema(old_store) == "9"  # never downgraded, nothing created in it
    with sqlite3.connect(old_store) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'af_timers'").fetchone() == (0,)
    missing = tmp_path / "none.db"
    assert main(["store", "upgrade", str(missing), *given]) == 2
    assert not missing.exists()
