"""Run cases of a process on SpiffWorkflow and check every completion against the rules.

:func:`start_case` creates a :class:`Case`; :meth:`Case.complete` completes a
ready step as an actor. Under the ``enforce`` policy a completion that breaks
a rule raises :class:`~approvalflow.errors.StepRefused` and the case stays
exactly as it was (only the audit trail records the refused attempt); under
``record`` it goes through and the findings are kept. Time rules
(``step-overdue``, ``case-overdue``) never refuse: they are recorded, and
:meth:`Case.alerts` raises yellow and red cards at any moment.

SpiffWorkflow sits behind this module: its workflow object, its exceptions and
its script engine never reach the caller. Conditions go through the safe
expression evaluator, never through ``eval``.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .._spiff import (
    MAX_CARDINALITY,
    SafeScriptEngine,
    Scan,
    SpiffWorkflowException,
    close_idle_event_subprocesses,
    deliver_event,
    interrupt_for_event_subprocesses,
    new_workflow,
    ready_tasks,
    scan,
    take_uncaught,
    undo,
    waiting_catches,
    workflow_snapshot,
)
from ..bpmn.loader import ProcessDefinition
from ..bpmn.model import StepInfo
from ..errors import (
    DefinitionError,
    EngineError,
    InvalidInputError,
    LoopLimitError,
    MeetingRecordError,
    RunError,
    StepNotReady,
    StepRefused,
    UnknownActorError,
)
from ..expressions import ExpressionError, ExpressionEvaluator, SafeEvaluator
from ..org.meetings import Meeting, meeting_from, meeting_passed, meeting_problems
from ..org.organisation import Organisation, OrgUnit, Person
from ..rules.checks import RULES, Completion, Finding, Rule, StepAttempt, check
from ..time.calendar import NO_YEARS, ChinaCalendar, WorkingCalendar
from ..time.caseclock import CASE_SUSPENSION
from ..time.clock import Clock, SystemClock, parse_moment
from ..time.periods import Deadline
from . import flowcontrol, handover
from .addsign import add_signer, remove_signer
from .casedata import plain_data, plain_name
from .empties import NOTHING, UNSET, LazyList, map_of, put_back, with_entry, without
from .evaluation import Evaluation, evaluate
from .flowcontrol import FlowState
from .materials import Notice, Supplement, missing_materials, notify_missing, supplement
from .opinions import Attachment, Opinion, attachments_of, opinion_kind, opinion_text
from .signing import fresh_rounds, instance_of, pick_instance, sign, signers_hook, signing_input
from .state import state_bytes, state_pieces
from .timers import TimerFiring, TimerWait, fire_timers, sync_timers
from .timing import Alert, CaseDeadlines, Suspension, TimeReport, alerts, case_deadlines, step_deadline, time_report
from .trail import MIN_KEY_BYTES, AuditTrail

__all__ = ["DEFAULT_MAX_DEPTH", "Case", "Policy", "ReadyStep", "start_case"]

#: SpiffWorkflow's task iterator stops at a tree depth of 1000: a loop deeper than that
#: silently stalls the case. We refuse to go past this depth, well before.
DEFAULT_MAX_DEPTH = 800
_ENGINE_DEPTH = 1000
_ENGINE_FAILURES = (
    SpiffWorkflowException,
    ExpressionError,
    RuntimeError,
    LookupError,
    TypeError,
    ValueError,
    ArithmeticError,
)


_NO_SCAN = Scan((), ())
#: Script engines shared by the cases of the same definition, organisation, evaluator and cardinality bound: an
#: engine holds no state of a case (it evaluates on the task it is given). Each entry keeps the objects whose ids
#: are its key, so no id is reused while it is kept; at most 64 are kept (then the map starts again).
_SCRIPT_ENGINES: dict[tuple[int, int, int, int], tuple[Any, Any, Any, SafeScriptEngine]] = {}
_MAX_SCRIPT_ENGINES = 64
#: The evaluator of cases started or loaded without one (it holds no state, so all such cases share it, and so their
#: script engine).
_DEFAULT_EVALUATOR = SafeEvaluator()
_KEPT_STEP_DEADLINES = 16


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
    instance: int | None = None  # the index of an instance of a multi-instance step (会签...), else None
    #: who alone does it now: the pending delegate (委派), else its holder (签收, 转办), else the named signer of
    #: the instance; None when any authorised person may
    assignee: str | None = None
    held: str | None = None  # how: "claimed", "transferred" or "delegated"; None when nobody holds it
    owner: str | None = None  # the holder who delegated it (委派), who completes it once the delegate resolved


#: Case data keys that name the parties (回避). They are set when the case starts and changed only by
#: :meth:`Case.change_parties`, a recorded operation; step data that tries to change them is refused.
PARTY_KEYS = ("applicant", "parties")


def _check_parties(data: Mapping[str, Any], where: str) -> None:
    applicant = data.get("applicant")
    if applicant is not None and not isinstance(applicant, str):
        raise InvalidInputError(f"{where}: 'applicant' must be a name (text), not {type(applicant).__name__}")
    parties = data.get("parties")
    if parties is not None and not (isinstance(parties, list) and all(isinstance(p, str) for p in parties)):
        raise InvalidInputError(
            f"{where}: 'parties' must be a list of names, not {type(parties).__name__} "
            "(a mapping or a bare text would hide parties from the recusal check)"
        )


class Case:
    """One running case of a process in one unit. Create it with :func:`start_case`."""

    __slots__ = (
        "__weakref__", "_acting", "_ccs", "_deadlines_memo", "_dry", "_findings", "_flow", "_handovers", "_holdings",
        "_json_memo", "_notices", "_open_suspensions", "_opinions", "_scan", "_since", "_state_pieces",
        "_step_deadlines", "_supplements", "_timers", "_trail", "_urges", "_wf", "calendar", "clock", "clock_start",
        "data", "definition", "ended_at", "evaluation", "evaluator", "extension_days", "fallback_years", "history",
        "id", "max_cardinality", "max_depth", "organisation", "policy", "provisional_years", "rules",
        "started_at", "suspensions", "unit", "yellow_days",
    )  # fmt: skip

    # Lists that stay empty in most cases: each is made on its first read (engine/empties.py); until then its slot
    # holds the shared empty tuple, which approvalflow's own readers (saving, rollback) read without making one.
    findings = LazyList[Finding]("The findings recorded: rule findings under ``record``, time findings always.")
    opinions = LazyList[Opinion]("Every completion's opinion and attachments (审批意见), in order.")
    notices = LazyList[Notice]("一次告知 notices of missing materials (engine/materials.py).")
    supplements = LazyList[Supplement]("Materials supplied (补正).")
    handovers = LazyList[handover.Handover]("Every claim, unclaim, transfer, delegate and resolve.")
    ccs = LazyList[handover.Notification]("抄送: the case copied to people.")
    urges = LazyList[handover.Notification]("催办: people pressed about a ready step.")

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
        calendar: WorkingCalendar,
        yellow_days: int = 1,
        trail_key: bytes | None = None,
        max_cardinality: int = MAX_CARDINALITY,
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
        self.calendar = calendar
        self.yellow_days = yellow_days
        self.data: dict[str, Any] = {}
        self.history: list[Completion] = []  # every completion, in order (the path is their steps)
        self._findings: list[Finding] | tuple[()] = UNSET
        self.trail = AuditTrail(key=trail_key)
        self.max_cardinality = max_cardinality
        self._opinions: list[Opinion] | tuple[()] = UNSET  # opinions: every completion's (审批意见), in order
        self._notices: list[Notice] | tuple[()] = UNSET  # notices: 一次告知 of missing materials (engine/materials.py)
        self._supplements: list[Supplement] | tuple[()] = UNSET  # supplements: materials supplied (补正)
        self.evaluation: Evaluation | None = None  # 好差评, once the case ended (engine/evaluation.py)
        # The canonical JSON of the state, in pieces, and its SHA-256, once observed (None until then: an action
        # that nobody observes encodes nothing); the last trail entry binds the digest when it is read.
        self._state_pieces: tuple[tuple[Any, ...], str] | None = None
        self._acting = False  # inside an action: the state is changing and binds no trail entry
        self._dry = False  # inside check(): nothing is recorded
        self.started_at: datetime = clock.now()
        self.clock_start: datetime | None = None  # when the case clock started (af:timeLimit/@startsAfter)
        self.ended_at: datetime | None = None
        self.suspensions: list[Suspension] = []
        self.extension_days: int | None = None  # the one extension granted (延期), in the case limit's unit
        # Years answered by the weekends-only fallback calendar, and from the law with their 调休 unknown
        # (docs/time.md); immutable, replaced when a year is added: nearly every case has none, all share the empty set.
        self.fallback_years: frozenset[int] = NO_YEARS
        self.provisional_years: frozenset[int] = NO_YEARS
        self._since: dict[str, datetime] = {}  # engine task id -> moment it became ready
        # Maps replaced, never changed in place; the shared empty one until they hold something (engine/empties.py).
        self._open_suspensions: Mapping[str, int] = NOTHING  # engine task id -> index in suspensions
        self._timers: Mapping[str, TimerWait] = NOTHING  # engine task id -> waiting timer (engine/timers.py)
        self._wf: Any = None  # the engine's workflow (engine_workflow)
        self._scan = _NO_SCAN  # its ready steps and running call activities, walked once after each change
        self._deadlines_memo: tuple[tuple[Any, ...], CaseDeadlines | None] | None = None
        self._json_memo: dict[int, tuple[Any, ...]] | None = None  # JSON of finished engine tasks, once encoded
        self._step_deadlines: dict[tuple[Any, ...], Deadline | None] | None = None  # kept by step_deadline()
        self._flow = FlowState()  # status facts: ending, outcome, case suspension, assignees (engine/flowcontrol.py)
        self._holdings: Mapping[str, handover.Holding] = NOTHING  # engine task id -> who holds it (签收, 转办, 委派)
        self._handovers: list[handover.Handover] | tuple[()] = UNSET  # handovers: every claim, transfer...
        self._ccs: list[handover.Notification] | tuple[()] = UNSET  # ccs: 抄送
        self._urges: list[handover.Notification] | tuple[()] = UNSET  # urges: 催办

    # -- queries -------------------------------------------------------------------------------------------
    @property
    def trail(self) -> AuditTrail:
        """The audit trail (痕迹管理): every attempted action, hash-chained; its last entry binds the case's state."""
        return self._trail

    @trail.setter
    def trail(self, trail: AuditTrail) -> None:
        trail.observer = weakref.ref(self)
        self._trail = trail

    @property
    def path(self) -> list[str]:
        """The steps completed, in order (a new list: the steps of :attr:`history`)."""
        return [c.step for c in self.history]

    @property
    def is_completed(self) -> bool:
        """True when the process reached its end (no step is ready or waiting)."""
        return not self._scan.ready and bool(self._wf.is_completed())

    @property
    def status(self) -> str:
        """``running`` (在办), ``suspended`` (中止), ``completed`` (办结), ``withdrawn`` (撤回/撤销申请) or
        ``terminated`` (终止); see :mod:`approvalflow.engine.flowcontrol`."""
        return flowcontrol.status_of(self)

    @property
    def outcome(self) -> str | None:
        """``withdrawn`` or ``terminated`` for a case ended early, else the outcome recorded with
        :meth:`record_outcome` (``approved`` 准予, ``denied`` 不予许可, ``not-accepted`` 不予受理), else None."""
        return flowcontrol.outcome_of(self)

    @property
    def engine_workflow(self) -> Any:
        """The engine's workflow object, for approvalflow's own adapters (:mod:`approvalflow._spiff`) only."""
        return self._wf

    def ready_steps(self) -> list[ReadyStep]:
        """The steps that may be completed now, in a stable order."""
        out = []
        for task in self._scan.ready:
            step = self.definition.steps.get(task.task_spec.bpmn_id)
            if step is not None:
                signed = instance_of(task) if step.countersign is not None else None
                index, assignee = signed or (None, None)
                held = owner = None
                h = handover.holder_of(self, task)  # a holding (签收, 转办, 委派), or a step returned to its doer
                if h is not None:
                    assignee, held = h.delegate or h.holder, "delegated" if h.delegate else h.kind
                    owner = h.holder if h.delegate else None
                out.append(ReadyStep(step.id, step.name, step.posts, step.node.lane, self._since[str(task.id)],
                                     index, assignee, held, owner))  # fmt: skip
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
        elif isinstance(extra, str):  # cases saved before 'parties' had to be a list
            found.append(extra)
        return tuple(found)

    # -- time (SPEC section 5) ------------------------------------------------------------------------------
    def deadlines(self, at: datetime | str | None = None) -> CaseDeadlines | None:
        """The case's promised and statutory deadlines as of ``at`` (default: now); None without a limit."""
        result = case_deadlines(self, parse_moment(at) if at is not None else None)
        self._note_fallback()
        return result

    def alerts(self, at: datetime | str | None = None) -> list[Alert]:
        """Yellow and red cards for the open case and its open steps at ``at`` (default: now)."""
        result = alerts(self, parse_moment(at) if at is not None else self.clock.now())
        self._note_fallback()
        return result

    def time_report(self, at: datetime | str | None = None) -> TimeReport:
        """Elapsed, suspended and remaining working days of the case and each step."""
        result = time_report(self, parse_moment(at) if at is not None else None)
        self._note_fallback()
        return result

    def step_deadline(self, step: str, since: datetime) -> Deadline | None:
        """The deadline of ``step`` when it became ready at ``since`` (None without a limit).

        Kept for the case (a few at most): a store computes it for each ready step when it saves the case, and the
        completion of that step then finds it here instead of counting the working days again.
        """
        key = self._step_deadline_key(step, since)
        kept = self._step_deadlines
        if kept is not None and key in kept:
            return kept[key]
        deadline = step_deadline(self, step, since)
        if key is not None:
            if kept is None or len(kept) >= _KEPT_STEP_DEADLINES:
                kept = self._step_deadlines = {}
            kept[key] = deadline
        return deadline

    def _step_deadline_key(self, step: str, since: datetime) -> tuple[Any, ...] | None:
        pauses = tuple(s for s in self.suspensions if s.step == CASE_SUSPENSION)
        if any(s.end is None for s in pauses):
            return None  # suspended (中止): the step deadlines move with time, kept nowhere
        try:
            key = (self.calendar, step, since, since.tzinfo, pauses)
            hash(key)
        except TypeError:  # a calendar that does not hash
            return None
        return key

    # -- actions -------------------------------------------------------------------------------------------
    def complete(
        self,
        step: str,
        actor: str,
        *,
        data: Mapping[str, Any] | None = None,
        meeting: Meeting | Mapping[str, Any] | None = None,
        at: datetime | str | None = None,
        opinion: str | None = None,
        comment: str | None = None,
        instance: int | None = None,
        attachments: Sequence[Mapping[str, Any] | Attachment] | None = None,
    ) -> list[Finding]:
        """Complete a ready step as ``actor`` at ``at`` (default: the clock's now).

        Any completion may carry an opinion (审批意见): ``opinion`` (``agree``/``同意``, ``disagree``/``不同意`` or,
        on a step one person completes, ``return``/``退回``), ``comment`` (its text) and ``attachments`` (mappings
        with ``name``, ``media_type``, ``size`` and ``sha256``; the bytes stay with the host). They ride on the
        trail's ``complete`` entry and are kept in :attr:`opinions` (:mod:`approvalflow.engine.opinions`).

        On a multi-instance step (会签, 或签, 依次审批, 票签) this signs the actor's own instance (or ``instance``)
        with ``opinion`` (``agree``/``同意``, the default, or ``disagree``/``不同意``) and ``comment``; ``data`` is
        kept with that signature in ``<step>_opinions``. An outsider (``not-signer``) or a second signature of one
        person in the round (``signed-twice``) is refused under either policy (:mod:`approvalflow.engine.signing`).

        Returns the findings recorded: rule findings under ``record``, and time findings
        (``step-overdue``, ``case-overdue``) under either policy. Raises :class:`StepRefused`
        under ``enforce`` when a rule is broken, :class:`StepNotReady`, :class:`UnknownActorError`,
        :class:`MeetingRecordError`, :class:`LoopLimitError`, :class:`EngineError` or
        :class:`~approvalflow.errors.CalendarError`; in every one of these cases the case is left as it was (the
        audit trail records the attempt) but for the timers due by the moment, which fire first (:meth:`advance`).
        """
        step = plain_name(step, "step")
        actor = plain_name(actor, "actor")
        moment = self._moment(at, step)
        fire_timers(self, moment)  # what is due by the moment first: a step its timer interrupted is not ready
        delegated = handover.pending_delegate(self, step, actor, instance, moment)
        if delegated is not None:  # the delegate's completion resolves the delegation (委派): the step goes back
            return handover.resolve(self, delegated, actor, moment, data, opinion, comment)
        p = self._prepare(step, actor, data, meeting, moment, (opinion, comment, instance, attachments))
        task, info, base, changes, signing, record, extra, since, findings = p
        key = str(task.id)
        undo_facts = {"clock_start": self.clock_start.isoformat() if self.clock_start else None,
                      "extension_days": self.extension_days}  # fmt: skip
        prior = flowcontrol.data_before(self, changes)
        if findings and self.policy is Policy.ENFORCE:
            self._append(**base, findings=[f.to_dict() for f in findings], outcome="refused")
            raise StepRefused(case=self.id, step=step, actor=actor, findings=findings)
        findings += self._step_overdue(info, since, moment, actor)
        if record is not None and info.collective is not None:
            changes[f"{step}_passed"] = meeting_passed(info.collective, record)
        with self._all_or_nothing(base):
            if signing is not None:
                changes, base["signing"] = sign(task, info, actor, signing, changes, moment)
            self._run(task, changes)
            # The case deadlines as they stood before this step (its own bookkeeping is not done yet), only when
            # it ends the case; a calendar error puts everything back like any other failure.
            ended = self.is_completed
            before = self._deadlines_before(moment) if ended else None
            self._take_thrown(base, step)
            decided = signing is None or base["signing"].get("decided") is not None
            self.history.append(Completion(step, actor, moment, since, decided))
            self._keep_opinion(base, moment)
            self._after_completion(info, key, moment, extra)
            if ended:
                self.ended_at = moment
                findings += self._case_overdue(before, step, actor, moment)
            if findings:  # (an empty extend would make the case its own findings list: engine/empties.py)
                self.findings.extend(findings)
            self._mark_ready(moment)
            self._append(
                **base, findings=[f.to_dict() for f in findings], outcome="recorded" if findings else "completed"
            )
            flowcontrol.note_completion(self, task, step, actor, prior, undo_facts)
            self._note_fallback()
        fire_timers(self, moment)  # timers that started waiting already due (a date in the past, no duration)
        return findings

    def check(
        self,
        step: str,
        actor: str,
        *,
        data: Mapping[str, Any] | None = None,
        meeting: Meeting | Mapping[str, Any] | None = None,
        at: datetime | str | None = None,
        opinion: str | None = None,
        comment: str | None = None,
        instance: int | None = None,
        attachments: Sequence[Mapping[str, Any] | Attachment] | None = None,
    ) -> list[Finding]:
        """May ``actor`` complete ``step`` now (or at ``at``)? The findings a completion would raise; nothing changes.

        The rule findings (under ``enforce`` any one refuses the completion; ``not-signer`` and ``signed-twice``
        refuse a signature under either policy) and the ``step-overdue`` warning, computed as :meth:`complete`
        computes them; an empty list when the completion would go through clean. Not ``case-overdue``: whether the
        completion ends the case is known only once the engine has moved. Nothing is recorded and nothing fires.
        Raises as :meth:`complete` would before it changes anything (:class:`StepNotReady`,
        :class:`UnknownActorError`, :class:`MeetingRecordError`, :class:`InvalidInputError`), and
        :class:`StepNotReady` when a timer due by the moment has not fired yet (call :meth:`advance` first: the
        timer may take the step away).
        """
        step = plain_name(step, "step")
        actor = plain_name(actor, "actor")
        moment = self._moment(at, step)
        due = self.next_timer()
        if due is not None and due.due <= moment:
            raise StepNotReady(
                f"timer '{due.element}' is due by {moment.isoformat()} and has not fired: call advance() first, then "
                "ask (the timer may take the step away)",
                case=self.id,
                step=step,
                ready=[r.id for r in self.ready_steps()],
            )
        self._dry = True
        try:
            p = self._prepare(step, actor, data, meeting, moment, (opinion, comment, instance, attachments))
        except StepRefused as refused:  # an outsider or a second signature of a multi-instance step
            return [f for f in refused.findings if isinstance(f, Finding)]
        finally:
            self._dry = False
        _task, info, _base, _changes, _signing, _record, _extra, since, findings = p
        return findings + self._step_overdue(info, since, moment, actor)

    def _prepare(
        self,
        step: str,
        actor: str,
        data: Mapping[str, Any] | None,
        meeting: Meeting | Mapping[str, Any] | None,
        moment: datetime,
        signature: tuple[str | None, str | None, int | None, Sequence[Mapping[str, Any] | Attachment] | None],
    ) -> tuple[Any, StepInfo, dict[str, Any], dict[str, Any], Any, Meeting | None, dict[str, object], datetime,
               list[Finding]]:  # fmt: skip
        """What a completion is judged on, before anything changes: the task, the step, the trail entry's fields,
        the data, the signature, the meeting record, the extension facts, since when the step waits, and the rule
        findings. Refusals that come before the rules (not ready, unknown actor, bad meeting record, not a signer)
        are raised here, recorded in the trail unless :meth:`check` asks."""
        opinion, comment, instance, attachments = signature
        changes = plain_data(data or {}, f"data of step '{step}'")
        base: dict[str, Any] = {"action": "complete", "at": moment.isoformat(), "step": step, "actor": actor,
                                "unit": self.unit.id, "data": changes}  # fmt: skip
        task = self._find_ready(step, base)
        person = self._person(actor, base)
        info = self.definition.steps[step]
        if info.countersign is not None and instance is None:  # the instance the actor holds, if any
            instance = handover.held_instance(self, step, actor, moment)
        signing = signing_input(info, opinion, comment, instance)
        files = attachments_of(attachments)
        text = opinion_text(comment)  # a signature's comment too: what a saved case reads back must be accepted
        kind = signing["opinion"] if signing else opinion_kind(opinion)
        if kind is not None or text is not None or files:
            base["opinion"] = {"kind": kind, "text": text}
        if files:
            base["attachments"] = [a.to_dict() for a in files]
        if signing is not None:
            base["signing"] = {k: v for k, v in signing.items() if v is not None}
            task = pick_instance(self, info, actor, instance, base)
        handover.may_complete(self, task, info, actor, base)
        base["post"] = next((p for p in info.posts if p in person.posts), None)
        record = self._meeting(info, meeting, base)
        self._check_depth(task, step, base)
        extra = self._extension_facts(changes)
        since = self._since[str(task.id)]
        attempt = StepAttempt(info, person, self.unit, self.organisation, tuple(self.history), self.parties, moment,
                              record, extra, {**self.data, **changes}, since, self.calendar)  # fmt: skip
        findings = check(attempt, self.rules) + self._party_changes(step, actor, changes, moment)
        findings += flowcontrol.assignee_findings(self, task, actor, moment)
        return task, info, base, changes, signing, record, extra, since, findings

    def _keep_opinion(self, base: Mapping[str, Any], moment: datetime) -> None:
        """Append the completion's opinion (if it carries one) to :attr:`opinions`."""
        given = base.get("opinion")
        if given is None:
            return
        files = attachments_of(base.get("attachments"))
        instance = base["signing"].get("instance") if "signing" in base else None
        self.opinions.append(
            Opinion(base["step"], instance, base["actor"], moment, given["kind"], given["text"], files)
        )

    # -- opinions, materials, 加签 / 减签 (engine/opinions.py, engine/materials.py, engine/addsign.py) ----------
    def opinions_of(self, step: str | None = None, *, actor: str | None = None) -> list[Opinion]:
        """The opinions given so far (审批意见), in order: of ``step`` and/or ``actor`` when given, else all.

        One per completion that carried an opinion, a comment or attachments; a step done twice (a loop, a new
        会签 round) has each of its opinions, none overwritten. What a platform's 意见 panel shows."""
        return [o for o in self.opinions if (step is None or o.step == step) and (actor is None or o.actor == actor)]

    def missing_materials(self, supplied: Iterable[str | Mapping[str, Any]] | None = None, *,
                          step: str | None = None) -> list[Any]:  # fmt: skip
        """The required materials (``af:materials``, 申请材料) not supplied yet, in declaration order.

        Those of the process and of ``step`` (default: of the process and all its steps), less those supplied so
        far (:meth:`supplement`) and those in ``supplied`` (material ids, or attachments naming a ``material``).
        Changes nothing."""
        return missing_materials(self, supplied, step)

    def notify_missing(
        self,
        actor: str,
        *,
        missing: Iterable[str] | None = None,
        step: str | None = None,
        text: str | None = None,
        at: datetime | str | None = None,
    ) -> list[Finding]:
        """Record the 一次告知 notice: every missing material, in one notice (行政许可法 art. 32).

        ``missing`` defaults to :meth:`missing_materials`; given, it must name them all (``notice-incomplete``).
        A second notice in the same round (the same pass through ``step``) is ``once``. Under ``enforce`` either
        is refused (:class:`StepRefused`, the attempt in the trail); under ``record`` it goes through and the
        finding is kept. Trail action ``notify-missing`` (:mod:`approvalflow.engine.materials`)."""
        return notify_missing(self, actor, missing, step, text, at)

    def supplement(
        self,
        actor: str,
        *,
        materials: Sequence[Mapping[str, Any] | Attachment],
        at: datetime | str | None = None,
    ) -> list[Finding]:
        """Record materials supplied (补正 after a notice; before any notice, the application's own materials).

        Each is an attachment naming the ``material`` it supplies. After a notice, the materials supplied since
        must cover it, else a ``supplement-incomplete`` warning is recorded (the notice stays open). Trail action
        ``supplement``."""
        return supplement(self, actor, materials, at)

    def add_signer(
        self,
        step: str,
        actor: str,
        person: str,
        *,
        position: str | None = None,
        reason: str,
        at: datetime | str | None = None,
    ) -> list[Finding]:
        """加签: add ``person`` as a signer of the current round of the multi-instance ``step``, as ``actor``.

        The new signer must be allowed to sign (the registered rules, as for a completion); in 依次审批 ``position``
        ``before`` or ``after`` (default) the current signer. Trail action ``add-signer``
        (:mod:`approvalflow.engine.addsign`)."""
        return add_signer(self, step, actor, person, position, reason, at)

    def remove_signer(
        self,
        step: str,
        actor: str,
        person: str,
        *,
        reason: str,
        at: datetime | str | None = None,
    ) -> list[Finding]:
        """减签: remove ``person``, who has not signed, from the current round of ``step``, as ``actor``.

        When the signatures given then decide the round, the step completes as the rule says. Trail action
        ``remove-signer`` (:mod:`approvalflow.engine.addsign`)."""
        return remove_signer(self, step, actor, person, reason, at)

    # -- 好差评 (engine/evaluation.py) ---------------------------------------------------------------------------
    def evaluate(
        self,
        actor: str,
        grade: str,
        *,
        text: str | None = None,
        channel: str | None = None,
        rectification: str | None = None,
        at: datetime | str | None = None,
    ) -> Evaluation:
        """好差评: the applicant's evaluation of the completed case (非常满意, 满意, 基本满意, 不满意, 非常不满意, or
        their English names), once; a 差评 (不满意, 非常不满意) needs its ``text``. ``actor`` is a party of the case
        or a person of the organisation recording it for them; ``rectification`` names the 整改 case a 差评 opened
        (:func:`approvalflow.exchange.evaluate_stored` opens it). Refused (``case-status`` on a case that is not
        completed, ``evaluated-once``) under either policy. Trail action ``evaluate``; the case stays ended."""
        return evaluate(self, actor, grade, text, channel, rectification, at)

    # -- going back, ending early, pausing (engine/flowcontrol.py) ------------------------------------------------
    def take_back(self, step: str, actor: str, *, reason: str, at: datetime | str | None = None) -> None:
        """撤回: ``actor``, who completed ``step`` (the case's last completion), takes it back while nothing has
        been done since; the step is ready again for them, its clock as it was. Refused (``take-back``) otherwise."""
        flowcontrol.take_back(self, step, actor, reason=reason, at=at)

    def return_to(
        self, step: str, actor: str, *, to: str | None = None, reason: str, at: datetime | str | None = None
    ) -> str:
        """退回 from the ready ``step`` to the earlier completed step ``to`` (default: ``af:step/@returnTo``);
        returns the target's id. The target is ready for whoever did it (首办负责), its clock restarted; in parallel
        blocks and 会签 rounds as :mod:`approvalflow.engine.flowcontrol` says. Refused (``return-target``...)
        otherwise."""
        return flowcontrol.return_to(self, step, actor, to=to, reason=reason, at=at)

    def withdraw(self, actor: str, *, reason: str, at: datetime | str | None = None) -> None:
        """撤销申请: the applicant withdraws (recorded by ``actor``); every open step and timer is cancelled and the
        case ends with status and outcome ``withdrawn``."""
        flowcontrol.withdraw(self, actor, reason=reason, at=at)

    def terminate(self, actor: str, *, reason: str, basis: str, at: datetime | str | None = None) -> None:
        """终止 with a reason and its legal basis, by the unit's principal or a deputy; ends like :meth:`withdraw`
        with status and outcome ``terminated``."""
        flowcontrol.terminate(self, actor, reason=reason, basis=basis, at=at)

    def suspend(self, actor: str, *, reason: str, basis: str | None = None, at: datetime | str | None = None) -> None:
        """中止: the case clock stands still and no step can be completed until :meth:`resume`."""
        flowcontrol.suspend(self, actor, reason=reason, basis=basis, at=at)

    def resume(self, actor: str, *, at: datetime | str | None = None) -> None:
        """恢复 a suspended case: its deadlines have moved later by the working days suspended."""
        flowcontrol.resume(self, actor, at=at)

    def record_outcome(
        self,
        actor: str,
        outcome: str,
        *,
        reason: str | None = None,
        basis: str | None = None,
        at: datetime | str | None = None,
    ) -> None:
        """Record the decision: ``approved`` (准予), ``denied`` (不予许可) or ``not-accepted`` (不予受理), once; a
        refusal needs its reason (行政许可法 art. 38)."""
        flowcontrol.record_outcome(self, actor, outcome, reason=reason, basis=basis, at=at)

    def change_parties(
        self,
        actor: str,
        *,
        applicant: str | None = None,
        parties: list[str] | None = None,
        reason: str,
        at: datetime | str | None = None,
    ) -> list[Finding]:
        """Change the case's applicant or parties (回避 facts) as a recorded operation.

        The change and its reason go into the audit trail. Recusal is then checked again for every actor who
        has completed a step of the case: each one with a declared conflict of interest with the new parties is
        a ``recusal`` finding, recorded on the case and returned (the past cannot be refused; later steps are
        checked against the new parties as usual).
        """
        actor = self._known(plain_name(actor, "actor"))
        moment = self._moment(at, None)
        fire_timers(self, moment)
        update: dict[str, Any] = {}
        if applicant is not None:
            update["applicant"] = applicant
        if parties is not None:
            update["parties"] = parties
        update = plain_data(update, "the new parties")
        _check_parties(update, "the new parties")
        reason = plain_data({"reason": reason}, "the reason")["reason"]
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInputError("a change of parties needs a reason (text)", case=self.id)
        base = {"action": "change-parties", "at": moment.isoformat(), "step": None, "actor": actor,
                "post": None, "unit": self.unit.id, "data": {**update, "reason": reason}}  # fmt: skip
        with self._all_or_nothing(base):
            self.data.update(update)
            findings = self._recheck_recusal(moment)
            if findings:
                self.findings.extend(findings)
            self._append(**base, findings=[f.to_dict() for f in findings], outcome="recorded" if findings else "noted")
        return findings

    # -- handing work on (engine/handover.py, docs/operations.md) -----------------------------------------------
    def claim(
        self, step: str, actor: str, *, at: datetime | str | None = None, instance: int | None = None
    ) -> list[Finding]:
        """签收: ``actor`` takes the ready ``step`` (an instance of a multi-instance step: the one given, their own,
        else an open one); from then on only they (or their standing proxy) complete it, anyone else is refused
        ``claimed``. Checked under the rules that judge who acts (posts, unit, 五不直接分管, recusal, separation of
        duties, 首办负责) as a completion by ``actor`` would be: under ``enforce`` a breach raises
        :class:`StepRefused` and only the trail records the attempt. Returns the findings recorded (``record``)."""
        step, actor, moment = self._handing(step, actor, at)
        return handover.claim(self, step, actor, moment, instance)

    def unclaim(
        self, step: str, actor: str, *, at: datetime | str | None = None, instance: int | None = None
    ) -> list[Finding]:
        """退签: the holder of ``step`` gives it back to everyone authorised; refused ``claimed`` for anyone else (and
        for a step nobody holds), ``delegated`` while a delegation of it is pending."""
        step, actor, moment = self._handing(step, actor, at)
        return handover.unclaim(self, step, actor, moment, instance)

    def transfer(
        self,
        step: str,
        actor: str,
        to: str,
        *,
        reason: str,
        at: datetime | str | None = None,
        instance: int | None = None,
    ) -> list[Finding]:
        """转办: the holder of ``step`` (or, on an open step, someone who could do it) hands it to ``to``, who becomes
        its holder. Refused when ``to`` could not do the step under the rules (the rule named: ``unauthorized``,
        ``other-unit``, ``five-not-direct``, ``recusal``, ``separate-actors``, ``same-actor``), ``claimed`` when
        ``actor`` does not hold it, ``delegated`` while a delegation is pending; an instance whose signer the
        process names is not transferred (:class:`InvalidInputError`: change the signers with 加签 / 减签)."""
        step, actor, moment = self._handing(step, actor, at)
        return handover.transfer(self, step, actor, to, reason, moment, instance)

    def delegate(
        self,
        step: str,
        actor: str,
        to: str,
        *,
        reason: str,
        at: datetime | str | None = None,
        instance: int | None = None,
    ) -> list[Finding]:
        """委派: the holder of ``step`` asks ``to`` to do the work. ``to`` is then its assignee: their
        :meth:`complete` *resolves* the delegation (their data and comment are kept in :attr:`handovers` and the
        trail, not merged into the case data) and the step goes back to the holder, who completes it. ``to`` is
        checked as a receiver under the rules but for ``same-actor`` (a delegate does not decide). An open step is
        claimed by its delegation."""
        step, actor, moment = self._handing(step, actor, at)
        return handover.delegate(self, step, actor, to, reason, moment, instance)

    def cc(
        self,
        actor: str,
        to: list[str],
        *,
        step: str | None = None,
        note: str | None = None,
        at: datetime | str | None = None,
    ) -> handover.Notification:
        """抄送: inform the people ``to`` of the case (and of ``step``); recorded (trail action ``cc``) and kept in
        :attr:`ccs`; nothing for them to do."""
        actor = self._known(plain_name(actor, "actor"))
        moment = self._moment(at, step)
        fire_timers(self, moment)
        return handover.cc(self, actor, to, plain_name(step, "step") if step is not None else None, note, moment)

    def urge(
        self, actor: str, step: str, *, note: str | None = None, at: datetime | str | None = None
    ) -> handover.Notification:
        """催办: press the people responsible for the ready ``step`` (its holders); recorded (trail action ``urge``)
        and kept in :attr:`urges`. :class:`StepNotReady` when the step is not ready."""
        step, actor, moment = self._handing(step, actor, at)
        return handover.urge(self, actor, step, note, moment)

    def _handing(self, step: str, actor: str, at: datetime | str | None) -> tuple[str, str, datetime]:
        step = plain_name(step, "step")
        actor = self._known(plain_name(actor, "actor"))
        moment = self._moment(at, step)
        fire_timers(self, moment)  # a step a timer took away by the moment is not handed on
        return step, actor, moment

    def waiting_for(self) -> list[tuple[str, str, str]]:
        """The signals, messages and timers the case waits for: ``(kind, name, element id)``, kind ``signal`` or
        ``message`` (intermediate catch events, receive tasks, boundary events, event-based gateways) with the name
        of the signal or message, then ``timer`` with the moment it is due (ISO 8601), earliest first."""
        return waiting_catches(self._wf) + [("timer", t.due.isoformat(), t.element) for t in self.timers()]

    def timers(self) -> list[TimerWait]:
        """The timer events the case waits on, earliest due first: each with since when it waits and when it is due."""
        return sorted(self._timers.values(), key=lambda t: (t.due, t.element))

    def next_timer(self) -> TimerWait | None:
        """The timer due first (None when the case waits on no timer): when the host should next call
        :meth:`advance`. A case that waits only on a timer is not stuck: it moves on when the timer is due."""
        waits = self.timers()
        return waits[0] if waits else None

    def advance(self, to: datetime | str | None = None) -> list[TimerFiring]:
        """Fire every timer due by the moment ``to`` (default: the clock's now), earliest first, each one recorded
        in the trail as a ``timer`` entry at the moment it fired; returns them in order. Every action (``complete``,
        ``send_signal``...) at a moment T first does the same for T. A timer due after ``to`` does not fire."""
        return fire_timers(self, self._moment(to, None))

    def send_signal(self, name: str, *, actor: str | None = None, at: datetime | str | None = None) -> list[str]:
        """Deliver the signal ``name`` from outside the case (the host: another system, a notice published...).

        Every catch event of the case waiting for it fires, and the engine moves on. Returns the ids of the events
        that caught it. Refused with :class:`StepNotReady` when nothing waits for it (the attempt is in the trail,
        the case is unchanged); recorded in the audit trail as a ``signal`` action otherwise."""
        return self._deliver("signal", name, {}, {}, actor, at)

    def send_message(
        self,
        name: str,
        data: Mapping[str, Any] | None = None,
        *,
        actor: str | None = None,
        correlation: Mapping[str, Any] | None = None,
        at: datetime | str | None = None,
    ) -> list[str]:
        """Deliver the message ``name`` with ``data`` (merged into the case data, like a step's data) to the event
        of the case that waits for it; ``correlation`` carries the values of its correlation properties.

        Returns the ids of the events that caught it; refused with :class:`StepNotReady` when nothing waits for a
        message of that name (the case is unchanged, the attempt is in the trail)."""
        return self._deliver("message", name, data or {}, correlation or {}, actor, at)

    def _deliver(
        self,
        kind: str,
        name: str,
        data: Mapping[str, Any],
        correlation: Mapping[str, Any],
        actor: str | None,
        at: datetime | str | None,
    ) -> list[str]:
        name = plain_name(name, f"{kind} name")
        if actor is not None:
            actor = self._known(plain_name(actor, "actor"))
        moment = self._moment(at, None)
        fire_timers(self, moment)
        payload = plain_data(data, f"data of {kind} '{name}'")
        correlations = plain_data(correlation, f"correlation of {kind} '{name}'")
        detail: dict[str, Any] = {"name": name}
        if payload:
            detail["data"] = payload
        if correlations:
            detail["correlation"] = correlations
        base: dict[str, Any] = {"action": kind, "at": moment.isoformat(), "step": None, "actor": actor, "post": None,
                "unit": self.unit.id, "data": detail}  # fmt: skip
        if self._flow.suspended is not None:
            self._log_failure(base, "suspended")
            raise StepNotReady(f"the case is suspended (中止): the {kind} '{name}' is not taken until it is resumed",
                               case=self.id, step=name)  # fmt: skip
        waiting = waiting_catches(self._wf)
        catchers = [element for k, n, element in waiting if k == kind and n == name]
        if not catchers:
            self._log_failure(base, "not-waiting")
            now = ", ".join(f"{k} '{n}'" for k, n, _e in waiting) or "nothing"
            raise StepNotReady(
                f"no event of the case waits for {kind} '{name}'; waiting now: {now}",
                case=self.id,
                step=name,
                ready=[element for _k, _n, element in waiting],
            )
        with self._all_or_nothing(base):
            try:
                self.data.update(payload)
                deliver_event(self._wf, kind, name, {**_copied(self.data)} if kind == "message" else {}, correlations)
                interrupted = self._interrupt()
                if interrupted:  # an interrupting event sub-process started: the rest of the process ended
                    base["interrupted"] = interrupted
            except _ENGINE_FAILURES as exc:
                raise EngineError(f"the engine could not take the {kind}: {_short(exc)}", case=self.id) from exc
            finally:
                self._scan = scan(self._wf)
            self._take_thrown(base, None)
            if self.is_completed and self.ended_at is None:
                self.ended_at = moment
            self._mark_ready(moment)
            self._append(**base, findings=[], outcome="delivered")
        fire_timers(self, moment)
        return catchers

    # -- checks before a completion ----------------------------------------------------------------------
    def _moment(self, at: datetime | str | None, step: str | None) -> datetime:
        try:
            return parse_moment(at) if at is not None else self.clock.now()
        except ValueError as exc:  # parse_moment's only error, whatever it is given
            text = str(at)[:60]
            raise InvalidInputError(f"the moment {text!r} is not usable: {exc}", case=self.id, step=step) from None

    def _party_changes(self, step: str, actor: str, changes: Mapping[str, Any], moment: datetime) -> list[Finding]:
        """Step data may not rewrite the parties: that would move the recusal check (回避) under its feet."""
        changed = [k for k in PARTY_KEYS if k in changes and changes[k] != self.data.get(k)]
        if not changed:
            return []
        return [
            Finding(
                "parties-changed",
                step,
                actor,
                f"step data changes {', '.join(repr(k) for k in changed)}; the parties of a case change only "
                "through Case.change_parties, which is recorded and checks recusal again",
                moment,
            )
        ]

    def _recheck_recusal(self, moment: datetime) -> list[Finding]:
        rule = self.rules.get("recusal")
        if rule is None:
            return []
        found: list[Finding] = []
        for done in self.history:
            person = self.organisation.person(done.actor)
            info = self.definition.steps.get(done.step)
            if person is None or info is None:
                continue
            attempt = StepAttempt(info, person, self.unit, self.organisation, (), self.parties, moment, None, {},
                              dict(self.data), done.since, self.calendar)  # fmt: skip
            for f in check(attempt, {"recusal": rule}):
                found.append(Finding("recusal", done.step, done.actor,
                                     f"after the change of parties: {f.message}", moment, "warning"))  # fmt: skip
        return found

    def _find_ready(self, step: str, base: dict[str, Any]) -> Any:
        flowcontrol.refuse_if_not_running(self, step, base)
        for task in self._scan.ready:
            if task.task_spec.bpmn_id == step:
                return task
        ready = [t.task_spec.bpmn_id for t in self._scan.ready]
        self._log_failure(base, "not-ready")
        known = "is not a step of this process" if step not in self.definition.steps else "is not ready"
        raise StepNotReady(
            f"'{step}' {known}; ready now: {', '.join(ready) or 'nothing'}", case=self.id, step=step, ready=ready
        )

    def _known(self, actor: str) -> str:
        """``actor``, a person of the organisation; else :class:`UnknownActorError` before anything is recorded."""
        if self.organisation.person(actor) is None:
            raise UnknownActorError(f"'{actor}' is not a person of the organisation", case=self.id)
        return actor

    def _person(self, actor: str, base: dict[str, Any]) -> Person:
        person = self.organisation.person(actor)
        if person is None:
            self._log_failure(base, "unknown-actor")
            where = f" ({self.organisation.file})" if self.organisation.file else ""
            raise UnknownActorError(
                f"'{actor}' is not a person of the organisation{where}", case=self.id, step=str(base["step"])
            )
        return person

    def _meeting(
        self, info: StepInfo, meeting: Meeting | Mapping[str, Any] | None, base: dict[str, Any]
    ) -> Meeting | None:
        if meeting is None:
            return None
        try:
            record = meeting_from(meeting)
        except TypeError as exc:
            self._log_failure(base, "invalid-meeting")
            raise MeetingRecordError(f"the meeting record is malformed: {exc}", case=self.id, step=info.id) from exc
        problems = meeting_problems(record, self.organisation)
        if info.collective is None:
            problems.insert(0, f"'{info.id}' is not a collective step; it takes no meeting record")
        if problems:
            self._log_failure(base, "invalid-meeting")
            raise MeetingRecordError("; ".join(problems), case=self.id, step=info.id)
        base["meeting"] = record.to_dict()
        return record

    def _check_depth(self, task: Any, step: str, base: dict[str, Any]) -> None:
        # A task's depth counts its ancestors, tasks of its own (sub-)workflow: fewer tasks there, no walk needed.
        if len(task.workflow.tasks) <= self.max_depth or task.depth < self.max_depth:
            return
        self._log_failure(base, "loop-limit")
        repeats = self.path.count(step)
        raise LoopLimitError(
            f"the case has looped too deep: '{step}' was completed {repeats} times and the engine's task tree is "
            f"{task.depth} deep (limit {self.max_depth}; SpiffWorkflow stalls silently at {_ENGINE_DEPTH}). "
            "Raise max_depth only if the loop is meant to run this long.",
            case=self.id,
            step=step,
        )

    def _extension_facts(self, changes: Mapping[str, Any]) -> dict[str, object]:
        tl = self.definition.time_limit
        requested = changes.get("extension_days")
        return {
            "extensions_granted": 1 if self.extension_days else 0,
            "extension_allowed": tl.extension if tl else None,
            "extension_days": requested if isinstance(requested, int) else None,
        }

    def _step_overdue(self, info: StepInfo, since: datetime, moment: datetime, actor: str) -> list[Finding]:
        kept = self._step_deadlines
        key = self._step_deadline_key(info.id, since) if kept is not None else None
        deadline = kept[key] if kept is not None and key in kept else step_deadline(self, info.id, since)
        if deadline is None or not deadline.is_late(moment):
            return []
        return [
            Finding(
                "step-overdue",
                info.id,
                actor,
                f"'{info.id}' was completed after its limit of "
                f"{info.time_limit} {info.unit}(s), which ended with {deadline.day} (环节超时)",
                moment,
                "warning",
            )
        ]

    def _deadlines_before(self, moment: datetime) -> CaseDeadlines | None:
        """:func:`case_deadlines` at ``moment``, kept for the next completion while its inputs stay the same.

        The case deadlines change only with the clock start, the suspensions and the extension (and the calendar
        or the process's limit, should the host replace them); ``moment`` matters only while a suspension is open (it
        counts up to the moment). The store's index asks for them too when it saves the case (for the state the
        next completion starts from): computed once for both.
        """
        open_ = any(s.end is None for s in self.suspensions)
        key = (self.clock_start, self.extension_days, tuple(self.suspensions), moment if open_ else None,
               self.calendar, self.definition.time_limit)  # fmt: skip
        memo = self._deadlines_memo
        if memo is not None and memo[0] == key:
            return memo[1]
        result = case_deadlines(self, moment)
        self._deadlines_memo = (key, result)
        return result

    def _case_overdue(self, before: CaseDeadlines | None, step: str, actor: str, moment: datetime) -> list[Finding]:
        if before is None:
            return []
        limits = (("promised", before.promised), ("statutory", before.statutory))
        return [
            Finding(
                "case-overdue",
                step,
                actor,
                f"the case ended after its {name} deadline {d.day} (超期)",
                moment,
                "warning",
            )
            for name, d in limits
            if d is not None and d.is_late(moment)
        ]

    # -- running and bookkeeping -------------------------------------------------------------------------
    def _run(self, task: Any, changes: dict[str, Any]) -> None:
        try:
            self.data.update(changes)
            task.data.update(_copied(self.data))
            task.run()
            self._wf.do_engine_steps()
            self._interrupt()  # a signal the step threw may have started an interrupting event sub-process
        except _ENGINE_FAILURES as exc:
            raise EngineError(
                f"the engine could not complete the step: {_short(exc)}", case=self.id, step=task.task_spec.bpmn_id
            ) from exc
        finally:
            self._scan = scan(self._wf)

    def _interrupt(self) -> list[str]:
        """End the rest of the process for each interrupting event sub-process that has just started (their ids):
        SpiffWorkflow starts one beside the process (:func:`~approvalflow._spiff.interrupt_for_event_subprocesses`).
        The steps it ends leave the ready set; :meth:`_mark_ready` then closes their clocks and holdings. Then, if
        the main flow has ended, the timer-started event sub-processes still waiting end with it
        (:func:`~approvalflow._spiff.close_idle_event_subprocesses`)."""
        interrupted = (
            interrupt_for_event_subprocesses(self._wf, self.definition.interrupting)
            if self.definition.interrupting
            else []
        )
        if any(t.event == "startEvent" for t in self.definition.timers.values()):
            # the main flow ended: an event sub-process whose timer is not due yet ends with it
            close_idle_event_subprocesses(self._wf, self.definition.event_subprocesses)
        return interrupted

    @contextmanager
    def _all_or_nothing(self, base: dict[str, Any]) -> Iterator[None]:
        """Run an action; if anything in it fails, put the case and its trail back exactly as they were.

        Nothing is serialized: our bookkeeping is copied (lists by length, they only grow in an action) and the
        engine's task tree is snapshot structurally (:func:`~approvalflow._spiff.workflow_snapshot`). The failure
        itself is then recorded (``engine-error``) and raised as an :class:`EngineError` (or as the library error
        it already was).
        """
        mark, observed, kept = self.trail.mark(), self._state_pieces, self._bookkeeping()
        snapshot = workflow_snapshot(self._wf)
        self._state_pieces, self._acting = None, True
        try:
            yield
        except BaseException as exc:
            self._restore(kept)
            undo(self._wf, snapshot)
            self._json_memo = None
            self._scan = scan(self._wf)
            self._state_pieces = observed
            self.trail.rollback(mark)
            if not isinstance(exc, Exception):
                raise
            self._acting = False
            self._log_failure(base, "engine-error")
            if isinstance(exc, RunError | DefinitionError):
                raise
            raise EngineError(
                f"the action could not be completed: {type(exc).__name__}: {_short(exc)}",
                case=self.id,
                step=base.get("step"),
            ) from exc
        finally:
            self._acting = False

    def _bookkeeping(self) -> tuple[Any, ...]:
        """What an action may change in the case itself (not in the engine), to put back with :meth:`_restore`.

        The lazy lists are kept as their slot and length (the slot, not the attribute: reading it would make a
        list); the maps that are replaced, never changed in place, by reference."""
        lists = tuple((x, len(x)) for x in (self._findings, self._opinions, self._notices, self._supplements))
        return (
            dict(self.data), len(self.history), lists, list(self.suspensions),
            self._open_suspensions, self._since, self.clock_start, self.ended_at, self.extension_days,
            self.fallback_years, self._scan, self._deadlines_memo, self._timers, self.provisional_years,
            self._flow.copy(), self.history[-1:], self._opinions[-1:], handover.kept(self),
            self.evaluation,
        )  # fmt: skip

    def _restore(self, kept: tuple[Any, ...]) -> None:
        (data, history, lists, self.suspensions, self._open_suspensions, self._since, self.clock_start,
         self.ended_at, self.extension_days, self.fallback_years, self._scan, self._deadlines_memo, self._timers,
         self.provisional_years, self._flow, last_done, last_opinion, handed,
         self.evaluation) = kept  # fmt: skip
        handover.restore(self, handed)
        self.data = data
        (findings, n_findings), (opinions, n_opinions), (notices, n_notices), (supplements, n_supplements) = lists
        self._opinions = put_back(opinions, n_opinions, self._opinions)
        if len(self._opinions) < n_opinions:  # a take-back removed the opinion of the last completion
            self.opinions.extend(last_opinion)
        self._notices = put_back(notices, n_notices, self._notices)
        self._supplements = put_back(supplements, n_supplements, self._supplements)
        self._findings = put_back(findings, n_findings, self._findings)
        del self.history[history:]
        if len(self.history) < history:  # a take-back removed the last completion
            self.history.extend(last_done)

    def _state_changed(self) -> None:
        """The state moved outside an action (a note of the calendar): the next observation encodes it again."""
        self._state_pieces = None

    def _observe(self) -> tuple[tuple[Any, ...], str]:
        """The canonical JSON of the state, in pieces, and its digest; the trail's pending entries are settled.

        Called when the state is observed (the trail read, the case saved): the last pending entry binds the
        digest. Inside an action the state is changing: the pending entries then bind none.
        """
        if self._acting:
            self.trail.settle(None)
            return self._encode()
        if self._state_pieces is None:
            self._state_pieces = self._encode()
        self.trail.settle(self._state_pieces[1])
        return self._state_pieces

    def _encode(self) -> tuple[tuple[Any, ...], str]:
        try:
            memo = self._json_memo
            if memo is None:
                memo = self._json_memo = {}
            head, *rest = state_pieces(self, memo)
            first, tail = head.encode(), "".join(rest).encode()
        except TypeError:  # keys of mixed types (only an engine's internal data could have them): the long way
            self._json_memo = None
            first, rest, tail = state_bytes(self), [], b""
        # The first piece (our bookkeeping) as UTF-8, the engine's pieces as they are (most shared with the memo).
        return (first, *rest), hashlib.sha256(first + tail).hexdigest()

    @property
    def _state_digest(self) -> str:
        """The SHA-256 of the canonical JSON of the case's state (what the trail's last entry binds once read)."""
        return self._observe()[1]

    def _kept_state(self) -> str:
        """The canonical JSON of the state the last trail entry binds (what a saved case holds)."""
        return _joined(self._observe()[0])

    def _set_workflow(self, workflow: Any) -> None:
        """Put a (restored) engine workflow in place and walk its task tree."""
        self._wf = workflow
        self._json_memo = None
        self._scan = scan(workflow)

    def _append(self, **fields: Any) -> None:
        if not self._dry:  # check() asks what a completion would raise: it records nothing
            self.trail.defer(**fields)

    def _after_completion(self, info: StepInfo, key: str, moment: datetime, extra: Mapping[str, Any]) -> None:
        tl = self.definition.time_limit
        if tl is not None and tl.starts_after == info.id:
            if self._flow.keep_clock and self.clock_start is not None:
                self._flow.keep_clock = False  # redone after a 退回: the clock runs on (af:timeLimit/@restartOnReturn)
            else:
                self.clock_start = (
                    moment  # a loop back through it restarts the clock (e.g. 补正 under 政府信息公开条例 art. 30)
                )
        index = self._open_suspensions.get(key)
        if index is not None:
            self._open_suspensions = without(self._open_suspensions, key)
            s = self.suspensions[index]
            self.suspensions[index] = Suspension(s.step, s.reason, s.start, moment)
        allowed = extra.get("extension_allowed")
        if info.extension and not self.extension_days and isinstance(allowed, int):
            requested = extra.get("extension_days")
            self.extension_days = requested if isinstance(requested, int) else allowed

    def _take_thrown(self, base: dict[str, Any], step: str | None) -> None:
        """Events the process threw that nothing in the case caught (:func:`take_uncaught`).

        An uncaught error is refused: BPMN leaves what follows it unspecified (SpiffWorkflow would carry on as if
        the error end event were a plain end), so the action that led to it fails and the case stays as it was.
        Escalations (BPMN: the process goes on), and signals and messages meant for the outside, are recorded
        in the action's trail entry as ``thrown``.
        """
        thrown = take_uncaught(self._wf)
        errors = [t for t in thrown if t["kind"] == "error"]
        if errors:
            first = errors[0]
            code = f" (code {first['code']})" if first["code"] is not None else ""
            named = f" '{first['name']}'" if first["name"] is not None else ""
            raise EngineError(
                f"the process threw error{named}{code} and nothing in the case catches it: BPMN leaves "
                "what follows unspecified, so the action is refused; catch the error with an error boundary event "
                "on an enclosing sub-process or call activity, or an error event sub-process",
                case=self.id,
                step=step,
            )
        if thrown:
            base["thrown"] = thrown

    def _mark_ready(self, moment: datetime) -> None:
        fresh_rounds(self)
        ready = {str(t.id): t.task_spec.bpmn_id for t in self._scan.ready}
        self._since = {k: v for k, v in self._since.items() if k in ready}
        if self._flow.assigned:
            self._flow.assigned = map_of((k, v) for k, v in self._flow.assigned.items() if k in ready)
        handover.prune(self, ready)
        for key, step in ready.items():
            if key in self._since:
                continue
            self._since[key] = moment
            info = self.definition.steps.get(step)
            if info is not None and info.suspends_clock is not None:
                self._open_suspensions = with_entry(self._open_suspensions, key, len(self.suspensions))
                self.suspensions.append(Suspension(step, info.suspends_clock, moment))
        self._track_call_suspensions(set(ready), moment)
        sync_timers(self, moment)

    def _track_call_suspensions(self, ready: set[str], moment: datetime) -> None:
        """A call activity with ``af:suspendsClock`` suspends the case clock while its sub-process runs.

        (听证 in 一般行政许可: hearing time is not counted, 行政许可法 art. 45.) A suspension whose task is neither
        ready nor a running call activity any more ends at ``moment``.
        """
        if not self._scan.running_calls and not self._open_suspensions:
            return  # no sub-process runs and no suspension is open: nothing to start or end
        running = dict(self._scan.running_calls)
        for key, step in running.items():
            info = self.definition.steps.get(step)
            if key not in self._open_suspensions and info is not None and info.suspends_clock is not None:
                self._open_suspensions = with_entry(self._open_suspensions, key, len(self.suspensions))
                self.suspensions.append(Suspension(step, info.suspends_clock, moment))
        for key in [k for k in self._open_suspensions if k not in ready and k not in running]:
            s = self.suspensions[self._open_suspensions[key]]
            self._open_suspensions = without(self._open_suspensions, key)
            self.suspensions[self.suspensions.index(s)] = Suspension(s.step, s.reason, s.start, moment)

    def _log_failure(self, base: dict[str, Any], outcome: str) -> None:
        self._append(**base, findings=[], outcome=outcome)

    def _note_fallback(self) -> None:
        """Record on the case and in its trail each year its calendar answered weekends-only or from the law."""
        noted = (
            ("calendar-fallback", "fallback_years", self.fallback_years),
            ("calendar-provisional", "provisional_years", self.provisional_years),
        )
        for action, attribute, kept in noted:
            used = getattr(self.calendar, attribute, ())
            if not used:
                continue
            new = sorted(set(used) - kept)
            if not new:
                continue
            setattr(self, attribute, kept | set(new))
            self._state_changed()
            self._append(
                action=action,
                at=self.clock.now().isoformat(),
                step=None,
                actor=None,
                post=None,
                unit=self.unit.id,
                data={"years": new, "calendar": self.calendar.name},
                findings=[],
                outcome="noted",
            )

    def note_calendar_update(
        self, year: int, source: str, moved: list[dict[str, Any]], at: datetime | str | None = None
    ) -> None:
        """Record in the trail that ``year``'s official arrangement (``source``) now governs the case's deadlines.

        ``moved`` lists the deadlines it moved (``approvalflow calendar update``, docs/time.md); action
        ``calendar-update``, outcome ``noted``. Changes nothing else: the deadlines follow the case's calendar.
        """
        moment = parse_moment(at) if at is not None else self.clock.now()
        self._state_changed()
        self._append(
            action="calendar-update",
            at=moment.isoformat(),
            step=None,
            actor=None,
            post=None,
            unit=self.unit.id,
            data={"year": year, "source": source, "calendar": self.calendar.name, "moved": moved},
            findings=[],
            outcome="noted",
        )

    def _script_engine(self) -> SafeScriptEngine:
        key = (id(self.definition), id(self.organisation), id(self.evaluator), self.max_cardinality)
        kept = _SCRIPT_ENGINES.get(key)
        if kept is not None:
            return kept[3]
        engine = SafeScriptEngine(
            self.evaluator,
            self.definition._trusted,
            max_cardinality=self.max_cardinality,
            script_tasks=self.definition._script_tasks,
            signers=signers_hook(self.definition, self.organisation, self.max_cardinality),
        )
        if len(_SCRIPT_ENGINES) >= _MAX_SCRIPT_ENGINES:
            _SCRIPT_ENGINES.clear()
        _SCRIPT_ENGINES[key] = (self.definition, self.organisation, self.evaluator, engine)
        return engine

    def _begin(self, data: Mapping[str, Any]) -> None:
        self.data = plain_data(data, "initial case data")
        _check_parties(self.data, "initial case data")
        self._wf = new_workflow(self.definition._spec, self.definition._subprocess_specs, self._script_engine())
        for task in ready_tasks(self._wf):
            task.data.update(_copied(self.data))
        try:
            self._wf.do_engine_steps()
            self._interrupt()
        except _ENGINE_FAILURES as exc:
            raise EngineError(f"the case could not start: {_short(exc)}", case=self.id) from exc
        self._scan = scan(self._wf)
        thrown: dict[str, Any] = {}
        self._take_thrown(thrown, None)
        tl = self.definition.time_limit
        if tl is not None and tl.starts_after is None:
            self.clock_start = self.started_at
        self._mark_ready(self.started_at)
        self._append(
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
            calendar=self.calendar.name,
            **thrown,
        )


