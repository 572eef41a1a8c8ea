"""The process registry of a case store: deploy, versions, idempotence, hostile files, cases on their version."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from approvalflow import FakeClock, Organisation, load_organisation, load_process
from approvalflow.cli.main import main
from approvalflow.errors import DefinitionError
from approvalflow.store import open_store
from approvalflow.store.base import CaseStore, StoreError
from approvalflow.store.cases import complete_step, load_case_from, start_deployed
from approvalflow.store.memory import MemoryStore
from approvalflow.store.registry import definition_of, deploy, stored_definition, versions
from approvalflow.store.sql import SCHEMA_VERSION

from .conftest import DATA, MARKET_ORG
from .registry_support import permit, write
from .store_support import store  # noqa: F401  (fixture)

MONDAY = "2026-03-02T09:00:00+08:00"


@pytest.fixture
def org() -> Organisation:
    return load_organisation(MARKET_ORG)


def test_versions_count_up_per_process_and_identical_content_is_a_no_op(store: CaseStore, tmp_path: Path) -> None:  # noqa: F811
    v1 = write(tmp_path, "permit.bpmn", permit(promised=10))
    first = deploy(store, [v1], at=MONDAY)
    assert [(d.process, d.version, d.new) for d in first] == [("permit", 1, True)]
    again = deploy(store, [v1], at="2026-03-03T09:00:00+08:00")
    assert [(d.version, d.new, d.digest) for d in again] == [(1, False, first[0].digest)]
    assert again[0].deployed_at == first[0].deployed_at  # the first deployment stands
    v2 = write(tmp_path, "permit2.bpmn", permit(promised=15))
    second = deploy(store, [v2, v1], at="2026-03-04T09:00:00+08:00")
    assert [(d.version, d.new) for d in second] == [(2, True), (1, False)]
    listed = versions(store)
    assert [(d.process, d.version) for d in listed] == [("permit", 1), ("permit", 2)]
    assert listed[1].digest == load_process(v2).digest
    assert versions(store, "nothing") == []


def test_a_definition_loads_from_the_stored_bytes_not_from_disk(store: CaseStore, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "calls"
    shutil.copytree(DATA / "calls", folder)
    on_disk = load_process(folder / "main.bpmn")
    [done] = deploy(store, [folder / "main.bpmn"])
    assert done.files == (str(folder / "main.bpmn"), str(folder / "hearing.bpmn"))  # the called file kept too
    shutil.rmtree(folder)  # nothing left on disk
    kept = stored_definition(store, "main_process")
    assert kept.digest == on_disk.digest == done.digest
    assert set(kept.steps) == set(on_disk.steps)  # the called process's steps too
    assert definition_of(store, "0" * 64) is None


def test_a_case_loads_on_the_version_it_started_on_after_the_file_changed(
    store: CaseStore,  # noqa: F811
    tmp_path: Path,
    org: Organisation,
) -> None:
    path = write(tmp_path, "permit.bpmn", permit(promised=10))
    deploy(store, [path])
    old = start_deployed(store, "permit", org, case_id="c1", clock=FakeClock(MONDAY))
    write(tmp_path, "permit.bpmn", permit(promised=15))  # the department edits its file
    deploy(store, [path])
    new = start_deployed(store, "permit", org, case_id="c2", clock=FakeClock(MONDAY))
    assert new.case.definition.digest != old.case.definition.digest
    edited = load_process(path)  # what the host has on disk now: version 2
    for given in (None, edited):
        again = load_case_from(store, "c1", given, org, clock=FakeClock(MONDAY))
        assert again.case.definition.digest == old.case.definition.digest
        # 10 working days after Monday 2 March 2026 (no holiday in March): 3-6, 9-13, 16 March
        assert str(again.case.deadlines(MONDAY)).startswith("promised 2026-03-16")
    complete_step(store, again, "accept", "wang", at="2026-03-02T10:00:00+08:00")
    assert [r.id for r in load_case_from(store, "c1", edited, org).case.ready_steps()] == ["review"]
    chosen = start_deployed(store, "permit", org, case_id="c3", version=1, clock=FakeClock(MONDAY))
    assert chosen.case.definition.digest == old.case.definition.digest
    # version 2 (15 working days): 17-20 and 23 March
    assert str(load_case_from(store, "c2", None, org).case.deadlines(MONDAY)).startswith("promised 2026-03-23")


def test_the_spec_is_not_stored_in_each_case(store: CaseStore, tmp_path: Path, org: Organisation) -> None:  # noqa: F811
    deploy(store, [write(tmp_path, "permit.bpmn", permit())])
    start_deployed(store, "permit", org, case_id="c1", clock=FakeClock(MONDAY))
    state = json.loads(store.get("c1").state)
    assert "spec" not in state["workflow"] and "subprocess_specs" not in state["workflow"]
    assert "bpmn:definitions" not in store.get("c1").state and "af:timeLimit" not in store.get("c1").state


def test_unknown_process_and_version_are_named(store: CaseStore, tmp_path: Path, org: Organisation) -> None:  # noqa: F811
    with pytest.raises(StoreError, match=r"no process 'permit' is deployed.*deployed: none"):
        stored_definition(store, "permit")
    deploy(store, [write(tmp_path, "permit.bpmn", permit())])
    with pytest.raises(StoreError, match="has no version 7; versions 1 to 1"):
        start_deployed(store, "permit", org, version=7)


HOSTILE = {
    "not XML": ("<bpmn:definitions", r"bad\.bpmn"),
    "a script": (
        permit(extra='    <bpmn:scriptTask id="boom"><bpmn:script>__import__("os")</bpmn:script></bpmn:scriptTask>\n'),
        r"bad\.bpmn:\d+.*boom",
    ),
    "an entity": (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&e;</bpmn:definitions>',
        r"bad\.bpmn",
    ),
    "a dangling flow": (permit().replace('targetRef="end"', 'targetRef="nowhere"'), r"bad\.bpmn:\d+.*f4"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_refused_file_is_named_and_nothing_is_written(kind: str, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    kept = open_store(db)
    good = write(tmp_path, "good.bpmn", permit())
    text, where = HOSTILE[kind]
    bad = write(tmp_path, "bad.bpmn", text)
    with pytest.raises(DefinitionError, match=where):
        deploy(kept, [good, bad])  # the good file is refused with it: one transaction
    assert versions(kept) == []
    kept.close()
    with sqlite3.connect(db) as conn:
        for table in ("af_processes", "af_definitions", "af_files"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_a_damaged_registry_row_is_named_never_loaded(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    kept = open_store(db)
    [done] = deploy(kept, [write(tmp_path, "permit.bpmn", permit())])
    kept.close()
    with sqlite3.connect(db) as conn:  # another process's bytes put in place of the file
        other = __import__("base64").b64encode(permit(promised=99).encode()).decode()
        conn.execute("UPDATE af_files SET content = ?", (other,))
    kept = open_store(db)
    with pytest.raises(StoreError, match="af_files"):
        definition_of(kept, done.digest)
    kept.close()


def test_a_schema_3_store_is_upgraded_with_an_empty_registry(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    open_store(db).close()
    with sqlite3.connect(db) as conn:  # what a store of the previous schema version looks like
        for table in ("af_processes", "af_definitions", "af_files"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("UPDATE af_meta SET value = '3' WHERE key = 'schema'")
    with pytest.raises(StoreError, match=r"schema version '3'.*store upgrade"):
        open_store(db)
    open_store(db, upgrade=True).close()
    kept = open_store(db)
    assert versions(kept) == []
    kept.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM af_meta").fetchone()[0] == SCHEMA_VERSION == "4"


def test_cli_deploy_and_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "s.db")
    v1 = write(tmp_path, "permit.bpmn", permit(promised=10))
    assert main(["deploy", db, str(v1)]) == 0
    assert "permit: version 1 deployed" in capsys.readouterr().out
    assert main(["deploy", db, str(v1)]) == 0
    assert "already deployed as version 1" in capsys.readouterr().out
    v2 = write(tmp_path, "permit2.bpmn", permit(promised=15))
    assert main(["deploy", db, str(v2), "--json"]) == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert (shown["process"], shown["version"], shown["new"]) == ("permit", 2, True)
    assert main(["versions", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["permit", "v1"], ["permit", "v2"]]
    assert main(["versions", db, "permit", "--json"]) == 0
    assert [d["version"] for d in json.loads(capsys.readouterr().out)] == [1, 2]
    assert main(["versions", db, "other"]) == 0
    assert "no version of process 'other' is deployed" in capsys.readouterr().out
    bad = write(tmp_path, "bad.bpmn", "<x")
    assert main(["deploy", db, str(bad)]) == 2
    assert "bad.bpmn" in capsys.readouterr().err
    assert main(["versions", str(tmp_path / "none.db")]) == 2  # never created by a reader
    assert not (tmp_path / "none.db").exists()


def test_store_commands_find_a_deployed_process_without_being_given_it(
    tmp_path: Path, org: Organisation, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    kept = open_store(db)
    path = write(tmp_path, "permit.bpmn", permit())
    deploy(kept, [path])
    stored = start_deployed(kept, "permit", org, case_id="c1", clock=FakeClock(MONDAY))
    complete_step(kept, stored, "accept", "wang", at="2026-03-02T10:00:00+08:00")
    kept.close()
    path.unlink()
    assert main(["store", "check", str(db), "--org", str(MARKET_ORG)]) == 0, capsys.readouterr()
    assert "every trail verifies" in capsys.readouterr().out


def test_a_memory_store_finds_only_its_own_definitions(tmp_path: Path) -> None:
    one, other = MemoryStore(), MemoryStore()  # both are 'memory:'
    [done] = deploy(one, [write(tmp_path, "permit.bpmn", permit())])
    assert definition_of(one, done.digest) is not None
    assert definition_of(other, done.digest) is None
    assert versions(other) == []


def test_tick_finds_a_deployed_process_without_being_given_it(
    tmp_path: Path, org: Organisation, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    kept = open_store(db)
    bpmn = tmp_path / "review.bpmn"
    shutil.copy(DATA / "timers" / "review.bpmn", bpmn)
    deploy(kept, [bpmn])
    stored = start_deployed(kept, "timers", org, case_id="t1", clock=FakeClock(MONDAY))
    complete_step(kept, stored, "accept", "wang", at="2026-03-02T10:00:00+08:00")
    kept.close()
    bpmn.unlink()
    # 'remind' (PT4H, not interrupting) is attached to review, ready since 10:00: due at 14:00
    code = main(["tick", str(db), "--at", "2026-03-02T15:00:00+08:00", "--org", str(MARKET_ORG)])
    assert code == 0, capsys.readouterr()
    assert "t1: remind fired at 2026-03-02T14:00:00+08:00" in capsys.readouterr().out


def test_a_deploy_larger_than_the_bound_is_refused_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from approvalflow.store import registry

    kept = MemoryStore()
    path = write(tmp_path, "permit.bpmn", permit())
    monkeypatch.setattr(registry, "MAX_DEPLOY_BYTES", path.stat().st_size - 1)
    with pytest.raises(ValueError, match="MAX_DEPLOY_BYTES"):
        deploy(kept, [path])
    assert versions(kept) == []
