"""The one module that imports SpiffWorkflow: its parser, workflows, task tree, state encoding and script hooks.

Everything approvalflow needs from SpiffWorkflow goes through here, so the rest of the package sees plain
functions and values (a test fails on a SpiffWorkflow import anywhere else):

* the parser (:data:`BpmnParser`) and the exception root (:data:`SpiffWorkflowException`) for the loader and
  the validator; the path of the BPMN 2.0 schema SpiffWorkflow ships (:func:`bpmn_schema_file`);
* workflows: :func:`new_workflow` (SpiffWorkflow's ``BpmnWorkflow`` with tree walks of its own, the same in result
  and order and several times faster: :class:`_FastWalks`), :func:`scan` (the ready manual tasks and the running
  call activities, in a flat pass over the tasks, or one walk of the task tree when their order matters),
  :func:`reached_tasks` (for coverage); :func:`workflow_snapshot` and :func:`undo` (put a workflow back as it was
  before a failed action, without serializing it);
* the engine state without the process spec: :func:`workflow_dict` (the same structure SpiffWorkflow's own
  serializer writes, built directly), :func:`canonical_workflow` (its canonical JSON, reusing the JSON of tasks
  that cannot have changed since the last call), :func:`encode_json`, :func:`restore_workflow`, and the facts a
  state check needs (:data:`TASK_STATES`, :func:`is_call_activity`, :data:`SERIALIZER_VERSION`).

Expressions and scripts: SpiffWorkflow evaluates expressions in two ways: through the script engine
(``script_engine.evaluate``) and, in several places (message correlation, ad-hoc completion conditions,
process-level conditions), directly through the engine's *environment* (``script_engine.environment.evaluate``),
which by default is Python's ``eval()`` with full builtins, and ``exec()`` for scripts. Both are replaced here:

* :class:`SafeEnvironment` is the environment object. Every expression that reaches it, whichever path
  inside SpiffWorkflow sent it, goes to the safe :class:`~approvalflow.expressions.ExpressionEvaluator`
  with its size bounds; a script may only name a function the host registered; service calls are refused.
* :class:`SafeScriptEngine` installs that environment, and bounds the one result that allocates in
  proportion to its value: a multi-instance loop cardinality (:data:`MAX_CARDINALITY`).

No code path of this module calls ``eval``, ``exec`` or ``compile``; the test suite replaces those builtins
with functions that fail whenever SpiffWorkflow or approvalflow calls them (``tests/conftest.py``).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import SpiffWorkflow
from SpiffWorkflow import task as _spiff_task_module
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit, BpmnStartTask
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins import InclusiveGatewayMixin, ParallelGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from .expressions import EvaluationError, ExpressionError, ExpressionEvaluator, TrustedFunction

__all__ = [
    "COUNTERSIGN_DECIDED",
    "COUNTERSIGN_SIGNERS",
    "INTERRUPTED",
    "MAX_CARDINALITY",
    "ROUND_KEY",
    "SERIALIZER_VERSION",
    "TASK_STATES",
    "BpmnParser",
    "SafeEnvironment",
    "SafeScriptEngine",
    "Scan",
    "SpiffWorkflowException",
    "bpmn_schema_file",
    "cancel_workflow",
    "canonical_value",
    "canonical_workflow",
    "close_idle_event_subprocesses",
    "completed_tasks",
    "countersign_add",
    "countersign_cancel",
    "countersign_finish",
    "countersign_instance",
    "countersign_restart_at",
    "countersign_round",
    "countersign_shrink",
    "deliver_event",
    "encode_json",
    "finished_snapshot",
    "fire_timer",
    "hold_timers",
    "interrupt_for_event_subprocesses",
    "interrupted_by",
    "is_call_activity",
    "multi_instance_parent",
    "new_workflow",
    "open_tasks",
    "path_between",
    "reached_tasks",
    "ready_tasks",
    "reset_to",
    "restore_workflow",
    "scan",
    "set_countersign_round",
    "slow_workflow_dict",
    "take_uncaught",
    "transplant",
    "undo",
    "undo_reset",
    "unfired_marks",
    "waiting_catches",
    "waiting_timers",
    "workflow_dict",
    "workflow_snapshot",
]  # fmt: skip


def _trigger_without_rewiring(self: Any, my_task: Any, spec_name: str) -> Any:
    """SpiffWorkflow 3.2's ``BpmnStartTask.trigger_wf`` (start an event sub-process in one case), without connecting
    the sub-process to the process's start in the shared specification.

    SpiffWorkflow connects it there the first time one case starts it, and the specification is shared by every case
    of a loaded definition: every case started afterwards then created the sub-process waiting from its start, never
    completed once its main flow had ended, and listed the event twice. Here the sub-process goes only into the case
    that caught the event; its link to the process's end (what ends the case after it) is made once.
    """
    spec = self._wf_spec.task_specs.get(spec_name)
    if self not in spec.inputs:  # the sub-process comes from the start (its input), which does not lead to it
        spec._connect_notify(self)
        spec.connect(self._wf_spec.end)
    child = my_task._add_child(spec, TaskState.FUTURE)
    child.triggered = True
    child.task_spec._update(child)
    return child.id


BpmnStartTask.trigger_wf = _trigger_without_rewiring

MAX_CARDINALITY = 1_000
"""Most instances a multi-instance activity's ``loopCardinality`` may ask for. Each instance is a task in the
engine's tree; a cardinality of ``10**9`` would take gigabytes. Raise it with
``SafeScriptEngine(..., max_cardinality=N)`` (``start_case(..., max_cardinality=N)``)."""


#: The ``loopCardinality`` a signed multi-instance step is given (:func:`approvalflow.bpmn.countersign.engine_tree`):
#: its instances are counted by the script engine's ``signers`` hook, which also keeps their assignees. A name
#: starting with ``_`` never evaluates, so without the hook the step fails loudly instead of running 0 instances.
COUNTERSIGN_SIGNERS = "_countersign_signers"
#: The ``completionCondition`` it is given: true once the round's rule has decided (``passed`` is set).
COUNTERSIGN_DECIDED = "_countersign_decided"
#: The key of a signed multi-instance task's internal data holding its round: ``assignees`` (a person id or None
#: per instance), ``opinions`` (one mapping per signature) and ``passed`` (None until the rule decides).
ROUND_KEY = "countersign"
SignersHook = Callable[[str, Mapping[str, Any], Callable[[str], Any]], list[str | None]]
"""``(step id, data, evaluate) -> assignees``: who signs each instance of a round that starts (None: anyone)."""


class SafeEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """The object behind ``script_engine.environment``: the safe evaluator, trusted functions, nothing else."""

    def __init__(self, evaluator: ExpressionEvaluator, trusted: Mapping[str, TrustedFunction]) -> None:
        super().__init__({})
        self.evaluator = evaluator
        self.trusted = trusted

    def evaluate(self, expression: str, context: Mapping[str, Any], external_context: Any = None) -> Any:
        names: dict[str, Any] = dict(external_context or {})
        names.update(context)
        return self.evaluator.evaluate(str(expression), names)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        name = str(script).strip().removesuffix("()").strip()
        fn = self.trusted.get(name)
        if fn is None:  # the loader already refuses these; never fall back to exec
            raise ExpressionError(f"script {str(script)[:40]!r} names no trusted function")
        return _call_host(fn, context)

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise ExpressionError("service tasks are not supported")


def _call_host(fn: TrustedFunction, data: dict[str, Any]) -> bool:
    """Run a host's function on a copy of the task's data; what it returns is merged into the data."""
    updates = fn(dict(data))
    if updates:
        data.update(updates)
    return True


#: The kinds of event a host may deliver, and SpiffWorkflow's definition of each.
_DELIVERABLE = {"signal": SignalEventDefinition, "message": MessageEventDefinition}


def waiting_catches(workflow: Any) -> list[tuple[str, str, str]]:
    """``(kind, name, element id)`` of every catch event the workflow waits on that a host can deliver (signals and
    messages): intermediate catch events, receive tasks, boundary events, the branches of event-based gateways, and
    the start events of the process's event sub-processes."""
    found = []
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        # An event-based gateway waits on the events of its branches at once (a "multiple" definition).
        for one in getattr(definition, "event_definitions", None) or [definition]:
            kind = next((k for k, cls in _DELIVERABLE.items() if isinstance(one, cls)), None)
            if kind is not None:
                found.append((kind, str(one.name), str(task.task_spec.bpmn_id)))
    # The start events of the process's event sub-processes wait too, while the process runs and no interrupting
    # one has taken over: SpiffWorkflow starts such a sub-process when the event is delivered
    # (:func:`interrupt_for_event_subprocesses` then ends the rest of the process if it interrupts).
    live = not workflow.is_completed() and not interrupted_by(workflow)
    for name in getattr(workflow.spec.start, "trigger_specs", ()) if live else ():
        spec = workflow.subprocess_specs.get(name)
        for start in getattr(spec, "bpmn_start_events", ()):
            one = start.event_definition
            kind = next((k for k, cls in _DELIVERABLE.items() if isinstance(one, cls)), None)
            if kind is not None:
                found.append((kind, str(one.name), str(start.bpmn_id)))
    return found


