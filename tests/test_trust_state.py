"""The trail binds the case state, signed trails resist rechaining, and bad input changes nothing (issue 14, 3-4).

Every property here is one a forger or a careless caller would try to break: edit the saved state, edit or drop
trail entries and recompute the hashes, or hand the engine data that JSON, UTF-8 or the stack cannot carry.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import ApprovalflowError, FakeClock, StepRefused, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine.persistence import case_state, dump_case, load_case
from approvalflow.engine.trail import AuditTrail, verify_trail
from approvalflow.errors import CaseFormatError, InvalidInputError
from approvalflow.org.organisation import Organisation

KEY = b"k" * 32
APPLICANT = {"applicant": "某餐饮有限公司"}


def to_review(case: Any) -> None:
    case.complete("receive", "wang", data={"materials_complete": True})
    case.complete("accept", "wang")


def rechain(entries: list[dict[str, Any]], key: bytes | None = None) -> list[dict[str, Any]]:
    """What a forger without the key does after editing: recompute every seq, prev and hash."""
    trail = AuditTrail(key=key)
    for entry in entries:
        trail.append(**{k: v for k, v in entry.items() if k not in ("seq", "prev", "hash", "mac")})
    return trail.entries


@pytest.fixture
def saved(licensing: ProcessDefinition, org: Organisation) -> dict[str, Any]:
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT)
    to_review(case)
    with pytest.raises(StepRefused):
        case.complete("review", "wang", data={"needs_extension": False})  # the acceptor may not review
    document: dict[str, Any] = json.loads(dump_case(case))
    return document


def test_every_entry_binds_the_state_after_it(licensing: ProcessDefinition, org: Organisation) -> None:
    from approvalflow.engine.persistence import state_digest

    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT)
    assert case.trail.entries[-1]["state"] == state_digest(case_state(case))
    to_review(case)
    assert case.trail.entries[-1]["state"] == state_digest(case_state(case))
    with pytest.raises(StepRefused):
        case.complete("review", "wang")
    assert case.trail.entries[-1]["state"] == case.trail.entries[-2]["state"]  # a refusal changes no state


def test_editing_the_acceptor_in_the_saved_state_is_detected(
    saved: dict[str, Any], licensing: ProcessDefinition, org: Organisation
) -> None:
    """The attack of the issue: make someone else the acceptor, so that the acceptor may review his own case."""
    forged = copy.deepcopy(saved)
    accept = next(h for h in forged["history"] if h["step"] == "accept")
    accept["actor"] = "chen"
    with pytest.raises(CaseFormatError, match="does not match its audit trail"):
        load_case(json.dumps(forged), licensing, org)
    restored = load_case(json.dumps(saved), licensing, org)  # the genuine one loads and still refuses
    with pytest.raises(StepRefused, match="separate-actors"):
        restored.complete("review", "wang", data={"needs_extension": False})


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaves(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in leaves(v, (*path, n))] or [path]
    return [path]


def put(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_change_to_a_saved_case_is_detected(
    saved: dict[str, Any], licensing: ProcessDefinition, org: Organisation, data: st.DataObject
) -> None:
    """Change any one value anywhere in the document (state, trail or head): loading refuses it, cleanly."""
    paths = [p for p in leaves(saved) if p and p[-1] != "mac"]
    path = data.draw(st.sampled_from(paths))
    new = data.draw(json_values)
    old = get(saved, path)
    canon: Callable[[object], str] = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731
    if canon(new) == canon(old):
        return
    forged = copy.deepcopy(saved)
    put(forged, path, new)
    with pytest.raises(CaseFormatError):
        load_case(json.dumps(forged), licensing, org)


def test_dropping_a_refused_attempt_and_rechaining_is_caught_with_a_key_or_an_anchor(
    licensing: ProcessDefinition, org: Organisation
) -> None:
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT, trail_key=KEY)
    to_review(case)
    anchor = None
    with pytest.raises(StepRefused):
        case.complete("review", "wang")
    anchor = case.trail.anchor()
    assert set(anchor) == {"count", "hash", "mac"}
    entries = case.trail.entries
    assert verify_trail(entries, key=KEY)
    kept = [e for e in entries if e.get("outcome") != "refused"]
    forged = rechain(kept)  # without the key: the chain itself verifies
    assert verify_trail(forged)
    assert not verify_trail(forged, key=KEY)  # with the key: every entry lacks a valid mac
    assert not verify_trail(forged, anchor=anchor["hash"])  # with the anchor exported before: gone
    assert not verify_trail(rechain(kept, key=b"x" * 32), key=KEY)  # signed with a guessed key: still caught
    doc = json.loads(dump_case(case))
    doc["trail"] = rechain([e for e in doc["trail"] if e.get("outcome") != "refused"])
    doc["trail_head"] = {"hash": doc["trail"][-1]["hash"], "count": len(doc["trail"])}
    with pytest.raises(CaseFormatError, match="signature"):
        load_case(json.dumps(doc), licensing, org, trail_key=KEY)


def test_a_signed_case_round_trips_with_its_key(licensing: ProcessDefinition, org: Organisation) -> None:
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT, trail_key=KEY)
    to_review(case)
    restored = load_case(dump_case(case), licensing, org, trail_key=KEY)
    restored.complete("review", "liu", data={"needs_extension": False})
    assert all("mac" in e for e in restored.trail.entries)
    assert verify_trail(restored.trail.entries, key=KEY)
    with pytest.raises(CaseFormatError, match="signature"):
        load_case(dump_case(restored), licensing, org, trail_key=b"y" * 32)


def test_a_short_key_is_refused(licensing: ProcessDefinition, org: Organisation) -> None:
    with pytest.raises(ApprovalflowError, match="16 bytes"):
        start_case(licensing, org, trail_key=b"short")


# -- check before you change ---------------------------------------------------------------------------------
class Opaque:
    pass


def deep(n: int) -> Any:
    value: Any = "x"
    for _ in range(n):
        value = {"x": value}
    return value


def cycle() -> Any:
    a: list[Any] = []
    a.append(a)
    return a


BAD_DATA = [
    {"note": "\ud800"},
    {"\udfff": 1},
    {"n": 2**5000},
    {"n": -(2**5000)},
    {"f": math.nan},
    {"f": math.inf},
    {"o": Opaque()},
    {"s": {1, 2}},
    {1: "non-text key"},
    {"deep": deep(20_000)},
    {"deep": deep(40)},
    {"cycle": cycle()},
    {"b": b"bytes"},
    {"long": "x" * 1_000_001},
]


@pytest.mark.parametrize("bad", BAD_DATA, ids=range(len(BAD_DATA)))
def test_data_that_cannot_be_kept_is_refused_before_anything_changes(
    licensing: ProcessDefinition, org: Organisation, bad: dict[Any, object]
) -> None:
    for policy in ("enforce", "record"):
        case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT, policy=policy)
        before, entries = json.dumps(case_state(case), sort_keys=True), list(case.trail.entries)
        with pytest.raises(InvalidInputError):
            case.complete("receive", "wang", data={"materials_complete": True, **bad})
        assert json.dumps(case_state(case), sort_keys=True) == before
        assert case.trail.entries == entries
        assert [s.id for s in case.ready_steps()] == ["receive"]
    with pytest.raises(InvalidInputError):
        start_case(licensing, org, data={**APPLICANT, **bad})


@pytest.mark.parametrize(
    ("step", "actor", "at"),
    [
        ("receive\ud800", "wang", None),
        ("receive", "wang\ud800", None),
        ("receive", "w" * 201, None),
        ("receive", 7, None),
        ("receive", "wang", "9999-12-31T23:59:59+14:00"),
        ("receive", "wang", "not a moment"),
        ("receive", "wang", "2026-09-28T10:00:00"),
    ],
)
def test_names_and_moments_that_cannot_be_kept_are_refused_before_anything_changes(
    licensing: ProcessDefinition, org: Organisation, step: str, actor: object, at: str | None
) -> None:
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT)
    before, entries = json.dumps(case_state(case), sort_keys=True), list(case.trail.entries)
    with pytest.raises(ApprovalflowError):
        # actor 7 (not a name) on purpose: it must be refused like the others
        case.complete(step, actor, data={"materials_complete": True}, at=at)  # type: ignore[arg-type]
    assert json.dumps(case_state(case), sort_keys=True) == before and case.trail.entries == entries


hostile_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=6)
hostile = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text | st.binary(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(hostile_text | st.integers(), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile, st.booleans())
def test_any_step_data_either_completes_or_changes_nothing(
    licensing: ProcessDefinition, org: Organisation, value: object, flag: bool
) -> None:
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT, policy="record")
    before, entries = json.dumps(case_state(case), sort_keys=True), list(case.trail.entries)
    try:
        case.complete("receive", "wang", data={"materials_complete": flag, "extra": value})
    except ApprovalflowError:
        assert json.dumps(case_state(case), sort_keys=True) == before
        assert case.trail.entries == entries
    else:
        assert case.path == ["receive"]
        assert verify_trail(case.trail.entries)
        restored = load_case(dump_case(case), licensing, org)
        assert restored.data == case.data
    assert verify_trail(case.trail.entries)


# -- the parties of a case -----------------------------------------------------------------------------------
@pytest.mark.parametrize("parties", [{"甲建筑公司": True}, "甲建筑公司", [1, 2], [["甲建筑公司"]]])
def test_parties_must_be_a_list_of_names(licensing: ProcessDefinition, org: Organisation, parties: object) -> None:
    with pytest.raises(InvalidInputError, match="parties"):
        start_case(licensing, org, data={**APPLICANT, "parties": parties})


@pytest.mark.parametrize("key", ["applicant", "parties"])
def test_step_data_may_not_rewrite_the_parties(licensing: ProcessDefinition, org: Organisation, key: str) -> None:
    value = "另一公司" if key == "applicant" else ["另一公司"]
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT)
    before = json.dumps(case_state(case), sort_keys=True)
    with pytest.raises(StepRefused) as info:
        case.complete("receive", "wang", data={"materials_complete": True, key: value})
    assert info.value.rules == ["parties-changed"]
    assert json.dumps(case_state(case), sort_keys=True) == before
    recorded = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT, policy="record")
    findings = recorded.complete("receive", "wang", data={"materials_complete": True, key: value})
    assert [f.rule for f in findings] == ["parties-changed"]
    # repeating the current value is no change
    case.complete("receive", "wang", data={"materials_complete": True, "applicant": APPLICANT["applicant"]})


def test_changing_parties_is_recorded_and_rechecks_recusal(licensing: ProcessDefinition, org: Organisation) -> None:
    """liu declared a conflict with 某建筑工程有限公司 in the test organisation (tests/data/market_bureau.yaml)."""
    party = "某建筑工程有限公司"
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT)
    to_review(case)
    case.complete("review", "liu", data={"needs_extension": False})
    findings = case.change_parties("zhang", parties=[party], reason="补充第三人")
    assert [(f.rule, f.step, f.actor) for f in findings] == [("recusal", "review", "liu")]
    entry = case.trail.entries[-1]
    assert entry["action"] == "change-parties" and entry["data"]["parties"] == [party]
    assert entry["data"]["reason"] == "补充第三人"
    assert case.findings[-1].rule == "recusal"
    restored = load_case(dump_case(case), licensing, org)
    assert restored.parties == (APPLICANT["applicant"], party)
    with pytest.raises(InvalidInputError, match="reason"):
        case.change_parties("zhang", parties=[], reason="  ")


# -- the command line: audit verify --key --head, audit key ---------------------------------------------------
def test_audit_verify_with_a_key_and_an_anchor(
    licensing: ProcessDefinition, org: Organisation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from approvalflow.cli.main import main

    key_file = tmp_path / "trail.key"
    assert main(["audit", "key", str(key_file)]) == 0
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert main(["audit", "key", str(key_file)]) == 2  # never overwrites a key
    from approvalflow.engine.trail import read_key

    key = read_key(key_file)
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data=APPLICANT, trail_key=key)
    to_review(case)
    with pytest.raises(StepRefused):
        case.complete("review", "wang")
    anchor = case.trail.anchor()["hash"]
    genuine = tmp_path / "genuine.jsonl"
    case.trail.write(genuine)
    forged = tmp_path / "forged.jsonl"
    AuditTrail(rechain([e for e in case.trail.entries if e["outcome"] != "refused"])).write(forged)
    capsys.readouterr()
    assert main(["audit", "verify", str(genuine), "--key", str(key_file), "--head", anchor]) == 0
    assert main(["audit", "verify", str(forged)]) == 0  # without key or anchor, a rechained trail verifies
    assert "without --key" in capsys.readouterr().out
    assert main(["audit", "verify", str(forged), "--key", str(key_file)]) == 1
    assert "signature" in capsys.readouterr().out
    assert main(["audit", "verify", str(forged), "--head", anchor, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and any("anchored" in p for p in out["problems"])
    short = tmp_path / "short.key"
    short.write_text("abc\n")
    assert main(["audit", "verify", str(genuine), "--key", str(short)]) == 2


def test_run_with_a_key_file_signs_the_trail_and_seals_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from approvalflow.cli.main import main

    from .conftest import ROOT

    scenario = ROOT / "tests" / "scenarios" / "general_licensing" / "hearing_clean.scenario.yaml"
    key = tmp_path / "k.key"
    assert main(["audit", "key", str(key)]) == 0
    trail, store = tmp_path / "t.jsonl", tmp_path / "s.db"
    assert main(["run", str(scenario), "--trail", str(trail), "--store", str(store), "--key-file", str(key)]) == 0
    assert main(["audit", "verify", str(trail), "--key", str(key)]) == 0
    other = tmp_path / "other.key"
    assert main(["audit", "key", str(other)]) == 0
    assert main(["audit", "verify", str(trail), "--key", str(other)]) == 1
    process = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
    org = ROOT / "processes" / "org" / "sample_county.yaml"
    check = ["store", "check", str(store), "--process", str(process), "--org", str(org)]
    assert main([*check, "--key-file", str(key)]) == 0
    assert main([*check, "--key-file", str(other)]) == 1
