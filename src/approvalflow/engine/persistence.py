"""Serialize a running case to JSON and restore it, trusting nothing in the document.

The document carries its own format name and version; an unknown version is refused. It holds the case's
state (our history, findings, deadlines bookkeeping and the engine's task states), the audit trail with its
head, and the digest of the process it ran on, so a case is never restored onto a different process.

What is *not* in it: the engine's process specification. SpiffWorkflow's own serialization embeds the whole
spec (about 16 KB a case) and, for documents that claim an older serializer version, runs migration code that
calls ``eval()`` on timer fields. Here the spec comes from the verified :class:`ProcessDefinition` the caller
passes (its digest must match), the saved task states are checked field by field against that spec before
SpiffWorkflow sees them (:func:`check_workflow_state`), and SpiffWorkflow's migration code is never reached.

The state binds to the trail: every trail entry carries ``state``, the SHA-256 of the canonical JSON of the
state after the action (:func:`state_digest`). Restoring recomputes it from the document; a state edited
without its trail, or a trail from another state, is a :class:`CaseFormatError`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

from ..bpmn.loader import ProcessDefinition
from ..errors import ApprovalflowError, CaseFormatError
from ..expressions import ExpressionEvaluator, SafeEvaluator
from ..org.organisation import Organisation
from ..rules.checks import RULES, Completion, Finding, Rule
from ..time.calendar import ChinaCalendar, WorkingCalendar
from ..time.clock import Clock, SystemClock
from .case import DEFAULT_MAX_DEPTH, Case, Policy
from .timing import Suspension
from .trail import AuditTrail, TrailHead

__all__ = [
    "CASE_FORMAT", "CASE_VERSION", "MAX_CASE_BYTES", "MAX_TASKS", "case_state", "check_workflow_state", "dump_case",
    "load_case", "state_digest",
]  # fmt: skip

CASE_FORMAT = "approvalflow.case"
CASE_VERSION = 2
"""Version 2: no engine spec inside, every trail entry binds the state. Version 1 documents are read too."""
MAX_CASE_BYTES = 64 * 1024 * 1024
"""Largest serialized case accepted (64 MiB)."""
MAX_TASKS = 200_000
"""Most engine tasks a saved case may hold (across the process and its sub-processes)."""

_REGISTRY = BpmnWorkflowSerializer.configure()
_SERIALIZER = BpmnWorkflowSerializer(registry=_REGISTRY)
_CONVERTER = BpmnWorkflowConverter(BpmnWorkflow, _REGISTRY)  # the one SpiffWorkflow registers, kept at hand
_NOT_STATE = ("trail", "trail_head")
_STATES = frozenset(int(s) for s in TaskState.__dict__.values() if isinstance(s, int) and s and not s & (s - 1))
#: Typed values SpiffWorkflow writes into task data and internal data, restored by plain constructors.
_SAFE_TYPENAMES = frozenset({"datetime", "timedelta", "UUID"})
_TOP_KEYS = frozenset({"data", "correlations", "last_task", "success", "completed", "tasks", "root", "subprocesses",
                       "bpmn_events"})  # fmt: skip
_SUB_KEYS = frozenset({"data", "correlations", "last_task", "success", "completed", "tasks", "root",
                       "parent_task_id", "spec", "typename"})  # fmt: skip
_TASK_KEYS = frozenset({"id", "parent", "children", "last_state_change", "state", "task_spec", "triggered",
                        "internal_data", "data", "delta", "typename"})  # fmt: skip


# -- the engine's part of the state --------------------------------------------------------------------------
def workflow_state(workflow: Any) -> dict[str, Any]:
    """The engine's task states, data and sub-processes as JSON-ready dicts, without the process spec."""
    _REGISTRY._encoder_mode = True
    try:
        dct = WorkflowConverter.to_dict(_CONVERTER, workflow)
        dct["subprocesses"] = _CONVERTER.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = _REGISTRY.convert(workflow.bpmn_events)
        out: dict[str, Any] = json.loads(json.dumps(dct, cls=_SERIALIZER._encoder_cls))
    finally:
        _REGISTRY._encoder_mode = False
    return out


