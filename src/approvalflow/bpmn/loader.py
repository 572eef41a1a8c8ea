"""Load BPMN 2.0 files into :class:`ProcessDefinition` objects, safely.

Loading goes through these stages, each of which raises a
:class:`~approvalflow.errors.DefinitionError` naming file, line and element:

1. parse the XML with no network, no DTD and no entities (:mod:`approvalflow.io.xmlsafe`);
2. validate against BPMN 2.0's XSD and ``af.xsd`` (:mod:`.bpmn_schema`);
3. check where ``af:`` elements sit and read them (:mod:`.annotations`);
4. check structure and references (start event, sequence flows, step ids);
5. check every expression against the safe language and refuse script tasks
   unless the host registered trusted functions (:mod:`.expressions`), and every timer expression: an ISO 8601
   date, duration or repeating interval written as a quoted string (:func:`timer_problems`);
6. resolve call activities from the same file, a given list of files or the same folder, refusing recursive
   calls and chains deeper than ``MAX_CALL_DEPTH`` (:mod:`.calls`, the resolver ``validate`` and the simulator
   use too);
7. build SpiffWorkflow's specification, wrapping any error it raises.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lxml import etree

from .._spiff import BpmnParser, SpiffWorkflowException, hold_timers
from ..errors import (
    BpmnError,
    DefinitionError,
    InvalidInputError,
    NotExecutableError,
    UnknownReferenceError,
    UnsafeContentError,
)
from ..expressions import TrustedFunction, UnsafeExpression, check_expression
from ..io.namespaces import BPMN_NS, bpmn, owner_id
from ..io.xmlsafe import element_label, parse_xml, parse_xml_string, strip_comments
from .annotations import ProcessInfo, check_af_placement, read_process
from .calls import MAX_CALL_DEPTH, CallResolver, candidate_files
from .countersign import check_countersign_refs
from .engine_copy import engine_tree
from .inclusive import inclusive_refusal
from .model import FlowInfo, Material, NodeInfo, Power, RiskPoint, StepInfo, TimeLimit
from .schema import validate_schema
from .timers import TIMER_CHECKS, TIMER_TAGS, TimerInfo, read_timers, timer_problem, timer_problems, timer_refusals
from .vendor import vendor_problems

__all__ = [
    "EXPRESSION_TAGS",
    "INTERRUPTING_EVENT_SUBPROCESS",
    "MAX_CALL_DEPTH",
    "TIMER_TAGS",
    "UNSUPPORTED",
    "ProcessDefinition",
    "TrustedFunction",
    "dangling_references",
    "interrupting_subprocesses",
    "load_process",
    "load_process_sources",
    "load_process_string",
    "script_name",
    "script_text",
    "timer_problem",
    "timer_problems",
    "unrun_timers",
    "unsafe_expressions",
    "unsupported_elements",
]  # fmt: skip


#: Every BPMN 2.0 element whose text is an expression (``tExpression`` / ``tFormalExpression`` in the schema),
#: wherever it stands in ``bpmn:definitions``: inside processes, and outside them (correlation properties and their
#: ``messagePath``, data associations, resource assignments). All are checked against the safe language when a
#: file is loaded, so that a refused expression is reported with its line before anything runs.
EXPRESSION_TAGS = (
    "conditionExpression",
    "completionCondition",
    "activationCondition",
    "loopCardinality",
    "loopCondition",
    "timeDate",
    "timeDuration",
    "timeCycle",
    "condition",
    "messagePath",
    "dataPath",
    "transformation",
    "from",
    "to",
    "expression",
    "formalExpression",  # stands wherever bpmn:expression may (its substitution group), e.g. in a parameter binding
    "resourceAssignmentExpression",
)

#: BPMN elements the engine cannot run correctly, refused by name at load time (and reported by ``validate`` as
#: ``not-executable``) rather than run approximately.
UNSUPPORTED = {
    "adHocSubProcess": "ad-hoc sub-processes are not run by this engine (SpiffWorkflow 3.2 evaluates the completion "
    "condition when the sub-process starts and fails on its data objects); model the steps as a sub-process with "
    "an inclusive gateway instead",
}


@dataclass(frozen=True)
class ProcessDefinition:
    """A loaded, checked process: typed metadata plus the engine's specification.

    ``steps``, ``nodes`` and ``flows`` include those of the processes reached
    through call activities, keyed by BPMN id (ids must be unique across a
    process and the processes it calls).
    """

    id: str
    name: str | None
    file: str | None
    power: Power | None
    time_limit: TimeLimit | None
    documentation: str | None
    nodes: Mapping[str, NodeInfo]
    steps: Mapping[str, StepInfo]
    flows: Mapping[str, FlowInfo]
    lanes: Mapping[str, tuple[str, ...]]
    risks: tuple[RiskPoint, ...]
    processes: Mapping[str, ProcessInfo]
    digest: str
    _spec: Any = field(repr=False, compare=False)
    _subprocess_specs: Mapping[str, Any] = field(repr=False, compare=False)
    _trusted: Mapping[str, TrustedFunction] = field(repr=False, compare=False, default_factory=dict)
    _script_tasks: Mapping[str, TrustedFunction] = field(repr=False, compare=False, default_factory=dict)
    materials: tuple[Material, ...] = ()
    """The materials the process and its steps ask for (``af:materials``, 申请材料), the process's first; those of
    called processes are not included (their cases ask for their own)."""
    timers: Mapping[str, TimerInfo] = field(default_factory=dict)
    """The timer events the engine runs on the case clock (:mod:`approvalflow.bpmn.timers`), by id, including
    those of the processes reached through call activities."""
    interrupting: frozenset[str] = frozenset()
    """The interrupting event sub-processes the engine runs (ids; :func:`interrupting_subprocesses`): when one
    starts, the rest of the process ends."""
    event_subprocesses: frozenset[str] = frozenset()
    """The event sub-processes directly in the process (ids): each lives while the process does."""

    def __repr__(self) -> str:  # the generated one prints every node, step and flow: kilobytes
        return (
            f"ProcessDefinition(id={self.id!r}, name={self.name!r}, file={self.file!r}, steps={len(self.steps)}, "
            f"digest={self.digest[:12]!r})"
        )

    def step(self, step_id: str) -> StepInfo:
        """The step with this BPMN id; ``KeyError`` when there is none."""
        return self.steps[step_id]

    @property
    def name_or_id(self) -> str:
        return self.name or self.id


@dataclass
class _Document:
    file: str | None
    tree: etree._ElementTree
    processes: dict[str, ProcessInfo]
    source: bytes


def load_process(
    path: str | Path,
    *,
    process_id: str | None = None,
    search: Iterable[str | Path] = (),
    trusted_functions: Mapping[str, TrustedFunction] | None = None,
    script_tasks: Mapping[str, TrustedFunction] | None = None,
) -> ProcessDefinition:
    """Load a BPMN file. Call activities resolve against ``search`` files, then the file's folder.

    A script task runs only a function of the host: the one ``trusted_functions`` names by the task's script
    (``stamp()``), or the one ``script_tasks`` binds to the task's id (for models drawn elsewhere, whose scripts
    are code: the code is never run). A ``script_tasks`` id that names another element than a script task is
    refused; ids that no file of the process has are let be.
    """
    path = Path(path)
    host = _Host(trusted_functions, script_tasks)
    doc = _read_document(parse_xml(path, filename=str(path)), str(path), host)
    return _build(doc, candidate_files(path, search), process_id, host)


def load_process_string(
    text: str | bytes,
    *,
    filename: str | None = None,
    process_id: str | None = None,
    search: Iterable[str | Path] = (),
    trusted_functions: Mapping[str, TrustedFunction] | None = None,
    script_tasks: Mapping[str, TrustedFunction] | None = None,
) -> ProcessDefinition:
    """Load BPMN from a string; ``filename`` is only used in messages. The rest as :func:`load_process`."""
    tree = parse_xml_string(text, filename=filename)
    host = _Host(trusted_functions, script_tasks)
    doc = _read_document(tree, filename, host)
    return _build(doc, candidate_files(None, search), process_id, host)


def load_process_sources(
    sources: Sequence[tuple[str, bytes]],
    *,
    process_id: str | None = None,
    trusted_functions: Mapping[str, TrustedFunction] | None = None,
    script_tasks: Mapping[str, TrustedFunction] | None = None,
) -> ProcessDefinition:
    """Load a process from documents held in memory, never from disk: the first is the process's own file, the
    others are the only files its call activities are looked up in (in the order given). Each is ``(name, bytes)``;
    the names are used in messages and must differ. What a process registry keeps
    (:mod:`approvalflow.store.registry`)."""
    if not sources:
        raise InvalidInputError("no BPMN document given")
    by_name = {str(Path(name)): data for name, data in sources}
    if len(by_name) != len(sources):
        raise InvalidInputError("two BPMN documents have the same name")
    host = _Host(trusted_functions, script_tasks)
    name, data = sources[0]
    doc = _read_document(parse_xml_string(data, filename=name), name, host)

    def read(path: Path) -> _Document:
        return _read_document(parse_xml_string(by_name[str(path)], filename=str(path)), str(path), host)

    def ids_of(path: Path) -> list[str]:
        try:
            root = parse_xml_string(by_name[str(path)], filename=str(path)).getroot()
        except DefinitionError:
            return []
        return [proc.get("id", "") for proc in root.iter(bpmn("process"))]

    others = [Path(n) for n, _ in sources[1:]]
    return _build(doc, others, process_id, host, read=read, ids_of=ids_of)


class _Host:
    """The host's functions: by name (``trusted_functions``) and by script task id (``script_tasks``)."""

    def __init__(
        self, trusted: Mapping[str, TrustedFunction] | None, script_tasks: Mapping[str, TrustedFunction] | None
    ) -> None:
        self.trusted = _functions(trusted, "trusted_functions")
        self.script_tasks = _functions(script_tasks, "script_tasks")


