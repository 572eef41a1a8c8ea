"""The engine's own tree walks (``approvalflow._spiff._iter_tasks``) find what SpiffWorkflow's iterators find.

A case's workflow answers ``get_tasks`` and walks its waiting tasks after each completed task with a walk of its
own (:class:`approvalflow._spiff._FastWalks`), several times faster than SpiffWorkflow's ``TaskIterator``. These
tests hold the two equal, task for task and in order, with every state filter, on random cases of processes with
a call activity, parallel branches, a 会签 (multi-instance) and an interrupting event sub-process, and on a tree
deep enough that SpiffWorkflow's depth counter stops the walk; ``scripts/spiff_walk_check.py`` does the same on
every model of SpiffWorkflow's own corpus (``tests/test_corpus.py`` runs it).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator, TaskState

from approvalflow import FakeClock, load_organisation, load_process, load_process_string
from approvalflow._spiff import SpiffWorkflowException, _iter_shallow, _iter_tasks, new_workflow
from approvalflow.engine.case import Case, Policy, start_case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.errors import ApprovalflowError
from approvalflow.testing.strategies import Walk, walks

from .conftest import LICENSING, ROOT

DATA = ROOT / "tests" / "data"
ORG = load_organisation(ROOT / "processes" / "org" / "sample_county.yaml")
LICENSING_PROCESS = load_process(LICENSING)
JOINT = load_process(ROOT / "processes" / "joint" / "joint_approval.bpmn")
QUICK = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Every state filter SpiffWorkflow's callers use, and masks that mix predicted, definite and finished states.
MASKS = [
    int(TaskState.ANY_MASK),
    int(TaskState.READY),
    int(TaskState.WAITING),
    int(TaskState.STARTED | TaskState.WAITING),
    int(TaskState.COMPLETED),
    int(TaskState.CANCELLED),
    int(TaskState.NOT_FINISHED_MASK),
    int(TaskState.FINISHED_MASK),
    int(TaskState.PREDICTED_MASK),
    int(TaskState.DEFINITE_MASK),
    int(TaskState.MAYBE | TaskState.COMPLETED),
]


def spiff_walk(root: Any, bpmn: bool, **kwargs: Any) -> list[Any]:
    """SpiffWorkflow's own iterator (not the workflow's ``get_tasks``, which is the walk under test)."""
    iterator = BpmnTaskIterator(root, **kwargs) if bpmn else TaskIterator(root, **kwargs)
    return list(iterator)


def assert_walks_agree(workflow: Any) -> int:
    """Compare the two walks from the root of the workflow and of each sub-process; returns the tasks compared."""
    compared = 0
    for wf in (workflow, *workflow.subprocesses.values()):
        for mask in MASKS:
            for manual in (None, True, False):
                for bpmn in (True, False):
                    ours = list(_iter_tasks(wf.task_tree, mask, manual, bpmn=bpmn))
                    theirs = spiff_walk(wf.task_tree, bpmn, state=mask, manual=manual)
                    assert [t.id for t in ours] == [t.id for t in theirs], (mask, manual, bpmn)
                    compared += len(theirs)
            skipped = list(_iter_tasks(wf.task_tree, mask, skip_subprocesses=True))
            assert skipped == spiff_walk(wf.task_tree, True, state=mask, skip_subprocesses=True)
        # what the workflow answers is the walk under test, through get_tasks
        assert wf.get_tasks(state=TaskState.READY) == spiff_walk(wf.task_tree, True, state=TaskState.READY)
    return compared


def replayed(walk: Walk, process: Any, org: Any = ORG) -> list[Case]:
    """The walk's case after each of its steps (the walks are drawn under ``enforce``; refused steps are kept)."""
    case = start_case(process, org, unit=walk.unit, clock=FakeClock(walk.start), data=dict(walk.data),
                      policy=Policy.RECORD)  # fmt: skip
    seen = [case]
    assert_walks_agree(case.engine_workflow)
    for step in walk.steps:
        with contextlib.suppress(ApprovalflowError):
            case.complete(step.task, step.actor, data=step.data, meeting=step.meeting, at=step.at)
        assert_walks_agree(case.engine_workflow)
        seen.append(case)
    return seen


