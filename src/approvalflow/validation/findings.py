"""The rules of ``validate`` (:data:`STATIC`: each rule id with its severity) and the findings they make.

A static finding is the package's one :class:`~approvalflow.rules.findings.Finding`, located by ``file``,
``line`` and ``element``: which rule (a stable id of SPEC section 4), how bad (``error``, ``warning``,
``info``), where and what to do. ``to_json`` gives the object of SPEC section 7. :class:`StaticFinding` is the
same class under its former name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..rules.findings import Finding, Severity
from ..rules.registry import Registry

if TYPE_CHECKING:
    from .context import Context

__all__ = ["SEVERITY", "STATIC", "Severity", "StaticFinding", "finding"]

#: A finding of ``validate`` (the former name of :class:`~approvalflow.rules.findings.Finding`).
StaticFinding = Finding

#: The static checks: one severity per rule (docs/validate.md says why for each); the checks register themselves
#: with :func:`approvalflow.validation.context.check`.
STATIC: Registry[Context] = Registry(
    "validate",
    {
        # the file itself
        "invalid-bpmn": "error",
        "invalid-annotation": "error",
        "not-executable": "error",
        "unknown-step-ref": "error",
        # structural soundness
        "unreachable": "error",
        "dead-end": "error",
        "deadlock": "error",
        "no-sync": "error",
        "missing-default": "warning",
        "analysis-incomplete": "info",
        "uncaught-error": "warning",
        # compliance
        "no-posts": "warning",
        "no-time-limit": "warning",
        "risk-coverage": "warning",
        "time-budget": "error",
        "requires-not-dominating": "error",
        # organisation
        "staffing": "error",
        "org-five-not-direct": "error",
        "org-all-five": "error",
    },
)

#: rule id -> severity (the registry's table).
SEVERITY: dict[str, Severity] = STATIC.severity


def finding(rule: str, message: str, *, file: str | None, line: int | None, element: str | None) -> Finding:
    """A finding with the severity fixed for ``rule`` (``KeyError`` for an unknown rule id)."""
    return STATIC.finding(rule, message, file=file, line=line, element=element)