def _functions(given: Mapping[str, TrustedFunction] | None, what: str) -> dict[str, TrustedFunction]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise InvalidInputError(f"{what} must be a mapping of names to functions, not {type(given).__name__}")
    for key, fn in given.items():
        if not isinstance(key, str) or not callable(fn):
            raise InvalidInputError(f"{what}: {str(key)[:60]!r} must be a name (text) bound to a function")
    return dict(given)


def _read_document(tree: etree._ElementTree, file: str | None, host: _Host) -> _Document:
    root = strip_comments(tree).getroot()
    if root.tag != bpmn("definitions"):
        raise BpmnError(
            f"the root element is <{root.tag}>, not bpmn:definitions ({BPMN_NS})",
            file=file,
            line=root.sourceline,
        )
    validate_schema(tree, file=file)
    check_af_placement(root, file)
    processes: dict[str, ProcessInfo] = {}
    _check_expressions(root, file, host)
    for problem in vendor_problems(root, file):
        raise problem
    for problem in unsupported_elements(root, file):
        raise problem
    for problem in timer_problems(root, file):
        raise problem
    for proc in root.iter(bpmn("process")):
        info = read_process(proc, file)
        _check_structure(proc, info, file)
        refusal = inclusive_refusal(info, file)
        if refusal is not None:
            raise refusal
        processes[info.id] = info
    for refusal in timer_refusals(root, file):  # before SpiffWorkflow reads the timers
        raise refusal
    if not processes:
        raise BpmnError("the file defines no bpmn:process", file=file, line=root.sourceline)
    return _Document(file, tree, processes, etree.tostring(tree))