#: Internal data of an interrupting event sub-process's task once it has interrupted the process.
INTERRUPTED = "approvalflow_interrupted"


def interrupted_by(workflow: Any) -> list[str]:
    """The interrupting event sub-processes that have taken over the process (ids), in the order they started."""
    return [
        str(t.task_spec.bpmn_id)
        for t in workflow.task_tree
        if t.workflow is workflow and t.internal_data.get(INTERRUPTED)
    ]


def interrupt_for_event_subprocesses(workflow: Any, ids: frozenset[str]) -> list[str]:
    """End the rest of the process for each interrupting event sub-process (``ids``: their BPMN ids, at process
    level) that has just started; returns the ids of those that interrupted now.

    SpiffWorkflow 3.2 starts an event sub-process beside the process whatever its start event's ``isInterrupting``
    says. BPMN says an interrupting one cancels every other activity of its scope (the process): here each open task
    of the process that is not on the sub-process's own path (the start task above it) is cancelled, with its
    sub-processes, and the catch events it waited on are forgotten, so nothing else of the process can move; the
    sub-process then runs to the process's end."""
    if not ids:
        return []
    started = [
        t
        for t in workflow.task_tree
        if t.workflow is workflow
        and str(t.task_spec.bpmn_id) in ids
        and isinstance(t.task_spec, SubWorkflowTask)
        and not t.internal_data.get(INTERRUPTED)
        and not t.has_state(TaskState.FINISHED_MASK)
        and _event_started(workflow, t)
    ]
    for esp in started:
        keep = {esp.id}
        above = esp.parent
        while above is not None:
            keep.add(above.id)
            above = above.parent
        stack = [workflow.task_tree]
        while stack:
            task = stack.pop()
            if task.id in keep:
                stack.extend(c for c in task.children if c.id != esp.id)
            elif task.has_state(TaskState.FINISHED_MASK):
                stack.extend(task.children)
            else:
                task.cancel()  # drops its children, cancels its sub-process
        esp.internal_data[INTERRUPTED] = True
    if started:
        waiting = workflow.event_manager.tasks
        for key, task in list(waiting.items()):
            if task.has_state(TaskState.FINISHED_MASK) or task.workflow.tasks.get(task.id) is not task:
                del waiting[key]
    return [str(t.task_spec.bpmn_id) for t in started]


def close_idle_event_subprocesses(workflow: Any, ids: frozenset[str]) -> list[str]:
    """Cancel the event sub-processes (``ids``: those of the process) still waiting for their event once nothing else
    of the process is left to do, so that the process ends (returns their ids).

    In BPMN an event sub-process lives while its scope does: when the process's main flow has ended, one that never
    caught its event (a timer not yet due) ends with it. SpiffWorkflow 3.2 creates a timer-started one with the
    process and its end waits for everything, so the case never ended while that timer waited."""
    pending = [t for t in workflow.task_tree if t.workflow is workflow and not t.has_state(TaskState.FINISHED_MASK)]
    idle = [t for t in pending if str(t.task_spec.bpmn_id) in ids and not _event_started(workflow, t)]
    if not idle:
        return []
    ending = {workflow.spec.end.name, "End"}
    busy = [t for t in pending if t not in idle and t.task_spec.name not in ending and not _below(t, idle)]
    if busy:
        return []
    for task in idle:
        task.cancel()
    for task in [t for t in pending if t.task_spec.name == workflow.spec.end.name and t.state == TaskState.WAITING]:
        task.task_spec._update(task)  # the process's end waited for them: it may go now
    workflow.do_engine_steps()
    return [str(t.task_spec.bpmn_id) for t in idle]


def _below(task: Any, tops: list[Any]) -> bool:
    above = task.parent
    while above is not None:
        if any(above is t for t in tops):
            return True
        above = above.parent
    return False


def _event_started(workflow: Any, task: Any) -> bool:
    """Whether the event sub-process of ``task`` has caught its event (its start event completed), not merely been
    created waiting for it."""
    sub = workflow.subprocesses.get(task.id)
    return sub is not None and any(
        isinstance(t.task_spec, StartEvent) and t.has_state(TaskState.COMPLETED) for t in sub.task_tree
    )


def deliver_event(
    workflow: Any, kind: str, name: str, payload: Mapping[str, Any], correlations: Mapping[str, Any]
) -> None:
    """Deliver a signal or message from outside the case, then run the engine's own steps that follow."""
    definition = _DELIVERABLE[kind](name)
    workflow.send_event(BpmnEvent(definition, payload=dict(payload), correlations=dict(correlations)))
    workflow.do_engine_steps()
    _forget_seen_events(workflow)


#: The kinds of event a process throws that may find no catcher inside the case.
_THROWN = {
    ErrorEventDefinition: "error",
    EscalationEventDefinition: "escalation",
    SignalEventDefinition: "signal",
    MessageEventDefinition: "message",
}


def take_uncaught(workflow: Any) -> list[dict[str, str | None]]:
    """The events thrown inside the case that nothing in it caught, taken off the workflow, in the order thrown.

    SpiffWorkflow keeps them on the workflow (``bpmn_events``) for the host to collect. Each is ``{"kind", "name",
    "code"}``: ``kind`` is ``error``, ``escalation``, ``signal`` or ``message`` (or SpiffWorkflow's class name of
    another kind); ``name`` None for an error or escalation without one; ``code`` the error or escalation code.
    """
    if not workflow.bpmn_events:
        return []
    events, workflow.bpmn_events = list(workflow.bpmn_events), []
    out: list[dict[str, str | None]] = []
    for event in events:
        definition = event.event_definition
        kind = next((k for cls, k in _THROWN.items() if isinstance(definition, cls)), type(definition).__name__)
        code = getattr(definition, "code", None)
        name = getattr(definition, "name", None)
        out.append(
            {"kind": kind, "name": None if name is None else str(name), "code": None if code is None else str(code)}
        )
    return out


def _forget_seen_events(workflow: Any) -> None:
    """Drop the events a finished task kept while it waited (an event-based gateway keeps the one it took).

    SpiffWorkflow keeps them as objects in the task's internal data, which a saved case may not hold (only plain
    data is restored); once the task is finished nothing reads them. A task still waiting keeps its own."""
    for tasks in (workflow.tasks, *(sp.tasks for sp in workflow.subprocesses.values())):
        for task in tasks.values():
            if task.has_state(TaskState.FINISHED_MASK) and "seen_events" in task.internal_data:
                del task.internal_data["seen_events"]


# -- timers on the case clock ------------------------------------------------------------------------------
class _HeldTimer:
    """A timer that fires only when approvalflow says so (:func:`fire_timer`), never by the wall clock.

    SpiffWorkflow's own timer definitions compare their due moment with ``datetime.now()`` each time the engine
    refreshes its waiting tasks. These replace them in a loaded spec (:func:`hold_timers`): ``has_fired`` reads the
    flag :func:`fire_timer` sets and nothing else, and the expression is never evaluated here (the engine's
    :mod:`approvalflow.engine.timers` reads it from the model and keeps the due moment on the case clock).
    ``element`` is the BPMN id of the timer event (for a branch of an event-based gateway, the catch event of that
    branch: the gateway's task waits on all its branches at once and keeps which timers fired in ``af_fired``).
    """

    element = ""

    def has_fired(self, my_task: Any) -> bool:
        if self.element in my_task.internal_data.get("af_fired", ()):
            return True
        return bool(my_task._get_internal_data("event_fired", False))


class _HeldDuration(_HeldTimer, DurationTimerEventDefinition):  # type: ignore[misc]
    pass


class _HeldDate(_HeldTimer, TimeDateEventDefinition):  # type: ignore[misc]
    pass


def _held(definition: Any, element: str) -> Any:
    """The held timer for a date or duration timer definition; None for any other definition."""
    if type(definition) is DurationTimerEventDefinition:
        cls: type[Any] = _HeldDuration
    elif type(definition) is TimeDateEventDefinition:
        cls = _HeldDate
    else:
        return None
    held = cls(definition.name, definition.expression, description=definition.description)
    held.element = element
    return held


