"""The audit trail keeps each entry as its canonical JSON (issue 15, item 6): the API and its output are unchanged.

What must hold whatever the entries hold (nested lists and mappings, any text, numbers of every JSON kind):

- ``append`` returns the entry; :attr:`AuditTrail.entries` then holds exactly the entries appended, in order, and
  the chain verifies against the head;
- ``canonical_json`` is the canonical JSON of ``entries`` (what a saved case holds), computed independently here;
- :attr:`entries` is a copy: changing the list or its dicts changes nothing in the trail;
- ``truncate`` puts the head back; ``entries_from(n)`` is ``entries[n:]``; ``from_entries`` keeps entries as given;
- a loaded entry with a lone surrogate is reported by ``verify``, not a crash.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.engine.trail import GENESIS, AuditTrail, TrailHead, entry_hash, verify_trail

names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=6)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec="utf-8"), max_size=8),
)
values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3), max_leaves=12
)
field_sets = st.dictionaries(
    st.sampled_from(["action", "at", "step", "actor", "data", "findings", "outcome", "state", "名称"]),
    values,
    max_size=6,
)
KEY = b"k" * 32


def canonical_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=60, deadline=None)
@given(st.lists(field_sets, max_size=6), st.booleans())
def test_entries_are_what_was_appended_and_the_chain_holds(appended: list[dict[str, Any]], keyed: bool) -> None:
    trail = AuditTrail(key=KEY if keyed else None)
    returned = [copy.deepcopy(trail.append(**fields)) for fields in appended]
    entries = trail.entries
    assert entries == returned
    assert [e["seq"] for e in entries] == list(range(1, len(appended) + 1))
    assert [{k: v for k, v in e.items() if k not in ("seq", "prev", "hash", "mac")} for e in entries] == [
        json.loads(json.dumps(f)) for f in appended
    ]
    prev = GENESIS
    for entry in entries:
        assert entry["prev"] == prev and entry["hash"] == entry_hash(entry)
        prev = entry["hash"]
    assert trail.head == TrailHead(prev, len(appended)) and trail.count == len(appended)
    assert trail.verify(trail.head).ok
    assert verify_trail(entries, head=trail.head, key=KEY if keyed else None).ok
    assert trail.canonical_json() == canonical_text(entries)
    assert trail.to_jsonl() == "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries)


@settings(max_examples=40, deadline=None)
@given(st.lists(field_sets, min_size=1, max_size=5), st.data())
def test_entries_are_a_copy(appended: list[dict[str, Any]], data: st.DataObject) -> None:
    trail = AuditTrail()
    for fields in appended:
        trail.append(**fields)
    before = trail.canonical_json()
    entries = trail.entries
    n = data.draw(st.integers(0, len(entries) - 1))
    entries[n]["actor"] = "mallory"
    entries[n]["data"] = [entries[n].get("data")]
    entries.append({"seq": 99})
    del entries[0]
    assert trail.canonical_json() == before and trail.count == len(appended) and trail.verify(trail.head).ok
    assert trail.entries != entries


@settings(max_examples=40, deadline=None)
@given(st.lists(field_sets, min_size=1, max_size=6), st.data())
def test_truncate_and_entries_from(appended: list[dict[str, Any]], data: st.DataObject) -> None:
    trail = AuditTrail()
    heads = [trail.head]
    for fields in appended:
        trail.append(**fields)
        heads.append(trail.head)
    everything = trail.entries
    start = data.draw(st.integers(0, len(appended)))
    assert trail.entries_from(start) == everything[start:]
    trail.truncate(start)
    assert trail.head == heads[start] and trail.entries == everything[:start]
    trail.append(action="again")
    assert trail.verify(trail.head).ok and trail.entries[:start] == everything[:start]


@settings(max_examples=40, deadline=None)
@given(st.lists(field_sets, max_size=5))
def test_from_entries_keeps_them_as_given(appended: list[dict[str, Any]]) -> None:
    original = AuditTrail()
    for fields in appended:
        original.append(**fields)
    loaded = AuditTrail.from_entries(json.loads(canonical_text(original.entries)))
    assert loaded == original and loaded.entries == original.entries and loaded.head == original.head
    assert loaded.canonical_json() == original.canonical_json()


def test_a_lone_surrogate_in_a_loaded_entry_is_reported() -> None:
    trail = AuditTrail()
    trail.append(action="start", data={"note": "ok"})
    entries = trail.entries
    entries[0]["data"]["note"] = "\ud800"
    loaded = AuditTrail.from_entries(entries)
    assert loaded.entries == entries  # kept as given
    result = loaded.verify()
    assert not result.ok and "not valid Unicode" in result.problems[0]


def test_an_entry_that_cannot_be_encoded_appends_nothing() -> None:
    trail = AuditTrail()
    trail.append(action="start")
    head = trail.head
    with pytest.raises(UnicodeEncodeError):
        trail.append(action="complete", data={"note": "\udfff"})
    assert trail.head == head and trail.count == 1


# keys on both sides of each key an entry gets when it is hashed (hash, mac, prev, seq, state), and those keys
# themselves (a field named seq or prev overrides the chain's; one named hash or mac is left out of the hash)
bounding_keys = st.sampled_from(
    ["action", "hash", "hasi", "hat", "ma", "mac", "macro", "pre", "prev", "prev0", "se", "seq", "seq1", "stat",
     "state", "statf", "zz", "名称", ""]
)  # fmt: skip


def independently(fields: dict[str, Any], seq: int, prev: str, state: Any, key: bytes | None) -> bytes:
    """The stored text of a settled entry, computed here from the fields with the standard library."""
    import hashlib
    import hmac

    entry = {"seq": seq, "prev": prev, **json.loads(json.dumps(fields)), "state": state}
    hashed = canonical_text({k: v for k, v in entry.items() if k not in ("hash", "mac")}).encode()
    digest = hashlib.sha256(hashed).hexdigest()
    entry["hash"] = digest
    if key is not None:
        entry["mac"] = hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()
    return canonical_text(entry).encode()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(bounding_keys, values, max_size=8), min_size=1, max_size=4), st.booleans())
def test_deferred_entries_settle_to_the_text_their_fields_and_chain_give(
    deferred: list[dict[str, Any]], keyed: bool
) -> None:
    # settle gives each deferred entry its seq, prev and state and hashes it: its stored text must be exactly the
    # canonical JSON of the entry with its seq, prev, state, hash (and mac), the last entry binding the state
    key = KEY if keyed else None
    trail = AuditTrail(key=key)
    trail.append(action="start")
    for fields in deferred:
        trail.defer(**fields)
    trail.settle("ab" * 32)
    raw = trail._raw
    assert len(raw) == 1 + len(deferred)
    prev = json.loads(raw[0])["hash"]
    for n, fields in enumerate(deferred, start=2):
        state = "ab" * 32 if n == len(raw) else None
        expected = independently(fields, n, prev, state, key)
        if not any(k in fields for k in ("seq", "prev")):  # (a field named seq or prev overrides the chain's)
            assert raw[n - 1] == expected
        prev = json.loads(raw[n - 1])["hash"]
    if not any(k in fields for fields in deferred for k in ("seq", "prev")):
        assert trail.verify(trail.head).ok


def settled_texts(trail: AuditTrail, state: str) -> list[bytes]:
    trail.settle(state)
    return list(trail._raw)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.dictionaries(bounding_keys, values, max_size=6)), min_size=1, max_size=20),
    st.integers(0, 20),
)
def test_entries_waiting_together_settle_to_what_each_trail_was_given(
    steps: list[tuple[bool, dict[str, Any]]], cut: int
) -> None:
    # Several pending entries are kept as one deflated text; two trails deferring in turn (the last text deflated is
    # remembered) and a rollback to any earlier mark must each settle to exactly the entries that trail was given,
    # as a trail that hashed each entry at once gives them.
    trails = (AuditTrail(), AuditTrail())
    twins = (AuditTrail(), AuditTrail())  # each entry hashed at once, binding no state, the last one the state
    given_to: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    marks: list[tuple[int, tuple[int, bytes, int]]] = []
    for n, (second, fields) in enumerate(steps):
        if n == cut:
            marks = [(len(given_to[i]), trails[i].mark()) for i in (0, 1)]
        trails[second].defer(**fields)
        given_to[second].append(fields)
    if marks:
        for i, (count, mark) in enumerate(marks):
            trails[i].rollback(mark)
            del given_to[i][count:]
    for trail, twin, entries in zip(trails, twins, given_to, strict=True):
        assert trail.count == len(entries)
        for n, fields in enumerate(entries, start=1):
            twin.defer(**fields)
            twin.settle("ab" * 32 if n == len(entries) else None)  # one at a time: never deflated
        assert settled_texts(trail, "ab" * 32) == list(twin._raw)


def test_a_case_run_in_memory_keeps_its_waiting_entries_deflated() -> None:
    given: list[dict[str, Any]] = [
        dict(action="start", actor=None, at="2026-09-28T09:00:00+08:00", calendar="china", data={}, findings=[],
             outcome="started", policy="enforce", post=None, process="general_licensing", step=None,
             unit="market-bureau"),
        *(dict(action="complete", actor="wang", at=f"2026-09-28T{hour}:00:00+08:00", data={}, findings=[],
               outcome="completed", post="clerk", step=step, unit="market-bureau")
          for hour, step in ((10, "receive"), (11, "notify_correction"), (12, "receive"))),
    ]  # fmt: skip
    texts = [canonical_text(fields).encode() for fields in given]
    trail = AuditTrail()
    trail.defer(**given[0])
    assert trail._pending == texts[0]  # one entry waiting: its text
    for fields in given[1:]:
        trail.defer(**fields)
    assert trail.count == 4 and 3 * len(trail._pending) < sum(map(len, texts))  # four: a third of their text
    entries = trail.entries
    assert [{k: v for k, v in e.items() if k not in ("seq", "prev", "state", "hash")} for e in entries] == given
    assert [e["seq"] for e in entries] == [1, 2, 3, 4] and trail.verify(trail.head).ok


def test_the_entry_last_hashed_is_read_back_equal_to_its_text_and_owned_by_the_reader() -> None:
    # a settle keeps the mapping it encoded the last entry from, and entries_from gives it (once) instead of decoding
    # the text again: it must be what the text decodes to, and changing it must not reach the trail or a later read
    trail = AuditTrail()
    trail.defer(action="start", data={"amounts": [1, 2.5, None, "审批"], "flag": True})
    trail.defer(action="complete", step="receive", data={"n": 10**20})
    trail.settle("ab" * 32)
    decoded = [json.loads(text) for text in trail._raw]  # what each stored text holds
    given_once = trail.entries_from(0)
    assert given_once == decoded
    assert [list(e) for e in given_once] == [list(e) for e in decoded]  # the keys in the same order too
    given_once[1]["data"]["n"] = 0
    given_once[0]["data"]["amounts"].append("changed")
    assert trail.entries_from(0) == decoded == trail.entries
    assert verify_trail(trail.entries).ok


def test_an_entry_bound_to_a_state_of_another_type_is_read_back_from_its_text() -> None:
    # the canonical encoder writes a value it does not know with str(): the mapping would not be what the text holds
    class Marker:
        def __str__(self) -> str:
            return "marker"

    trail = AuditTrail()
    trail.defer(action="start")
    trail.settle(Marker())
    assert trail.entries_from(0) == [json.loads(trail._raw[0])]
    assert trail.entries_from(0)[0]["state"] == "marker"


def test_a_trail_read_after_another_trail_settled_decodes_its_own_entries() -> None:
    # one mapping is kept process-wide: read by another trail (or another thread's), it is not taken for this one's
    first, second = AuditTrail(), AuditTrail()
    first.defer(action="start", step="a")
    first.settle("ab" * 32)
    second.defer(action="start", step="b")
    second.settle("cd" * 32)
    assert [e["step"] for e in first.entries_from(0)] == ["a"]
    assert [e["step"] for e in second.entries_from(0)] == ["b"]
    assert first.entries_from(0) == [json.loads(text) for text in first._raw]
    assert second.entries_from(0) == [json.loads(text) for text in second._raw]
