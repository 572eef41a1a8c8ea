"""approvalflow: run administrative approval processes as BPMN, checking every step against the rules
of China's power-governance reform (六权治本).

The public API is re-exported here; everything else is internal. See ``docs/`` for the guide.

Names are imported on first use (PEP 562), so that ``import approvalflow`` and light entry points
(the simulator's command line, the pytest plugin) do not pay for SpiffWorkflow, lxml and pydantic
until they need them. ``from approvalflow import start_case`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .calendar import ChinaCalendar, FakeCalendar, WeekendCalendar, WorkingCalendar
    from .catalog import (
        Catalog,
        CatalogError,
        CatalogFinding,
        CatalogReport,
        PowerRow,
        RiskPointRow,
        catalog_from_bpmn,
        check_catalog,
        load_catalog,
        parse_limit,
        risk_table,
        save_catalog,
    )
    from .clock import Clock, FakeClock, SystemClock
    from .engine import Case, Policy, ReadyStep, start_case
    from .errors import (
        ApprovalflowError,
        BpmnError,
        CalendarError,
        CaseFormatError,
        DefinitionError,
        EngineError,
        ExtensionError,
        LoopLimitError,
        MeetingRecordError,
        NotExecutableError,
        OrganisationError,
        RunError,
        ScenarioError,
        StepNotReady,
        StepRefused,
        UnknownActorError,
        UnknownReferenceError,
        UnsafeContentError,
        XmlError,
    )
    from .expressions import ExpressionEvaluator, SafeEvaluator
    from .loader import ProcessDefinition, load_process, load_process_string
    from .meetings import Meeting
    from .model import Category, Collective, Domain, MinDuration, Power, RiskLevel, RiskPoint, StepInfo, TimeLimit
    from .org import Organisation, OrgUnit, Person, load_organisation, organisation_from_dict
    from .periods import Deadline
    from .persistence import case_state, dump_case, load_case
    from .rules import RULES, Attempt, Completion, Finding, register
    from .scenario import ScenarioResult, load_scenario, run_scenario
    from .simulation import (
        SimulationError,
        SimulationModel,
        SimulationModelError,
        SimulationResult,
        load_model,
        simulate,
    )
    from .store.base import CaseRecord, CaseStore, ConflictError, StoreError, open_store
    from .store.cases import StoredCase, add_case, complete_step, load_case_from, save_case
    from .store.memory import MemoryStore
    from .store.sqlite import SqliteStore
    from .supervision.conformance import TraceCheck, check_log
    from .supervision.efficiency import Evaluation, evaluate
    from .supervision.eventlog import EventLogError, export_log, read_log
    from .supervision.sweep import Card, SweepResult, sweep
    from .timing import Alert, CaseDeadlines, StepTime, Suspension, TimeReport
    from .trail import AuditTrail, TrailHead, VerifyResult, read_jsonl, verify
    from .validation import StaticFinding, has_errors, validate_file, validate_paths, validate_string

_LAZY: dict[str, str] = {
    "Catalog": ".catalog",
    "CatalogError": ".catalog",
    "CatalogFinding": ".catalog",
    "CatalogReport": ".catalog",
    "PowerRow": ".catalog",
    "RiskPointRow": ".catalog",
    "catalog_from_bpmn": ".catalog",
    "check_catalog": ".catalog",
    "load_catalog": ".catalog",
    "parse_limit": ".catalog",
    "risk_table": ".catalog",
    "save_catalog": ".catalog",
    "load_model": ".simulation",
    "simulate": ".simulation",
    "SimulationModel": ".simulation",
    "SimulationResult": ".simulation",
    "SimulationModelError": ".simulation",
    "SimulationError": ".simulation",
    "add_case": ".store.cases",
    "Alert": ".timing",
    "ApprovalflowError": ".errors",
    "Attempt": ".rules",
    "AuditTrail": ".trail",
    "BpmnError": ".errors",
    "CalendarError": ".errors",
    "Card": ".supervision.sweep",
    "Case": ".engine",
    "case_state": ".persistence",
    "CaseDeadlines": ".timing",
    "CaseFormatError": ".errors",
    "CaseRecord": ".store.base",
    "CaseStore": ".store.base",
    "Category": ".model",
    "check_log": ".supervision.conformance",
    "ChinaCalendar": ".calendar",
    "Clock": ".clock",
    "Collective": ".model",
    "complete_step": ".store.cases",
    "Completion": ".rules",
    "ConflictError": ".store.base",
    "Deadline": ".periods",
    "DefinitionError": ".errors",
    "Domain": ".model",
    "dump_case": ".persistence",
    "EngineError": ".errors",
    "evaluate": ".supervision.efficiency",
    "Evaluation": ".supervision.efficiency",
    "EventLogError": ".supervision.eventlog",
    "export_log": ".supervision.eventlog",
    "ExpressionEvaluator": ".expressions",
    "ExtensionError": ".errors",
    "FakeCalendar": ".calendar",
    "FakeClock": ".clock",
    "Finding": ".rules",
    "has_errors": ".validation",
    "load_case": ".persistence",
    "load_case_from": ".store.cases",
    "load_organisation": ".org",
    "load_process": ".loader",
    "load_process_string": ".loader",
    "load_scenario": ".scenario",
    "LoopLimitError": ".errors",
    "Meeting": ".meetings",
    "MinDuration": ".model",
    "MeetingRecordError": ".errors",
    "MemoryStore": ".store.memory",
    "NotExecutableError": ".errors",
    "open_store": ".store.base",
    "Organisation": ".org",
    "organisation_from_dict": ".org",
    "OrganisationError": ".errors",
    "OrgUnit": ".org",
    "Person": ".org",
    "Policy": ".engine",
    "Power": ".model",
    "ProcessDefinition": ".loader",
    "read_jsonl": ".trail",
    "read_log": ".supervision.eventlog",
    "ReadyStep": ".engine",
    "register": ".rules",
    "RiskLevel": ".model",
    "RiskPoint": ".model",
    "RULES": ".rules",
    "run_scenario": ".scenario",
    "RunError": ".errors",
    "SafeEvaluator": ".expressions",
    "save_case": ".store.cases",
    "ScenarioError": ".errors",
    "ScenarioResult": ".scenario",
    "SqliteStore": ".store.sqlite",
    "start_case": ".engine",
    "StaticFinding": ".validation",
    "StepInfo": ".model",
    "StepNotReady": ".errors",
    "StepRefused": ".errors",
    "StepTime": ".timing",
    "StoredCase": ".store.cases",
    "StoreError": ".store.base",
    "Suspension": ".timing",
    "sweep": ".supervision.sweep",
    "SweepResult": ".supervision.sweep",
    "SystemClock": ".clock",
    "TimeLimit": ".model",
    "TimeReport": ".timing",
    "TraceCheck": ".supervision.conformance",
    "TrailHead": ".trail",
    "UnknownActorError": ".errors",
    "UnknownReferenceError": ".errors",
    "UnsafeContentError": ".errors",
    "validate_file": ".validation",
    "validate_paths": ".validation",
    "validate_string": ".validation",
    "verify": ".trail",
    "VerifyResult": ".trail",
    "WeekendCalendar": ".calendar",
    "WorkingCalendar": ".calendar",
    "XmlError": ".errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'approvalflow' has no attribute '{name}'")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "RULES",
    "Alert",
    "ApprovalflowError",
    "Attempt",
    "AuditTrail",
    "BpmnError",
    "CalendarError",
    "Card",
    "Case",
    "CaseDeadlines",
    "CaseFormatError",
    "CaseRecord",
    "CaseStore",
    "Catalog",
    "CatalogError",
    "CatalogFinding",
    "CatalogReport",
    "Category",
    "ChinaCalendar",
    "Clock",
    "Collective",
    "Completion",
    "ConflictError",
    "Deadline",
    "DefinitionError",
    "Domain",
    "EngineError",
    "Evaluation",
    "EventLogError",
    "ExpressionEvaluator",
    "ExtensionError",
    "FakeCalendar",
    "FakeClock",
    "Finding",
    "LoopLimitError",
    "Meeting",
    "MeetingRecordError",
    "MemoryStore",
    "MinDuration",
    "NotExecutableError",
    "OrgUnit",
    "Organisation",
    "OrganisationError",
    "Person",
    "Policy",
    "Power",
    "PowerRow",
    "ProcessDefinition",
    "ReadyStep",
    "RiskLevel",
    "RiskPoint",
    "RiskPointRow",
    "RunError",
    "SafeEvaluator",
    "ScenarioError",
    "ScenarioResult",
    "SimulationError",
    "SimulationModel",
    "SimulationModelError",
    "SimulationResult",
    "SqliteStore",
    "StaticFinding",
    "StepInfo",
    "StepNotReady",
    "StepRefused",
    "StepTime",
    "StoreError",
    "StoredCase",
    "Suspension",
    "SweepResult",
    "SystemClock",
    "TimeLimit",
    "TimeReport",
    "TraceCheck",
    "TrailHead",
    "UnknownActorError",
    "UnknownReferenceError",
    "UnsafeContentError",
    "VerifyResult",
    "WeekendCalendar",
    "WorkingCalendar",
    "XmlError",
    "__version__",
    "add_case",
    "case_state",
    "catalog_from_bpmn",
    "check_catalog",
    "check_log",
    "complete_step",
    "dump_case",
    "evaluate",
    "export_log",
    "has_errors",
    "load_case",
    "load_case_from",
    "load_catalog",
    "load_model",
    "load_organisation",
    "load_process",
    "load_process_string",
    "load_scenario",
    "open_store",
    "organisation_from_dict",
    "parse_limit",
    "read_jsonl",
    "read_log",
    "register",
    "risk_table",
    "run_scenario",
    "save_case",
    "save_catalog",
    "simulate",
    "start_case",
    "sweep",
    "validate_file",
    "validate_paths",
    "validate_string",
    "verify",
]
