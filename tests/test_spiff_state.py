"""The SpiffWorkflow adapter (``approvalflow._spiff``) against SpiffWorkflow's own machinery, on random cases.

The engine no longer asks SpiffWorkflow's converters and task iterators for every action; it encodes the task
tree itself (reusing the JSON of tasks that cannot have changed) and walks the tree once. Each shortcut is held
equal here to the slow way it replaces, after every step of random walks:

- :func:`workflow_dict` equals SpiffWorkflow's converters (:func:`slow_workflow_dict`);
- the case's kept state (``_kept_state()``, whose SHA-256 every trail entry binds) equals the canonical JSON of
  :func:`case_state` computed from scratch, and :func:`dump_case` holds that same state;
- :func:`scan` finds what ``get_tasks`` finds, in the same order.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator

from approvalflow import load_organisation, load_process
from approvalflow._spiff import canonical_value, canonical_workflow, scan, slow_workflow_dict, workflow_dict
from approvalflow.engine.case import Case, Policy, start_case
from approvalflow.engine.persistence import case_state, dump_case, load_case, state_digest
from approvalflow.errors import ApprovalflowError
from approvalflow.testing.strategies import Walk, walks
from approvalflow.time.clock import FakeClock

from .conftest import LICENSING, ROOT

ORG = load_organisation(ROOT / "processes" / "org" / "sample_county.yaml")
LICENSING_PROCESS = load_process(LICENSING)
JOINT = load_process(ROOT / "processes" / "joint" / "joint_approval.bpmn")
QUICK = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def slow_canonical_state(case: Case) -> bytes:
    """The state's canonical JSON the slow way: SpiffWorkflow's converters, then a sorted dump."""
    state = case_state(case)
    state["workflow"] = slow_workflow_dict(case.engine_workflow)
    return json.dumps(state, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def engine_order(case: Case) -> tuple[list[str], list[tuple[str, str]]]:
    """Ready manual tasks and running call activities as SpiffWorkflow's own iterator finds them."""
    wf = case.engine_workflow  # its get_tasks is the engine's own walk (tests/test_spiff_walk.py): not the reference
    ready = [str(t.id) for t in BpmnTaskIterator(wf.task_tree, state=16, manual=True)]  # READY
    running = [
        (str(t.id), t.task_spec.bpmn_id)
        for t in BpmnTaskIterator(wf.task_tree, state=32 | 8)  # STARTED | WAITING
        if type(t.task_spec).__name__ == "CallActivity"
    ]
    return ready, running


def check_everything(case: Case) -> None:
    wf = case.engine_workflow
    assert json.loads(json.dumps(workflow_dict(wf), default=_typed)) == slow_workflow_dict(wf)
    kept = case._kept_state().encode()
    assert kept == slow_canonical_state(case)
    assert case.trail.entries[-1]["state"] == state_digest(case_state(case))
    found = scan(wf)
    ready, running = engine_order(case)
    assert [str(t.id) for t in found.ready] == ready
    assert list(found.running_calls) == running


def _typed(value: Any) -> Any:
    return {"typename": type(value).__name__, "value": str(value)}


def walk_checked(walk: Walk, process: Any, *, parties: list[str] | None = None) -> Case:
    data = dict(walk.data)
    if parties is not None:
        data["parties"] = parties
    case = start_case(process, ORG, unit=walk.unit, clock=FakeClock(walk.start), data=data, policy=Policy.RECORD)
    check_everything(case)
    for step in walk.steps:
        with contextlib.suppress(ApprovalflowError):
            case.complete(step.task, step.actor, data=step.data, meeting=step.meeting, at=step.at)
        check_everything(case)
    return case


@QUICK
@given(walks(LICENSING_PROCESS, ORG, unit="market-bureau", mode="respect"))
def test_the_kept_state_equals_the_slow_encoding_after_every_step_of_licensing(walk: Walk) -> None:
    case = walk_checked(walk, LICENSING_PROCESS)
    restored = load_case(dump_case(case), LICENSING_PROCESS, ORG)
    assert dump_case(restored) == dump_case(case)


@QUICK
@given(walks(JOINT, ORG, unit="approval-bureau", mode="respect"))
def test_the_kept_state_equals_the_slow_encoding_with_parallel_branches(walk: Walk) -> None:
    walk_checked(walk, JOINT)


@QUICK
@given(walks(LICENSING_PROCESS, ORG, unit="market-bureau", mode="break", breaks=2))
def test_nested_values_and_refusals_keep_the_state_exact(walk: Walk) -> None:
    walk_checked(walk, LICENSING_PROCESS, parties=["甲公司", "乙公司"])


