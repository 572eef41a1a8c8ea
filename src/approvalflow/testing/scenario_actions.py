"""What each ``action`` of a scenario step does to the case (SPEC section 6, docs/operations.md).

A step without ``action`` completes ``task`` as ``actor``. Each action is a function of the case and the step, run
after the scenario's fake clock was set to the step's moment; a :class:`~approvalflow.errors.StepRefused` it raises
is listed in the scenario's ``refused`` and the scenario goes on, any other
:class:`~approvalflow.errors.RunError` makes the scenario invalid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.case import Case
    from .scenario import ScenarioStep

__all__ = ["ACTIONS"]


def _complete(case: Case, step: ScenarioStep) -> None:
    """Complete ``task`` as ``actor`` (the task is checked when the scenario is loaded)."""
    case.complete(step.task or "", step.actor, data=step.data, meeting=step.meeting)


#: action name -> what it does
ACTIONS: dict[str, Callable[[Case, ScenarioStep], object]] = {
    "complete": _complete,
}
