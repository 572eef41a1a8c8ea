"""approvalflow: run administrative approval processes as BPMN, checking every step against the rules
of China's power-governance reform (六权治本).

The names a user needs first are here: load a process and an organisation, start and complete a case, keep it in
a case store, verify its audit trail, sweep the store for yellow and red cards, render, simulate and validate, and
the main errors. Everything else public is in its subpackage (``approvalflow.engine``, ``approvalflow.store``,
``approvalflow.time``, ...), each with its own ``__all__``; ``docs/api.md`` lists them all.

Names are imported on first use (PEP 562, :mod:`approvalflow._lazy`), so that ``import approvalflow`` and light
entry points (the simulator's command line, the pytest plugin) do not pay for SpiffWorkflow, lxml and pydantic
until they need them. ``from approvalflow import start_case`` works as usual. Names this package exported before
issue 15 and no longer does still resolve, with a :class:`DeprecationWarning` naming their new home.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .bpmn.loader import ProcessDefinition, load_process, load_process_string
    from .engine.case import Case, start_case
    from .engine.persistence import dump_case, load_case
    from .engine.timing import Alert
    from .engine.trail import AuditTrail, verify_trail
    from .errors import ApprovalflowError, DefinitionError, RunError, StepNotReady, StepRefused
    from .org.organisation import Organisation, load_organisation, organisation_from_dict
    from .render import render_file, render_views
    from .rules.findings import Finding
    from .simulation import SimulationResult, load_simulation_model, simulate
    from .store.base import CaseStore, ConflictError, StoreError
    from .store.cases import StoredCase, act, add_case, complete_step, load_case_from, save_case
    from .store.factory import open_store
    from .supervision.sweep import SweepResult, sweep_store
    from .testing.scenario import run_scenario
    from .time.clock import FakeClock
    from .validation import validate_file, validate_paths

__version__ = "0.1.0"

__all__ = [
    "Alert",
    "ApprovalflowError",
    "AuditTrail",
    "Case",
    "CaseStore",
    "ConflictError",
    "DefinitionError",
    "FakeClock",
    "Finding",
    "Organisation",
    "ProcessDefinition",
    "RunError",
    "SimulationResult",
    "StepNotReady",
    "StepRefused",
    "StoreError",
    "StoredCase",
    "SweepResult",
    "__version__",
    "act",
    "add_case",
    "complete_step",
    "dump_case",
    "load_case",
    "load_case_from",
    "load_organisation",
    "load_process",
    "load_process_string",
    "load_simulation_model",
    "open_store",
    "organisation_from_dict",
    "render_file",
    "render_views",
    "run_scenario",
    "save_case",
    "simulate",
    "start_case",
    "sweep_store",
    "validate_file",
    "validate_paths",
    "verify_trail",
]

#: Each module and the names of ``__all__`` it defines (all but ``__version__``), imported on first use.
_LAZY: dict[str, str] = {
    # processes and the organisation
    ".bpmn.loader": "ProcessDefinition load_process load_process_string",
    ".org.organisation": "Organisation load_organisation organisation_from_dict",
    # cases
    ".engine.case": "Case start_case",
    ".time.clock": "FakeClock",
    ".engine.timing": "Alert",
    ".rules.findings": "Finding",
    ".engine.persistence": "dump_case load_case",
    ".engine.trail": "AuditTrail verify_trail",
    ".testing.scenario": "run_scenario",
    # the case store and supervision
    ".store.factory": "open_store",
    ".store.base": "CaseStore ConflictError StoreError",
    ".store.cases": "StoredCase act add_case complete_step load_case_from save_case",
    ".supervision.sweep": "SweepResult sweep_store",
    # render, simulate, validate
    ".render": "render_file render_views",
    ".simulation": "SimulationResult load_simulation_model simulate",
    ".validation": "validate_file validate_paths",
    # the main errors (the whole tree: approvalflow.errors)
    ".errors": "ApprovalflowError DefinitionError RunError StepNotReady StepRefused",
}

#: Names exported here before issue 15, by where they are now: they still resolve, with a DeprecationWarning.
_MOVED_TO: dict[str, str] = {
    ".bpmn": "Category Collective Domain MinDuration Power RiskLevel RiskPoint StepInfo TimeLimit",
    ".catalog": "Catalog CatalogError CatalogFinding CatalogReport PowerRow RiskPointRow catalog_from_bpmn "
    "check_catalog load_catalog risk_table save_catalog",
    ".engine": "CaseDeadlines Policy ReadyStep StepTime Suspension TimeReport TrailHead VerifyResult case_state",
    ".errors": "BpmnError CalendarError CaseFormatError EngineError ExtensionError InvalidInputError LoopLimitError "
    "MeetingRecordError NotExecutableError OrganisationError ScenarioError UnknownActorError UnknownReferenceError "
    "UnsafeContentError XmlError",
    ".expressions": "ExpressionEvaluator SafeEvaluator",
    ".org": "Meeting OrgUnit Person",
    ".rules": "RULES Completion",
    ".simulation": "SimulationError SimulationModel SimulationModelError",
    ".store": "CaseRecord MemoryStore SqliteStore",
    ".supervision": "EventLogError Evaluation TraceCheck check_log export_log read_log",
    ".testing": "ScenarioResult load_scenario",
    ".time": "ChinaCalendar Clock Deadline FakeCalendar SystemClock WeekendCalendar WorkingCalendar",
    ".validation": "has_errors validate_string",
}
#: Names renamed in issue 15 (old name -> "module:new name"), so that they say what they are.
_RENAMED: dict[str, str] = {
    "Attempt": ".rules:StepAttempt",
    "Card": ".supervision:AlertCard",
    "StaticFinding": ".rules:Finding",
    "evaluate": ".supervision:evaluate_efficiency",
    "load_model": ".simulation:load_simulation_model",
    "parse_limit": ".catalog:parse_time_limit",
    "read_jsonl": ".engine:read_trail",
    "register": ".rules:register_rule",
    "sweep": ".supervision:sweep_store",
    "verify": ".engine:verify_trail",
}
_MOVED = {name: home for home, names in _MOVED_TO.items() for name in names.split()} | _RENAMED

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, _MOVED)
