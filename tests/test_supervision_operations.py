"""What the supervision commands do, called without the command line (supervision.operations, store.reading and
store.keeping): the same results as ``supervise --json`` and ``log export``, and the same refusals."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from approvalflow.cli.main import main
from approvalflow.store.base import CaseRecord, StoreError
from approvalflow.store.factory import open_store
from approvalflow.store.keeping import keep_new_case, store_scenario_case
from approvalflow.store.reading import LastRead, open_existing_store
from approvalflow.supervision.operations import export_store_log, supervise_store
from approvalflow.testing.scenario import run_scenario

DATA = Path(__file__).parent / "data" / "supervision"
AT = datetime(2026, 10, 30, 9, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ops") / "cases.db"
    for name in ("lic_decide_refused", "lic_review_open", "lic_done"):
        store_scenario_case(str(path), run_scenario(DATA / f"{name}.scenario.yaml"))
    return path


def test_supervise_store_is_what_supervise_json_prints(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_existing_store(str(db))
    try:
        found = supervise_store(store, AT)
    finally:
        store.close()
    assert main(["supervise", str(db), "--at", AT.isoformat(), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(found.to_json(), ensure_ascii=False))
    assert found.problems == []
    assert {c.case for c in found.sweep.cards} == {"lic-decide-refused", "lic-review-open"}
    assert found.efficiency.total.received == 3


def test_a_case_is_kept_once_and_never_replaced(db: Path) -> None:
    result = run_scenario(DATA / "lic_done.scenario.yaml")
    with pytest.raises(StoreError, match="never replaces") as info:
        keep_new_case(str(db), result.case)
    assert info.value.case == "lic-done"
    store = open_store(db)
    try:
        assert store.count() == 3
    finally:
        store.close()


def test_a_missing_store_is_not_created_by_reading_it(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    with pytest.raises(StoreError):
        open_existing_store(str(missing))
    assert not missing.exists()


def test_the_last_record_read_is_named_when_a_reader_breaks(db: Path) -> None:
    store = open_existing_store(str(db))
    try:
        last = LastRead()
        seen: list[CaseRecord] = []
        with pytest.raises(KeyError):
            for record in last.track(store.summaries()):
                seen.append(record)
                if len(seen) == 2:
                    raise KeyError("completions")
        error = last.damaged(store, "summary", KeyError("completions"))
    finally:
        store.close()
    assert error.case == seen[1].id
    assert "column summary: damaged (KeyError" in str(error)


def test_a_refused_export_leaves_out_as_it_was(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "log.txt"
    out.write_text("before", encoding="utf-8")
    store = open_existing_store(str(db))
    try:
        with pytest.raises(Exception, match="unknown event-log format") as info:
            export_store_log(store, out)
        assert str(out) in str(info.value) and ".log.txt." not in str(info.value)  # OUT named, not the staged file
        assert export_store_log(store, tmp_path / "log.csv") == 3
    finally:
        store.close()
    assert out.read_text(encoding="utf-8") == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv", "log.txt"]
