"""The exception tree of approvalflow.

Every error the library raises derives from :class:`ApprovalflowError`, and every
one of them can say *where*: it takes the thing it is about and works out file,
line and element itself, so a raise site cannot forget the location:

* ``node=`` an XML element (lxml): the file from its document's URL, the line
  from ``sourceline``, the element from its ``id`` (else the nearest ancestor's
  ``id``, else its tag);
* ``at=`` a position in a YAML file: a :class:`Location` (``Lines.at(path)`` of
  :mod:`approvalflow.io.yamlio` gives one: file, line and the key path), or a
  PyYAML node or mark (line only; the file from ``file=``);
* ``file=``, ``line=``, ``element=``, ``row=``, ``column=`` given outright (rows
  and columns of spreadsheets, CSV files and logs); these win over what
  ``node=`` and ``at=`` say.

Errors about what was *given* (a BPMN file, an organisation file, a scenario, a
calendar, a catalog, a log, a serialized case) are :class:`DefinitionError`;
errors about what *happened* while a case runs are :class:`RunError` and also
name the case and the step. Classes defined in other modules say where in
parentheses; the tree is checked against the code by ``tests/test_errors_tree.py``::

    ApprovalflowError                  .message, .location (.file, .line, .element, .row, .column)
    ├── DefinitionError                something given is not valid
    │   ├── XmlError                   not well-formed, DTD/entities, too large
    │   ├── BpmnError                  not valid BPMN 2.0 (schema, structure)
    │   ├── ExtensionError             unknown or invalid af: element or attribute
    │   ├── UnsafeContentError         condition or script that could run code
    │   ├── UnknownReferenceError      a step, process or call activity that is not there
    │   ├── NotExecutableError         a model the engine cannot run
    │   ├── OrganisationError          the organisation file
    │   ├── ScenarioError              a scenario file
    │   ├── CalendarError              a calendar supplement file, or a date the calendar does not cover
    │   ├── CatalogError               a catalog file; .problems lists every bad cell (catalog.problems)
    │   ├── FlowchartPathError         a 流程图 cell naming a refused file; also a ValueError (catalog.paths)
    │   ├── SpreadsheetLimitError      a spreadsheet past a bound (catalog.formats.bounds)
    │   ├── UnsupportedWorkbook        an XLSX layout the fast reader declines (catalog.formats.xlsx_fast)
    │   ├── CsvLimitError              a CSV file past a bound, or not CSV; also a ValueError (io.csvsafe)
    │   ├── CaseFormatError            a serialized case that cannot be restored
    │   ├── TrailFileError             an audit trail (JSON Lines) or trail key file; also a ValueError
    │   ├── EventLogError              an event log (XES/CSV) that cannot be read (supervision.eventlog)
    │   ├── CardRulesError             a card rules file (supervision.cardrules)
    │   ├── SimulationModelError       a simulation model, YAML or Prosimos JSON (simulation.model)
    │   └── ResultFormatError          a saved simulation result (simulation.outputs)
    ├── RenderError                    Graphviz missing or failing, an output not written (render.errors)
    ├── SimulationError                a simulation that cannot go on (simulation.model)
    ├── ExpressionError                outside the safe language, or failing; also a ValueError (expressions)
    │   ├── UnsafeExpression           refused by the static check
    │   └── EvaluationError            unknown name, type error, a bound passed while evaluating
    ├── ScenarioMismatch               a scenario ran, but not as expected; also an AssertionError
    │                                  (pytest_plugin.scenario_items)
    ├── ProblemError                   an HTTP request answered with a problem: 401, 403, 404 (service.problems)
    └── RunError                       .case, .step
        ├── StepRefused                rules broken under the enforce policy
        ├── StepNotReady               the step is not ready in this case
        ├── UnknownActorError          the actor is not in the organisation
        ├── MeetingRecordError         a collective step without a usable meeting record
        ├── LoopLimitError             a loop ran deeper than the configured limit
        ├── EngineError                anything the underlying engine raised
        ├── InvalidInputError          data, actor, step, moment or argument that cannot be accepted; also a
        │   │                          ValueError
        │   └── InvalidTypeError       an argument of the wrong type or shape; also a TypeError
        ├── ConflictError              a case changed in the store since it was read (store.base)
        └── StoreError                 the case store failed (store.base)
            ├── StoreUnavailable       the store's server cannot be reached now; the next operation
            │                          reconnects (store.base)
            └── Damaged                a column of a stored row that is not what the schema says (store.sql)

SpiffWorkflow's, lxml's, PyYAML's and pydantic's own exceptions never reach the
caller: they are wrapped in one of these with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml
    from lxml import etree

__all__ = [
    "ApprovalflowError",
    "BpmnError",
    "CalendarError",
    "CaseFormatError",
    "DefinitionError",
    "EngineError",
    "ExtensionError",
    "InvalidInputError",
    "InvalidTypeError",
    "Location",
    "LoopLimitError",
    "MeetingRecordError",
    "NotExecutableError",
    "OrganisationError",
    "RunError",
    "ScenarioError",
    "StepNotReady",
    "StepRefused",
    "TrailFileError",
    "UnknownActorError",
    "UnknownReferenceError",
    "UnsafeContentError",
    "XmlError",
]


@dataclass(frozen=True)
class Location:
    """Where in an input something is: file, line and element, or row and column of a table."""

    file: str | None = None
    line: int | None = None
    element: str | None = None
    row: int | None = None
    column: str | int | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        if self.element:
            parts.append(f"element '{self.element}'")
        return ", ".join(parts)

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.file, self.line, self.element, self.row, self.column))


def _of_node(node: etree._Element) -> Location:
    """File, line and element of an lxml element: document URL, ``sourceline``, own or nearest ``id``, else tag."""
    try:
        url = node.getroottree().docinfo.URL
    except (AttributeError, ValueError):  # an element of no tree (or a proxy lxml cannot follow)
        url = None
    element: str | None = None
    current: etree._Element | None = node
    while current is not None and element is None:
        ident = current.get("id") if isinstance(current.tag, str) else None
        element = str(ident) if ident else None
        current = current.getparent()
    if element is None and isinstance(node.tag, str):
        element = node.tag.rpartition("}")[2]
    line = node.sourceline
    return Location(str(url) if url else None, int(line) if line is not None else None, element)


def _of_position(at: Location | yaml.Node | yaml.Mark) -> Location:
    """A :class:`Location` as given, or the line of a PyYAML node or mark (its file when it is a real name)."""
    if isinstance(at, Location):
        return at
    mark: Any = getattr(at, "start_mark", at)
    line = getattr(mark, "line", None)
    name = getattr(mark, "name", None)
    file = name if isinstance(name, str) and name and not name.startswith("<") else None
    return Location(file, line + 1 if isinstance(line, int) else None)


def _pick(given: Any, *derived: Any) -> Any:
    """The value given outright, else the first derived one that is not None."""
    if given is not None:
        return given
    return next((d for d in derived if d is not None), None)


def _restore(cls: type[ApprovalflowError], args: tuple[Any, ...], state: dict[str, Any]) -> ApprovalflowError:
    """Rebuild a pickled error without calling its ``__init__`` (whose keyword arguments pickle cannot repeat)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ApprovalflowError(Exception):
    """Base of every error approvalflow raises; ``str()`` reads ``where: message``.

    ``node=`` (an lxml element) and ``at=`` (a YAML position) give file, line and element; ``file=``, ``line=``,
    ``element=``, ``row=`` and ``column=`` given outright win over them.
    """

    message: str = ""
    file: str | None = None
    line: int | None = None
    element: str | None = None
    row: int | None = None
    column: str | int | None = None

    def __init__(
        self,
        message: str = "",
        *,
        node: etree._Element | None = None,
        at: Location | yaml.Node | yaml.Mark | None = None,
        file: str | Path | None = None,
        line: int | None = None,
        element: str | None = None,
        row: int | None = None,
        column: str | int | None = None,
    ) -> None:
        from_node = _of_node(node) if node is not None else Location()
        from_at = _of_position(at) if at is not None else Location()
        self.message = message
        picked = _pick(file, from_at.file, from_node.file)
        self.file = str(picked) if picked is not None else None
        self.line = _pick(line, from_at.line, from_node.line)
        self.element = _pick(element, from_at.element, from_node.element)
        self.row = _pick(row, from_at.row)
        self.column = _pick(column, from_at.column)
        where = ", ".join(part for part in (str(self.location), *self._context()) if part)
        super().__init__(f"{where}: {message}" if where else message)

    def _context(self) -> Sequence[str]:
        """More of the where, after the location (a run-time error names its case and step)."""
        return ()

    @property
    def location(self) -> Location:
        """File, line, element, row and column as one value (all ``None`` when the error is about no input)."""
        return Location(self.file, self.line, self.element, self.row, self.column)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class DefinitionError(ApprovalflowError):
    """Something given to the library is not valid; names file, line and element (or row and column)."""


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
    """The organisation file is not valid."""


