"""The case store: versions, conflicts, trail verification on load, index columns, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from approvalflow import FakeClock, StepRefused, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine.case import Case
from approvalflow.errors import CaseFormatError
from approvalflow.org.organisation import Organisation
from approvalflow.store.base import CaseStore, ConflictError, StoreError
from approvalflow.store.cases import add_case, complete_step, load_case_from, save_case
from approvalflow.store.factory import open_store

from .store_support import store  # noqa: F401  (fixture)


def _case(licensing: ProcessDefinition, org: Organisation, case_id: str = "c1") -> Case:
    return start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), case_id=case_id)


def test_add_complete_and_load_round_trip(store: CaseStore, licensing: ProcessDefinition, org: Organisation) -> None:  # noqa: F811
    stored = add_case(store, _case(licensing, org))
    assert stored.version == 1
    complete_step(store, stored, "receive", "wang", data={"materials_complete": True}, at="2026-09-28T09:30:00+08:00")
    complete_step(store, stored, "accept", "wang", at="2026-09-28T10:00:00+08:00")
    assert stored.version == 3  # inserted, then two saves
    again = load_case_from(store, "c1", licensing, org)
    assert again.version == 3 and again.case.path == ["receive", "accept"]
    record = store.get("c1")
    assert (record.status, record.steps, record.unit, record.power) == (
        "open",
        ("review",),
        "market-bureau",
        "140500-XK-0001",
    )
    # Deadlines of the open case: accepted Sep 28: promised 15 -> Oct 23, statutory 20 -> Oct 30; review 8 -> Oct 14.
    assert [(d.scope, d.limit, d.task, d.day.isoformat()) for d in record.deadlines] == [
        ("case", "promised", None, "2026-10-23"),
        ("case", "statutory", None, "2026-10-30"),
        ("step", "step", "review", "2026-10-14"),
    ]
    assert store.ids() == ["c1"] and store.count("open") == 1 and store.count("completed") == 0


def test_a_stale_writer_gets_a_conflict_and_writes_nothing(
    store: CaseStore,  # noqa: F811
    licensing: ProcessDefinition,
    org: Organisation,
) -> None:
    add_case(store, _case(licensing, org))
    first = load_case_from(store, "c1", licensing, org)
    second = load_case_from(store, "c1", licensing, org)
    complete_step(store, first, "receive", "wang", data={"materials_complete": True}, at="2026-09-28T09:30:00+08:00")
    second.case.complete("receive", "chen", data={"materials_complete": False}, at="2026-09-28T09:31:00+08:00")
    with pytest.raises(ConflictError) as err:
        save_case(store, second)
    assert err.value.case == "c1" and "version 1" in str(err.value) and "version 2" in str(err.value)
    kept = load_case_from(store, "c1", licensing, org)
    assert kept.version == 2 and [c.actor for c in kept.case.history] == ["wang"]


def test_inserting_an_id_twice_is_a_conflict(store: CaseStore, licensing: ProcessDefinition, org: Organisation) -> None:  # noqa: F811
    add_case(store, _case(licensing, org))
    with pytest.raises(ConflictError):
        add_case(store, _case(licensing, org))
    assert store.count() == 1


def test_a_refused_attempt_is_saved_in_the_trail(
    store: CaseStore,  # noqa: F811
    licensing: ProcessDefinition,
    org: Organisation,
) -> None:
    stored = add_case(store, _case(licensing, org))
    complete_step(store, stored, "receive", "wang", data={"materials_complete": True})
    complete_step(store, stored, "accept", "wang")
    with pytest.raises(StepRefused):
        complete_step(store, stored, "review", "wang")  # wang is a clerk and accepted the case
    record = store.get("c1")
    assert record.version == 4 and record.steps == ("review",)  # the refusal saved; the case did not move
    (refusal,) = [a for a in record.anomalies if a.kind == "refused"]
    assert (refusal.actor, refusal.step, set(refusal.rules)) == ("wang", "review", {"unauthorized", "separate-actors"})
    assert record.summary["refusals"] == 1


def _tamper(target: CaseStore, case_id: str, change: Callable[[dict[str, Any]], object]) -> None:
    from dataclasses import replace

    record = target.get(case_id)
    doc = json.loads(record.state)
    change(doc)
    target.update(replace(record, state=json.dumps(doc, ensure_ascii=False)), expected=record.version)


def test_an_edited_trail_entry_is_an_error_naming_the_case(
    store: CaseStore,  # noqa: F811
    licensing: ProcessDefinition,
    org: Organisation,
) -> None:
    stored = add_case(store, _case(licensing, org))
    complete_step(store, stored, "receive", "wang", data={"materials_complete": True})
    _tamper(store, "c1", lambda doc: doc["trail"][1].update(actor="zhou"))
    with pytest.raises(CaseFormatError, match=r"c1.*audit trail is broken"):
        load_case_from(store, "c1", licensing, org)


def test_a_trail_cut_short_consistently_is_caught_by_the_stored_head(
    store: CaseStore,  # noqa: F811
    licensing: ProcessDefinition,
    org: Organisation,
) -> None:
    stored = add_case(store, _case(licensing, org))
    complete_step(store, stored, "receive", "wang", data={"materials_complete": True})
    earlier = store.get("c1").state  # a whole, consistent saved case: its trail one entry shorter
    complete_step(store, stored, "accept", "wang")

    from dataclasses import replace

    record = store.get("c1")
    assert json.loads(earlier)["trail_head"]["count"] == record.trail_head.count - 1
    # the state rolled back to the earlier one: only the store's head columns know an entry is missing
    store.update(replace(record, state=earlier), expected=record.version)
    with pytest.raises(CaseFormatError, match="case c1: the audit trail does not match the head"):
        load_case_from(store, "c1", licensing, org)


def test_unknown_case_and_a_file_that_is_not_a_store(store: CaseStore, tmp_path: Path) -> None:  # noqa: F811
    with pytest.raises(StoreError, match="no such case"):
        store.get("nope")
    bad = tmp_path / "not-a-store.db"
    bad.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreError, match="not a usable case store"):
        open_store(bad)
    assert bad.read_bytes() == b"this is not SQLite" * 100  # bad input changes nothing


def test_act_saves_a_refusal_and_nothing_on_other_errors(
    store: CaseStore,  # noqa: F811
    licensing: ProcessDefinition,
    org: Organisation,
) -> None:
    from approvalflow.errors import StepNotReady
    from approvalflow.store.cases import act

    stored = add_case(store, _case(licensing, org))
    # the check changes nothing, but act saves like any operation: one more version
    findings = act(store, stored, lambda case: case.check("receive", "wang", data={"materials_complete": True}))
    assert findings == [] and stored.version == 2
    # zhang (the bureau's head) has no post of the receiving window: refused, and the refusal is kept in the store
    with pytest.raises(StepRefused):
        act(store, stored, lambda case: case.complete("receive", "zhang", data={"materials_complete": True}))
    assert stored.version == 3
    kept = load_case_from(store, "c1", licensing, org).case
    assert [e.get("outcome") for e in kept.trail.entries][-1] == "refused"
    # a step that is not ready: nothing to record, nothing saved
    with pytest.raises(StepNotReady):
        act(store, stored, lambda case: case.complete("decide", "zhang"))
    assert store.get("c1").version == 3