def test_a_task_with_nested_data_is_encoded_afresh(licensing: Any, org: Any) -> None:
    """A list in a finished task's data could change in place; its JSON is never reused, so the digest follows."""
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data={"parties": ["甲"]})
    case.complete("receive", "wang", data={"materials_complete": True})
    case._kept_state()  # the state observed (as a save does): the memo of task JSON is filled
    memo = case._json_memo
    assert memo
    finished = [t for t in case.engine_workflow.tasks.values() if t.state == 64 and "parties" in t.data]
    assert finished and not any(id(t) in memo for t in finished)
    finished[0].data["parties"].append("乙")  # what SpiffWorkflow's shallow merges could do to a shared list
    pieces = canonical_workflow(case.engine_workflow, memo)
    direct = json.dumps(workflow_dict(case.engine_workflow), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert "".join(pieces) == direct


def test_a_kept_task_whose_data_is_replaced_is_encoded_again(licensing: Any, org: Any) -> None:
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"))
    case.complete("receive", "wang", data={"materials_complete": True})
    case._kept_state()  # the state observed (as a save does): the memo of task JSON is filled
    memo = case._json_memo
    assert memo is not None
    kept = [t for t in case.engine_workflow.tasks.values() if id(t) in memo and t.state == 64]
    assert kept
    kept[0].data = {**kept[0].data, "materials_complete": "edited"}  # a new mapping of the same size
    pieces = "".join(canonical_workflow(case.engine_workflow, memo))
    assert '"edited"' in pieces
    direct = json.dumps(workflow_dict(case.engine_workflow), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert pieces == direct


@pytest.mark.parametrize("steps", [0, 1, 3, 7])
def test_dump_case_is_the_state_and_its_trail(licensing: Any, org: Any, steps: int) -> None:
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"))
    plan = [
        ("receive", "wang", {"materials_complete": False}),
        ("notify_correction", "wang", {}),
        ("receive", "wang", {"materials_complete": True}),
        ("accept", "wang", {}),
        ("review", "liu", {"needs_extension": False, "needs_hearing": False}),
        ("decide", "li", {"approved": True}),
        ("deliver", "chen", {}),
    ]
    for task, actor, data in plan[:steps]:
        case.complete(task, actor, data=data)
    doc = json.loads(dump_case(case))
    head = case.trail.head
    assert doc == {
        **case_state(case),
        "trail": case.trail.entries,
        "trail_head": {"hash": head.hash, "count": head.count},
    }


def test_a_kept_task_whose_data_becomes_equal_but_not_the_same_json_is_encoded_again(licensing: Any, org: Any) -> None:
    """``True == 1`` in Python, not in JSON: a new mapping that compares equal must not reuse the kept JSON."""
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"))
    case.complete("receive", "wang", data={"materials_complete": True})
    case._kept_state()  # the state observed (as a save does): the memo of task JSON is filled
    memo = case._json_memo
    assert memo is not None
    kept = [t for t in case.engine_workflow.tasks.values() if id(t) in memo and t.data.get("materials_complete")]
    assert kept
    task = kept[0]
    task.data = {k: (1 if v is True else v) for k, v in task.data.items()}
    pieces = "".join(canonical_workflow(case.engine_workflow, memo))
    direct = json.dumps(workflow_dict(case.engine_workflow), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert pieces == direct


flat_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()
)


@given(st.dictionaries(st.text(), flat_values, max_size=6), st.lists(st.text(), max_size=4))
def test_flat_json_is_the_canonical_encoding(mapping: dict[str, Any], keys: list[str]) -> None:
    """The direct writer of a task's small mappings and key lists gives the canonical encoder's bytes exactly."""
    from approvalflow._spiff import _flat_list, _flat_object

    expected = json.dumps(mapping, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert _flat_object(mapping) == expected
    assert _flat_list(keys) == json.dumps(keys, ensure_ascii=False, separators=(",", ":"))
    assert _flat_object({**mapping, "x": [1]}) is None and _flat_object({**mapping, "y": float("nan")}) is None


@pytest.mark.parametrize(
    "keys", [["materials_complete", "needs_hearing", "approved"], ["approved", "needs_hearing", "materials_complete"]]
)
def test_a_loaded_case_encodes_as_its_document_whatever_order_its_keys_were_set_in(keys: list[str]) -> None:
    """A task's delta lists the parent's keys it lacks; SpiffWorkflow lists them in the parent's insertion order,
    which a restored task (data read back from JSON, keys sorted) does not keep. Data keys given as None are such
    keys: the loaded case must encode as the document it was loaded from (found by the Hypothesis walk of
    tests/test_engine_speedups.py, with the keys in this order)."""
    from .test_engine_speedups import ORG as SPEEDUPS_ORG
    from .test_engine_speedups import PLAN, PROCESS, START

    clock = FakeClock(START)
    case = start_case(PROCESS, SPEEDUPS_ORG, clock=clock, data={"applicant": "某餐饮有限公司"})
    for task, actor, data in PLAN[:3]:
        clock.advance("PT1H")
        case.complete(task, actor, data=data)
    case.complete("accept", "chen", data=dict.fromkeys(keys), at=clock.now())
    doc = json.loads(dump_case(case))
    restored = load_case(dump_case(case), PROCESS, SPEEDUPS_ORG)
    del doc["trail"], doc["trail_head"]
    assert case_state(restored) == doc == case_state(case)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and the infinities too: encoded as the encoder writes them
    | st.text(),  # control characters, quotes, backslashes, surrogates and CJK included
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(_JSON_VALUES)
def test_canonical_value_is_the_canonical_encoding(value: Any) -> None:
    # the small members of a saved state are written directly; each must be what the encoder writes
    encoder = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert canonical_value(value) == encoder.encode(value)


def test_canonical_value_writes_subclasses_as_the_encoder_does() -> None:
    class Flag(int):
        def __repr__(self) -> str:
            return "Flag()"

    class Name(str):
        pass

    encoder = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    values: list[Any] = [True, False, Flag(3), Name("审批"), 1.0, -0.0, 10**30, {}, []]
    for value in values:
        assert canonical_value(value) == encoder.encode(value), value
