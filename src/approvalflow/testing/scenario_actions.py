"""What each ``action`` of a scenario step does to the case (SPEC section 6, docs/operations.md).

A step without ``action`` completes ``task`` as ``actor``. Each action is a function of the case and the step, run
after the scenario's fake clock was set to the step's moment; a :class:`~approvalflow.errors.StepRefused` it raises
is listed in the scenario's ``refused`` and the scenario goes on, any other
:class:`~approvalflow.errors.RunError` makes the scenario invalid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from ..engine.case import Case
    from .scenario import ScenarioStep

__all__ = ["ACTIONS"]


def _complete(case: Case, step: ScenarioStep) -> None:
    """Complete ``task`` as ``actor`` (the task is checked when the scenario is loaded), with ``opinion``,
    ``comment`` and ``attachments`` when given."""
    case.complete(step.task or "", step.actor, data=step.data, meeting=step.meeting, opinion=step.opinion,
                  comment=step.comment, attachments=step.attachments)  # fmt: skip


def _needs(step: ScenarioStep, *keys: str) -> None:
    missing = [k for k in keys if getattr(step, k) is None]
    if missing:
        raise InvalidInputError(f"action '{step.action}' needs {', '.join(missing)}")


def _notify_missing(case: Case, step: ScenarioStep) -> None:
    """一次告知 as ``actor``: ``missing`` (default: every missing material), at ``task`` if given, ``comment``."""
    case.notify_missing(step.actor, missing=step.missing, step=step.task, text=step.comment)


def _supplement(case: Case, step: ScenarioStep) -> None:
    """补正 by ``actor`` (the applicant, or an official receiving them): ``materials``."""
    _needs(step, "materials")
    case.supplement(step.actor, materials=step.materials or [])


def _add_signer(case: Case, step: ScenarioStep) -> None:
    """加签 on ``task`` as ``actor``: ``person``, ``reason``, ``position`` (依次审批)."""
    _needs(step, "task", "person", "reason")
    case.add_signer(step.task or "", step.actor, step.person or "", position=step.position, reason=step.reason or "")


def _remove_signer(case: Case, step: ScenarioStep) -> None:
    """减签 on ``task`` as ``actor``: ``person``, ``reason``."""
    _needs(step, "task", "person", "reason")
    case.remove_signer(step.task or "", step.actor, step.person or "", reason=step.reason or "")


def _take_back(case: Case, step: ScenarioStep) -> None:
    """撤回: ``actor`` takes back the completion of ``task`` (``reason``)."""
    case.take_back(step.task or "", step.actor, reason=step.reason or "")


def _return(case: Case, step: ScenarioStep) -> None:
    """退回 from ``task`` to ``to`` (``previous``, ``start``, a step id, or absent: as the step declares)."""
    if isinstance(step.to, list):
        raise InvalidInputError("'return' takes one step in 'to' (a step id, previous or start), not a list")
    case.return_to(step.task or "", step.actor, to=step.to, reason=step.reason or "")


def _withdraw(case: Case, step: ScenarioStep) -> None:
    """撤销申请 recorded by ``actor`` (``reason``)."""
    case.withdraw(step.actor, reason=step.reason or "")


def _terminate(case: Case, step: ScenarioStep) -> None:
    """终止 by ``actor`` (``reason``, ``basis``)."""
    case.terminate(step.actor, reason=step.reason or "", basis=step.basis or "")


def _suspend(case: Case, step: ScenarioStep) -> None:
    """中止 by ``actor`` (``reason``, optional ``basis``)."""
    case.suspend(step.actor, reason=step.reason or "", basis=step.basis)


def _resume(case: Case, step: ScenarioStep) -> None:
    """恢复 by ``actor``."""
    case.resume(step.actor)


def _outcome(case: Case, step: ScenarioStep) -> None:
    """Record the outcome (``outcome``: approved, denied, not-accepted; ``reason``, ``basis``)."""
    case.record_outcome(step.actor, step.outcome or "", reason=step.reason, basis=step.basis)


def _task(step: ScenarioStep) -> str:
    if step.task is None:
        raise InvalidInputError(f"'{step.action}' needs 'task' (the step it is about)")
    return step.task


def _receiver(step: ScenarioStep) -> str:
    if not isinstance(step.to, str):
        raise InvalidInputError(f"'{step.action}' needs 'to': the person who receives the step")
    return step.to


def _claim(case: Case, step: ScenarioStep) -> None:
    """签收 ``task`` as ``actor`` (``instance`` optional)."""
    case.claim(_task(step), step.actor, instance=step.instance)


def _unclaim(case: Case, step: ScenarioStep) -> None:
    """退签 ``task`` as ``actor``."""
    case.unclaim(_task(step), step.actor, instance=step.instance)


def _transfer(case: Case, step: ScenarioStep) -> None:
    """转办 ``task`` from ``actor`` to ``to`` with ``reason``."""
    case.transfer(_task(step), step.actor, _receiver(step), reason=step.reason or "", instance=step.instance)


def _delegate(case: Case, step: ScenarioStep) -> None:
    """委派 ``task`` from ``actor`` to ``to`` with ``reason``; ``to`` then completes it (resolve)."""
    case.delegate(_task(step), step.actor, _receiver(step), reason=step.reason or "", instance=step.instance)


def _cc(case: Case, step: ScenarioStep) -> None:
    """抄送 the people ``to`` (a list) from ``actor``, about ``task`` if given, with ``note``."""
    people = [step.to] if isinstance(step.to, str) else step.to
    if not people:
        raise InvalidInputError("'cc' needs 'to': the people copied")
    case.cc(step.actor, people, step=step.task, note=step.note)


def _urge(case: Case, step: ScenarioStep) -> None:
    """催办 ``task`` as ``actor``, with ``note``."""
    case.urge(step.actor, _task(step), note=step.note)


def _evaluate(case: Case, step: ScenarioStep) -> None:
    """好差评 of the completed case by ``actor`` (the applicant): ``grade``, ``comment`` (文字评价, required for a
    差评), ``note`` (评价渠道). In a scenario (one case, no store) a 差评 opens no 整改 case."""
    _needs(step, "grade")
    case.evaluate(step.actor, step.grade or "", text=step.comment, channel=step.note)


#: action name -> what it does
ACTIONS: dict[str, Callable[[Case, ScenarioStep], object]] = {
    "complete": _complete,
    "notify-missing": _notify_missing,
    "supplement": _supplement,
    "add-signer": _add_signer,
    "remove-signer": _remove_signer,
    "take-back": _take_back,
    "return": _return,
    "withdraw": _withdraw,
    "terminate": _terminate,
    "suspend": _suspend,
    "resume": _resume,
    "outcome": _outcome,
    "claim": _claim,
    "unclaim": _unclaim,
    "transfer": _transfer,
    "delegate": _delegate,
    "cc": _cc,
    "urge": _urge,
    "evaluate": _evaluate,
}