def restore_workflow(state: Mapping[str, Any], definition: ProcessDefinition, script_engine: Any) -> Any:
    """Rebuild the engine's workflow from a checked state, on the definition's own spec.

    Only what :func:`check_workflow_state` accepts reaches SpiffWorkflow, and never its migration code.
    """
    dct = json.loads(json.dumps(state))  # SpiffWorkflow's restore pops from the dicts it is given
    _tree_order(dct)
    for sub in dct["subprocesses"].values():
        _tree_order(sub)
    workflow = BpmnWorkflow(
        definition._spec, definition._subprocess_specs, script_engine=script_engine, deserializing=True
    )
    workflow.tasks = _CONVERTER.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    _CONVERTER.set_default_attributes(workflow, dct)
    _CONVERTER.subprocesses_from_dict(dct["subprocesses"], workflow)
    workflow.bpmn_events = []
    return workflow


def _tree_order(wf: dict[str, Any]) -> None:
    """Put parents before children: SpiffWorkflow rebuilds a task's data from its parent's as it goes.

    (A saved document's tasks come in any order; canonical JSON sorts them by id. Restored in that order, a task
    whose parent comes later would silently lose the data it inherits.)
    """
    tasks = wf["tasks"]
    ordered: dict[str, Any] = {}
    queue = [wf["root"]]
    while queue:
        key = queue.pop(0)
        if key in ordered:
            continue
        ordered[key] = tasks[key]
        queue.extend(tasks[key].get("children", []))
    ordered.update((k, v) for k, v in tasks.items() if k not in ordered)
    wf["tasks"] = ordered


def _bad(message: str) -> ValueError:
    return ValueError(message)