#: Why an interrupting event sub-process is refused where it is (SpiffWorkflow 3.2 starts one beside the process,
#: interrupting nothing: the engine ends the rest of the process itself, :func:`approvalflow._spiff.
#: interrupt_for_event_subprocesses`, for those it can start: at process level, on a delivered message or signal).
INTERRUPTING_EVENT_SUBPROCESS = (
    "an interrupting event sub-process is run only directly in the case's own process and started by a message or "
    "a signal: SpiffWorkflow 3.2 never starts one on an error, escalation or condition, nor one inside a "
    "sub-process or a called process, so the steps it should cancel would stay ready; draw the steps it interrupts "
    "inside a sub-process with an interrupting boundary event instead (or make the event sub-process "
    'non-interrupting, isInterrupting="false", if the process is meant to go on)'
)
_STARTS_BY_DELIVERY = ("messageEventDefinition", "signalEventDefinition", "timerEventDefinition")


def interrupting_subprocesses(proc: etree._Element) -> list[str]:
    """The ids of the interrupting event sub-processes directly in ``proc`` started by a message, a signal or a timer
    (on the case clock): those the engine runs (each ends the rest of the process when it starts)."""
    found = []
    for sub in proc.iterchildren(bpmn("subProcess")):
        if sub.get("triggeredByEvent") != "true":
            continue
        for start in sub.iterchildren(bpmn("startEvent")):
            if start.get("isInterrupting", "true") != "false" and any(
                start.find(bpmn(kind)) is not None for kind in _STARTS_BY_DELIVERY
            ):
                found.append(str(sub.get("id")))
    return found