def hold_timers(spec: Any, subprocess_specs: Mapping[str, Any]) -> list[str]:
    """Replace every date and duration timer of the specs by one that only :func:`fire_timer` fires.

    Returns the BPMN ids of the timer events whose timers were replaced (for an event-based gateway, of the catch
    events of its timer branches). Cycle timers are left as they are: the loader refuses them by name before a case
    can start.
    """
    held = []
    for one in (spec, *subprocess_specs.values()):
        for task_spec in one.task_specs.values():
            definition: Any = getattr(task_spec, "event_definition", None)
            replacement = _held(definition, str(getattr(task_spec, "bpmn_id", "")))
            if replacement is not None:
                task_spec.event_definition = replacement
                held.append(replacement.element)
            elif isinstance(task_spec, EventBasedGateway):  # its branches' definitions, in the order of its outputs
                branches = definition.event_definitions
                for n, (branch, output) in enumerate(zip(branches, task_spec.outputs, strict=True)):
                    replacement = _held(branch, str(output.bpmn_id))
                    if replacement is not None:
                        branches[n] = replacement
                        held.append(replacement.element)
    return held


def waiting_timers(workflow: Any) -> list[tuple[str, str]]:
    """``(key, BPMN id)`` of every held timer the workflow waits on, sorted. The key is the waiting task's id, or
    ``task id/BPMN id`` for a timer branch of an event-based gateway (whose task waits on several events)."""
    found = []
    for task in workflow.event_manager.tasks.values():
        if task.state != TaskState.WAITING:
            continue
        definition = task.task_spec.event_definition
        if isinstance(definition, _HeldTimer):
            found.append((str(task.id), definition.element))
        elif isinstance(task.task_spec, EventBasedGateway):
            fired = task.internal_data.get("af_fired", ())
            for one in definition.event_definitions:
                if isinstance(one, _HeldTimer) and one.element not in fired:
                    found.append((f"{task.id}/{one.element}", one.element))
    return sorted(found)


def unfired_marks(workflow: Any) -> list[str]:
    """The ids of tasks that still wait on a held timer yet carry its "fired" mark (``event_fired``, ``af_fired``).

    :func:`fire_timer` sets the mark and the engine moves the task on in the same call, so a waiting task never
    keeps one; a saved state in which one does would fire that timer at the next refresh without any record."""
    found = []
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        held = isinstance(definition, _HeldTimer) or isinstance(task.task_spec, EventBasedGateway)
        if held and (task.internal_data.get("event_fired") or task.internal_data.get("af_fired")):
            found.append(str(task.id))
    return sorted(found)


def fire_timer(workflow: Any, key: str) -> None:
    """Fire the waiting timer ``key`` (from :func:`waiting_timers`) and run the engine's own steps that follow."""
    if key not in dict(waiting_timers(workflow)):
        raise LookupError(f"no waiting timer {key}")
    task_id, _, element = key.partition("/")
    task = workflow.get_task_from_id(UUID(task_id))
    if element:
        task._set_internal_data(af_fired=[*task.internal_data.get("af_fired", ()), element])
    else:
        task._set_internal_data(event_fired=True)
    workflow.refresh_timers()
    workflow.do_engine_steps()
    _forget_seen_events(workflow)


def data_objects_in_scope(task: Any) -> dict[str, Any]:
    """The data objects an expression evaluated at ``task`` sees, as BPMN scopes them.

    A data object belongs to the process or embedded sub-process that declares it and is visible inside it and in
    every embedded sub-process nested in it (data object ids are unique in a document). A called process (call
    activity) is a process of its own: it sees its own data objects only, never its caller's. SpiffWorkflow passes
    only the task's own (sub-)workflow's data objects, so a gateway inside an embedded sub-process could not see a
    data object of the process around it and took the default flow.
    """
    chain = []
    workflow = task.workflow
    while workflow is not None:
        chain.append(workflow.data_objects)
        parent_id = getattr(workflow, "parent_task_id", None)
        if parent_id is None:
            break
        parent = workflow.top_workflow.get_task_from_id(parent_id)
        if isinstance(parent.task_spec, CallActivity):
            break
        workflow = parent.workflow
    names: dict[str, Any] = {}
    for objects in reversed(chain):
        names.update(objects)
    return names


class SafeScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """SpiffWorkflow's script engine with :class:`SafeEnvironment` as its environment."""

    def __init__(
        self,
        evaluator: ExpressionEvaluator,
        trusted: Mapping[str, TrustedFunction],
        *,
        max_cardinality: int = MAX_CARDINALITY,
        script_tasks: Mapping[str, TrustedFunction] | None = None,
        signers: SignersHook | None = None,
    ) -> None:
        super().__init__(environment=SafeEnvironment(evaluator, trusted))
        self.evaluator = evaluator
        self.max_cardinality = max_cardinality
        self.script_tasks = dict(script_tasks or {})
        self.signers = signers

    def validate(self, expression: str) -> None:
        self.evaluator.check(expression)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        if expression == COUNTERSIGN_SIGNERS:
            return self._start_round(task)
        if expression == COUNTERSIGN_DECIDED:  # evaluated on the instance just completed
            round_ = countersign_round(task)
            return round_ is not None and round_.get("passed") is not None
        scoped = data_objects_in_scope(task)
        if external_context:
            scoped.update(external_context)
        value = self.environment.evaluate(expression, task.data, scoped)
        if expression == getattr(task.task_spec, "cardinality", None):
            self._check_cardinality(task, value)
        return value

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        bound = self.script_tasks.get(task.task_spec.bpmn_id)
        if bound is not None:  # the host's function for this script task: its script text is never run
            return _call_host(bound, task.data)
        return bool(self.environment.execute(script, task.data, external_context))

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise ExpressionError("service tasks are not supported")

    def _start_round(self, task: Any) -> int:
        """A signed multi-instance step starts a round: its assignees from the hook, kept in its internal data."""
        if self.signers is None:
            raise EvaluationError(f"'{task.task_spec.bpmn_id}' is signed by several people; only a case runs it")
        names = {**data_objects_in_scope(task), **task.data}
        assignees = self.signers(task.task_spec.bpmn_id, names, lambda text: self.evaluate(task, text))
        self._check_cardinality(task, len(assignees))
        task.internal_data[ROUND_KEY] = {"assignees": list(assignees), "opinions": [], "passed": None}
        return len(assignees)

    def _check_cardinality(self, task: Any, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= self.max_cardinality:
            raise EvaluationError(
                f"the loop cardinality of '{task.task_spec.bpmn_id}' is {str(value)[:40]}; it must be a whole "
                f"number from 0 to {self.max_cardinality} (raise max_cardinality to allow more instances)"
            )


# -- signed multi-instance steps (会签, 或签, 依次审批, 票签) --------------------------------------------------------
def _mi_parent(task: Any) -> Any:
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, MultiInstanceTask) or ROUND_KEY not in parent.internal_data:
        return None
    return parent


def countersign_round(task: Any) -> dict[str, Any] | None:
    """The round an instance task belongs to (its multi-instance parent's ``ROUND_KEY`` data), or None."""
    parent = _mi_parent(task)
    return dict(parent.internal_data[ROUND_KEY]) if parent is not None else None


def countersign_instance(task: Any) -> tuple[str, int] | None:
    """``(round id, index)`` of an instance task of a signed step, or None for any other task."""
    parent = _mi_parent(task)
    if parent is None:
        return None
    index = task.internal_data.get("key_or_index", task.internal_data.get("item"))
    return str(parent.id), int(index)


def set_countersign_round(task: Any, round_: Mapping[str, Any]) -> None:
    """Replace the round of the instance task ``task`` (a new mapping: saved states are compared by identity)."""
    _mi_parent(task).internal_data[ROUND_KEY] = dict(round_)


# 加签 / 减签 (approvalflow.engine.addsign): the running round's instances, changed the way SpiffWorkflow makes them.
def countersign_add(task: Any) -> None:
    """One more instance in the round of the ready instance ``task``: a parallel round gets a new ready instance
    (its index the next one), a sequential round one more to come (its count grows by one)."""
    parent = _mi_parent(task)
    spec = parent.task_spec
    if isinstance(spec, SequentialMultiInstanceTask):
        parent.internal_data["cardinality"] = int(parent.internal_data["cardinality"]) + 1
        return
    index = sum(1 for _ in spec._instances(parent))
    spec.create_child(parent, index, index)


def countersign_restart_at(task: Any, index: int, count: int) -> None:
    """In a sequential round: cancel the ready instance ``task``, make ``count`` the number of instances, and
    create the instance ``index`` next (it is ready; the others follow in order). ``index == count`` creates none."""
    parent = _mi_parent(task)
    task.cancel()
    parent.internal_data["cardinality"] = count
    parent.internal_data["current"] = index
    if index < count:
        parent.task_spec.add_next_child(parent)


