"""Run cases of a process on SpiffWorkflow and check every completion against the rules.

:func:`start_case` creates a :class:`Case`; :meth:`Case.complete` completes a
ready step as an actor. Under the ``enforce`` policy a completion that breaks
a rule raises :class:`~approvalflow.errors.StepRefused` and the case stays
exactly as it was (only the audit trail records the refused attempt); under
``record`` it goes through and the findings are kept.

SpiffWorkflow sits behind this module: its workflow object, its exceptions and
its script engine never reach the caller. Conditions go through the safe
expression evaluator, never through ``eval``.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from .clock import Clock, SystemClock, parse_moment
from .errors import (
    EngineError,
    LoopLimitError,
    MeetingRecordError,
    RunError,
    StepNotReady,
    StepRefused,
    UnknownActorError,
)
from .expressions import ExpressionError, ExpressionEvaluator, SafeEvaluator
from .loader import ProcessDefinition, TrustedFunction
from .model import StepInfo
from .org import Organisation, OrgUnit, Person
from .rules import RULES, Attempt, Completion, Finding, Meeting, Rule, check, meeting_passed
from .trail import AuditTrail

__all__ = ["DEFAULT_MAX_DEPTH", "Case", "Policy", "ReadyStep", "start_case"]

#: SpiffWorkflow's task iterator stops at a tree depth of 1000: a loop deeper than that
#: silently stalls the case. We refuse to go past this depth, well before.
DEFAULT_MAX_DEPTH = 800
_ENGINE_DEPTH = 1000


class Policy(StrEnum):
    """``enforce`` refuses completions that break a rule; ``record`` lets them through and records findings."""

    ENFORCE = "enforce"
    RECORD = "record"


@dataclass(frozen=True)
class ReadyStep:
    """A step waiting to be done: its id, name, the posts that may do it, and since when it waits."""

    id: str
    name: str
    posts: tuple[str, ...]
    lane: str | None
    since: datetime


class _SafeScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """SpiffWorkflow's hook for expressions and scripts, routed to our safe evaluator and trusted functions."""

    def __init__(self, evaluator: ExpressionEvaluator, trusted: Mapping[str, TrustedFunction]) -> None:
        super().__init__()
        self.evaluator = evaluator
        self.trusted = trusted

    def validate(self, expression: str) -> None:
        self.evaluator.check(expression)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        return self.evaluator.evaluate(expression, task.data)

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        name = script.strip().removesuffix("()").strip()
        fn = self.trusted.get(name)
        if fn is None:  # the loader already refuses these; never fall back to exec
            raise ExpressionError(f"script {script[:40]!r} names no trusted function")
        updates = fn(dict(task.data))
        if updates:
            task.data.update(updates)
        return True

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise ExpressionError("service tasks are not supported")


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, where) for v in value]
    raise TypeError(
        f"{where}: case data must be JSON-like (str, number, bool, list, mapping, date); "
        f"got {type(value).__name__}"
    )