def _check_plain(value: Any, where: str, *, typed: bool) -> None:
    """JSON values only; with ``typed``, also SpiffWorkflow's datetime/timedelta/UUID records."""
    stack = [(value, where)]
    while stack:
        item, place = stack.pop()
        if isinstance(item, dict):
            if "typename" in item:
                if not typed or item.get("typename") not in _SAFE_TYPENAMES:
                    raise _bad(f"{place}: a typed value {str(item.get('typename'))[:40]!r} is not accepted here")
                _check_typed(item, place)
                continue
            stack.extend((v, f"{place}.{str(k)[:40]}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{place}[{n}]") for n, v in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise _bad(f"{place}: not a finite number")


def _check_typed(item: Mapping[str, Any], place: str) -> None:
    kind = item["typename"]
    if kind == "timedelta":
        if set(item) != {"typename", "days", "seconds"} or not all(
            type(item[k]) is int and abs(item[k]) < 10**9 for k in ("days", "seconds")
        ):
            raise _bad(f"{place}: a malformed timedelta")
    elif set(item) != {"typename", "value"} or not isinstance(item["value"], str) or len(item["value"]) > 64:
        raise _bad(f"{place}: a malformed {kind}")


def _check_tasks(wf: Mapping[str, Any], spec: Any, where: str) -> list[str]:
    """Check one (sub-)workflow's task tree against its spec; returns the ids of its call-activity tasks."""
    tasks = wf.get("tasks")
    if not isinstance(tasks, dict) or not tasks:
        raise _bad(f"{where}: 'tasks' must be a non-empty mapping")
    calls: list[str] = []
    for key, task in tasks.items():
        place = f"{where} task {str(key)[:40]}"
        if not isinstance(task, dict) or set(task) - _TASK_KEYS or not {"id", "state", "task_spec"} <= set(task):
            raise _bad(f"{place}: not a task record")
        if task["id"] != key or str(UUID(key)) != key:
            raise _bad(f"{place}: its id does not match its key")
        if type(task["state"]) is not int or task["state"] not in _STATES:
            raise _bad(f"{place}: unknown task state {str(task['state'])[:20]}")
        spec_name = task["task_spec"]
        if not isinstance(spec_name, str) or spec_name not in spec.task_specs:
            raise _bad(f"{place}: task spec {str(spec_name)[:60]!r} is not in process '{spec.name}'")
        if task.get("typename", "Task") != "Task" or type(task.get("triggered", False)) is not bool:
            raise _bad(f"{place}: not a task record")
        if not isinstance(task.get("last_state_change", 0), int | float):
            raise _bad(f"{place}: 'last_state_change' is not a number")
        parent, children = task.get("parent"), task.get("children", [])
        if parent is not None and (parent not in tasks or key not in tasks[parent].get("children", [])):
            raise _bad(f"{place}: its parent is not a task of this process that lists it as a child")
        if not isinstance(children, list) or any(c not in tasks or tasks[c].get("parent") != key for c in children):
            raise _bad(f"{place}: its children are not tasks of this process whose parent it is")
        for field in ("data", "internal_data"):
            if not isinstance(task.get(field, {}), dict):
                raise _bad(f"{place}: '{field}' is not a mapping")
            _check_plain(task.get(field, {}), f"{place}.{field}", typed=True)
        delta = task.get("delta", {})
        if not isinstance(delta, dict) or set(delta) - {"updates", "deletions"}:
            raise _bad(f"{place}: 'delta' is not a mapping of updates and deletions")
        if not isinstance(delta.get("updates", {}), dict) or not isinstance(delta.get("deletions", []), list):
            raise _bad(f"{place}: 'delta' is not a mapping of updates and deletions")
        _check_plain(delta, f"{place}.delta", typed=True)
        if isinstance(spec.task_specs[spec_name], SubWorkflowTask):
            calls.append(key)
    root = wf.get("root")
    if root not in tasks or tasks[root].get("parent") is not None:
        raise _bad(f"{where}: 'root' is not a task without parent")
    if wf.get("last_task") is not None and wf["last_task"] not in tasks:
        raise _bad(f"{where}: 'last_task' is not one of its tasks")
    if type(wf.get("success", True)) is not bool or type(wf.get("completed", False)) is not bool:
        raise _bad(f"{where}: 'success' and 'completed' must be true or false")
    if not isinstance(wf.get("correlations", {}), dict) or not isinstance(wf.get("data", {}), dict):
        raise _bad(f"{where}: 'data' and 'correlations' must be mappings")
    _check_plain(wf.get("data", {}), f"{where}.data", typed=True)
    _check_plain(wf.get("correlations", {}), f"{where}.correlations", typed=False)
    return calls


def check_workflow_state(state: Any, definition: ProcessDefinition) -> None:
    """Refuse (``ValueError`` naming the place) anything but the task states this version writes for this spec."""
    if not isinstance(state, dict) or set(state) - _TOP_KEYS or not {"tasks", "root", "subprocesses"} <= set(state):
        raise _bad("workflow: not the engine state this version writes")
    if state.get("bpmn_events", []) != []:
        raise _bad("workflow: pending external events are not accepted in a saved case")
    count = len(state["tasks"]) if isinstance(state["tasks"], dict) else 0
    pending = [(state, definition._spec, "workflow")]
    subs = state["subprocesses"]
    if not isinstance(subs, dict):
        raise _bad("workflow: 'subprocesses' is not a mapping")
    seen: set[str] = set()
    while pending:
        wf, spec, where = pending.pop()
        for call in _check_tasks(wf, spec, where):
            if call in subs:
                call_spec = spec.task_specs[wf["tasks"][call]["task_spec"]]
                sub_spec = definition._subprocess_specs.get(str(getattr(call_spec, "spec", "")))
                sub = subs[call]
                if sub_spec is None or not isinstance(sub, dict) or set(sub) - _SUB_KEYS:
                    raise _bad(f"workflow: sub-process of task {call} is not one this process calls")
                if sub.get("spec") != sub_spec.name or sub.get("parent_task_id") != call:
                    raise _bad(f"workflow: sub-process of task {call} names another process or parent")
                count += len(sub.get("tasks") or {})
                if count > MAX_TASKS:
                    raise _bad(f"workflow: more than {MAX_TASKS:,} tasks")
                seen.add(call)
                pending.append((sub, sub_spec, f"sub-process {call}"))
    if set(subs) - seen:
        raise _bad("workflow: a sub-process belongs to no call activity of the case")
    if count > MAX_TASKS:
        raise _bad(f"workflow: more than {MAX_TASKS:,} tasks")


# -- the whole case ------------------------------------------------------------------------------------------
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
        "data": json.loads(json.dumps(case.data)),
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
        "workflow": workflow_state(case._wf),
    }