def _joined(pieces: tuple[Any, ...]) -> str:
    first, *rest = pieces
    return str(first.decode()) + "".join(rest)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copied(data: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of case data for the engine's task (shared lists or mappings could be changed in place there)."""
    return {k: v if type(v) in _SCALARS else copy.deepcopy(v) for k, v in data.items()}


def _short(exc: BaseException) -> str:
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
    calendar: WorkingCalendar | None = None,
    yellow_days: int = 1,
    trail_key: bytes | None = None,
    max_cardinality: int = MAX_CARDINALITY,
) -> Case:
    """Start a case of ``definition`` in ``unit`` of ``organisation`` (the only unit if omitted).

    ``calendar`` defaults to China's official calendar; ``yellow_days`` is how many working days before a
    deadline a yellow card (黄牌) is raised. With ``trail_key`` (a secret of at least 16 bytes the host keeps),
    every audit-trail entry is signed (HMAC-SHA256), so a rewritten trail is detected even when its hashes were
    recomputed. ``max_cardinality`` bounds multi-instance activities.
    """
    try:
        org_unit = organisation.unit(unit)
    except (KeyError, ValueError) as exc:
        message = f"unknown unit {unit!r}; units: {', '.join(organisation.units)}" if unit else str(exc)
        raise RunError(message, case=case_id) from exc
    try:
        chosen = Policy(policy)
    except ValueError as exc:
        raise RunError(f"unknown policy {policy!r}; use 'enforce' or 'record'", case=case_id) from exc
    if trail_key is not None and len(trail_key) < MIN_KEY_BYTES:
        raise RunError(
            f"a trail key must have at least {MIN_KEY_BYTES} bytes; this one has {len(trail_key)}", case=case_id
        )
    case = Case(
        definition,
        organisation,
        org_unit,
        case_id=plain_name(case_id, "case id") if case_id is not None else uuid.uuid4().hex[:12],
        clock=clock or SystemClock(),
        policy=chosen,
        evaluator=evaluator or _DEFAULT_EVALUATOR,
        rules=rules if rules is not None else RULES,
        max_depth=max_depth,
        calendar=calendar if calendar is not None else ChinaCalendar(),
        yellow_days=yellow_days,
        trail_key=trail_key,
        max_cardinality=max_cardinality,
    )
    case._begin(data or {})
    return case
