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
    "Case",
    "CaseDeadlines",
    "CaseFormatError",
    "Category",
    "ChinaCalendar",
    "Clock",
    "Collective",
    "Completion",
    "Deadline",
    "DefinitionError",
    "Domain",
    "EngineError",
    "ExpressionEvaluator",
    "ExtensionError",
    "FakeCalendar",
    "FakeClock",
    "Finding",
    "LoopLimitError",
    "Meeting",
    "MeetingRecordError",
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
    "StepInfo",
    "StepNotReady",
    "StepRefused",
    "StepTime",
    "Suspension",
    "SystemClock",
    "TimeLimit",
    "TimeReport",
    "TrailHead",
    "UnknownActorError",
    "UnknownReferenceError",
    "UnsafeContentError",
    "VerifyResult",
    "WeekendCalendar",
    "WorkingCalendar",
    "XmlError",
    "__version__",
    "case_state",
    "dump_case",
    "load_case",
    "load_organisation",
    "load_process",
    "load_process_string",
    "load_scenario",
    "organisation_from_dict",
    "read_jsonl",
    "register",
    "run_scenario",
    "start_case",
    "verify",
]
