"""The state of a case: what a saved case holds besides its audit trail, its digest, and setting it back.

:func:`state_bytes` is the canonical JSON (sorted keys, UTF-8, no spaces) of the state: our bookkeeping (data,
path, history, findings, deadline facts) and the engine's task tree without the process spec
(:func:`approvalflow._spiff.workflow_dict`). Its SHA-256 (:func:`state_digest`) is what a trail entry binds as
``state`` when the state is observed (the case saved, its trail read). :func:`apply_state` sets a case from a saved
state after checking it field by field (:func:`check_workflow_state` for the engine's part);
:mod:`approvalflow.engine.persistence` uses it to restore a saved case.

This module sits below :mod:`approvalflow.engine.case` (it knows the case only as a type), so neither the case nor
the persistence module imports the other in a circle.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from .._spiff import (
    TASK_STATES,
    canonical_value,
    canonical_workflow,
    encode_json,
    is_call_activity,
    restore_workflow,
    workflow_dict,
)
from ..bpmn.loader import ProcessDefinition
from ..rules.checks import Completion, Finding
from ..time.calendar import NO_YEARS
from ..time.caseclock import Suspension
from ..time.clock import read_moment
from . import handover
from .empties import UNSET, map_of
from .evaluation import evaluation_from_state
from .flowcontrol import FlowState
from .materials import notices_from_state, supplements_from_state
from .opinions import opinions_from_state
from .signing import check_round
from .timers import restore_timers

if TYPE_CHECKING:
    from .case import Case

__all__ = [
    "CASE_FORMAT", "CASE_VERSION", "MAX_TASKS", "apply_state", "canonical", "case_state", "check_workflow_state",
    "live_state", "state_bytes", "state_digest", "state_pieces",
]  # fmt: skip

CASE_FORMAT = "approvalflow.case"
CASE_VERSION = 4
"""Version 4: version 3 with the approval operations' state (``flow``, ``handover``, ``opinions``, ``notices``,
``supplements``, ``evaluation``; each written only once used), which a reader of version 3 would silently drop.
Version 3: a trail entry binds the state when it was observed (``state`` is null otherwise), the last entry always.
Versions 3, 2 (every entry binds the state) and 1 (the engine spec inside) documents are read too."""
MAX_TASKS = 200_000
"""Most engine tasks a saved case may hold (across the process and its sub-processes)."""

_NOT_STATE = ("trail", "trail_head")
#: Typed values SpiffWorkflow writes into task data and internal data, restored by plain constructors.
_SAFE_TYPENAMES = frozenset({"datetime", "timedelta", "UUID"})
_TOP_KEYS = frozenset({"data", "correlations", "last_task", "success", "completed", "tasks", "root", "subprocesses",
                       "bpmn_events"})  # fmt: skip
_SUB_KEYS = frozenset({"data", "correlations", "last_task", "success", "completed", "tasks", "root",
                       "parent_task_id", "spec", "typename"})  # fmt: skip
_TASK_KEYS = frozenset({"id", "parent", "children", "last_state_change", "state", "task_spec", "triggered",
                        "internal_data", "data", "delta", "typename"})  # fmt: skip


# -- the state of a live case --------------------------------------------------------------------------------
def live_state(case: Case, *, workflow: bool = True) -> dict[str, Any]:
    """The state as live values (engine values such as datetimes included; encode with ``encode_json``).

    The entries of ``history`` are shared with every other state that lists the same completions: encode them, never
    change them."""
    state = {
        "format": CASE_FORMAT,
        "version": CASE_VERSION,
        "case": case.id,
        "process": {"id": case.definition.id, "digest": case.definition.digest, "file": case.definition.file},
        "unit": case.unit.id,
        "policy": case.policy.value,
        "started_at": case.started_at.isoformat(),
        "data": case.data,
        "path": case.path,
        "history": [_completion_state(c) for c in case.history],
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
        "findings": [f.to_dict() for f in case._findings],  # the slots, not the lists: reading makes none
        "ready_since": {k: v.isoformat() for k, v in case._since.items()},
        "max_depth": case.max_depth,
    }
    if case._timers:  # only while the case waits on a timer: states saved before timers ran are unchanged
        state["timers"] = {k: t.to_dict() for k, t in sorted(case._timers.items())}
    flow = case._flow.to_json()
    if flow is not None:  # only once a flow operation ran (engine/flowcontrol.py): other states are as before
        state["flow"] = flow
    if case.provisional_years:  # only then: the state (and digest) of every other case is as before
        state["provisional_years"] = sorted(case.provisional_years)
    # Opinions, 一次告知 notices and supplements (engine/opinions.py, engine/materials.py): only once there are any
    if case._opinions:
        state["opinions"] = [o.to_dict() for o in case._opinions]
    if case._notices:
        state["notices"] = [n.to_dict() for n in case._notices]
    if case._supplements:
        state["supplements"] = [s.to_dict() for s in case._supplements]
    if case.evaluation is not None:  # 好差评 (engine/evaluation.py): only once given
        state["evaluation"] = case.evaluation.to_dict()
    handed = handover.to_state(case)
    if handed is not None:  # only once something was handed on (签收, 转办, 委派, 抄送, 催办): older states unchanged
        state["handover"] = handed
    if workflow:
        state["workflow"] = workflow_dict(case.engine_workflow)
    return state


#: The state of each completion (a completion never changes), by its id with the completion itself (so that an id is
#: never taken for another's): a case saved after every step does not write its earlier completions' moments again.
#: Shared by every state that lists the completion: encoded, never changed. Started afresh past 8,192.
_COMPLETION_STATES: dict[int, tuple[Completion, dict[str, Any]]] = {}


def _completion_state(c: Completion) -> dict[str, Any]:
    kept = _COMPLETION_STATES.get(id(c))
    if kept is not None and kept[0] is c:
        return kept[1]
    out: dict[str, Any] = {"step": c.step, "actor": c.actor, "at": c.at.isoformat(), "since": c.since.isoformat()}
    if not c.decided:  # written only for a signature that left its round open
        out["decided"] = False
    if len(_COMPLETION_STATES) >= 8192:
        _COMPLETION_STATES.clear()
    _COMPLETION_STATES[id(c)] = (c, out)
    return out


def state_pieces(case: Case, memo: dict[int, tuple[Any, ...]], *, inserted: tuple[str, ...] = ()) -> list[str]:
    """Pieces whose concatenation is the canonical JSON of the case's state (:func:`state_bytes`).

    The engine's part comes from :func:`approvalflow._spiff.canonical_workflow`, which reuses the JSON of the
    tasks that cannot have changed since the last call (``memo``, kept by the case). ``inserted`` are pieces
    of further ``,"key":value`` members whose keys sort after ``suspensions`` and before ``unit`` (a saved case's
    ``trail`` and ``trail_head``).
    """
    live = live_state(case, workflow=False)
    unit, version, yellow = live.pop("unit"), live.pop("version"), live.pop("yellow_days")
    head = _CANONICAL.encode(live)[:-1]  # every remaining key sorts before "trail" and "unit"
    text = canonical_value
    return [
        head,
        *inserted,
        f',"unit":{text(unit)},"version":{text(version)},"workflow":',
        *canonical_workflow(case.engine_workflow, memo),
        f',"yellow_days":{text(yellow)}}}',
    ]


def state_bytes(case: Case) -> bytes:
    """The canonical JSON of the case's state (what :func:`state_digest` hashes), in one encoding pass."""
    live = live_state(case)
    try:
        text = encode_json(live, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except TypeError:  # keys of mixed types (only an engine's internal data could have them): the long way
        return canonical(json.loads(encode_json(live)))
    return text.encode()


def case_state(case: Case) -> dict[str, Any]:
    """The case's state without its audit trail (what a refused step must leave unchanged), as plain JSON values."""
    out: dict[str, Any] = json.loads(state_bytes(case))
    return out


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical(value: Any) -> bytes:
    """The canonical JSON of a state: sorted keys, UTF-8, no spaces."""
    return _CANONICAL.encode(value).encode()


def state_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 of a state's canonical JSON (the fields of a saved case other than its trail)."""
    return hashlib.sha256(canonical({k: v for k, v in state.items() if k not in _NOT_STATE})).hexdigest()


# -- checking a saved engine state ---------------------------------------------------------------------------
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
        if type(task["state"]) is not int or task["state"] not in TASK_STATES:
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
        check_round(task.get("internal_data", {}), place)
        delta = task.get("delta", {})
        if not isinstance(delta, dict) or set(delta) - {"updates", "deletions"}:
            raise _bad(f"{place}: 'delta' is not a mapping of updates and deletions")
        if not isinstance(delta.get("updates", {}), dict) or not isinstance(delta.get("deletions", []), list):
            raise _bad(f"{place}: 'delta' is not a mapping of updates and deletions")
        _check_plain(delta, f"{place}.delta", typed=True)
        if is_call_activity(spec.task_specs[spec_name]):
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


# -- setting a case from a saved state -------------------------------------------------------------------------
def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = read_moment(value)  # its offset's one shared timezone object (a saved case has many moments)
    if moment.tzinfo is None:
        raise ValueError(f"moment {value!r} has no time zone")
    return moment


def apply_state(case: Case, doc: Mapping[str, Any]) -> None:
    """Set every part of ``case`` from a saved state (checked here; also used to roll a failed action back)."""
    steps = case.definition.steps
    data = doc["data"]
    if not isinstance(data, dict):
        raise ValueError("'data' is not a mapping")
    _check_plain(data, "data", typed=False)
    history = [
        Completion(str(h["step"]), str(h["actor"]), _need_moment(h["at"]), _need_moment(h["since"]), _decided(h))
        for h in doc["history"]
    ]
    if any(c.step not in steps for c in history):
        raise ValueError("'history' names a step the process does not have")
    if not isinstance(doc["path"], list) or [str(s) for s in doc["path"]] != [c.step for c in history]:
        raise ValueError("'path' is not the steps of 'history' in order")
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
    findings = [Finding.from_dict(f) for f in doc.get("findings", [])]
    opinions = opinions_from_state(doc.get("opinions"), steps)
    notices = notices_from_state(doc.get("notices"), case)
    supplements = supplements_from_state(doc.get("supplements"), case, len(notices))
    evaluation = evaluation_from_state(doc.get("evaluation"), case, data)
    flow = FlowState.from_json(doc.get("flow"), len(suspensions), case.organisation.people, steps)
    workflow = doc["workflow"]
    check_workflow_state(workflow, case.definition)
    case.started_at = _need_moment(doc["started_at"])
    case.data = json.loads(json.dumps(data))
    case.history = history
    case.clock_start = _moment(doc.get("clock_start"))
    case.ended_at = _moment(doc.get("ended_at"))
    case.suspensions = suspensions
    case._open_suspensions = map_of(open_suspensions)
    case.extension_days = extension
    case.fallback_years = frozenset(int(y) for y in doc.get("fallback_years", [])) or NO_YEARS
    case.provisional_years = frozenset(int(y) for y in doc.get("provisional_years", [])) or NO_YEARS
    # empty lists stay unset (engine/empties.py): the attributes give a new empty list when read, as before
    case._findings, case._opinions = findings or UNSET, opinions or UNSET
    case._notices, case._supplements = notices or UNSET, supplements or UNSET
    case._flow = flow
    case.evaluation = evaluation
    case._since = {str(k): _need_moment(v) for k, v in doc.get("ready_since", {}).items()}
    case._set_workflow(
        restore_workflow(workflow, case.definition._spec, case.definition._subprocess_specs, case._script_engine())
    )
    trail = doc.get("trail")  # a saved case's (a state rolled back to has none)
    actions = {str(e.get("at")) for e in trail if isinstance(e, dict)} if isinstance(trail, list) else None
    case._timers = map_of(restore_timers(case, doc.get("timers", {}), actions))
    handover.from_state(case, doc.get("handover"), {str(t.id): t.task_spec.bpmn_id for t in case._scan.ready})


def _decided(entry: Any) -> bool:
    """A history entry's ``decided``: absent (True), or ``false`` for a signature that left its round open."""
    if "decided" not in entry:
        return True
    if entry["decided"] is not False:
        raise ValueError("'history': 'decided' is written only as false")
    return False


def _need_moment(value: Any) -> datetime:
    moment = _moment(value)
    if moment is None:
        raise ValueError("a moment is missing")
    return moment