def unsupported_elements(root: etree._Element, file: str | None) -> Iterator[NotExecutableError]:
    """The elements of :data:`UNSUPPORTED`, and each interrupting event sub-process (its start event's
    ``isInterrupting`` is true, the default) not started by a timer (timers say why themselves) that the engine
    cannot run (:func:`interrupting_subprocesses` says which it runs; one of those in a process that another one
    calls is refused when the process is loaded), in document order."""
    for tag, reason in UNSUPPORTED.items():
        for el in root.iter(bpmn(tag)):
            yield NotExecutableError(reason, file=file, line=el.sourceline, element=el.get("id"))
    runnable = {ident for proc in root.iterchildren(bpmn("process")) for ident in interrupting_subprocesses(proc)}
    for sub in root.iter(bpmn("subProcess")):
        if sub.get("triggeredByEvent") != "true" or sub.get("id") in runnable:
            continue
        for start in sub.iterchildren(bpmn("startEvent")):
            if start.get("isInterrupting", "true") == "false" or start.find(bpmn("timerEventDefinition")) is not None:
                continue
            yield NotExecutableError(
                INTERRUPTING_EVENT_SUBPROCESS, file=file, line=start.sourceline, element=sub.get("id")
            )


def unrun_timers(
    root: etree._Element, file: str | None, problems: Iterable[NotExecutableError] | None = None
) -> list[NotExecutableError]:
    """A refusal at each timer event of the document whose expression is right but which the engine does not run
    (:func:`approvalflow.bpmn.timers.timer_refusals`: repeating timers, timer start events...; those with a wrong
    expression are :func:`timer_problems`, passed as ``problems`` when already at hand): ``load_process`` raises
    the first, ``validate`` reports each."""
    wrong = {problem.element for problem in (timer_problems(root, file) if problems is None else problems)}
    return timer_refusals(root, file, wrong)


