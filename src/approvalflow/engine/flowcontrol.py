"""Going back, ending early and pausing a case: 退回, 撤回, 撤销申请, 终止, 中止 / 恢复, and the case's outcome.

:class:`~approvalflow.engine.case.Case` keeps its methods thin; the operations live here:

- :func:`take_back` (撤回): the actor who completed a step takes the completion back while nothing has been done
  since (no completion, claim or other action); the step is ready again for that actor, its clock as it was.
- :func:`return_to` (退回): from a ready step back to an earlier completed step on the path that led to it (chosen
  with ``to``, or as ``af:step/@returnTo`` declares: ``previous``, ``start`` or a step id). The target step becomes
  ready for the person who did it (首办负责, :attr:`ReadyStep.assignee <approvalflow.engine.case.ReadyStep>`); its
  clock restarts; the case clock restarts only where ``af:timeLimit/@restartOnReturn="true"`` says so.
- :func:`withdraw` (撤销申请) and :func:`terminate` (终止): every open step and timer is cancelled and the case ends
  with that status and outcome.
- :func:`suspend` / :func:`resume` (中止 / 恢复): the case clock stands still while the case is suspended (a case
  suspension, ``step`` :data:`~approvalflow.time.caseclock.CASE_SUSPENSION`, counts with the ``suspendsClock`` steps,
  overlaps once); no step can be completed; open steps' limits move later by the suspended working days.
- :func:`record_outcome`: 准予 (``approved``), 不予许可 (``denied``), 不予受理 (``not-accepted``).

Every operation is recorded in the trail (actions ``take-back``, ``return``, ``withdraw``, ``terminate``,
``suspend``, ``resume``, ``outcome``); a refused one appends only its refused attempt and changes nothing else; a
failed one is rolled back. Refusals name a rule id (:data:`FLOW_RULES`), under either policy for the structural
ones; ``not-assignee`` (a returned step done by someone else) is a rule like the others (refused under ``enforce``,
recorded under ``record``).

Semantics inside parallel blocks and multi-instance steps (documented in docs/operations.md):

- the target must be an ancestor of the returning step in the engine's task tree: a step completed on the path
  that led to it. A step of another parallel branch is not (refused, ``return-target``);
- returning to a step before a parallel split returns the whole block: the other branches' open steps are
  cancelled, their completed work stays in the history and the trail;
- returning to a step inside the same branch of a block that is still open resets that branch only;
- returning to a step inside a block that has been joined since is refused (the join would wait forever for
  branches that already passed it);
- returning from an instance of a 会签 round resets the whole round (its signatures stay in the history and
  trail; the new round starts fresh); returning to a 会签 step starts a new round for all its signers; a 会签 step
  cannot return to itself, and a signature cannot be taken back (both refused);
- a target inside a sub-process, or a returning step inside one whose target is outside, is refused.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from .._spiff import (
    cancel_workflow,
    completed_tasks,
    finished_snapshot,
    multi_instance_parent,
    path_between,
    reset_to,
    scan,
    undo_reset,
)
from ..errors import InvalidInputError, StepNotReady, StepRefused, UnknownActorError
from ..rules.checks import RUNTIME, Finding
from ..time.caseclock import CASE_SUSPENSION, Suspension
from .casedata import plain_data, plain_name
from .empties import NOTHING, map_of, with_entry
from .timers import fire_timers

if TYPE_CHECKING:
    from .case import Case

__all__ = [
    "CASE_SUSPENSION",
    "ENDINGS",
    "FLOW_RULES",
    "OUTCOMES",
    "STATUSES",
    "FlowState",
    "LastCompletion",
    "assignee_findings",
    "record_outcome",
    "refuse_if_not_running",
    "resume",
    "return_to",
    "suspend",
    "take_back",
    "terminate",
    "withdraw",
]  # fmt: skip

#: Case statuses: 在办 (running), 中止 (suspended), 办结 (completed), 撤回/撤销 (withdrawn), 终止 (terminated).
STATUSES = ("running", "suspended", "completed", "withdrawn", "terminated")
#: The statuses that end a case early (every open step cancelled).
ENDINGS = ("withdrawn", "terminated")
#: Outcomes a decision records (:func:`record_outcome`): 准予, 不予许可, 不予受理. ``withdrawn`` and ``terminated`` are
#: the outcomes of the endings.
OUTCOMES = ("approved", "denied", "not-accepted")
#: Outcomes that refuse the applicant: the reason is required (行政许可法 art. 38: a refusal states its reasons).
_REFUSALS = ("denied", "not-accepted")
#: Rule ids of this module, all refused under either policy except ``not-assignee`` (a rule like the others).
FLOW_RULES = ("case-status", "flow-authority", "take-back", "return-target", "not-assignee", "outcome")
#: Trail outcomes of entries that change nothing: a later entry of one of these does not stop a take-back.
_HARMLESS = frozenset({"refused", "not-ready", "unknown-actor", "invalid-meeting", "loop-limit", "engine-error",
                       "not-waiting", "suspended", "ended"})  # fmt: skip
#: The rules of a completion that say whether the actor may act on the step at all: a return checks them.
_WHO_RULES = frozenset({"unauthorized", "other-unit", "five-not-direct", "recusal", "not-signer", "signed-twice",
                        "not-assignee"})  # fmt: skip
_NOTES = frozenset({"calendar-fallback", "calendar-provisional", "calendar-update"})


class LastCompletion(Mapping[str, Any]):
    """The case's last completion, what a take-back puts back: a read-only mapping of ``task`` (the engine task's
    id, text), ``step``, ``actor``, ``history`` (the length of the history after it), ``trail`` (the trail's count
    after it) and, only when the completion changed them, ``before`` (the data it changed: ``set``, the keys it
    changed with the values they had, and ``unset``, the keys it added, sorted), ``clock_start`` and
    ``extension_days`` (and any other key a saved case gave it: it is written back as read).

    Every open case that completed a step carries one, so it is compact: slots instead of a dict, the task id kept
    as the engine task's own id object (its text is made when read) rather than a copy of its text, and ``before``
    kept as one tuple of ``(key, value)`` pairs (:data:`ABSENT` for a key the completion added), made a mapping
    again when read.
    """

    __slots__ = ("_before", "_more", "_task", "actor", "history", "step", "trail")
    _KEYS = ("task", "step", "actor", "history", "trail")

    def __init__(self, task: object, step: str, actor: str, history: int, trail: int, more: dict[str, Any]) -> None:
        self._task = task  # the engine task's id (a UUID), or its text (read from a saved case)
        self.step, self.actor, self.history, self.trail = step, actor, history, trail
        self._before = _packed(more.get("before")) if more else None
        if self._before is not None:
            more = {k: v for k, v in more.items() if k != "before"}
        self._more = more or None  # clock_start, extension_days...: most completions have none

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> LastCompletion:
        """From a mapping with (at least) the five keys of every completion (a saved case's, checked by the caller)."""
        more = {k: v for k, v in record.items() if k not in cls._KEYS}
        return cls(record["task"], record["step"], record["actor"], record["history"], record["trail"], more)

    def __getitem__(self, key: str) -> Any:
        if key == "task":
            return str(self._task)
        if key in self._KEYS:
            return getattr(self, key)
        if key == "before" and self._before is not None:
            return _unpacked(self._before)
        if self._more is None:
            raise KeyError(key)
        return self._more[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._KEYS
        if self._before is not None:
            yield "before"
        if self._more is not None:
            yield from self._more

    def __len__(self) -> int:
        return len(self._KEYS) + (self._before is not None) + (len(self._more) if self._more is not None else 0)

    def to_dict(self) -> dict[str, Any]:
        """As a dict (the saved form), in the order of :meth:`__iter__`."""
        out = {"task": str(self._task), "step": self.step, "actor": self.actor, "history": self.history,
               "trail": self.trail}  # fmt: skip
        if self._before is not None:
            out["before"] = _unpacked(self._before)
        if self._more is not None:
            out.update(self._more)
        return out

    def __repr__(self) -> str:
        return f"LastCompletion({self.to_dict()!r})"


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""In a :class:`LastCompletion`'s packed ``before``: the key was not in the case data (the completion added it)."""


def _packed(before: Any) -> tuple[tuple[str, Any], ...] | None:
    """``before`` as pairs (the changed keys in their order, then the added ones, sorted), or None when it is not
    exactly ``{"set": {text: value}, "unset": [text, ...]}`` with its unset keys sorted, unique and not set (a saved
    case's other forms are kept as read)."""
    if not isinstance(before, dict) or set(before) != {"set", "unset"}:
        return None
    changed, added = before["set"], before["unset"]
    if not isinstance(changed, dict) or not isinstance(added, list) or not all(type(k) is str for k in changed):
        return None
    if not all(type(k) is str for k in added) or added != sorted(set(added)) or not changed.keys().isdisjoint(added):
        return None
    return (*changed.items(), *((k, ABSENT) for k in added))


def _unpacked(pairs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return {"set": {k: v for k, v in pairs if v is not ABSENT}, "unset": [k for k, v in pairs if v is ABSENT]}


@dataclass(slots=True)
class FlowState:
    """The case's status facts: how it ended early, its recorded outcome, its open case suspension, who each
    returned step belongs to, and the last completion (what a take-back puts back)."""

    ending: dict[str, Any] | None = None  # {"status", "actor", "at", "reason", "basis"}
    outcome: dict[str, Any] | None = None  # {"outcome", "actor", "at", "reason", "basis"}
    suspended: int | None = None  # index in case.suspensions of the open case suspension (中止)
    # engine task id -> person (首办负责 after 退回/撤回): replaced, never changed in place; empty: the shared NOTHING
    assigned: Mapping[str, str] = field(default_factory=lambda: NOTHING)
    last: LastCompletion | None = None  # the last completion (immutable: replaced, never changed in place)
    keep_clock: bool = False  # after a 退回 before startsAfter without restartOnReturn: its redo keeps the clock

    def copy(self) -> FlowState:
        """A copy that an action may change without changing this one."""
        return FlowState(self.ending, self.outcome, self.suspended, self.assigned, self.last, self.keep_clock)

    def to_json(self) -> dict[str, Any] | None:
        """The saved form (None when every fact is at its default: older states stay byte for byte the same)."""
        out: dict[str, Any] = {}
        if self.ending is not None:
            out["ending"] = self.ending
        if self.outcome is not None:
            out["outcome"] = self.outcome
        if self.suspended is not None:
            out["suspended"] = self.suspended
        if self.assigned:
            out["assigned"] = dict(sorted(self.assigned.items()))
        if self.last is not None:
            out["last"] = self.last.to_dict()
        if self.keep_clock:
            out["keep_clock"] = True
        return out or None

    @classmethod
    def from_json(cls, doc: Any, suspensions: int, people: Mapping[str, Any], steps: Mapping[str, Any]) -> FlowState:
        """Read a saved form back, checking every field (``ValueError`` naming it)."""
        if doc is None:
            return cls()
        if not isinstance(doc, dict) or set(doc) - {"ending", "outcome", "suspended", "assigned", "last",
                                                    "keep_clock"}:  # fmt: skip
            raise ValueError("'flow' is not a mapping of the flow facts")
        state = cls()
        ending = doc.get("ending")
        if ending is not None:
            _record(ending, "flow.ending", "status", ENDINGS, people)
            state.ending = dict(ending)
        outcome = doc.get("outcome")
        if outcome is not None:
            _record(outcome, "flow.outcome", "outcome", OUTCOMES, people)
            state.outcome = dict(outcome)
        suspended = doc.get("suspended")
        if suspended is not None and (type(suspended) is not int or not 0 <= suspended < suspensions):
            raise ValueError("'flow.suspended' points outside 'suspensions'")
        state.suspended = suspended
        assigned = doc.get("assigned", {})
        if not isinstance(assigned, dict) or any(not isinstance(v, str) or v not in people for v in assigned.values()):
            raise ValueError("'flow.assigned' must map tasks to people of the organisation")
        state.assigned = map_of((str(k), v) for k, v in assigned.items())
        last = doc.get("last")
        if last is not None:
            if (
                not isinstance(last, dict)
                or last.get("step") not in steps
                or last.get("actor") not in people
                or not isinstance(last.get("task"), str)
                or type(last.get("history")) is not int
                or type(last.get("trail")) is not int
                or not isinstance(last.get("before", {}), dict)
                or set(last.get("before", {})) - {"set", "unset"}
                or not isinstance(last.get("before", {}).get("set", {}), dict)
                or not isinstance(last.get("before", {}).get("unset", []), list)
            ):
                raise ValueError("'flow.last' is not a completion record")
            state.last = LastCompletion.of(last)
        if type(doc.get("keep_clock", False)) is not bool:
            raise ValueError("'flow.keep_clock' must be true or false")
        state.keep_clock = bool(doc.get("keep_clock", False))
        return state


def _record(value: Any, where: str, key: str, allowed: tuple[str, ...], people: Mapping[str, Any]) -> None:
    if not isinstance(value, dict) or set(value) != {key, "actor", "at", "reason", "basis"}:
        raise ValueError(f"'{where}' is not a record of {key}, actor, at, reason and basis")
    if value[key] not in allowed or value["actor"] not in people:
        raise ValueError(f"'{where}': unknown {key} or actor")
    datetime.fromisoformat(str(value["at"]))
    if any(value[k] is not None and not isinstance(value[k], str) for k in ("reason", "basis")):
        raise ValueError(f"'{where}': reason and basis are text")


# -- status --------------------------------------------------------------------------------------------------------
def status_of(case: Case) -> str:
    """The case's status (:data:`STATUSES`)."""
    flow = case._flow
    if flow.ending is not None:
        return str(flow.ending["status"])
    if case.is_completed:
        return "completed"
    if flow.suspended is not None:
        return "suspended"
    return "running"


def outcome_of(case: Case) -> str | None:
    """The case's outcome: ``withdrawn`` or ``terminated`` for an early end, else the recorded one, else None."""
    flow = case._flow
    if flow.ending is not None:
        return str(flow.ending["status"])
    return None if flow.outcome is None else str(flow.outcome["outcome"])


def refuse_if_not_running(case: Case, step: str, base: dict[str, Any]) -> None:
    """A completion of a suspended or ended case is not possible: :class:`StepNotReady` saying why (logged)."""
    flow = case._flow
    if flow.ending is not None:
        case._log_failure(base, "ended")
        raise StepNotReady(
            f"the case was {flow.ending['status']} ({_chinese(flow.ending['status'])}) at {flow.ending['at']}: "
            "nothing can be completed any more",
            case=case.id,
            step=step,
        )
    if flow.suspended is not None:
        s = case.suspensions[flow.suspended]
        case._log_failure(base, "suspended")
        raise StepNotReady(
            f"the case is suspended (中止) since {s.start.isoformat()} ({s.reason}): no step can be completed until "
            "it is resumed (Case.resume)",
            case=case.id,
            step=step,
            ready=[r.id for r in case.ready_steps()],
        )


def _chinese(status: str) -> str:
    return {"withdrawn": "撤回", "terminated": "终止", "completed": "办结", "suspended": "中止"}.get(status, "在办")


def assignee_findings(case: Case, task: Any, actor: str, moment: datetime) -> list[Finding]:
    """``not-assignee``: a step returned (or taken back) to a person may be completed by that person only."""
    if not case._flow.assigned:
        return []
    who = case._flow.assigned.get(str(task.id))
    if who is None or who == actor:
        return []
    step = task.task_spec.bpmn_id
    message = f"'{step}' was returned to {who} (首办负责): only {who} may complete it"
    return [RUNTIME.finding("not-assignee", message, element=step, actor=actor, at=moment)]


# -- helpers ----------------------------------------------------------------------------------------------------
def _text(case: Case, value: Any, what: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    text = plain_data({what: value}, f"the {what}")[what]
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(f"the {what} must be a non-empty text", case=case.id)
    return text


def _base(
    case: Case, action: str, step: str | None, actor: str, moment: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {"action": action, "at": moment.isoformat(), "step": step, "actor": actor, "post": None,
            "unit": case.unit.id, "data": {k: v for k, v in data.items() if v is not None}}  # fmt: skip


def _begin(case: Case, actor: Any, at: datetime | str | None, step: str | None) -> tuple[str, datetime]:
    actor = plain_name(actor, "actor")
    moment = case._moment(at, step)
    fire_timers(case, moment)
    return actor, moment


def _known(case: Case, actor: str, base: dict[str, Any]) -> Any:
    person = case.organisation.person(actor)
    if person is None:
        case._log_failure(base, "unknown-actor")
        raise UnknownActorError(f"'{actor}' is not a person of the organisation", case=case.id, step=base["step"])
    return person


def _refuse(case: Case, base: dict[str, Any], rule: str, message: str, moment: datetime) -> NoReturn:
    finding = RUNTIME.finding(rule, message, element=base["step"], actor=base["actor"], at=moment)
    case._append(**base, findings=[finding.to_dict()], outcome="refused")
    raise StepRefused(case=case.id, step=base["step"] or "(case)", actor=base["actor"], findings=[finding])


def _need_status(case: Case, base: dict[str, Any], moment: datetime, allowed: tuple[str, ...], what: str) -> None:
    status = status_of(case)
    if status not in allowed:
        _refuse(case, base, "case-status", f"{what} is not possible: the case is {status} ({_chinese(status)})", moment)


def _leader(case: Case, person: Any, base: dict[str, Any], moment: datetime, what: str) -> None:
    """[UNSOURCED] choice: 终止 and 中止/恢复 are decisions of the organ: its principal or a deputy of the case's
    unit (本机关负责人, as 行政许可法 art. 42 has the organ's head approve an extension)."""
    unit = case.unit
    if person.unit != unit.id or not (person.id == unit.principal or person.id in unit.deputies):
        _refuse(case, base, "flow-authority", f"{what} is decided by the principal or a deputy of unit '{unit.id}' "
                f"(本机关负责人); {person.id} is neither", moment)  # fmt: skip


def _in_unit(case: Case, person: Any, base: dict[str, Any], moment: datetime, what: str) -> None:
    """[UNSOURCED] choice: a withdrawal is recorded by a person of the case's unit (the applicant asks the organ)."""
    if person.unit != case.unit.id:
        _refuse(case, base, "flow-authority", f"{what} is recorded by a person of unit '{case.unit.id}'; "
                f"{person.id} belongs to '{person.unit}'", moment)  # fmt: skip


@contextmanager
def _resetting(case: Case) -> Iterator[None]:
    """Inside :meth:`Case._all_or_nothing`: also put back the finished tasks a reset changes, on failure."""
    kept = finished_snapshot(case.engine_workflow)
    try:
        yield
    except BaseException:
        undo_reset(kept)
        raise


def _close_case_suspension(case: Case, moment: datetime) -> None:
    flow = case._flow
    if flow.suspended is not None:
        s = case.suspensions[flow.suspended]
        case.suspensions[flow.suspended] = Suspension(s.step, s.reason, s.start, max(moment, s.start))
        flow.suspended = None


# -- ending early: 撤销申请, 终止 ----------------------------------------------------------------------------------
def _end(case: Case, action: str, status: str, actor: Any, reason: Any, basis: Any, at: datetime | str | None) -> None:
    actor, moment = _begin(case, actor, at, None)
    reason_text = _text(case, reason, "reason")
    basis_text = _text(case, basis, "basis", required=status == "terminated")
    base = _base(case, action, None, actor, moment, {"reason": reason_text, "basis": basis_text})
    person = _known(case, actor, base)
    what = "撤销申请 (withdraw)" if status == "withdrawn" else "终止 (terminate)"
    _need_status(case, base, moment, ("running", "suspended"), what)
    if status == "terminated":
        _leader(case, person, base, moment, what)
    else:
        _in_unit(case, person, base, moment, what)
    with case._all_or_nothing(base):
        _close_case_suspension(case, moment)
        cancelled = cancel_workflow(case.engine_workflow)
        case._scan = scan(case.engine_workflow)
        case._flow.ending = {"status": status, "actor": actor, "at": moment.isoformat(), "reason": reason_text,
                             "basis": basis_text}  # fmt: skip
        case._flow.assigned = NOTHING
        case._flow.last = None
        case.ended_at = moment
        case._mark_ready(moment)
        case._append(**base, findings=[], outcome=status, cancelled=cancelled)


def withdraw(case: Case, actor: Any, *, reason: Any, at: datetime | str | None = None) -> None:
    """撤销申请: the applicant withdraws; recorded by ``actor``, a person of the case's unit."""
    _end(case, "withdraw", "withdrawn", actor, reason, None, at)


def terminate(case: Case, actor: Any, *, reason: Any, basis: Any, at: datetime | str | None = None) -> None:
    """终止: the organ ends the case with a reason and its legal basis; ``actor`` is its principal or a deputy."""
    _end(case, "terminate", "terminated", actor, reason, basis, at)


# -- pausing: 中止 / 恢复 ----------------------------------------------------------------------------------------------
def suspend(case: Case, actor: Any, *, reason: Any, basis: Any = None, at: datetime | str | None = None) -> None:
    """中止: the case clock stands still from ``at`` until :func:`resume`; no step can be completed meanwhile."""
    actor, moment = _begin(case, actor, at, None)
    reason_text = _text(case, reason, "reason")
    basis_text = _text(case, basis, "basis", required=False)
    base = _base(case, "suspend", None, actor, moment, {"reason": reason_text, "basis": basis_text})
    person = _known(case, actor, base)
    _need_status(case, base, moment, ("running",), "中止 (suspend)")
    _leader(case, person, base, moment, "中止 (suspend)")
    with case._all_or_nothing(base):
        case._flow.suspended = len(case.suspensions)
        case.suspensions.append(Suspension(CASE_SUSPENSION, f"中止: {reason_text}", moment))
        case._append(**base, findings=[], outcome="suspended")


def resume(case: Case, actor: Any, *, at: datetime | str | None = None) -> None:
    """恢复: the case clock runs again; the case deadlines and open steps' limits have moved later by the
    working days suspended (SPEC-style counting: the days after the suspension's date up to the resumption's)."""
    actor, moment = _begin(case, actor, at, None)
    base = _base(case, "resume", None, actor, moment, {})
    person = _known(case, actor, base)
    _need_status(case, base, moment, ("suspended",), "恢复 (resume)")
    _leader(case, person, base, moment, "恢复 (resume)")
    start = case.suspensions[case._flow.suspended or 0].start
    if moment < start:
        raise InvalidInputError(
            f"the case cannot resume at {moment.isoformat()}, before it was suspended ({start.isoformat()})",
            case=case.id,
        )
    with case._all_or_nothing(base):
        _close_case_suspension(case, moment)
        case._append(**base, findings=[], outcome="resumed")


# -- the outcome -------------------------------------------------------------------------------------------------
def record_outcome(
    case: Case, actor: Any, outcome: Any, *, reason: Any = None, basis: Any = None, at: datetime | str | None = None
) -> None:
    """Record the case's decision outcome (:data:`OUTCOMES`), once; a refusal needs its reason (art. 38)."""
    actor, moment = _begin(case, actor, at, None)
    if outcome not in OUTCOMES:
        raise InvalidInputError(f"unknown outcome {str(outcome)[:40]!r}; use {', '.join(OUTCOMES)}", case=case.id)
    reason_text = _text(case, reason, "reason", required=outcome in _REFUSALS)
    basis_text = _text(case, basis, "basis", required=False)
    base = _base(case, "outcome", None, actor, moment, {"outcome": outcome, "reason": reason_text,
                                                         "basis": basis_text})  # fmt: skip
    _known(case, actor, base)
    _need_status(case, base, moment, ("running", "completed"), "recording an outcome")
    if case._flow.outcome is not None:
        _refuse(case, base, "outcome", f"the case's outcome was recorded already ({case._flow.outcome['outcome']} "
                f"at {case._flow.outcome['at']}); an outcome is recorded once", moment)  # fmt: skip
    with case._all_or_nothing(base):
        case._flow.outcome = {"outcome": outcome, "actor": actor, "at": moment.isoformat(), "reason": reason_text,
                              "basis": basis_text}  # fmt: skip
        case._append(**base, findings=[], outcome="recorded-outcome")


# -- 撤回: taking a completion back ----------------------------------------------------------------------------------
def note_completion(
    case: Case, task: Any, step: str, actor: str, before: dict[str, Any], facts: dict[str, Any]
) -> None:
    """After a completion: what a take-back of it would put back (the data keys it changed, the clock start...).

    Only what the completion changed is kept (most completions change no clock fact, many no data): every case
    that completed a step carries this record while it is open, so it is kept small."""
    more: dict[str, Any] = {}
    if before["set"] or before["unset"]:
        more["before"] = before
    now = {"clock_start": case.clock_start.isoformat() if case.clock_start else None,
           "extension_days": case.extension_days}  # fmt: skip
    more.update((k, v) for k, v in facts.items() if now.get(k, v) != v)
    case._flow.last = LastCompletion(task.id, step, actor, len(case.history), case.trail.count, more)


def data_before(case: Case, changes: Mapping[str, Any]) -> dict[str, Any]:
    """What the keys of ``changes`` hold in the case data now: ``set`` (key -> value) and ``unset`` (absent keys)."""
    return {
        "set": {k: case.data[k] for k in changes if k in case.data},
        "unset": sorted(k for k in changes if k not in case.data),
    }


def take_back(case: Case, step: Any, actor: Any, *, reason: Any, at: datetime | str | None = None) -> None:
    """撤回: ``actor`` takes back the completion of ``step`` (see the module's docstring)."""
    actor, moment = _begin(case, actor, at, None)
    step = plain_name(step, "step")
    reason_text = _text(case, reason, "reason")
    base = _base(case, "take-back", step, actor, moment, {"reason": reason_text})
    _known(case, actor, base)
    _need_status(case, base, moment, ("running", "completed"), "撤回 (take back)")
    last = case._flow.last
    info = case.definition.steps.get(step)
    if info is not None and info.countersign is not None:
        _refuse(case, base, "take-back", f"'{step}' is signed by several people (会签): a signature cannot be taken "
                "back; return the step instead (退回)", moment)  # fmt: skip
    if last is None or last["step"] != step or last["history"] != len(case.history):
        done = f"'{last['step']}' by {last['actor']}" if last is not None else "nothing that can be taken back"
        _refuse(case, base, "take-back", f"only the case's last completion can be taken back; it is {done}", moment)
    if last["actor"] != actor:
        _refuse(case, base, "take-back", f"'{step}' was completed by {last['actor']}: only they may take it back",
                moment)  # fmt: skip
    touched = [e for e in case.trail.entries_from(last["trail"]) if not _harmless(e)]
    if touched:
        e = touched[0]
        _refuse(case, base, "take-back", f"the next step was acted on since the completion of '{step}' "
                f"({e.get('action')} by {e.get('actor')} at {e.get('at')})", moment)  # fmt: skip
    task = _task_by_id(case, last["task"])
    if task is None:
        _refuse(case, base, "take-back", f"the completion of '{step}' is no longer in the case", moment)
    with case._all_or_nothing(base), _resetting(case):
        reset_to(case.engine_workflow, task)
        case._scan = scan(case.engine_workflow)
        before = last.get("before", {})
        for key in before.get("unset", []):
            case.data.pop(key, None)
        case.data.update(copy.deepcopy(before.get("set", {})))
        undone = case.history.pop()
        if case.opinions and (case.opinions[-1].step, case.opinions[-1].actor, case.opinions[-1].at) == (
            undone.step,
            undone.actor,
            undone.at,
        ):  # its opinion goes with it (the trail keeps both): an 意见 panel shows no opinion of an undone completion
            case.opinions.pop()
        case.ended_at = None
        if "clock_start" in last:
            case.clock_start = datetime.fromisoformat(last["clock_start"]) if last["clock_start"] else None
        if "extension_days" in last:
            case.extension_days = last["extension_days"]
        new = next((t for t in case._scan.ready if t.task_spec.bpmn_id == step), None)
        if new is not None:
            # its clock as it was: a take-back does not buy time (a new map: the one a rollback puts back is unchanged)
            case._since = {**case._since, str(new.id): undone.since}
            case._flow.assigned = with_entry(case._flow.assigned, str(new.id), actor)
        case._flow.last = None
        case._mark_ready(moment)
        case._append(**base, findings=[], outcome="taken-back")


def _harmless(entry: Mapping[str, Any]) -> bool:
    return entry.get("outcome") in _HARMLESS or entry.get("action") in _NOTES


def _task_by_id(case: Case, key: str) -> Any:
    wf = case.engine_workflow
    for w in (wf, *wf.subprocesses.values()):
        for task in w.tasks.values():
            if str(task.id) == key:
                return task
    return None


# -- 退回: returning to an earlier step ------------------------------------------------------------------------------
def return_to(
    case: Case, step: Any, actor: Any, *, to: Any = None, reason: Any, at: datetime | str | None = None
) -> str:
    """退回 from the ready ``step`` to ``to`` (or the step's ``af:step/@returnTo``); returns the target step id."""
    actor, moment = _begin(case, actor, at, None)
    step = plain_name(step, "step")
    target_name = plain_name(to, "target step") if to is not None else None
    reason_text = _text(case, reason, "reason")
    base = _base(case, "return", step, actor, moment, {"to": target_name, "reason": reason_text})
    _known(case, actor, base)
    _need_status(case, base, moment, ("running",), "退回 (return)")
    task = case._find_ready(step, base)
    info = case.definition.steps[step]
    # The actor must be one who may act on the step now (its posts, unit, signers, recusal...).
    findings = [f for f in case.check(step, actor, at=moment) if f.rule in _WHO_RULES]
    if findings and (case.policy.value == "enforce" or any(f.rule in ("not-signer", "signed-twice") for f in findings)):
        case._append(**base, findings=[f.to_dict() for f in findings], outcome="refused")
        raise StepRefused(case=case.id, step=step, actor=actor, findings=findings)
    declared = info.return_to
    wanted = target_name or declared
    if wanted is None:
        _refuse(case, base, "return-target", f"name the step to return to (to=...): '{step}' declares none "
                "(af:step/@returnTo)", moment)  # fmt: skip
    anchor = multi_instance_parent(task) or task
    target = _target(case, base, anchor, step, wanted, moment)
    path = path_between(target, anchor) or []
    joins = sum(1 for role, _ in path if role == "join")
    splits = sum(1 for role, _ in path if role == "split")
    if joins > splits:
        _refuse(
            case,
            base,
            "return-target",
            f"'{target.task_spec.bpmn_id}' lies inside a parallel block that has "
            "been joined since: return to a step before the block's split (the whole block runs again)",
            moment,
        )
    target_id = str(target.task_spec.bpmn_id)
    base["data"]["to"] = target_id
    who = _completer(case, target_id)
    tl = case.definition.time_limit
    crosses_start = (
        tl is not None
        and tl.starts_after is not None
        and (tl.starts_after == target_id or any(bpmn == tl.starts_after for _r, bpmn in path))
    )
    with case._all_or_nothing(base), _resetting(case):
        reset_to(case.engine_workflow, target)
        case._scan = scan(case.engine_workflow)
        if crosses_start and tl is not None:
            if tl.restart_on_return:
                case.clock_start = None  # restarts when the startsAfter step is completed again (条例 art. 30)
            else:
                case._flow.keep_clock = True
        case._flow.last = None
        case._mark_ready(moment)
        target_info = case.definition.steps[target_id]
        if who is not None and target_info.countersign is None:
            for t in case._scan.ready:
                if t.task_spec.bpmn_id == target_id:
                    case._flow.assigned = with_entry(case._flow.assigned, str(t.id), who)
        case.findings.extend(findings)  # under record: the return went through, its findings are kept
        case._append(**base, findings=[f.to_dict() for f in findings], outcome="returned")
    return target_id


def _target(case: Case, base: dict[str, Any], anchor: Any, step: str, wanted: str, moment: datetime) -> Any:
    """The completed engine task to return to: on the path that led to ``anchor``."""
    if wanted in ("previous", "start"):
        manual = [bpmn for role, bpmn in (path_between(anchor.workflow.task_tree, anchor) or []) if role == "task"]
        steps = [b for b in manual[1:] if b is not None and b in case.definition.steps and b != step]
        if not steps:
            _refuse(case, base, "return-target", f"'{step}' has no earlier completed step to return to", moment)
        wanted = steps[0] if wanted == "previous" else steps[-1]
    if wanted not in case.definition.steps:
        _refuse(case, base, "return-target", f"'{wanted}' is not a step of process '{case.definition.id}'", moment)
    if wanted == step:
        _refuse(case, base, "return-target", f"'{step}' cannot return to itself (a 会签 round, or a step that is "
                "ready, is not completed)", moment)  # fmt: skip
    candidates = completed_tasks(case.engine_workflow, wanted)
    on_path = [t for t in candidates if path_between(t, anchor) is not None]
    if not on_path:
        if any(t.workflow is not anchor.workflow for t in candidates) or anchor.workflow is not case.engine_workflow:
            why = "a return into or out of a sub-process (call activity) is not supported"
        elif candidates:
            why = (
                "it lies on another parallel branch, or inside a parallel block that has been joined since: "
                "return to a step before the block's split (the whole block runs again)"
            )
        else:
            why = "it has not been completed on the path that led here"
        _refuse(case, base, "return-target", f"'{step}' cannot return to '{wanted}': {why}", moment)
    nearest = min(on_path, key=lambda t: len(path_between(t, anchor) or []))
    return multi_instance_parent(nearest) or nearest


def _completer(case: Case, step: str) -> str | None:
    for done in reversed(case.history):
        if done.step == step:
            return done.actor
    return None