def countersign_shrink(task: Any) -> None:
    """A sequential round with one instance fewer to come (one not created yet was removed)."""
    parent = _mi_parent(task)
    parent.internal_data["cardinality"] = int(parent.internal_data["cardinality"]) - 1


def countersign_cancel(task: Any) -> None:
    """Cancel the ready instance ``task`` of a parallel round (a signer removed): the rule decides without it."""
    task.cancel()


def countersign_finish(task: Any, data: Mapping[str, Any]) -> None:
    """The round of ``task`` has decided without a further signature (a signer removed): cancel its unfinished
    instances and make the multi-instance task ready to complete with ``data`` (as SpiffWorkflow does when its
    completion condition holds); the caller then runs the engine."""
    parent = _mi_parent(task)
    for child in list(parent.task_spec._instances(parent)):
        if not child.has_state(TaskState.FINISHED_MASK):
            child.cancel()
    parent.data.update(data)
    parent._set_state(TaskState.READY)


# -- files -----------------------------------------------------------------------------------------------------
def bpmn_schema_file() -> Path:
    """The OMG's BPMN 2.0 schema (``BPMN20.xsd``) in the copy SpiffWorkflow ships."""
    return Path(SpiffWorkflow.__file__).parent / "bpmn" / "parser" / "schema" / "BPMN20.xsd"


# -- workflows and their task tree -------------------------------------------------------------------------------
_READY = int(TaskState.READY)
_FUTURE = int(TaskState.FUTURE)
_RUNNING = int(TaskState.STARTED | TaskState.WAITING)
_REACHED = int(TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.COMPLETED | TaskState.ERROR)
_ENTERED = int(TaskState.COMPLETED | TaskState.STARTED | TaskState.WAITING)
_CANCELLED = int(TaskState.CANCELLED)
TASK_STATES = frozenset(int(s) for s in TaskState._values)
"""The task states SpiffWorkflow defines (single bits)."""


_MAYBE = int(TaskState.MAYBE)
_WAITING = int(TaskState.WAITING)
_COMPLETED_STATE = int(TaskState.COMPLETED)
_PREDICTED_MASK = int(TaskState.PREDICTED_MASK)
_DEFINITE_MASK = int(TaskState.DEFINITE_MASK)
_FINISHED_MASK = int(TaskState.FINISHED_MASK)
_ITERATOR_DEPTH = 1000  # SpiffWorkflow's TaskIterator default max_depth
_FAST_FILTERS = frozenset({"state", "manual", "skip_subprocesses"})


def _iter_tasks(
    first: Any,
    state: int = int(TaskState.ANY_MASK),
    manual: bool | None = None,
    bpmn: bool = True,
    skip_subprocesses: bool = False,
) -> Iterator[Any]:
    """SpiffWorkflow's ``TaskIterator`` (``bpmn``: ``BpmnTaskIterator``), depth first, without its overhead.

    The same tasks in the same order, lazily like it: a task's children are taken when the task is reached
    (before it is yielded, so that what the caller then does to the task acts on the walk as it does on
    SpiffWorkflow's), the walk does not descend below a task in a state lower than the filter needs
    (predicted tasks only for a predicted filter), nor into a finished sub-process for a finished filter, and
    the depth counter that stops SpiffWorkflow's walk at 1000 is kept exactly as it keeps it (it counts wrong
    after a sub-process; the same wrong count stops both at the same task). SpiffWorkflow's ``end_at_spec`` is
    None in every walk this replaces, and a task spec always has a name, so that test is left out.
    ``tests/test_spiff_walk.py`` holds it equal to SpiffWorkflow's iterator on random cases and on every model of
    the corpus.
    """
    min_state = _MAYBE if state & _PREDICTED_MASK else _FUTURE if state & _DEFINITE_MASK else _COMPLETED_STATE
    top = first.workflow.top_workflow
    subprocesses = top.subprocesses if bpmn else {}
    # The depth counter goes up once per task whose children are taken, so it stays below the number of tasks:
    # with fewer than the limit (every case but a very long loop), nothing can stop the walk, and none is kept.
    if len(top.tasks) + sum(len(sp.tasks) for sp in top.subprocesses.values()) < _ITERATOR_DEPTH:
        return _iter_shallow(first, state, manual, min_state, subprocesses, skip_subprocesses)
    return _iter_deep(first, state, manual, min_state, subprocesses, skip_subprocesses)


def _iter_shallow(
    first: Any, state: int, manual: bool | None, min_state: int, subprocesses: Any, skip: bool
) -> Iterator[Any]:
    stack = [first]  # the end of the list is the front of SpiffWorkflow's task_list
    pop, extend = stack.pop, stack.extend
    expanded = 0  # an upper bound of SpiffWorkflow's depth counter
    while stack:
        task = pop()
        task_state = task._state
        children = task._children
        sub = subprocesses.get(task.id) if subprocesses else None
        if sub is None:
            if children and task_state >= min_state:
                extend(map(task.workflow.tasks.get, reversed(children)))
                expanded += 1
        else:
            extend(map(task.workflow.tasks.get, reversed(children)))
            if not skip and not (task_state >= _FINISHED_MASK and state <= _FINISHED_MASK):
                stack.append(sub.task_tree)
            expanded += 1
        if expanded >= _ITERATOR_DEPTH:  # tasks added during the walk took it past the limit: never silently on
            raise SpiffWorkflowException(f"the task tree grew past {_ITERATOR_DEPTH} tasks during one walk")
        if task_state & state and (manual is None or task.task_spec.manual == manual):
            yield task


def _iter_deep(
    first: Any, state: int, manual: bool | None, min_state: int, subprocesses: Any, skip: bool
) -> Iterator[Any]:
    stack = [first]
    depth = 0
    while stack:
        task = stack.pop()
        task_state = task._state
        children = task._children
        sub = subprocesses.get(task.id) if subprocesses else None
        if (children or sub is not None) and (task_state >= min_state or sub is not None) and depth < _ITERATOR_DEPTH:
            stack.extend(map(task.workflow.tasks.get, reversed(children)))
            if sub is not None and not skip and not (task_state >= _FINISHED_MASK and state <= _FINISHED_MASK):
                stack.append(sub.task_tree)
            depth += 1
        elif stack:  # a leaf: climb to the parent of the next task, as TaskIterator._handle_leaf_depth does
            ancestor = stack[-1].parent
            current = task.parent
            while current is not None and current is not ancestor:
                current = current.parent
                depth -= 1
        if task_state & state and (manual is None or task.task_spec.manual == manual):
            yield task


class _FastWalks:
    """SpiffWorkflow's tree walks for a case's workflows, the same in result and order, several times faster.

    ``get_tasks`` (and everything built on it: ``do_engine_steps``, ``get_next_task``, predictions) and the
    walk over waiting tasks after each completed task take most of SpiffWorkflow's time on an approval
    process; both go through :func:`_iter_tasks` here. A query with a filter it does not know goes to
    SpiffWorkflow's own iterator. Only workflows this module creates have these walks: a host's own
    ``BpmnWorkflow`` is untouched.
    """

    task_tree: Any

    def get_tasks_iterator(self, first_task: Any = None, **kwargs: Any) -> Any:
        if kwargs.keys() <= _FAST_FILTERS:
            return _iter_tasks(first_task or self.task_tree, **kwargs)
        return super().get_tasks_iterator(first_task, **kwargs)  # type: ignore[misc]

    def update_waiting_tasks(self) -> None:
        for task in _iter_tasks(self.task_tree, _WAITING, bpmn=False):
            task.task_spec._update(task)


_TASK_LOG = _spiff_task_module.logger  # SpiffWorkflow's "spiff.task" logger
_INFO = logging.INFO
_spiff_set_state = Task._set_state


def _set_state(self: Any, value: int) -> None:
    """SpiffWorkflow's ``Task._set_state``, except for a case's task while the ``spiff.task`` logger is off at INFO.

    SpiffWorkflow builds a dictionary of log details (names, ids, state, elapsed time) and calls the logger on every
    state change, several times per step, whether or not the logger would emit the record: a seventh of an approval
    step's time. For a task of a case's workflow (:class:`_Workflow`, :class:`_SubWorkflow`) with that logger not
    enabled at INFO, the state and its timestamp change as SpiffWorkflow changes them, and nothing else; every other
    task, and every task while the logger is on, runs SpiffWorkflow's own method (the same records).
    """
    if type(self.workflow) in _CASE_WORKFLOWS and not _TASK_LOG.isEnabledFor(_INFO):
        if value != self._state:
            self.last_state_change = time.time()
            self._state = value
    else:
        _spiff_set_state(self, value)


Task._set_state = _set_state


