"""The exception tree of approvalflow.

Every error the library raises derives from :class:`ApprovalflowError`.
Errors about what was *given* (a BPMN file, an organisation file, a scenario,
a calendar, a serialized case) are :class:`DefinitionError` and name the file,
line and element; errors about what *happened* while a case runs are
:class:`RunError` and name the case, the step and the rule::

    ApprovalflowError
    ├── DefinitionError            file, line, element
    │   ├── XmlError               not well-formed, DTD/entities, too large
    │   ├── BpmnError              not valid BPMN 2.0 (schema, structure)
    │   ├── ExtensionError         unknown or invalid af: element or attribute
    │   ├── UnsafeContentError     condition or script that could run code
    │   ├── UnknownReferenceError  a step, process or call activity that is not there
    │   ├── NotExecutableError     a model the engine cannot run
    │   ├── OrganisationError      organisation file (SPEC section 3)
    │   ├── ScenarioError          scenario file (SPEC section 6)
    │   ├── CalendarError          a year the working-day calendar does not cover
    │   ├── CatalogError           a catalog file (catalog.problems: every bad cell, row and column)
    │   ├── CaseFormatError        a serialized case that cannot be restored
    │   ├── EventLogError          an event log (XES/CSV) that cannot be read (supervision.eventlog)
    │   ├── SimulationModelError   a simulation model, YAML or Prosimos JSON (simulation.model)
    │   └── ResultFormatError      a saved simulation result (simulation.outputs)
    ├── SimulationError            a simulation that cannot go on (simulation.model)
    ├── ExpressionError            an expression outside the safe language, or failing (expressions; a ValueError)
    │   ├── UnsafeExpression       refused by the static check
    │   └── EvaluationError        unknown name, type error, a bound passed while evaluating
    └── RunError                   case, step
        ├── StepRefused            rules broken under the enforce policy
        ├── StepNotReady           the step is not ready in this case
        ├── UnknownActorError      the actor is not in the organisation
        ├── MeetingRecordError     a collective step without a usable meeting record
        ├── LoopLimitError         a loop ran deeper than the configured limit
        ├── EngineError            anything the underlying engine raised
        ├── InvalidInputError      data, actor, step or moment that cannot be accepted (casedata)
        ├── ConflictError          a case changed in the store since it was read (store.base)
        └── StoreError             the case store failed (store.base)

SpiffWorkflow's own exceptions never reach the caller: they are wrapped in
one of these with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ApprovalflowError",
    "BpmnError",
    "CalendarError",
    "CaseFormatError",
    "DefinitionError",
    "EngineError",
    "ExtensionError",
    "InvalidInputError",
    "LoopLimitError",
    "MeetingRecordError",
    "NotExecutableError",
    "OrganisationError",
    "RunError",
    "ScenarioError",
    "StepNotReady",
    "StepRefused",
    "UnknownActorError",
    "UnknownReferenceError",
    "UnsafeContentError",
    "XmlError",
]


class ApprovalflowError(Exception):
    """Base of every error approvalflow raises."""


@dataclass(frozen=True)
class Location:
    """Where in an input something is: file, line and element (or row and column)."""

    file: str | None = None
    line: int | None = None
    element: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.element:
            parts.append(f"element '{self.element}'")
        return ", ".join(parts)


class DefinitionError(ApprovalflowError):
    """Something given to the library is not valid; names file, line and element."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        element: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.element = element
        where = str(Location(self.file, line, element))
        super().__init__(f"{where}: {message}" if where else message)

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.element)


class XmlError(DefinitionError):
    """The XML is not well-formed, declares a DTD or entities, or is too large."""


class BpmnError(DefinitionError):
    """The document is not valid BPMN 2.0 (schema or structure)."""


class ExtensionError(DefinitionError):
    """An ``af:`` element or attribute is unknown or has an invalid value."""


class UnsafeContentError(DefinitionError):
    """A condition or script that is outside the safe expression language."""


class UnknownReferenceError(DefinitionError):
    """A reference (step, process, post, person) that resolves to nothing."""


class NotExecutableError(DefinitionError):
    """A model the engine cannot run; the message says why."""


class OrganisationError(DefinitionError):
    """The organisation file is not valid (SPEC section 3)."""


class ScenarioError(DefinitionError):
    """The scenario file is not valid (SPEC section 6)."""


class CalendarError(DefinitionError):
    """The working-day calendar cannot answer for a date (a year it does not cover)."""


class CaseFormatError(DefinitionError):
    """A serialized case that cannot be restored (unknown version, other process)."""


class RunError(ApprovalflowError):
    """Something went wrong while a case runs; names the case and the step."""

    def __init__(self, message: str, *, case: str | None = None, step: str | None = None) -> None:
        self.message = message
        self.case = case
        self.step = step
        where = []
        if case:
            where.append(f"case {case}")
        if step:
            where.append(f"step '{step}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class StepRefused(RunError):
    """The engine refused a completion under the ``enforce`` policy; the case is unchanged."""

    def __init__(self, *, case: str, step: str, actor: str, findings: Sequence[object]) -> None:
        self.actor = actor
        self.findings = list(findings)
        # each rule id once, in the order of the first finding (two separate-actors findings give one id)
        self.rules = list(dict.fromkeys(str(getattr(f, "rule", "")) for f in self.findings))
        details = "; ".join(f"{getattr(f, 'rule', '?')}: {getattr(f, 'message', '')}" for f in self.findings)
        super().__init__(f"refused for {actor}: {details}", case=case, step=step)


class StepNotReady(RunError):
    """The step is not ready in this case (already done, not yet reached, or unknown)."""

    def __init__(self, message: str, *, case: str, step: str, ready: Sequence[str] = ()) -> None:
        self.ready = list(ready)
        super().__init__(message, case=case, step=step)


class UnknownActorError(RunError):
    """The actor is not a person of the case's organisation."""


class MeetingRecordError(RunError):
    """A collective step completed without a consistent meeting record."""


class LoopLimitError(RunError):
    """A loop in the case ran deeper than the configured limit."""


class EngineError(RunError):
    """The underlying BPMN engine failed; the original error is the ``__cause__``."""


class InvalidInputError(RunError, ValueError):
    """An input to an action that cannot be accepted as given: case data that is not JSON-like, too large or too
    deep, a lone surrogate, a number too large, an actor or step name that is not a short text. Raised before the
    engine moves: the case and its audit trail are exactly as before."""
