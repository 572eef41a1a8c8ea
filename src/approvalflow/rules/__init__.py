"""The rules checked at every step (segregation, recusal, collective decisions, time limits...) and their registry.

Layer 5: imports :mod:`approvalflow.org`, :mod:`approvalflow.time` and :mod:`approvalflow.bpmn`. A rule is a
function from a :class:`StepAttempt` to :class:`Finding` objects, registered under a stable id with
:func:`register_rule` (in :data:`RULES`); see ``docs/rules.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .checks import RULES, RUNTIME, Completion, Rule, StepAttempt, register_rule
    from .findings import SEVERITIES, Finding, Severity
    from .registry import Registry

__all__ = [
    "RULES", "RUNTIME", "SEVERITIES", "Completion", "Finding", "Registry", "Rule", "Severity", "StepAttempt",
    "register_rule",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".checks": "RULES RUNTIME Completion Rule StepAttempt register_rule",
    ".findings": "SEVERITIES Finding Severity",
    ".registry": "Registry",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