class Case:
    """One running case of a process in one unit. Create it with :func:`start_case`."""

    def __init__(
        self,
        definition: ProcessDefinition,
        organisation: Organisation,
        unit: OrgUnit,
        *,
        case_id: str,
        clock: Clock,
        policy: Policy,
        evaluator: ExpressionEvaluator,
        rules: Mapping[str, Rule],
        max_depth: int,
    ) -> None:
        self.id = case_id
        self.definition = definition
        self.organisation = organisation
        self.unit = unit
        self.clock = clock
        self.policy = Policy(policy)
        self.rules = rules
        self.max_depth = min(max_depth, _ENGINE_DEPTH - 100)
        self.evaluator = evaluator
        self.data: dict[str, Any] = {}
        self.path: list[str] = []
        self.history: list[Completion] = []
        self.findings: list[Finding] = []
        self.trail = AuditTrail()
        self.started_at: datetime = clock.now()
        self._since: dict[str, datetime] = {}  # engine task id -> moment it became ready
        self._wf: Any = None

    # -- queries -------------------------------------------------------------------------------------------
    @property
    def is_completed(self) -> bool:
        """True when the process reached its end (no step is ready or waiting)."""
        return bool(self._wf.is_completed()) and not self._ready_tasks()

    def ready_steps(self) -> list[ReadyStep]:
        """The steps that may be completed now, in a stable order."""
        out = []
        for task in self._ready_tasks():
            step = self.definition.steps.get(task.task_spec.bpmn_id)
            if step is not None:
                out.append(
                    ReadyStep(step.id, step.name, step.posts, step.node.lane, self._since[str(task.id)])
                )
        return out

    @property
    def parties(self) -> tuple[str, ...]:
        """The parties of the case: ``applicant`` and each item of ``parties`` in the case data (回避)."""
        found: list[str] = []
        if isinstance(self.data.get("applicant"), str):
            found.append(self.data["applicant"])
        extra = self.data.get("parties")
        if isinstance(extra, list):
            found.extend(str(p) for p in extra)
        elif isinstance(extra, str):
            found.append(extra)
        return tuple(found)

    # -- actions -------------------------------------------------------------------------------------------
    def complete(
        self,
        step: str,
        actor: str,
        *,
        data: Mapping[str, Any] | None = None,
        meeting: Meeting | Mapping[str, Any] | None = None,
        at: datetime | str | None = None,
    ) -> list[Finding]:
        """Complete a ready step as ``actor`` at ``at`` (default: the clock's now).

        Returns the findings recorded (under ``record``; empty when clean). Raises
        :class:`StepRefused` under ``enforce`` when a rule is broken, :class:`StepNotReady`,
        :class:`UnknownActorError`, :class:`MeetingRecordError`, :class:`LoopLimitError` or
        :class:`EngineError`; in every one of these cases the case is left as it was.
        """
        moment = parse_moment(at) if at is not None else self.clock.now()
        changes = _jsonable(dict(data or {}), f"data of step '{step}'")
        base = {
            "action": "complete",
            "at": moment.isoformat(),
            "step": step,
            "actor": actor,
            "unit": self.unit.id,
            "data": changes,
        }
        task = self._find_ready(step, base)
        person = self._person(actor, base)
        info = self.definition.steps[step]
        post = next((p for p in info.posts if p in person.posts), None)
        base["post"] = post
        record = self._meeting(info, meeting, base)
        if record is not None:
            base["meeting"] = record.to_dict()
        if task.depth >= self.max_depth:
            self._refuse_plain(base, "loop-limit")
            repeats = sum(1 for s in self.path if s == step)
            raise LoopLimitError(
                f"the case has looped too deep: '{step}' was completed {repeats} times and the engine's task tree "
                f"is {task.depth} deep (limit {self.max_depth}; SpiffWorkflow stalls silently at {_ENGINE_DEPTH}). "
                "Raise max_depth only if the loop is meant to run this long.",
                case=self.id,
                step=step,
            )
        attempt = Attempt(
            info, person, self.unit, self.organisation, tuple(self.history), self.parties, moment, record
        )
        findings = check(attempt, self.rules)
        if findings and self.policy is Policy.ENFORCE:
            self.trail.append(**base, findings=[f.to_dict() for f in findings], outcome="refused")
            raise StepRefused(case=self.id, step=step, actor=actor, findings=findings)
        if record is not None and info.collective is not None:
            changes[f"{step}_passed"] = meeting_passed(info.collective, record)
        self._run(task, changes, base)
        self.history.append(Completion(step, actor, moment))
        self.path.append(step)
        self.findings.extend(findings)
        self._mark_ready(moment)
        self.trail.append(
            **base, findings=[f.to_dict() for f in findings], outcome="recorded" if findings else "completed"
        )
        return findings

    # -- internals -----------------------------------------------------------------------------------------
    def _ready_tasks(self) -> list[Any]:
        tasks = self._wf.get_tasks(state=TaskState.READY)
        return [t for t in tasks if t.task_spec.manual]

    def _refuse_plain(self, base: dict[str, Any], outcome: str) -> None:
        self.trail.append(**base, findings=[], outcome=outcome)

    def _find_ready(self, step: str, base: dict[str, Any]) -> Any:
        for task in self._ready_tasks():
            if task.task_spec.bpmn_id == step:
                return task
        ready = [t.task_spec.bpmn_id for t in self._ready_tasks()]
        self._refuse_plain(base, "not-ready")
        known = "is not a step of this process" if step not in self.definition.steps else "is not ready"
        raise StepNotReady(
            f"'{step}' {known}; ready now: {', '.join(ready) or 'nothing'}",
            case=self.id,
            step=step,
            ready=ready,
        )

    def _person(self, actor: str, base: dict[str, Any]) -> Person:
        person = self.organisation.person(actor)
        if person is None:
            self._refuse_plain(base, "unknown-actor")
            raise UnknownActorError(
                f"'{actor}' is not a person of the organisation"
                + (f" ({self.organisation.file})" if self.organisation.file else ""),
                case=self.id,
                step=str(base["step"]),
            )
        return person

    def _meeting(
        self, info: StepInfo, meeting: Meeting | Mapping[str, Any] | None, base: dict[str, Any]
    ) -> Meeting | None:
        if meeting is None:
            return None
        try:
            record = (
                meeting
                if isinstance(meeting, Meeting)
                else Meeting(
                    tuple(meeting.get("members", ())),
                    tuple(meeting.get("present", ())),
                    tuple((str(v[0]), str(v[1])) for v in meeting.get("votes", ())),
                )
            )
        except (TypeError, IndexError, AttributeError) as exc:
            raise MeetingRecordError(
                f"the meeting record is malformed ({exc})", case=self.id, step=info.id
            ) from exc
        problems = []
        if info.collective is None:
            problems.append(f"'{info.id}' is not a collective step; it takes no meeting record")
        for pid in {*record.members, *record.present, *(v for v, _ in record.votes)}:
            if self.organisation.person(pid) is None:
                problems.append(f"'{pid}' is not a person of the organisation")
        if not set(record.present) <= set(record.members):
            problems.append(
                "present lists people who are not members: "
                + ", ".join(sorted(set(record.present) - set(record.members)))
            )
        voters = [v for v, _ in record.votes]
        if not set(voters) <= set(record.present):
            problems.append(
                "votes by people who were not present: "
                + ", ".join(sorted(set(voters) - set(record.present)))
            )
        if len(voters) != len(set(voters)):
            problems.append("someone voted twice")
        if problems:
            self._refuse_plain(base, "invalid-meeting")
            raise MeetingRecordError("; ".join(problems), case=self.id, step=info.id)
        return record

    def _run(self, task: Any, changes: dict[str, Any], base: dict[str, Any]) -> None:
        snapshot = self._dump_workflow()
        saved_data = copy.deepcopy(self.data)
        try:
            self.data.update(changes)
            task.data.update(copy.deepcopy(self.data))
            task.run()
            self._wf.do_engine_steps()
        except (
            SpiffWorkflowException,
            ExpressionError,
            RuntimeError,
            LookupError,
            TypeError,
            ValueError,
            ArithmeticError,
        ) as exc:
            self._wf = self._load_workflow(snapshot)
            self.data = saved_data
            self._refuse_plain(base, "engine-error")
            raise EngineError(
                f"the engine could not complete the step: {_spiff_message(exc)}",
                case=self.id,
                step=task.task_spec.bpmn_id,
            ) from exc
        if self._wf.is_completed() and self._wf.get_tasks(state=TaskState.READY):
            raise LoopLimitError(
                "the engine stalled with steps still ready (its task tree is too deep)",
                case=self.id,
                step=task.task_spec.bpmn_id,
            )

    def _mark_ready(self, moment: datetime) -> None:
        live = {str(t.id) for t in self._ready_tasks()}
        self._since = {k: v for k, v in self._since.items() if k in live}
        for key in live:
            self._since.setdefault(key, moment)

    def _script_engine(self) -> _SafeScriptEngine:
        return _SafeScriptEngine(self.evaluator, self.definition._trusted)

    def _dump_workflow(self) -> str:
        from .persistence import dump_workflow

        return dump_workflow(self._wf)

    def _load_workflow(self, text: str) -> Any:
        from .persistence import load_workflow

        return load_workflow(text, self._script_engine())

    def _begin(self, data: Mapping[str, Any]) -> None:
        self.data = _jsonable(dict(data), "initial case data")
        self._wf = BpmnWorkflow(
            self.definition._spec, self.definition._subprocess_specs, script_engine=self._script_engine()
        )
        for task in self._wf.get_tasks(state=TaskState.READY):
            task.data.update(copy.deepcopy(self.data))
        try:
            self._wf.do_engine_steps()
        except (SpiffWorkflowException, ExpressionError) as exc:
            raise EngineError(f"the case could not start: {_spiff_message(exc)}", case=self.id) from exc
        self._mark_ready(self.started_at)
        self.trail.append(
            action="start",
            at=self.started_at.isoformat(),
            step=None,
            actor=None,
            post=None,
            unit=self.unit.id,
            data=self.data,
            findings=[],
            outcome="started",
            process=self.definition.id,
            digest=self.definition.digest,
            policy=self.policy.value,
        )