def dangling_references(
    proc: etree._Element, info: ProcessInfo, file: str | None, ids: set[str | None] | None = None
) -> list[BpmnError]:
    """Every sequence flow end, then every boundary attachment, of ``proc`` that names no element of it.

    :func:`load_process` raises the first; ``validate`` reports them all instead of what follows from them (every
    node behind a misspelt ``targetRef`` unreachable, an engine that cannot build the model).
    """
    ids = {el.get("id") for el in proc.iter() if isinstance(el.tag, str)} if ids is None else ids
    found: list[BpmnError] = []
    for flow in info.flows.values():
        for end, ref in (("sourceRef", flow.source), ("targetRef", flow.target)):
            if ref not in ids:
                found.append(
                    BpmnError(
                        f"sequence flow '{flow.id}' has {end}='{ref}', which is no element of process '{info.id}'",
                        file=file,
                        line=flow.line,
                        element=flow.id,
                    )
                )
    for event in proc.iter(bpmn("boundaryEvent")):
        if event.get("attachedToRef") not in ids:
            found.append(
                BpmnError(
                    f"boundary event '{event.get('id')}' is attached to '{event.get('attachedToRef')}', which is no "
                    f"element of process '{info.id}'",
                    file=file,
                    line=event.sourceline,
                    element=event.get("id"),
                )
            )
    return found


def _check_structure(proc: etree._Element, info: ProcessInfo, file: str | None) -> None:
    ids = {el.get("id") for el in proc.iter() if isinstance(el.tag, str)}
    if not any(n.kind == "startEvent" for n in info.nodes.values()):
        raise BpmnError(f"process '{info.id}' has no start event", file=file, line=info.line, element=info.id)
    for problem in dangling_references(proc, info, file, ids):
        raise problem
    tl = info.time_limit
    if tl is not None and tl.starts_after is not None and tl.starts_after not in info.steps:
        raise UnknownReferenceError(
            f"af:timeLimit startsAfter='{tl.starts_after}' names no step of process '{info.id}' (unknown-step-ref)",
            file=file,
            line=info.line,
            element=info.id,
        )
    seen: dict[str, RiskPoint] = {}
    for risk in info.risks:
        if risk.id in seen:
            raise DefinitionError(
                f"risk point id '{risk.id}' is used twice (also on '{seen[risk.id].node}')",
                file=file,
                line=risk.line,
                element=risk.node,
            )
        seen[risk.id] = risk


def _check_step_refs(infos: Mapping[str, ProcessInfo], steps: Mapping[str, StepInfo]) -> None:
    """af:separateFrom, af:sameActorAs and af:requires name steps of the process or of those it calls."""
    for info in infos.values():
        for step in info.steps.values():
            refs = [("af:separateFrom", r) for r in step.separate_from]
            refs += [("af:requires", r) for r in step.requires]
            if step.same_actor_as:
                refs.append(("af:sameActorAs", step.same_actor_as))
            if step.return_to not in (None, "previous", "start"):
                refs.append(("af:step/@returnTo", str(step.return_to)))
            for what, ref in refs:
                if ref not in steps:
                    raise UnknownReferenceError(
                        f"{what} names '{ref}', which is no step of process '{info.id}' nor of a process "
                        "it calls or is called from (unknown-step-ref)",
                        file=info.file,
                        line=step.node.line,
                        element=step.id,
                    )


def unsafe_expressions(root: etree._Element) -> Iterator[tuple[etree._Element, str, UnsafeExpression]]:
    """Each expression of the whole document (:data:`EXPRESSION_TAGS`) outside the safe language, with its text.

    An unquoted ISO 8601 value in a timer (``2026-10-09T09:00:00``) is left to :func:`timer_problems`, which says
    to quote it."""
    for el in root.iter(*(bpmn(tag) for tag in EXPRESSION_TAGS)):
        text = "".join(el.itertext()).strip()
        check = TIMER_CHECKS.get(etree.QName(el).localname)
        if not text or (check is not None and check(text)):
            continue
        try:
            check_expression(text)
        except UnsafeExpression as exc:
            yield el, text, exc


