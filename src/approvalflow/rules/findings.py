"""The one finding type of the package: a rule broken, how bad, where, and what to do.

Every check reports :class:`Finding`: the run-time rules of each completion (SPEC section 4), the static checks
of ``validate`` and the checks of ``catalog check``. A finding has a stable rule id, a :data:`Severity` and a
location, whichever applies:

* a BPMN element (``element``; at run time the step, also readable as ``step``), with the ``actor`` and the
  moment (``at``) of the completion it is about;
* a place in a file: ``file`` and ``line`` (static findings of ``validate``);
* a cell of a table: ``sheet`` (权力清单 / 廉政风险点), ``row`` and ``column`` header, and the ``power``
  (职权编码) of the row (``catalog check``).

The JSON objects are those the contract fixes, one shape per report: :meth:`Finding.to_dict` for run-time
findings (``rule``, ``task``, ``actor``, ``message``, ``at``, ``severity``: ``run --json`` and saved cases) and
:meth:`Finding.to_json` for the reports of static and catalog checks (``rule``, ``severity``, ``file``,
``line``, ``element``, ``message``; a finding in a table gives ``sheet``, ``row``, ``column`` and ``power``
instead of ``file``, ``line`` and ``element``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from typing import Literal, TypeGuard, get_args

from ..errors import InvalidInputError

__all__ = ["SEVERITIES", "Finding", "Severity", "is_severity"]

Severity = Literal["error", "warning", "info"]

#: The severities, worst first.
SEVERITIES: tuple[Severity, ...] = get_args(Severity)


def is_severity(value: object) -> TypeGuard[Severity]:
    """True when ``value`` is one of :data:`SEVERITIES`."""
    return isinstance(value, str) and value in SEVERITIES


@dataclass(frozen=True)
class Finding:
    """A rule broken (or a time limit passed): the rule id, where, who, why, and how bad.

    The first fields are positional, as rules write them: ``Finding(rule, step, actor, message, at, severity)``;
    a location in a file or a table is given by keyword (``file=``, ``line=``, ``sheet=``, ``row=``,
    ``column=``, ``power=``).
    """

    rule: str
    element: str | None  # the BPMN element: the step at run time, any node, flow or process for static checks
    actor: str | None
    message: str
    at: datetime | None = None
    severity: Severity = "error"
    _: KW_ONLY
    file: str | None = None
    line: int | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    power: str | None = None

    def __post_init__(self) -> None:
        if not is_severity(self.severity):
            raise ValueError(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")

    @property
    def step(self) -> str | None:
        """The step a run-time finding is about (the same as ``element``)."""
        return self.element

    def where(self) -> str:
        """The location for people: ``file:line element``, ``sheet row 7, column 职权编码`` or the step."""
        if self.sheet is not None or self.row is not None:
            parts = [p for p in (self.sheet, None if self.row is None else f"row {self.row}") if p]
            text = " ".join(parts)
            return f"{text}, column {self.column}" if self.column else text
        place = (self.file or "") + (f":{self.line}" if self.line is not None else "")
        return " ".join(p for p in (place, self.element or "") if p)

    def to_dict(self) -> dict[str, object]:
        """The JSON object of a run-time finding (SPEC section 6: ``violations``)."""
        return {
            "rule": self.rule,
            "task": self.element,
            "actor": self.actor,
            "message": self.message,
            "at": self.at.isoformat() if self.at else None,
            "severity": self.severity,
        }

    @classmethod
    def from_dict(cls, doc: object) -> Finding:
        """The finding :meth:`to_dict` wrote; ``InvalidInputError`` (a ``ValueError``) for anything else."""
        if not isinstance(doc, Mapping):
            raise InvalidInputError("a finding is not a mapping")
        rule, task, actor, at = doc.get("rule"), doc.get("task"), doc.get("actor"), doc.get("at")
        message, severity = doc.get("message", ""), doc.get("severity", "error")
        if not isinstance(rule, str) or not rule:
            raise InvalidInputError("a finding's 'rule' is not a rule id")
        for name, value in (("task", task), ("actor", actor), ("at", at)):
            if value is not None and not isinstance(value, str):
                raise InvalidInputError(f"a finding's {name!r} is not text")
        if not isinstance(message, str):
            raise InvalidInputError("a finding's 'message' is not text")
        if not is_severity(severity):
            raise InvalidInputError(f"a finding's 'severity' is not one of {', '.join(SEVERITIES)}")
        moment = datetime.fromisoformat(at) if isinstance(at, str) else None
        if moment is not None and moment.tzinfo is None:
            raise InvalidInputError(f"a finding's moment {at!r} has no time zone")
        return cls(rule, task if isinstance(task, str) else None, actor if isinstance(actor, str) else None,
                   message, moment, severity)  # fmt: skip

    def to_json(self) -> dict[str, object]:
        """The JSON object of a static finding (SPEC section 7), or of a finding in a catalog's table."""
        if self.sheet is not None:
            return {
                "rule": self.rule,
                "severity": self.severity,
                "sheet": self.sheet,
                "row": self.row,
                "column": self.column,
                "power": self.power,
                "message": self.message,
            }
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "element": self.element,
            "message": self.message,
        }

    def sort_key(self) -> tuple[str, int, str, str]:
        """File, line, rule and element: the order ``validate`` reports in."""
        return (self.file or "", self.line or 0, self.rule, self.element or "")
