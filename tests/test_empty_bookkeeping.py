"""A case's empty bookkeeping costs nothing until it holds something (issue 15, item 6: memory per open case).

Its lists that most cases never fill (findings, opinions, notices, supplements, handovers, ccs, urges) start as one
shared empty tuple in a private slot, and its maps that are replaced, never changed in place, as one shared
read-only empty map (:mod:`approvalflow.engine.empties`). What must hold:

- the public attributes are the case's own lists, as before: the same list on every read, changes through it kept;
- nothing a case does reaches another case (the shared empties are never filled);
- saving a case does not make its lists, and a saved case loads with them unset again, byte for byte the same;
- an action that fails or is refused leaves them exactly as they were, unset included;
- the last completion (kept compactly for a take-back) is saved as the same mapping;
- moments read from text share one timezone object per offset, and are the same moments.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, load_organisation, load_process, start_case
from approvalflow.engine.case import Case
from approvalflow.engine.empties import NOTHING, UNSET, Single, map_of, with_entry, without
from approvalflow.engine.flowcontrol import LastCompletion
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.engine.state import case_state
from approvalflow.errors import EngineError
from approvalflow.time.clock import parse_moment, read_moment

from .conftest import LICENSING, MARKET_ORG

PROCESS = load_process(LICENSING)
ORG = load_organisation(MARKET_ORG)
START = "2026-09-28T09:00:00+08:00"  # a Monday
LISTS = ("findings", "opinions", "notices", "supplements", "handovers", "ccs", "urges")
MAPS = ("_holdings", "_timers", "_open_suspensions")


def fresh(policy: str = "enforce") -> Case:
    return start_case(PROCESS, ORG, clock=FakeClock(START), data={"applicant": "某餐饮有限公司"}, policy=policy)


def unset(case: Case) -> list[str]:
    """The lazy lists of ``case`` that have no list of their own yet (read through the slots: that makes none)."""
    return [name for name in LISTS if getattr(case, f"_{name}") is UNSET]


def saved(case: Case) -> str:
    doc = json.loads(dump_case(case))
    del doc["trail"], doc["trail_head"]
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


def test_a_new_case_holds_the_shared_empties_until_something_is_put_in() -> None:
    case = fresh()
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    assert unset(case) == list(LISTS)  # a clean completion fills none of them
    assert all(getattr(case, name) is NOTHING for name in MAPS)
    assert case._flow.assigned is NOTHING and case._json_memo is None
    case_state(case)  # saving reads them without making them
    dump_case(case)
    assert unset(case) == list(LISTS)


@pytest.mark.parametrize("name", LISTS)
def test_each_public_list_is_the_cases_own_list(name: str) -> None:
    one, other = fresh(), fresh()
    got = getattr(one, name)
    assert type(got) is list and got == [] and getattr(one, name) is got  # the same list on every read
    got.append("kept")  # a caller's change through the attribute stays in the case, as with a plain list
    assert getattr(one, name) == ["kept"]
    assert getattr(other, f"_{name}") is UNSET and getattr(other, name) == []
    assert UNSET == ()  # the shared empty itself cannot be filled: a tuple
    setattr(one, name, ["given"])  # assigning replaces the list, as before
    assert getattr(one, name) == ["given"]


def test_what_one_case_records_never_reaches_another() -> None:
    one, other = fresh(policy="record"), fresh(policy="record")
    for case in (one, other):
        case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
        case.complete("accept", "wang", at="2026-09-28T11:00:00+08:00")
    before = saved(other)
    one.claim("review", "liu", at="2026-09-28T14:00:00+08:00")  # 签收: a holding and a handover
    one.cc("wang", ["liu"], note="请阅", at="2026-09-28T14:10:00+08:00")  # 抄送
    one.urge("wang", "review", at="2026-09-28T14:20:00+08:00")  # 催办
    # liu completes with an opinion; under record a rule breach by wang (who accepted: separation of duties) is kept
    one.complete("review", "liu", data={"needs_extension": False, "needs_hearing": False}, opinion="同意",
                 at="2026-09-29T10:00:00+08:00")  # fmt: skip
    one.complete("decide", "wang", data={"approved": True}, at="2026-09-29T11:00:00+08:00")
    assert len(one.handovers) == 1 and len(one.ccs) == 1 and len(one.urges) == 1 and len(one.opinions) == 1
    assert one.findings, "wang deciding after accepting breaks a rule: a finding under record"
    assert saved(other) == before and unset(other) == list(LISTS)
    assert other._holdings is NOTHING and len(NOTHING) == 0
    assert all(getattr(other, name) == [] for name in LISTS)


def test_a_refused_completion_makes_no_list() -> None:
    case = fresh()
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    before = saved(case)
    with pytest.raises(StepRefused):
        case.complete("accept", "liu", at="2026-09-28T11:00:00+08:00")  # liu is no clerk: refused under enforce
    assert saved(case) == before and unset(case) == list(LISTS)


def test_a_failed_completion_puts_the_unset_lists_back(monkeypatch: pytest.MonkeyPatch) -> None:
    case = fresh(policy="record")
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    before = saved(case)

    def broken(*args: Any) -> None:
        assert case._opinions is not UNSET  # the opinion was kept by now: the list was made in the action
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Case, "_after_completion", broken)
    with pytest.raises(EngineError, match="disk on fire"):
        case.complete("accept", "wang", opinion="同意", comment="予以受理", at="2026-09-28T11:00:00+08:00")
    monkeypatch.undo()
    assert saved(case) == before and unset(case) == list(LISTS)
    case.complete("accept", "wang", opinion="同意", comment="予以受理", at="2026-09-28T11:00:00+08:00")
    assert [o.text for o in case.opinions] == ["予以受理"]


def test_a_failed_completion_cuts_a_made_list_back(monkeypatch: pytest.MonkeyPatch) -> None:
    case = fresh()
    case.complete("receive", "wang", data={"materials_complete": True}, opinion="同意", at="2026-09-28T10:00:00+08:00")
    kept = case.opinions
    before = saved(case)
    monkeypatch.setattr(Case, "_after_completion", lambda *args: (_ for _ in ()).throw(RuntimeError("full")))
    with pytest.raises(EngineError):
        case.complete("accept", "wang", opinion="同意", at="2026-09-28T11:00:00+08:00")
    monkeypatch.undo()
    assert saved(case) == before and case.opinions is kept and len(kept) == 1


def test_a_saved_case_loads_with_its_empty_lists_unset_and_saves_the_same() -> None:
    case = fresh()
    case.complete("receive", "wang", data={"materials_complete": False}, at="2026-09-28T10:00:00+08:00")
    case.cc("wang", ["liu"], at="2026-09-28T10:30:00+08:00")
    text = dump_case(case)
    loaded = load_case(text, PROCESS, ORG)
    assert dump_case(loaded) == text
    assert unset(loaded) == [n for n in LISTS if n != "ccs"] and len(loaded.ccs) == 1
    assert loaded._holdings is NOTHING and loaded._timers is NOTHING


def test_the_last_completion_is_saved_as_the_mapping_it_was() -> None:
    case = fresh()
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    last = case._flow.last
    assert isinstance(last, LastCompletion)
    task = next(t for t in case.engine_workflow.tasks.values() if t.task_spec.bpmn_id == "receive")
    # the completion set one data key the case did not have: before says to unset it
    assert dict(last) == {"task": str(task.id), "step": "receive", "actor": "wang", "history": 1,
                          "trail": case.trail.count, "before": {"set": {}, "unset": ["materials_complete"]}}  # fmt: skip
    assert case_state(case)["flow"]["last"] == dict(last) == last.to_dict()
    assert "clock_start" not in last and last.get("extension_days", "absent") == "absent"
    # a key this version does not write, read from a saved case, is written back as it was read
    doc = json.loads(dump_case(case))
    odd = LastCompletion.of({**doc["flow"]["last"], "zz": [1]})
    assert dict(odd) == odd.to_dict() == {**doc["flow"]["last"], "zz": [1]} and odd["zz"] == [1] and len(odd) == 7


def test_moments_read_from_text_share_their_timezone_and_are_the_same_moments() -> None:
    a, b = read_moment("2026-09-28T09:00:00+08:00"), read_moment("2026-10-09T17:30:00.250000+08:00")
    assert a.tzinfo is b.tzinfo
    assert a == datetime(2026, 9, 28, 1, tzinfo=UTC) and a.isoformat() == "2026-09-28T09:00:00+08:00"
    assert b.isoformat() == "2026-10-09T17:30:00.250000+08:00" and b.tzname() == "UTC+08:00"
    assert parse_moment("2026-09-28T10:00:00+08:00").tzinfo is a.tzinfo
    z = read_moment("2026-09-28T01:00:00Z")
    assert z == a and z.utcoffset() == timedelta(0) and z.isoformat() == "2026-09-28T01:00:00+00:00"
    assert read_moment("2026-09-28T09:00:00").tzinfo is None  # naive stays naive: the callers refuse it


def test_a_take_back_that_fails_leaves_the_ready_moments_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    # take_back gives the step it reopens its old ready moment; if the action then fails, the rollback must find the
    # map of ready moments as it was (it once added the key to the very map the rollback puts back)
    case = fresh()
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    before, since = saved(case), dict(case._since)

    def broken(self: Case, moment: datetime) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Case, "_mark_ready", broken)
    with pytest.raises(EngineError, match="disk on fire"):
        case.take_back("receive", "wang", reason="填写有误", at="2026-09-28T10:30:00+08:00")
    monkeypatch.undo()
    assert case._since == since and saved(case) == before
    case.take_back("receive", "wang", reason="填写有误", at="2026-09-28T10:30:00+08:00")
    assert [r.id for r in case.ready_steps()] == ["receive"]


data_keys = st.text(st.characters(codec="utf-8"), max_size=4)
data_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(data_keys, inner, max_size=2),
    max_leaves=5,
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        # what a completion writes: the keys it changed with their values, the keys it added, sorted and unique
        st.tuples(st.dictionaries(data_keys, data_values, max_size=4), st.lists(data_keys, max_size=4)).map(
            lambda p: {"set": p[0], "unset": sorted(set(p[1]) - set(p[0]))}
        ),
        # and what a saved case may hold besides (kept as read): a key missing, unset unsorted or repeated, more keys
        st.dictionaries(st.sampled_from(["set", "unset"]), st.dictionaries(data_keys, data_values, max_size=2)),
        st.fixed_dictionaries({"set": st.just({}), "unset": st.lists(data_keys, max_size=4)}),
        st.fixed_dictionaries(
            {"set": st.dictionaries(data_keys, data_values, max_size=2), "unset": st.lists(data_keys, max_size=3)}
        ),
    ),
    st.booleans(),
)
def test_the_take_back_record_gives_back_the_data_before_exactly(before: dict[str, Any], clock_fact: bool) -> None:
    # LastCompletion keeps `before` packed in pairs when it has a completion's form: read back (getitem, iteration,
    # to_dict, a saved case's record) it must be the very mapping it was given, with its keys in their order
    record: dict[str, Any] = {"task": "t-1", "step": "receive", "actor": "wang", "history": 1, "trail": 2,
                              "before": copy.deepcopy(before)}  # fmt: skip
    if clock_fact:
        record["clock_start"] = None
    last = LastCompletion.of(record)
    assert last["before"] == before and last.to_dict() == record and dict(last) == record and len(last) == len(record)
    assert list(last) == list(record) and list(last.to_dict()["before"].get("set", {})) == list(before.get("set", {}))
    assert json.dumps(last.to_dict(), sort_keys=True) == json.dumps(record, sort_keys=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b", "c", ""]), st.integers(0, 3)), max_size=12))
def test_maps_with_an_entry_added_or_removed_are_the_dicts_they_stand_for(ops: list[tuple[bool, str, int]]) -> None:
    # with_entry, without and map_of give a new map each time (NOTHING for none, a Single for one entry, a dict for
    # more) and never change the one given
    mapping: Any = NOTHING
    model: dict[str, int] = {}
    for add, key, value in ops:
        before, was = dict(mapping), mapping
        mapping = with_entry(mapping, key, value) if add else without(mapping, key)
        if add:
            model[key] = value
        else:
            model.pop(key, None)
        assert dict(was) == before  # unchanged
        assert mapping == model and dict(mapping) == model and len(mapping) == len(model)
        assert list(mapping) == list(mapping.keys()) and sorted(mapping.items()) == sorted(model.items())
        for k in ("a", "b", "c", "", "z"):
            assert (k in mapping) == (k in model) and mapping.get(k, -1) == model.get(k, -1)
        assert isinstance(mapping, Single) == (len(model) == 1) and (mapping is NOTHING) == (not model)
        made = map_of(model)  # the same map, made from the entries at once (a saved case read back, a prune)
        assert made == model and type(made) is type(mapping) and made is not model


def test_an_open_correction_step_keeps_its_suspension_in_a_map_of_one() -> None:
    case = fresh()
    case.complete("receive", "wang", data={"materials_complete": False}, at="2026-09-28T10:00:00+08:00")
    assert isinstance(case._open_suspensions, Single) and list(case._open_suspensions.values()) == [0]
    assert case_state(case)["open_suspensions"] == dict(case._open_suspensions)
    again = load_case(dump_case(case), PROCESS, ORG, clock=FakeClock("2026-09-28T10:00:00+08:00"))
    assert isinstance(again._open_suspensions, Single) and again._open_suspensions == case._open_suspensions
    case.complete("notify_correction", "wang", at="2026-09-28T11:00:00+08:00")
    assert case._open_suspensions is NOTHING and case.suspensions[0].end is not None