def _check_expressions(root: etree._Element, file: str | None, host: _Host) -> None:
    """Every expression of the whole document, and every script task, before anything runs."""
    for el, text, exc in unsafe_expressions(root):
        tag = etree.QName(el).localname
        raise UnsafeContentError(
            f"the expression in bpmn:{tag} is refused: {exc.reason} (expression: {text[:80]!r})",
            file=file,
            line=el.sourceline,
            element=owner_id(el),
        ) from exc
    for el in root.iter(bpmn("scriptTask")):
        script = script_text(el)
        if script_name(el) not in host.trusted and el.get("id") not in host.script_tasks:
            allowed = ", ".join(sorted(host.trusted)) or "none registered"
            raise UnsafeContentError(
                f"{element_label(el)} would run a script; scripts from BPMN files are never executed. "
                f"A script task may only name a trusted function the host registered "
                f"(trusted_functions=...; registered: {allowed}), or the host may bind a function to the task's "
                f"id (script_tasks=...); its script is {script[:60]!r}",
                file=file,
                line=el.sourceline,
                element=el.get("id"),
            )


def script_text(el: etree._Element) -> str:
    """The script of a ``bpmn:scriptTask`` (never run), stripped."""
    return "".join(t for s in el.iterfind(bpmn("script")) for t in s.itertext()).strip()


def script_name(el: etree._Element) -> str:
    """The name of the trusted function a script task's script gives (``stamp`` for ``stamp()``)."""
    return script_text(el).removesuffix("()").strip()


def _check_bound(doc: _Document, host: _Host) -> None:
    """A ``script_tasks`` id that names an element of the document other than a script task is refused.

    Ids no file of the process has are let be (a host may keep one table for many models); a script task left
    unbound by a misspelt id is refused at load like any other.
    """
    if not host.script_tasks:
        return
    for el in doc.tree.getroot().iter():
        ident = el.get("id") if isinstance(el.tag, str) else None
        if ident in host.script_tasks and el.tag != bpmn("scriptTask"):
            raise UnknownReferenceError(
                f"script_tasks binds a function to '{ident}', which is {element_label(el)}, not a script task",
                file=doc.file,
                line=el.sourceline,
                element=ident,
            )


def _choose_main(doc: _Document, process_id: str | None) -> str:
    if process_id is not None:
        if process_id not in doc.processes:
            raise UnknownReferenceError(
                f"no process '{process_id}' in the file; it has: {', '.join(doc.processes)}", file=doc.file
            )
        return process_id
    called = {c for p in doc.processes.values() for c in p.called.values()}
    roots = [p for p in doc.processes.values() if p.id not in called and p.executable] or list(doc.processes.values())
    return roots[0].id


def _build(
    doc: _Document,
    candidates: list[Path],
    process_id: str | None,
    host: _Host,
    *,
    read: Callable[[Path], _Document] | None = None,
    ids_of: Callable[[Path], Iterable[str]] | None = None,
) -> ProcessDefinition:
    main = _choose_main(doc, process_id)

    def read_file(path: Path) -> _Document:
        return _read_document(parse_xml(path, filename=str(path)), str(path), host)

    options = {} if ids_of is None else {"ids_of": ids_of}
    resolver = CallResolver(candidates, read or read_file, lambda d: d.processes, **options)
    infos = {info.id: info for _, info in resolver.resolve(doc, main)}
    unique = [doc, *resolver.documents()]
    spec, subspecs = _spiff_specs(main, unique, doc)
    timers: dict[str, TimerInfo] = {}
    for d in unique:  # each document's refused timers were raised when it was read (_read_document)
        timers.update(read_timers(d.tree.getroot(), d.file))
    held = set(hold_timers(spec, subspecs))
    if held != set(timers):  # every timer the engine runs is held on the case clock, and only those
        missing = sorted(set(timers) ^ held)
        raise NotExecutableError(
            "the engine cannot hold this timer on the case clock", file=doc.file, element=missing[0]
        )
    for d in unique:
        _check_bound(d, host)
    interrupting: set[str] = set()
    event_subprocesses: set[str] = set()
    for d in unique:
        for proc in d.tree.getroot().iterchildren(bpmn("process")):
            if proc.get("id") == main:
                event_subprocesses.update(
                    str(sub.get("id"))
                    for sub in proc.iterchildren(bpmn("subProcess"))
                    if sub.get("triggeredByEvent") == "true"
                )
            for ident in interrupting_subprocesses(proc):
                if proc.get("id") != main:  # in a called process: SpiffWorkflow never starts it
                    raise NotExecutableError(INTERRUPTING_EVENT_SUBPROCESS, file=d.file, element=ident)
                interrupting.add(ident)
    digest = hashlib.sha256(b"".join(sorted(d.source for d in unique))).hexdigest()
    definition = _definition(main, doc, infos, spec, subspecs, host, digest)
    return replace(definition, timers=timers, interrupting=frozenset(interrupting),
                   event_subprocesses=frozenset(event_subprocesses))  # fmt: skip