class _SubWorkflow(_FastWalks, BpmnSubWorkflow):  # type: ignore[misc]
    """A sub-process's workflow with :class:`_FastWalks` (serialized as SpiffWorkflow's ``BpmnSubWorkflow``)."""


class _Workflow(_FastWalks, BpmnWorkflow):  # type: ignore[misc]
    """A case's workflow with :class:`_FastWalks` (and quiet state changes, :func:`_set_state`); its sub-processes
    get them too."""

    def create_subprocess(self, my_task: Any, spec_name: str) -> Any:
        subprocess = _SubWorkflow(self.subprocess_specs[spec_name], parent_task_id=my_task.id, top_workflow=self)
        self.subprocesses[my_task.id] = subprocess
        return subprocess


_CASE_WORKFLOWS = frozenset({_Workflow, _SubWorkflow})


def new_workflow(spec: Any, subprocess_specs: Mapping[str, Any], script_engine: Any) -> Any:
    """A new workflow of ``spec``; its start tasks are ready, nothing has run yet."""
    return _Workflow(spec, subprocess_specs, script_engine=script_engine)


def ready_tasks(workflow: Any) -> list[Any]:
    """Every ready task (engine tasks included): the tasks to seed with case data (a flat pass, no tree walk)."""
    return [t for wf in (workflow, *workflow.subprocesses.values()) for t in wf.tasks.values() if t._state == _READY]


def is_call_activity(task_spec: Any) -> bool:
    """True for a call activity's (or an embedded sub-process's) task spec."""
    return isinstance(task_spec, SubWorkflowTask)


@dataclass(frozen=True, slots=True)
class Scan:
    """One walk of a workflow's task tree: what the case needs after each action."""

    ready: tuple[Any, ...]
    """The ready manual tasks (the steps a person may complete), in the engine's depth-first order."""
    running_calls: tuple[tuple[str, str], ...]
    """(task id, BPMN id) of each call activity whose sub-process is running (started or waiting)."""


def scan(workflow: Any) -> Scan:
    """The ready manual tasks and the running call activities, as ``get_tasks`` finds them, in its order.

    It finds exactly what ``get_tasks(state=READY, manual=True)`` and ``get_tasks(state=STARTED | WAITING)``
    (call activities) find, in the same order, without their per-task overhead. The tasks of each (sub-)workflow
    are first looked at in a flat pass (no tree walk); only when it finds more than one of either kind, or a
    ready task whose parent is only predicted, is the tree walked depth first to put them in the engine's order
    (:func:`_walk`). ``tests/test_spiff_state.py`` holds the result equal to ``get_tasks`` on random cases.
    """
    ready: list[Any] = []
    running: list[tuple[str, str]] = []
    for wf in (workflow, *workflow.subprocesses.values()):
        tasks = wf.tasks
        for task in tasks.values():
            state = task._state
            if state == _READY:
                if task.task_spec.manual:
                    parent = tasks.get(task._parent)
                    if parent is not None and parent._state < _FUTURE:  # below a predicted task: as get_tasks
                        return _walk(workflow)
                    ready.append(task)
            elif state & _RUNNING and isinstance(task.task_spec, SubWorkflowTask):
                running.append((str(task.id), task.task_spec.bpmn_id))
    if len(ready) > 1 or len(running) > 1:
        return _walk(workflow)
    return Scan(tuple(ready), tuple(running))


def _walk(workflow: Any) -> Scan:
    """Walk the task tree once, depth first, sub-processes in place, as ``get_tasks`` does (:func:`_iter_tasks`,
    one walk for both kinds of task)."""
    ready: list[Any] = []
    running: list[tuple[str, str]] = []
    for task in _iter_tasks(workflow.task_tree, _READY | _RUNNING):
        spec = task.task_spec
        if task._state == _READY:
            if spec.manual:
                ready.append(task)
        elif isinstance(spec, SubWorkflowTask):
            running.append((str(task.id), spec.bpmn_id))
    return Scan(tuple(ready), tuple(running))


def reached_tasks(workflow: Any) -> list[tuple[str, str, bool, list[tuple[str | None, bool]]]]:
    """The tasks a token reached: (process id, BPMN id, entered, children).

    ``entered`` is true for a task that was completed, started or is waiting (its outgoing flows may have been
    taken); each child is (its BPMN id, whether a token reached it or it is a join's merged branch).
    """
    out: list[tuple[str, str, bool, list[tuple[str | None, bool]]]] = []
    for task in workflow.get_tasks():
        node = _bpmn_id(task)
        if node is None or not task.state & _REACHED:
            continue
        children = [(_bpmn_id(c), bool(c.state & _REACHED or _merged(c))) for c in task.children]
        out.append((str(task.workflow.spec.name), node, bool(task.state & _ENTERED), children))
    return out


def _bpmn_id(task: Any) -> str | None:
    value = getattr(task.task_spec, "bpmn_id", None)
    return value if isinstance(value, str) else None


def _merged(task: Any) -> bool:
    """A join gateway's task for a branch whose token was merged into another branch's (SpiffWorkflow cancels it)."""
    return bool(task.state == _CANCELLED and type(task.task_spec).__name__.endswith("Gateway"))


# -- undoing an action ------------------------------------------------------------------------------------------
_UNFINISHED_MASK = int(TaskState.NOT_FINISHED_MASK)
#: Values a task's data may hold and still be copied shallowly (nothing in them can change in place).
_FLAT = frozenset({str, int, float, bool, type(None), datetime, timedelta, UUID})


def _data_copy(data: Any) -> Any:
    """A copy of a task's data that nothing SpiffWorkflow does later can change (deep when it holds containers)."""
    if type(data) is dict and _FLAT.issuperset(map(type, data.values())):
        return data.copy()
    return copy.deepcopy(data)


def _workflow_snapshot(wf: Any) -> tuple[Any, ...]:
    tasks = wf.tasks
    unfinished = []
    finished = []
    flat = _FLAT.issuperset
    deep = copy.deepcopy
    for task in tasks.values():
        data = task.data
        if task._state & _UNFINISHED_MASK:
            internal = task.internal_data
            unfinished.append((
                task, task._state, task._children[:],
                data.copy() if type(data) is dict and (not data or flat(map(type, data.values()))) else deep(data),
                internal.copy() if type(internal) is dict and not internal else _data_copy(internal),
                task.last_state_change, task.triggered, task.thread_id,
            ))  # fmt: skip
        else:
            # A finished task's children (SpiffWorkflow drops predicted ones below it); its data too when it holds
            # nested values, which may be shared with (and changed through) an unfinished task's data: SpiffWorkflow's
            # merges copy only the first level.
            nested = data and (type(data) is not dict or not flat(map(type, data.values())))
            finished.append((task, task._children[:], deep(data) if nested else None))
    return (wf, dict(tasks), _data_copy(wf.data), _data_copy(wf.correlations), wf.completed, wf.success,
            wf.last_task, unfinished, finished)  # fmt: skip


def workflow_snapshot(workflow: Any) -> tuple[Any, ...]:
    """What SpiffWorkflow may change when a task runs or an event is delivered, to put back with :func:`undo`.

    Per (sub-)workflow: its task dictionary, data, correlations, completed/success flags and last task; per
    unfinished task (ready, waiting, started or predicted: the only ones SpiffWorkflow moves) its state, children,
    data, internal data, last state change, ``triggered`` and thread; per finished task its children, and its data
    only when it holds nested values (SpiffWorkflow's merges share them between tasks). Then the
    top workflow's sub-processes, pending events and the event manager's waiting tasks. No JSON is written: for a
    case whose data are flat this costs a few microseconds. ``tests/test_engine_speedups.py`` holds the state after
    :func:`undo` equal to the state before the action, on random failures injected after the engine moved.
    """
    subs = workflow.subprocesses
    return (
        [_workflow_snapshot(wf) for wf in (workflow, *subs.values())],
        dict(subs),
        list(workflow.bpmn_events),
        dict(workflow.event_manager.tasks),
    )


def undo(workflow: Any, snapshot: tuple[Any, ...]) -> None:
    """Put ``workflow`` back as :func:`workflow_snapshot` found it."""
    workflows, subs, events, waiting = snapshot
    for wf, tasks, data, correlations, completed, success, last_task, unfinished, finished in workflows:
        wf.tasks.clear()
        wf.tasks.update(tasks)
        wf.data, wf.correlations, wf.completed, wf.success = data, correlations, completed, success
        wf.last_task = last_task
        for task, state, children, tdata, internal, changed, triggered, thread in unfinished:
            task._state, task._children, task.data, task.internal_data = state, children, tdata, internal
            task.last_state_change, task.triggered, task.thread_id = changed, triggered, thread
        for task, children, tdata in finished:
            task._children = children
            if tdata is not None:
                task.data = tdata
    workflow.subprocesses.clear()
    workflow.subprocesses.update(subs)
    workflow.bpmn_events[:] = events
    workflow.event_manager.tasks.clear()
    workflow.event_manager.tasks.update(waiting)