@QUICK
@given(walks(LICENSING_PROCESS, ORG, unit="market-bureau", mode="respect"))
def test_the_walks_agree_on_every_step_of_licensing_with_its_call_activity(walk: Walk) -> None:
    case = replayed(walk, LICENSING_PROCESS)[-1]
    restored = load_case(dump_case(case), LICENSING_PROCESS, ORG)  # a restored workflow walks the same
    assert_walks_agree(restored.engine_workflow)


@QUICK
@given(walks(JOINT, ORG, unit="approval-bureau", mode="respect"))
def test_the_walks_agree_with_parallel_branches(walk: Walk) -> None:
    replayed(walk, JOINT)


COUNTERSIGN = load_process(DATA / "countersign" / "expert_review.bpmn")
COUNTERSIGN_ORG = load_organisation(DATA / "countersign" / "org.yaml")


@QUICK
@given(walks(COUNTERSIGN, COUNTERSIGN_ORG, mode="respect"))
def test_the_walks_agree_on_a_countersign(walk: Walk) -> None:
    replayed(walk, COUNTERSIGN, COUNTERSIGN_ORG)


def test_the_walks_agree_on_a_call_activity_that_runs() -> None:
    """The hearing path: a running sub-process the walk must enter in place (and a finished one it must not)."""
    market = load_organisation(DATA / "market_bureau.yaml")
    clock = FakeClock("2026-09-28T09:00:00+08:00")
    # nobody in this organisation holds the hearing's posts: record the findings rather than stop
    case = start_case(LICENSING_PROCESS, market, unit="market-bureau", clock=clock, policy=Policy.RECORD)
    plan = [
        ("receive", "wang", {"materials_complete": True}),
        ("accept", "wang", {}),
        ("review", "liu", {"needs_extension": False, "needs_hearing": True}),
    ]
    for task, actor, data in plan:
        case.complete(task, actor, data=data)
    workflow = case.engine_workflow
    assert workflow.subprocesses, "the hearing's call activity is running"
    assert assert_walks_agree(workflow) > 0
    moved = 0
    while any(not sub.completed for sub in workflow.subprocesses.values()) and moved < 20:
        step = case.ready_steps()[0].id
        for person in market.people:  # whoever the rules let do it
            with contextlib.suppress(ApprovalflowError):
                case.complete(step, person)
                break
        else:
            break
        moved += 1
        assert_walks_agree(workflow)
    assert moved > 0 and all(sub.completed for sub in workflow.subprocesses.values())
    assert_walks_agree(workflow)  # a finished sub-process is not entered for the unfinished states


def test_the_walks_agree_on_an_interrupting_event_sub_process() -> None:
    market = load_organisation(DATA / "market_bureau.yaml")
    process = load_process(DATA / "bpmn_events" / "withdraw_interrupts.bpmn")
    case = start_case(process, market, clock=FakeClock("2026-09-28T09:00:00+08:00"), data={"recall": False})
    case.complete("accept", "wang", at="2026-09-28T10:00:00+08:00")
    assert assert_walks_agree(case.engine_workflow) > 0  # 审查 and 听证 in parallel, a reminder timer waiting
    assert case.send_message("withdraw", at="2026-09-28T15:00:00+08:00") == ["withdraw_start"]
    assert [r.id for r in case.ready_steps()] == ["register"]
    assert_walks_agree(case.engine_workflow)  # the cancelled rest of the process among the finished tasks


LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">
  <bpmn:process id="loop" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="a"/>
    <bpmn:exclusiveGateway id="g" default="out"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="g"/>
    <bpmn:sequenceFlow id="again" sourceRef="g" targetRef="a">
      <bpmn:conditionExpression>again == True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="out" sourceRef="g" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_tree_deeper_than_spiffworkflows_depth_limit_is_cut_where_spiffworkflow_cuts_it() -> None:
    """SpiffWorkflow's walk stops descending at a depth of 1000 (the case refuses to go past 800 for that
    reason); the engine's own walk keeps the same count, so on a deeper tree both stop at the same task."""
    definition = load_process_string(LOOP, filename="loop.bpmn")
    engine = start_case(definition, ORG, unit="market-bureau", clock=FakeClock("2026-09-28T09:00:00+08:00"))
    workflow = new_workflow(definition._spec, definition._subprocess_specs, engine._script_engine())
    workflow.do_engine_steps()
    rounds = 0
    while rounds < 600:  # two tasks (the step and the gateway) a round, until SpiffWorkflow stalls past 1,000
        ready = [t for t in workflow.tasks.values() if t.state == TaskState.READY and t.task_spec.manual]
        if not ready:
            break
        (task,) = ready
        task.data["again"] = True
        task.run()
        workflow.do_engine_steps()
        rounds += 1
    assert 450 < rounds < 600, rounds
    deepest = max(t.depth for t in workflow.tasks.values())
    assert deepest >= 1000
    for mask in MASKS:
        ours = list(_iter_tasks(workflow.task_tree, mask))
        theirs = spiff_walk(workflow.task_tree, True, state=mask)
        assert [t.id for t in ours] == [t.id for t in theirs], mask
    # the stall: a ready task (the gateway past the limit) is in the tree, and neither walk reaches it
    assert [t for t in workflow.tasks.values() if t.state == TaskState.READY]
    assert spiff_walk(workflow.task_tree, True, state=TaskState.READY) == []
    assert list(_iter_tasks(workflow.task_tree, int(TaskState.READY))) == []
    # the walk without a depth count, meant for smaller trees, refuses to go on rather than walk past the limit
    with pytest.raises(SpiffWorkflowException, match="grew past 1000"):
        list(_iter_shallow(workflow.task_tree, int(TaskState.ANY_MASK), None, int(TaskState.MAYBE), {}, False))


def test_a_case_logs_spiffworkflows_state_changes_when_its_logger_is_on(caplog: pytest.LogCaptureFixture) -> None:
    """A case's tasks skip building SpiffWorkflow's log records only when nothing would log them."""
    market = load_organisation(DATA / "market_bureau.yaml")
    case = start_case(LICENSING_PROCESS, market, unit="market-bureau", clock=FakeClock("2026-09-28T09:00:00+08:00"))
    with caplog.at_level(logging.INFO, logger="spiff.task"):
        case.complete("receive", "wang", data={"materials_complete": True})
    changed = [r for r in caplog.records if r.name == "spiff.task" and r.getMessage().startswith("State changed to")]
    assert changed, "SpiffWorkflow's own records, as its Task writes them"
    assert {r.task_spec for r in changed} >= {"receive", "accept"}  # type: ignore[attr-defined]
    caplog.clear()
    case.complete("accept", "wang")  # the logger back at its default level: no record is built
    assert not [r for r in caplog.records if r.name == "spiff.task"]
    # a host's own workflow is SpiffWorkflow's, and its tasks log as SpiffWorkflow's do, whatever the level
    host = bare_workflow()
    assert type(host).__name__ == "BpmnWorkflow" and type(case.engine_workflow).__name__ == "_Workflow"
    with caplog.at_level(logging.INFO, logger="spiff.task"):
        (ready,) = [t for t in host.tasks.values() if t.state == TaskState.READY and t.task_spec.manual]
        ready.run()
    assert [r for r in caplog.records if r.name == "spiff.task" and r.getMessage().startswith("State changed to")]


def bare_workflow() -> Any:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser

    parser = BpmnParser()
    parser.add_bpmn_str(LOOP.encode())
    workflow = BpmnWorkflow(parser.get_spec("loop"))
    workflow.do_engine_steps()
    return workflow