def _merge(infos: Mapping[str, ProcessInfo], attr: str, file_of: Callable[[str], str | None]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for pid, info in infos.items():
        for key, value in getattr(info, attr).items():
            if key in merged:
                raise BpmnError(
                    f"id '{key}' is used in process '{pid}' and in another process it calls; "
                    "ids must be unique across a process and its call activities",
                    file=file_of(pid),
                    line=getattr(value, "line", None),
                    element=key,
                )
            merged[key] = value
    return merged


def _definition(
    main: str,
    doc: _Document,
    infos: Mapping[str, ProcessInfo],
    spec: Any,
    subspecs: Mapping[str, Any],
    host: _Host,
    digest: str,
) -> ProcessDefinition:
    top = infos[main]
    lanes: dict[str, tuple[str, ...]] = {}
    for info in infos.values():
        lanes.update(info.lanes)

    def file_of(pid: str) -> str | None:
        return infos[pid].file

    steps = _merge(infos, "steps", file_of)
    _check_step_refs(infos, steps)
    check_countersign_refs(steps, {s: i.file for i in infos.values() for s in i.steps})
    return ProcessDefinition(
        id=main,
        name=top.name,
        file=doc.file,
        power=top.power,
        time_limit=top.time_limit,
        documentation=top.documentation,
        nodes=_merge(infos, "nodes", file_of),
        steps=steps,
        flows=_merge(infos, "flows", file_of),
        lanes=lanes,
        risks=tuple(r for i in infos.values() for r in i.risks),
        processes=dict(infos),
        digest=digest,
        _spec=spec,
        _subprocess_specs=subspecs,
        _trusted=host.trusted,
        _script_tasks=host.script_tasks,
        materials=top.materials + tuple(m for s in top.steps.values() for m in s.materials),
    )


def _spiff_specs(main: str, docs: Iterable[_Document], main_doc: _Document) -> tuple[Any, dict[str, Any]]:
    parser = BpmnParser()
    lines: dict[tuple[str | None, str], int | None] = {}
    for d in docs:
        for el in d.tree.getroot().iter():
            if isinstance(el.tag, str) and el.get("id"):
                lines[(d.file, el.get("id", ""))] = el.sourceline
        try:
            parser.add_bpmn_xml(engine_tree(d.tree.getroot()), filename=d.file)
        except SpiffWorkflowException as exc:
            raise _wrap(exc, d.file, lines) from exc
    try:
        spec = parser.get_spec(main)
        return spec, parser.get_subprocess_specs(main)
    except SpiffWorkflowException as exc:
        raise _wrap(exc, main_doc.file, lines) from exc
    except (KeyError, AttributeError, TypeError, ValueError, IndexError) as exc:
        raise NotExecutableError(
            f"the engine cannot build this process ({type(exc).__name__}: {exc})",
            file=main_doc.file,
            element=main,
        ) from exc


def _wrap(exc: Exception, file: str | None, lines: Mapping[tuple[str | None, str], int | None]) -> DefinitionError:
    element = getattr(exc, "id", None) or None
    fname = getattr(exc, "file_name", None) or file
    line = lines.get((fname, element)) if element else None
    message = str(exc).split(". Error evaluating")[0].rstrip(". ")
    return NotExecutableError(f"the engine cannot run this model: {message}", file=fname, line=line, element=element)