# -- going back and ending early (approvalflow.engine.flowcontrol) -----------------------------------------------
_COMPLETED = int(TaskState.COMPLETED)


def completed_tasks(workflow: Any, bpmn_id: str) -> list[Any]:
    """The completed tasks of BPMN element ``bpmn_id`` in the workflow and its sub-processes, latest completion last."""
    found = [
        t
        for wf in (workflow, *workflow.subprocesses.values())
        for t in wf.tasks.values()
        if t._state == _COMPLETED and getattr(t.task_spec, "bpmn_id", None) == bpmn_id
    ]
    return sorted(found, key=lambda t: t.last_state_change)


def multi_instance_parent(task: Any) -> Any:
    """The multi-instance task ``task`` is an instance of (会签...), or None."""
    parent = task.parent
    return parent if parent is not None and isinstance(parent.task_spec, MultiInstanceTask) else None


def path_between(ancestor: Any, task: Any) -> list[tuple[str, str | None]] | None:
    """The tasks from ``task`` up to (not including) ``ancestor`` in the task tree, as ``(role, bpmn id)``: role
    ``split`` or ``join`` for a parallel or inclusive gateway that forks or merges branches, ``task`` otherwise.
    None when ``ancestor`` is not an ancestor of ``task`` in the same (sub-)workflow (another branch, another
    process)."""
    if ancestor.workflow is not task.workflow:
        return None
    out: list[tuple[str, str | None]] = []
    node = task
    while node is not None and node is not ancestor:
        spec = node.task_spec
        role = "task"
        if isinstance(spec, ParallelGateway | InclusiveGateway):
            if len(spec.inputs) > 1:
                role = "join"
            elif len(spec.outputs) > 1:
                role = "split"
        out.append((role, _bpmn_id(node)))
        node = node.parent
    return out if node is ancestor else None


def finished_snapshot(workflow: Any) -> list[tuple[Any, ...]]:
    """What a reset changes in finished tasks (state, data, internal data, change time), to put back with
    :func:`undo_reset` (:func:`workflow_snapshot` keeps only what running a task may change)."""
    return [
        (t, t._state, t.data, t.internal_data, t.last_state_change)
        for wf in (workflow, *workflow.subprocesses.values())
        for t in wf.tasks.values()
        if not t._state & _UNFINISHED_MASK
    ]


def undo_reset(kept: list[tuple[Any, ...]]) -> None:
    """Put back what :func:`finished_snapshot` kept (the rest is :func:`undo`'s)."""
    for task, state, data, internal, changed in kept:
        task._state, task.data, task.internal_data, task.last_state_change = state, data, internal, changed


def reset_to(workflow: Any, task: Any) -> None:
    """Make the completed ``task`` ready again: everything after it in its branch is dropped (SpiffWorkflow's
    ``BpmnWorkflow.reset_from_task_id``), then the engine runs what it can (the task's own ``_update``)."""
    workflow.reset_from_task_id(task.id)
    task.workflow.completed = False  # a reset after the end event: the workflow runs again
    workflow.completed = False
    _forget_dropped(workflow)
    workflow.do_engine_steps()


def _forget_dropped(workflow: Any) -> None:
    """SpiffWorkflow's reset drops tasks from the tree but leaves the catching ones (timers, signals) in its event
    manager, whose next refresh then fails on them: forget those no longer in their workflow."""
    waiting = workflow.event_manager.tasks
    for key, task in list(waiting.items()):
        if task.workflow.tasks.get(task.id) is not task:
            del waiting[key]


def cancel_workflow(workflow: Any) -> int:
    """Cancel every open task of the workflow and its sub-processes (SpiffWorkflow's ``BpmnWorkflow.cancel``);
    returns how many were cancelled."""
    cancelled = len(workflow.cancel())
    _forget_dropped(workflow)
    return cancelled


# -- the engine state, without the process spec ------------------------------------------------------------------
_REGISTRY = BpmnWorkflowSerializer.configure()
_SERIALIZER = BpmnWorkflowSerializer(registry=_REGISTRY)
_CONVERTER = BpmnWorkflowConverter(BpmnWorkflow, _REGISTRY)  # the one SpiffWorkflow registers, kept at hand
_ENCODER = _SERIALIZER._encoder_cls
# SpiffWorkflow's converters find a workflow's converter by its exact class: ours are written as theirs.
_REGISTRY.typenames[_Workflow] = _REGISTRY.typenames[BpmnWorkflow]
_REGISTRY.typenames[_SubWorkflow] = _REGISTRY.typenames[BpmnSubWorkflow]
_updated_keys = DeepMerge.get_updated_keys
_deleted_keys = DeepMerge.get_deleted_keys
SERIALIZER_VERSION: str = _SERIALIZER.VERSION
"""The version of SpiffWorkflow's serializer (written by version-1 saved cases)."""


def _clean(value: Any) -> Any:
    """SpiffWorkflow's ``registry.clean``: a mapping without its callables and modules."""
    return _REGISTRY.clean(value)


def _deletions(parent: Any, data: Any) -> list[Any]:
    """The keys of the parent's data a task's data lacks, sorted: SpiffWorkflow lists them in the parent's insertion
    order, which a restored task (its data read back from JSON with sorted keys) does not keep, so the same state
    would encode two ways (a loaded case would no longer match the digest its trail binds)."""
    return sorted(_deleted_keys(parent, data), key=lambda k: (type(k).__name__, str(k)))


def _task_dict(task: Any) -> dict[str, Any]:
    """SpiffWorkflow's ``TaskConverter.to_dict`` (data as a delta from the parent's); typed values are encoded later."""
    parent = task.parent
    data = task.data
    if parent is None:
        own, delta = data, {}
    else:
        own, delta = {}, {"updates": _updated_keys(parent.data, data), "deletions": _deletions(parent.data, data)}
    return {
        "id": str(task.id),
        "parent": str(task._parent) if parent is not None else None,
        "children": [str(c) for c in task._children],
        "last_state_change": task.last_state_change,
        "state": task.state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": _clean(task.internal_data),
        "data": own,
        "delta": delta,
        "typename": "Task",
    }


def _one_workflow(workflow: Any) -> dict[str, Any]:
    return {
        "data": _clean(workflow.data),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": {str(k): _task_dict(t) for k, t in workflow.tasks.items()},
        "root": str(workflow.task_tree.id),
    }


def workflow_dict(workflow: Any) -> dict[str, Any]:
    """The engine's task states, data and sub-processes, without the process spec (SpiffWorkflow's own layout).

    Built directly from the task tree, without SpiffWorkflow's converter registry; the values are the objects
    themselves (a datetime stays a datetime), so encode it with :func:`encode_json`. ``tests/test_spiff_state.py``
    holds it equal to :func:`slow_workflow_dict` (SpiffWorkflow's converters) on random cases.
    """
    if workflow.bpmn_events:  # pending external events: only SpiffWorkflow's converters know them
        return slow_workflow_dict(workflow)
    dct = _one_workflow(workflow)
    subs = {}
    for key, sub in workflow.subprocesses.items():
        one = _one_workflow(sub)
        one["parent_task_id"] = str(sub.parent_task_id)
        one["spec"] = sub.spec.name
        one["typename"] = "BpmnSubWorkflow"
        subs[str(key)] = one
    dct["subprocesses"] = subs
    dct["bpmn_events"] = []
    return dct