def canonical(value: Any) -> bytes:
    """The canonical JSON of a state: sorted keys, UTF-8, no spaces."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def state_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 of a state's canonical JSON (the fields of a saved case other than its trail)."""
    return hashlib.sha256(canonical({k: v for k, v in state.items() if k not in _NOT_STATE})).hexdigest()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"moment {value!r} has no time zone")
    return moment


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


def _parse(text: str | bytes, name: str) -> dict[str, Any]:
    if len(text) > MAX_CASE_BYTES:
        raise CaseFormatError(f"the serialized case has {len(text):,} bytes; at most {MAX_CASE_BYTES:,}", file=name)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFormatError(f"not JSON: {exc.msg}", file=name, line=exc.lineno) from exc
    except (RecursionError, UnicodeDecodeError, ValueError) as exc:
        raise CaseFormatError(f"not readable JSON: {type(exc).__name__}", file=name) from None
    if not isinstance(doc, dict) or doc.get("format") != CASE_FORMAT:
        raise CaseFormatError(f"not a serialized approvalflow case (format must be '{CASE_FORMAT}')", file=name)
    if doc.get("version") not in (1, CASE_VERSION):
        raise CaseFormatError(
            f"unknown case format version {_short_repr(doc.get('version'))}; this approvalflow reads versions 1 "
            f"and {CASE_VERSION}",
            file=name,
        )
    return doc


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _legacy_workflow(doc: dict[str, Any], name: str) -> None:
    """A version-1 document embeds SpiffWorkflow's spec and serializer version: drop the spec, accept no migration."""
    wf = doc.get("workflow")
    if not isinstance(wf, dict):
        raise CaseFormatError("the serialized case has no engine state", file=name)
    version = wf.pop("serializer_version", None)
    if version != _SERIALIZER.VERSION:
        raise CaseFormatError(
            f"the engine state was written by serializer version {str(version)[:20]!r}; only "
            f"{_SERIALIZER.VERSION} is read (older states would need SpiffWorkflow's migration code, which is "
            "never run on saved cases)",
            file=name,
        )
    for key in ("spec", "subprocess_specs", "typename"):
        wf.pop(key, None)


def _check_trail(doc: Mapping[str, Any], trail: AuditTrail, name: str) -> None:
    head = _need(doc, "trail_head", name)
    if not isinstance(head, dict) or not isinstance(head.get("count"), int) or not isinstance(head.get("hash"), str):
        raise CaseFormatError("the trail head is not a mapping with 'hash' and 'count'", file=name)
    result = trail.verify(TrailHead(head["hash"], head["count"]))
    if not result.ok:
        raise CaseFormatError("the audit trail is broken: " + "; ".join(result.problems), file=name)
    bound = [e["state"] for e in trail.entries if "state" in e]
    if doc.get("version") == CASE_VERSION and len(bound) != len(trail.entries):
        raise CaseFormatError("the audit trail has entries that bind no case state", file=name)
    try:
        digest = state_digest(doc)
    except UnicodeEncodeError:
        raise CaseFormatError(
            "the saved state holds text that is not valid Unicode (a lone surrogate)", file=name
        ) from None
    if bound and bound[-1] != digest:
        raise CaseFormatError(
            "the saved case state does not match its audit trail (the state was changed without a trail entry)",
            file=name,
        )


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
    trail_key: bytes | None = None,
) -> Case:
    """Restore a case serialized by :func:`dump_case` onto the same process definition.

    The calendar is configuration, not state: pass the same one the case ran with (default: China's). With
    ``trail_key``, every trail entry must carry a valid signature under that key. Anything that does not check
    out raises :class:`CaseFormatError` naming ``name``; nothing of the document is run.
    """
    doc = _parse(text, name)
    process = _need(doc, "process", name)
    if not isinstance(process, dict) or process.get("digest") != definition.digest:
        got = process.get("digest") if isinstance(process, dict) else None
        pid = process.get("id") if isinstance(process, dict) else None
        raise CaseFormatError(
            f"the case ran on process '{str(pid)[:80]}' with digest {str(got)[:12]}…, "
            f"not on this definition ('{definition.id}', {definition.digest[:12]}…)",
            file=name,
        )
    entries = _need(doc, "trail", name)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CaseFormatError("the audit trail is not a list of entries", file=name)
    try:
        trail = AuditTrail.from_entries(entries, trail_key)
    except ValueError as exc:
        raise CaseFormatError(str(exc), file=name) from None
    _check_trail(doc, trail, name)
    if doc["version"] == 1:
        _legacy_workflow(doc, name)
    unit = organisation.units.get(str(_need(doc, "unit", name)))
    if unit is None:
        unit_id = str(doc["unit"])[:80]
        raise CaseFormatError(f"the case runs in unit '{unit_id}', which the organisation lacks", file=name)
    try:
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
        apply_state(case, doc)
    except ApprovalflowError as exc:
        if isinstance(exc, CaseFormatError):
            raise
        raise CaseFormatError(f"the serialized case is damaged: {exc}", file=name) from exc
    except Exception as exc:  # any failure on a hostile document is a format error, never a traceback
        detail = f"{type(exc).__name__}: {str(exc)[:300]}"
        raise CaseFormatError(f"the serialized case is damaged: {detail}", file=name) from exc
    case.trail = trail
    case._state_changed()
    return case


