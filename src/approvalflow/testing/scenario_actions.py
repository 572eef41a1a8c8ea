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


#: action name -> what it does
ACTIONS: dict[str, Callable[[Case, ScenarioStep], object]] = {
    "complete": _complete,
    "notify-missing": _notify_missing,
    "supplement": _supplement,
    "add-signer": _add_signer,
    "remove-signer": _remove_signer,
}
