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
    """Complete ``task`` as ``actor`` (the task is checked when the scenario is loaded)."""
    case.complete(step.task or "", step.actor, data=step.data, meeting=step.meeting)


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


#: action name -> what it does
ACTIONS: dict[str, Callable[[Case, ScenarioStep], object]] = {
    "complete": _complete,
    "claim": _claim,
    "unclaim": _unclaim,
    "transfer": _transfer,
    "delegate": _delegate,
    "cc": _cc,
    "urge": _urge,
}