def _spiff_message(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:297] + "..."


def start_case(
    definition: ProcessDefinition,
    organisation: Organisation,
    *,
    unit: str | None = None,
    clock: Clock | None = None,
    data: Mapping[str, Any] | None = None,
    policy: Policy | str = Policy.ENFORCE,
    case_id: str | None = None,
    evaluator: ExpressionEvaluator | None = None,
    rules: Mapping[str, Rule] | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Case:
    """Start a case of ``definition`` in ``unit`` of ``organisation`` (the only unit if omitted)."""
    try:
        org_unit = organisation.unit(unit)
    except (KeyError, ValueError) as exc:
        raise RunError(
            f"unknown unit {unit!r}; units: {', '.join(organisation.units)}" if unit else str(exc),
            case=case_id,
        ) from exc
    try:
        chosen = Policy(policy)
    except ValueError as exc:
        raise RunError(f"unknown policy {policy!r}; use 'enforce' or 'record'", case=case_id) from exc
    case = Case(
        definition,
        organisation,
        org_unit,
        case_id=case_id or uuid.uuid4().hex[:12],
        clock=clock or SystemClock(),
        policy=chosen,
        evaluator=evaluator or SafeEvaluator(),
        rules=rules if rules is not None else RULES,
        max_depth=max_depth,
    )
    case._begin(data or {})
    return case