_CANONICAL = _ENCODER(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_FINISHED = int(TaskState.FINISHED_MASK)
_PREDICTED = int(TaskState.PREDICTED_MASK | TaskState.FUTURE)
_IMMUTABLE = frozenset({str, int, float, bool, type(None), datetime, timedelta, UUID})


def canonical_workflow(workflow: Any, memo: dict[int, tuple[Any, ...]]) -> list[str]:
    """Pieces whose concatenation is ``encode_json(workflow_dict(workflow))`` in canonical form (sorted keys).

    ``memo`` (one per case; empty it when the workflow object is replaced) keeps the JSON of the tasks that
    SpiffWorkflow changes only through what is compared before the kept JSON is reused (the task object, its
    state and the moment of its last state change, ``triggered``, its children, the identity and size of its data
    and internal data, the identity and keys of its parent's data):

    * a *finished* task (completed, cancelled or failed) under a finished parent, whose data, internal data and
      parent data hold only plain immutable values (no list or mapping that could change in place);
    * a *predicted* task (maybe, likely or future) with no data of its own and plain internal data: its JSON
      holds its parent's keys (as deletions) but none of its parent's values.

    Every other task (ready, waiting, started, or holding nested values) is encoded afresh.
    ``tests/test_spiff_state.py`` holds the result equal to the direct encoding after every step of random cases.
    """
    if workflow.bpmn_events:  # pending external events: only SpiffWorkflow's converters know them
        return [_CANONICAL.encode(slow_workflow_dict(workflow))]
    kept: dict[int, tuple[Any, ...]] = {}
    out = ['{"bpmn_events":[],']
    _workflow_pieces(workflow, out, memo, kept, sub=False)
    subs = sorted((str(k), sub) for k, sub in workflow.subprocesses.items())
    out.append(',"subprocesses":{')
    for n, (key, sub) in enumerate(subs):
        out.append(("," if n else "") + f'"{key}":{{')
        _workflow_pieces(sub, out, memo, kept, sub=True)
        out.append("}")
    out.append("}")
    out.append(f',"success":{canonical_value(workflow.success)},')
    _tasks_pieces(workflow, out, memo, kept)
    out.append("}")
    memo.clear()
    memo.update(kept)
    return out


def _workflow_pieces(
    wf: Any, out: list[str], memo: dict[int, tuple[Any, ...]], kept: dict[int, Any], *, sub: bool
) -> None:
    """The keys of one (sub-)workflow up to ``root`` (a top workflow) or all of them (a sub-workflow), in order."""
    enc = canonical_value
    last = enc(str(wf.last_task.id) if wf.last_task is not None else None)
    out.append(f'"completed":{enc(wf.completed)},"correlations":{enc(wf.correlations)},"data":{enc(_clean(wf.data))},')
    out.append(f'"last_task":{last},')
    if sub:
        out.append(f'"parent_task_id":{enc(str(wf.parent_task_id))},"root":"{wf.task_tree.id}",')
        out.append(f'"spec":{enc(wf.spec.name)},"success":{enc(wf.success)},')
        _tasks_pieces(wf, out, memo, kept)
        out.append(',"typename":"BpmnSubWorkflow"')
    else:
        out.append(f'"root":"{wf.task_tree.id}"')


def _tasks_pieces(wf: Any, out: list[str], memo: dict[int, tuple[Any, ...]], kept: dict[int, Any]) -> None:
    """Append ``"tasks":{...}`` as pieces: each task's ``"id":{...}`` member is one piece, shared with ``memo``.

    A memo entry is ``(task, parent, member, data, internal data, parent data, *fingerprint)``; the three mappings
    must still be the very same objects (a new mapping that compares equal may not give the same JSON: ``True == 1``
    in Python, not in JSON). Members
    sort as their ids do: every id is a UUID of the same length, so the first characters that differ are in the ids.
    """
    members = []
    for task in wf.tasks.values():
        entry = memo.get(id(task))
        if (
            entry is not None
            and entry[0] is task
            and entry[3] is task.data
            and entry[4] is task.internal_data
            and entry[5] is (entry[1].data if entry[1] is not None else None)
            and entry[6:] == _fingerprint(task, entry[1])
        ):
            kept[id(task)] = entry
            members.append(entry[2])
            continue
        parent = task.parent
        key = _uuid_text(task.id)
        text = _bare_task_json(task, parent, key)
        member = f'"{key}":{text or _CANONICAL.encode(_task_dict(task))}'
        members.append(member)
        if _stable(task, parent):
            pdata = parent.data if parent is not None else None
            kept[id(task)] = (task, parent, member, task.data, task.internal_data, pdata, *_fingerprint(task, parent))
    members.sort()
    out.append('"tasks":{')
    for n, member in enumerate(members):
        if n:
            out.append(",")
        out.append(member)
    out.append("}")


def _bare_task_json(task: Any, parent: Any, key: str) -> str | None:
    """The canonical JSON of a task whose data and internal data hold only plain values, written directly.

    Equal to ``_CANONICAL.encode(_task_dict(task))`` (``tests/test_spiff_state.py``); None when the task is of
    another kind (a root task, a data mapping that is not a dict or holds a list or mapping, a number that is not
    a plain int or float), which :func:`_task_dict` then encodes.
    """
    if parent is None or type(task.data) is not dict or type(parent.data) is not dict:
        return None
    data, internal, pdata = task.data, task.internal_data, parent.data
    if (data or internal) and not (_plain(data) and _plain(internal)):
        return None
    changed, state = task.last_state_change, task.state
    if type(changed) is float and math.isfinite(changed):
        when = float.__repr__(changed)
    elif type(changed) is int:
        when = int.__repr__(changed)
    else:
        return None
    if type(state) is not int or type(task.triggered) is not bool:
        return None
    enc = _CANONICAL.encode
    # SpiffWorkflow's delta (DeepMerge.get_updated_keys and get_deleted_keys, parent first)
    if data:
        updates = {k: v for k, v in data.items() if k not in pdata or v != pdata[k]}
        updated = (_flat_object(updates) or enc(updates)) if updates else "{}"
    else:
        updated = "{}"
    if pdata:
        deletions = _deletions(pdata, data)
        deleted = (_flat_list(deletions) or enc(deletions)) if deletions else "[]"
    else:
        deleted = "[]"
    children = ",".join([f'"{_uuid_text(c)}"' for c in task._children])
    name = task.task_spec.name
    return (
        f'{{"children":[{children}],"data":{{}},"delta":{{"deletions":{deleted},"updates":{updated}}},"id":"{key}",'
        f'"internal_data":{(_flat_object(internal) or enc(internal)) if internal else "{}"},'
        f'"last_state_change":{when},"parent":"{_uuid_text(parent.id)}","state":{state},'
        f'"task_spec":{_quoted(name) if type(name) is str else enc(name)},'
        f'"triggered":{"true" if task.triggered else "false"},"typename":"Task"}}'
    )


_UUID_TEXTS: dict[UUID, str] = {}


def _uuid_text(value: UUID) -> str:
    """``str(value)``, remembered: a task's id is written at every save of itself and of its parent and children
    (the map is started afresh past 100,000 ids)."""
    text = _UUID_TEXTS.get(value)
    if text is None:
        if len(_UUID_TEXTS) >= 100_000:
            _UUID_TEXTS.clear()
        text = _UUID_TEXTS[value] = str(value)
    return text


_quoted = json.encoder.encode_basestring  # what the canonical encoder writes for a text (ensure_ascii=False)


def _flat_value(value: Any) -> str | None:
    """The canonical JSON of a text, a whole or finite number, true, false or null (None for anything else)."""
    kind = type(value)
    if kind is str:
        return str(_quoted(value))
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return float.__repr__(value) if math.isfinite(value) else None
    if value is None:
        return "null"
    return None


def canonical_value(value: Any) -> str:
    """The canonical JSON of ``value`` (sorted keys, no spaces, not ASCII-escaped): a text, number, true, false,
    null or empty dict written directly (most of the small members of a saved state), anything else encoded."""
    text = _flat_value(value)
    if text is not None:
        return text
    if type(value) is dict and not value:
        return "{}"
    return str(_CANONICAL.encode(value))


def _flat_object(mapping: dict[str, Any]) -> str | None:
    """The canonical JSON (sorted keys) of a dict of text keys and flat values; None if it is anything else."""
    members = []
    for k, v in sorted(mapping.items()):
        text = _flat_value(v)
        if text is None or type(k) is not str:
            return None
        members.append(f"{_quoted(k)}:{text}")
    return "{" + ",".join(members) + "}"


def _flat_list(items: list[Any]) -> str | None:
    """The canonical JSON of a list of texts (a delta's deletions); None if it holds anything else."""
    if any(type(k) is not str for k in items):
        return None
    return "[" + ",".join(_quoted(k) for k in items) + "]"


def _fingerprint(task: Any, parent: Any) -> tuple[Any, ...]:
    """What a kept task's JSON depends on and SpiffWorkflow may change, besides the identity of its mappings.

    Numbers with their type (``1``, ``1.0`` and ``True`` are equal in Python but not in JSON); the sizes of the
    mappings; the parent's keys in their order (a task's delta lists the parent's keys it lacks).
    """
    data, internal = task.data, task.internal_data
    pdata = parent.data if parent is not None else None
    changed = task.last_state_change
    return (
        task._parent,
        task._state,
        type(changed),
        changed,
        task.triggered,
        tuple(task._children),
        len(data),
        len(internal),
        tuple(pdata) if pdata is not None else (),
    )


def _plain(mapping: Any) -> bool:
    """A dict of text keys and plain immutable values (nothing that could change in place)."""
    return type(mapping) is dict and all(type(k) is str and type(v) in _IMMUTABLE for k, v in mapping.items())


def _stable(task: Any, parent: Any) -> bool:
    """Whether the task's JSON may be kept (see :func:`canonical_workflow`)."""
    state = task._state
    if state & _PREDICTED:
        keys_are_text = parent is None or all(type(k) is str for k in parent.data)
        return not task.data and type(task.data) is dict and _plain(task.internal_data) and keys_are_text
    if not state & _FINISHED or (parent is not None and not parent._state & _FINISHED):
        return False
    return _plain(task.data) and _plain(task.internal_data) and (parent is None or _plain(parent.data))


def slow_workflow_dict(workflow: Any) -> dict[str, Any]:
    """:func:`workflow_dict` through SpiffWorkflow's own converters (the reference it is tested against)."""
    _REGISTRY._encoder_mode = True
    try:
        dct = WorkflowConverter.to_dict(_CONVERTER, workflow)
        dct["subprocesses"] = _CONVERTER.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = _REGISTRY.convert(workflow.bpmn_events)
        out: dict[str, Any] = json.loads(json.dumps(dct, cls=_ENCODER))
    finally:
        _REGISTRY._encoder_mode = False
    for one in (out, *out["subprocesses"].values()):  # the deletions in the canonical order (_deletions)
        for task in one["tasks"].values():
            if "deletions" in task.get("delta", {}):
                task["delta"]["deletions"].sort(key=lambda k: (type(k).__name__, str(k)))
    return out


def encode_json(value: Any, **options: Any) -> str:
    """``json.dumps`` of a value that may hold engine objects (a datetime, timedelta or UUID becomes a typed record).

    ``options`` are ``json.dumps``'s (``sort_keys``, ``separators``, ``ensure_ascii``).
    """
    return json.dumps(value, cls=_ENCODER, **options)


def restore_workflow(
    state: Mapping[str, Any], spec: Any, subprocess_specs: Mapping[str, Any], script_engine: Any
) -> Any:
    """Rebuild a workflow from a state :func:`workflow_dict` wrote (checked by the caller), on the given spec.

    SpiffWorkflow's migration code is never reached: the state is read as this version writes it.
    """
    dct = json.loads(json.dumps(state))  # SpiffWorkflow's restore pops from the dicts it is given
    _tree_order(dct)
    for sub in dct["subprocesses"].values():
        _tree_order(sub)
    workflow = _Workflow(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
    workflow.tasks = _CONVERTER.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    _CONVERTER.set_default_attributes(workflow, dct)
    _CONVERTER.subprocesses_from_dict(dct["subprocesses"], workflow)
    for sub in workflow.subprocesses.values():
        sub.__class__ = _SubWorkflow  # SpiffWorkflow's converter made a plain one: the same object, faster walks
    workflow.bpmn_events = []
    return workflow


def _tree_order(wf: dict[str, Any]) -> None:
    """Put parents before children: SpiffWorkflow rebuilds a task's data from its parent's as it goes.

    (A saved document's tasks come in any order; canonical JSON sorts them by id. Restored in that order, a task
    whose parent comes later would silently lose the data it inherits.)
    """
    tasks = wf["tasks"]
    ordered: dict[str, Any] = {}
    queue = [wf["root"]]
    while queue:
        key = queue.pop(0)
        if key in ordered:
            continue
        ordered[key] = tasks[key]
        queue.extend(tasks[key].get("children", []))
    ordered.update((k, v) for k, v in tasks.items() if k not in ordered)
    wf["tasks"] = ordered


# -- moving a waiting case onto another version of its process (approvalflow.engine.migration) -----------------
@dataclass(frozen=True)
class OpenTask:
    """A task of a workflow that is not finished and not only predicted: where a case waits."""

    id: str
    element: str
    """The BPMN id of the task's element (the engine's spec name for its own tasks, e.g. ``Start``)."""
    state: str
    kind: str
    """``step`` (a ready manual task), ``multi-instance``, ``call`` (a running call activity or sub-process),
    ``event`` (a catching event: timer, message, signal), ``boundary`` (a step with boundary events),
    ``inner`` (a task inside a running sub-process) or ``other``."""


def _kind(task: Any, top: Any) -> str:
    spec = task.task_spec
    if task.workflow is not top:
        return "inner"
    if isinstance(spec, MultiInstanceTask) or _mi_parent(task) is not None:
        return "multi-instance"
    if isinstance(spec, SubWorkflowTask):
        return "call"
    if spec.manual and task._state == _READY:
        parent = task.parent
        if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
            return "boundary"
        return "step"
    if getattr(spec, "event_definition", None) is not None:
        return "event"
    return "other"


def open_tasks(workflow: Any) -> list[OpenTask]:
    """Every task of the workflow and its sub-processes that is ready, waiting, started or in error, in tree order."""
    found: list[OpenTask] = []
    mask = int(TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR)
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.get_tasks(state=mask, skip_subprocesses=True):
            element = task.task_spec.bpmn_id or task.task_spec.name
            found.append(OpenTask(str(task.id), element, TaskState.get_name(task._state), _kind(task, workflow)))
    return found


def transplant(
    spec: Any, subprocess_specs: Mapping[str, Any], script_engine: Any, targets: list[str], data: Mapping[str, Any]
) -> tuple[Any, dict[str, str]]:
    """A new workflow of ``spec`` waiting at the manual tasks ``targets`` (BPMN ids), as a run reaching them would.

    The engine predicts the whole tree of a new workflow; for each target the first predicted task of its element
    is taken, the tasks on the way to it (its ancestors) are marked completed, every other branch below them is
    dropped, and the target is made ready with ``data``. Returns the workflow and the new task id of each target.
    Raises ``ValueError`` naming a target the prediction does not reach (inside a sub-process, behind a loop),
    a path through anything but gateways, plain events and tasks, or a target with boundary events.
    """
    wf = _Workflow(spec, subprocess_specs, script_engine=script_engine)
    chosen: dict[str, Any] = {}
    for task in wf.get_tasks():  # depth first, predicted tasks included
        element = task.task_spec.bpmn_id
        if element in targets and element not in chosen:
            chosen[element] = task
    for element in targets:
        if element not in chosen:
            raise ValueError(f"step '{element}' is not on any path of the new version's top-level process")
    _check_parallel(chosen)
    keep: set[Any] = set()
    for element, task in chosen.items():
        parent = task.parent
        if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
            raise ValueError(f"step '{element}' has boundary events in the new version (they would not be armed)")
        node = parent
        while node is not None:
            spec_ = node.task_spec
            if isinstance(spec_, SubWorkflowTask | MultiInstanceTask | BoundaryEventSplit):
                raise ValueError(
                    f"step '{element}' is reached in the new version only through '{spec_.bpmn_id or spec_.name}' "
                    "(a sub-process, call activity, multi-instance activity or boundary event), which cannot be "
                    "marked done without running it"
                )
            if isinstance(getattr(spec_, "event_definition", None), _TIMER_KINDS):
                raise ValueError(f"step '{element}' is reached only through timer '{spec_.bpmn_id}'")
            keep.add(node.id)
            node = node.parent
    targets_ids = {t.id for t in chosen.values()}
    for task_id in list(keep):
        task = wf.tasks[task_id]
        for child in list(task.children):
            if child.id not in keep and child.id not in targets_ids:
                wf._remove_task(child.id)
    for task_id in keep:
        task = wf.tasks[task_id]
        task._set_state(TaskState.COMPLETED)
        task.data = dict(copy.deepcopy(dict(data)))
    for task in chosen.values():
        task.data = dict(copy.deepcopy(dict(data)))
        task._set_state(TaskState.READY)
    wf.data = {}
    return wf, {element: str(task.id) for element, task in chosen.items()}


_TIMER_KINDS = (DurationTimerEventDefinition, TimeDateEventDefinition)


def _check_parallel(chosen: Mapping[str, Any]) -> None:
    """Several targets can wait at once only on parallel branches: their nearest common ancestor in the predicted
    tree is a parallel (or inclusive) gateway, and none is on the way to another."""
    lines = {element: _ancestors(task) for element, task in chosen.items()}
    names = sorted(chosen)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if chosen[a].id in lines[b] or chosen[b].id in lines[a]:
                raise ValueError(f"steps '{a}' and '{b}' follow one another in the new version: a case waits at one")
            common = next(t for t in lines[a] if t in set(lines[b]))
            spec = chosen[a].workflow.tasks[common].task_spec
            if not isinstance(spec, ParallelGatewayMixin | InclusiveGatewayMixin):
                raise ValueError(
                    f"steps '{a}' and '{b}' are not on parallel branches of the new version (they part at "
                    f"'{spec.bpmn_id or spec.name}')"
                )


def _ancestors(task: Any) -> list[Any]:
    """The ids of a task's ancestors, nearest first."""
    out = []
    node = task.parent
    while node is not None:
        out.append(node.id)
        node = node.parent
    return out
