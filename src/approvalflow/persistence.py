"""Serialize a running case to JSON and restore it.

The document carries its own format name and version; an unknown version is
refused. It embeds the engine's state, our history, findings and the audit
trail with its head, and the digest of the process it ran on, so a case is
never restored onto a different process by mistake. On restore the trail is
verified; a broken chain is an error, never silently accepted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .calendar import ChinaCalendar, WorkingCalendar
from .clock import Clock, SystemClock
from .engine import DEFAULT_MAX_DEPTH, Case, Policy
from .errors import CaseFormatError
from .expressions import ExpressionEvaluator, SafeEvaluator
from .loader import ProcessDefinition
from .org import Organisation
from .rules import RULES, Completion, Finding, Rule
from .timing import Suspension
from .trail import AuditTrail, TrailHead

__all__ = ["CASE_FORMAT", "CASE_VERSION", "case_state", "dump_case", "load_case"]

CASE_FORMAT = "approvalflow.case"
CASE_VERSION = 1

_SERIALIZER = BpmnWorkflowSerializer()


def dump_workflow(workflow: Any) -> str:
    return str(_SERIALIZER.serialize_json(workflow))


def load_workflow(text: str, script_engine: Any) -> Any:
    workflow = _SERIALIZER.deserialize_json(text)
    workflow.script_engine = script_engine
    return workflow


def case_state(case: Case) -> dict[str, Any]:
    """The case's state without its audit trail (what a refused step must leave unchanged)."""
    return {
        "format": CASE_FORMAT,
        "version": CASE_VERSION,
        "case": case.id,
        "process": {"id": case.definition.id, "digest": case.definition.digest, "file": case.definition.file},
        "unit": case.unit.id,
        "policy": case.policy.value,
        "started_at": case.started_at.isoformat(),
        "data": case.data,
        "path": list(case.path),
        "history": [
            {"step": c.step, "actor": c.actor, "at": c.at.isoformat(), "since": c.since.isoformat()}
            for c in case.history
        ],
        "clock_start": _iso(case.clock_start),
        "ended_at": _iso(case.ended_at),
        "suspensions": [
            {"step": s.step, "reason": s.reason, "start": s.start.isoformat(), "end": _iso(s.end)}
            for s in case.suspensions
        ],
        "open_suspensions": dict(case._open_suspensions),
        "extension_days": case.extension_days,
        "calendar": case.calendar.name,
        "fallback_years": sorted(case.fallback_years),
        "yellow_days": case.yellow_days,
        "findings": [f.to_dict() for f in case.findings],
        "ready_since": {k: v.isoformat() for k, v in case._since.items()},
        "max_depth": case.max_depth,
        "workflow": json.loads(dump_workflow(case._wf)),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def dump_case(case: Case) -> str:
    """The whole case as a JSON document (state, audit trail and its head)."""
    doc = case_state(case)
    head = case.trail.head
    doc["trail"] = case.trail.entries
    doc["trail_head"] = {"hash": head.hash, "count": head.count}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True)


def _need(doc: Mapping[str, Any], key: str, name: str) -> Any:
    if key not in doc:
        raise CaseFormatError(f"the serialized case has no '{key}'", file=name)
    return doc[key]


def load_case(
    text: str | bytes,
    definition: ProcessDefinition,
    organisation: Organisation,
    *,
    clock: Clock | None = None,
    calendar: WorkingCalendar | None = None,
    evaluator: ExpressionEvaluator | None = None,
    rules: Mapping[str, Rule] | None = None,
    name: str = "<case>",
) -> Case:
    """Restore a case serialized by :func:`dump_case` onto the same process definition.

    The calendar is configuration, not state: pass the same one the case ran with (default: China's).
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFormatError(f"not JSON: {exc.msg}", file=name, line=exc.lineno) from exc
    if not isinstance(doc, dict) or doc.get("format") != CASE_FORMAT:
        raise CaseFormatError(f"not a serialized approvalflow case (format must be '{CASE_FORMAT}')", file=name)
    if doc.get("version") != CASE_VERSION:
        raise CaseFormatError(
            f"unknown case format version {doc.get('version')!r}; this approvalflow reads version {CASE_VERSION}",
            file=name,
        )
    process = _need(doc, "process", name)
    if process.get("digest") != definition.digest:
        raise CaseFormatError(
            f"the case ran on process '{process.get('id')}' with digest {str(process.get('digest'))[:12]}…, "
            f"not on this definition ('{definition.id}', {definition.digest[:12]}…)",
            file=name,
        )
    trail = AuditTrail.from_entries(_need(doc, "trail", name))
    head = _need(doc, "trail_head", name)
    result = trail.verify(TrailHead(str(head.get("hash")), int(head.get("count", -1))))
    if not result.ok:
        raise CaseFormatError("the audit trail is broken: " + "; ".join(result.problems), file=name)
    unit = organisation.units.get(_need(doc, "unit", name))
    if unit is None:
        raise CaseFormatError(f"the case runs in unit '{doc['unit']}', which the organisation does not have", file=name)
    case = Case(
        definition,
        organisation,
        unit,
        case_id=str(_need(doc, "case", name)),
        clock=clock or SystemClock(),
        policy=Policy(doc.get("policy", "enforce")),
        evaluator=evaluator or SafeEvaluator(),
        rules=rules if rules is not None else RULES,
        max_depth=int(doc.get("max_depth", DEFAULT_MAX_DEPTH)),
        calendar=calendar if calendar is not None else ChinaCalendar(),
        yellow_days=int(doc.get("yellow_days", 1)),
    )
    try:
        case.started_at = datetime.fromisoformat(_need(doc, "started_at", name))
        case.data = dict(_need(doc, "data", name))
        case.path = list(_need(doc, "path", name))
        case.history = [
            Completion(h["step"], h["actor"], datetime.fromisoformat(h["at"]), datetime.fromisoformat(h["since"]))
            for h in doc["history"]
        ]
        case.clock_start = _moment(doc.get("clock_start"))
        case.ended_at = _moment(doc.get("ended_at"))
        case.suspensions = [
            Suspension(s["step"], s["reason"], datetime.fromisoformat(s["start"]), _moment(s.get("end")))
            for s in doc.get("suspensions", [])
        ]
        case._open_suspensions = {str(k): int(v) for k, v in doc.get("open_suspensions", {}).items()}
        case.extension_days = doc.get("extension_days")
        case.fallback_years = set(doc.get("fallback_years", []))
        case.findings = [
            Finding(
                f["rule"],
                f.get("task"),
                f.get("actor"),
                f.get("message", ""),
                datetime.fromisoformat(f["at"]) if f.get("at") else None,
                f.get("severity", "error"),
            )
            for f in doc.get("findings", [])
        ]
        case._since = {k: datetime.fromisoformat(v) for k, v in doc.get("ready_since", {}).items()}
        case._wf = load_workflow(json.dumps(doc["workflow"]), case._script_engine())
    except (KeyError, TypeError, ValueError, SpiffWorkflowException) as exc:
        raise CaseFormatError(f"the serialized case is damaged: {type(exc).__name__}: {exc}", file=name) from exc
    case.trail = trail
    return case