def apply_state(case: Case, doc: Mapping[str, Any]) -> None:
    """Set every part of ``case`` from a saved state (checked here; also used to roll a failed action back)."""
    steps = case.definition.steps
    data = doc["data"]
    if not isinstance(data, dict):
        raise ValueError("'data' is not a mapping")
    _check_plain(data, "data", typed=False)
    path = [str(s) for s in doc["path"]]
    if any(s not in steps for s in path):
        raise ValueError("'path' names a step the process does not have")
    history = [
        Completion(str(h["step"]), str(h["actor"]), _need_moment(h["at"]), _need_moment(h["since"]))
        for h in doc["history"]
    ]
    if any(c.step not in steps for c in history):
        raise ValueError("'history' names a step the process does not have")
    suspensions = [
        Suspension(str(s["step"]), str(s["reason"]), _need_moment(s["start"]), _moment(s.get("end")))
        for s in doc.get("suspensions", [])
    ]
    open_suspensions = {str(k): int(v) for k, v in doc.get("open_suspensions", {}).items()}
    if any(not 0 <= v < len(suspensions) for v in open_suspensions.values()):
        raise ValueError("'open_suspensions' points outside 'suspensions'")
    extension = doc.get("extension_days")
    if extension is not None and (type(extension) is not int or not 0 < extension < 10_000):
        raise ValueError("'extension_days' is not a number of days")
    findings = [
        Finding(
            str(f["rule"]),
            f.get("task"),
            f.get("actor"),
            str(f.get("message", "")),
            _moment(f.get("at")),
            str(f.get("severity", "error")),
        )
        for f in doc.get("findings", [])
    ]
    workflow = doc["workflow"]
    check_workflow_state(workflow, case.definition)
    case.started_at = _need_moment(doc["started_at"])
    case.data = json.loads(json.dumps(data))
    case.path = path
    case.history = history
    case.clock_start = _moment(doc.get("clock_start"))
    case.ended_at = _moment(doc.get("ended_at"))
    case.suspensions = suspensions
    case._open_suspensions = open_suspensions
    case.extension_days = extension
    case.fallback_years = {int(y) for y in doc.get("fallback_years", [])}
    case.findings = findings
    case._since = {str(k): _need_moment(v) for k, v in doc.get("ready_since", {}).items()}
    case._wf = restore_workflow(workflow, case.definition, case._script_engine())


def _need_moment(value: Any) -> datetime:
    moment = _moment(value)
    if moment is None:
        raise ValueError("a moment is missing")
    return moment
