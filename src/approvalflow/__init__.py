"""approvalflow: run administrative approval processes as BPMN, checking every step against the rules
of China's power-governance reform (六权治本).

The public API is re-exported here; everything else is internal. See ``docs/`` for the guide.
"""

from .calendar import ChinaCalendar, FakeCalendar, WeekendCalendar, WorkingCalendar
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
from .model import Category, Collective, Domain, Power, RiskLevel, RiskPoint, StepInfo, TimeLimit
from .org import Organisation, OrgUnit, Person, load_organisation, organisation_from_dict
from .periods import Deadline
from .persistence import case_state, dump_case, load_case
from .rules import RULES, Attempt, Completion, Finding, register
from .scenario import ScenarioResult, load_scenario, run_scenario
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
    "NotExecutableError",
    "OrgUnit",
    "Organisation",
    "OrganisationError",
    "Person",
    "Policy",
    "Power",
    "ProcessDefinition",
    "ReadyStep",
    "RiskLevel",
    "RiskPoint",
    "RunError",
    "SafeEvaluator",
    "ScenarioError",
    "ScenarioResult",
    "SqliteStore",
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
    "check_log",
    "complete_step",
    "dump_case",
    "evaluate",
    "export_log",
    "load_case",
    "load_case_from",
    "load_organisation",
    "load_process",
    "load_process_string",
    "load_scenario",
    "open_store",
    "organisation_from_dict",
    "read_jsonl",
    "read_log",
    "register",
    "run_scenario",
    "save_case",
    "start_case",
    "sweep",
    "verify",
]