class ScenarioError(DefinitionError):
    """The scenario file is not valid."""


class CalendarError(DefinitionError):
    """A calendar supplement that is not valid, or a date the working-day calendar cannot answer for."""


class CaseFormatError(DefinitionError):
    """A serialized case that cannot be restored (unknown version, other process)."""


class TrailFileError(DefinitionError, ValueError):
    """An audit-trail file (JSON Lines) or a trail key file that cannot be used; also a ``ValueError``, as it was."""


class RunError(ApprovalflowError):
    """Something went wrong while a case runs; names the case and the step (and an input's location, if any)."""

    case: str | None = None
    step: str | None = None

    def __init__(
        self,
        message: str = "",
        *,
        case: str | None = None,
        step: str | None = None,
        node: etree._Element | None = None,
        at: Location | yaml.Node | yaml.Mark | None = None,
        file: str | Path | None = None,
        line: int | None = None,
        element: str | None = None,
        row: int | None = None,
        column: str | int | None = None,
    ) -> None:
        self.case = case
        self.step = step
        super().__init__(message, node=node, at=at, file=file, line=line, element=element, row=row, column=column)

    def _context(self) -> Sequence[str]:
        where = []
        if self.case:
            where.append(f"case {self.case}")
        if self.step:
            where.append(f"step '{self.step}'")
        return where


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
    """The step is not ready in this case (already done, not yet reached, or unknown), or nothing in the case waits
    for the signal or message delivered (``step`` is then its name, ``ready`` the events that wait)."""

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
    """An input that cannot be accepted as given: case data that is not JSON-like, too large or too deep, a lone
    surrogate, a number too large, an actor or step name that is not a short text, a moment without a timezone, an
    argument out of range. Raised before the engine moves: the case and its audit trail are exactly as before.
    Also a ``ValueError``, as these inputs always raised."""


class InvalidTypeError(InvalidInputError, TypeError):
    """An argument of the wrong type or shape (a datetime where a date belongs, a meeting record that is no
    mapping, a trace without steps); also a ``TypeError``, as these always raised."""
