"""Static findings of ``validate`` and the severity of each rule.

A :class:`StaticFinding` says which rule (a stable id of SPEC section 4),
how bad (``error``, ``warning``, ``info``), where (file, line, element) and
what to do. ``to_json`` gives the object of SPEC section 7.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["SEVERITY", "Severity", "StaticFinding", "finding"]

Severity = Literal["error", "warning", "info"]

# One severity per rule (docs/validate.md says why for each).
SEVERITY: dict[str, Severity] = {
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
}


@dataclass(frozen=True)
class StaticFinding:
    """One finding of a static check: rule id, severity, where, and a message that says what to do."""

    rule: str
    severity: Severity
    file: str | None
    line: int | None
    element: str | None
    message: str

    def to_json(self) -> dict[str, object]:
        """The JSON object of SPEC section 7."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "element": self.element,
            "message": self.message,
        }

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file or "", self.line or 0, self.rule, self.element or "")


def finding(rule: str, message: str, *, file: str | None, line: int | None, element: str | None) -> StaticFinding:
    """A finding with the severity fixed for ``rule`` (``KeyError`` for an unknown rule id)."""
    return StaticFinding(rule, SEVERITY[rule], file, line, element, message)
