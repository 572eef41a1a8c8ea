"""The audit trail (痕迹管理): the chain detects any edited, removed, inserted or reordered entry."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from approvalflow import AuditTrail, verify_trail
from approvalflow.engine import TrailHead, read_trail
from approvalflow.engine.trail import GENESIS, entry_hash


def make_trail(n: int) -> AuditTrail:
    trail = AuditTrail()
    for i in range(n):
        trail.append(
            action="complete",
            at=f"2026-09-{1 + i % 28:02d}T10:00:00+08:00",
            step=f"s{i}",
            actor="wang",
            post="clerk",
            unit="u",
            data={"i": i, "名称": "某公司"},
            findings=[],
            outcome="completed",
        )
    return trail


def test_chain_shape() -> None:
    trail = make_trail(3)
    first, second, _ = trail.entries
    assert first["seq"] == 1 and first["prev"] == GENESIS
    assert second["prev"] == first["hash"] == entry_hash(first)
    # the hash is SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8), without the hash itself
    import hashlib

    body = {k: v for k, v in first.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert first["hash"] == hashlib.sha256(canonical).hexdigest()
    assert trail.verify() and trail.head == TrailHead(trail.entries[-1]["hash"], 3)


def test_jsonl_round_trip(tmp_path: Path) -> None:
    trail = make_trail(4)
    path = tmp_path / "t.jsonl"
    trail.write(path)
    assert len(path.read_text(encoding="utf-8").splitlines()) == 4
    assert verify_trail(read_trail(path))


sizes = st.integers(min_value=2, max_value=12)


@given(sizes, st.data())
def test_any_edit_is_detected(n: int, data: st.DataObject) -> None:
    entries = copy.deepcopy(make_trail(n).entries)
    i = data.draw(st.integers(0, n - 1))
    field = data.draw(st.sampled_from(["actor", "step", "at", "outcome", "data", "seq", "prev", "hash"]))
    entries[i][field] = {"tampered": True} if field == "data" else "x"
    result = verify_trail(entries)
    assert not result.ok and result.first_bad is not None and result.first_bad <= i + 1


@given(sizes, st.data())
def test_any_removal_is_detected(n: int, data: st.DataObject) -> None:
    trail = make_trail(n)
    entries = copy.deepcopy(trail.entries)
    i = data.draw(st.integers(0, n - 1))
    del entries[i]
    # a removal inside the chain breaks it; a removal at the end needs the head kept elsewhere
    assert not verify_trail(entries, head=trail.head).ok
    if i < n - 1:
        assert not verify_trail(entries).ok


@given(sizes, st.data())
def test_any_insertion_is_detected(n: int, data: st.DataObject) -> None:
    trail = make_trail(n)
    entries = copy.deepcopy(trail.entries)
    i = data.draw(st.integers(0, n))
    forged = dict(entries[min(i, n - 1)], actor="mallory")
    forged["hash"] = entry_hash(forged)
    entries.insert(i, forged)
    assert not verify_trail(entries, head=trail.head).ok


@given(sizes, st.data())
def test_any_reordering_is_detected(n: int, data: st.DataObject) -> None:
    entries = copy.deepcopy(make_trail(n).entries)
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    entries[i], entries[j] = entries[j], entries[i]
    assert not verify_trail(entries).ok


def test_a_rechained_forgery_is_caught_by_the_head() -> None:
    """Someone who edits an entry and recomputes every later hash makes a valid chain, but not the same head."""
    trail = make_trail(4)
    entries = copy.deepcopy(trail.entries)
    entries[1]["actor"] = "mallory"
    prev = entries[0]["hash"]
    for e in entries[1:]:
        e["prev"] = prev
        e["hash"] = entry_hash(e)
        prev = e["hash"]
    assert verify_trail(entries).ok
    assert not verify_trail(entries, head=trail.head).ok


def test_empty_trail() -> None:
    assert verify_trail([]).ok
    assert not verify_trail([], head=TrailHead("a" * 64, 1)).ok
