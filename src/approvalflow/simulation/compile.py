"""Compile a BPMN process into the compact graph the simulation kernel walks.

The BPMN file is parsed with lxml (safely, :mod:`approvalflow.io.xmlsafe`) and its
``af:`` annotations read by :mod:`approvalflow.bpmn.annotations`, the same reader the
engine's loader uses, so the simulator sees the same steps, posts (``af:step``
or the lane), suspensions, ``af:once`` steps, the extension step and the case
time limit as the engine does, without importing SpiffWorkflow.

What the graph keeps:

- tasks of every kind (user, manual, service, ... tasks) become ``task`` nodes; a signed multi-instance step
  (会签, 或签, 依次审批, 票签) a ``sign`` node (:mod:`.signing`), and an exclusive split that reads only the
  outcome of signed steps (``<step>_passed``...) a ``follow`` node;
- an exclusive gateway with several outgoing flows is a ``xor`` split (a
  branch is drawn by probability), one with a single outgoing flow a ``pass``;
- a parallel gateway is an ``and`` node: it waits for a token on each incoming
  flow (join) and sends one down each outgoing flow (split);
- an inclusive gateway with several outgoing flows is an ``or`` split (each
  non-default flow taken by its own probability) and the inclusive gateway
  its branches all lead to an ``orjoin``, which waits for the tokens the
  split sent; only block-structured uses are compiled
  (:mod:`approvalflow.bpmn.inclusive`), every other is refused by name; one
  with a single outgoing flow and at most one incoming is a ``pass``;
- start, intermediate and end events without an event definition (and thrown
  messages and signals, which nothing here catches) are ``pass`` and ``end``
  nodes;
- a call activity is inlined between an ``enter`` and an ``exit`` node (the
  engine's path lists the called process's steps, and so does the
  simulator's); the called process is found as the loader finds it
  (:mod:`approvalflow.bpmn.calls`: the same file, then the other ``.bpmn``
  files of the folder), and a process no file defines, a recursive call or a
  chain deeper than ``MAX_CALL_DEPTH`` is refused with the loader's error;
- an embedded sub-process is inlined the same way, between an ``enter`` and
  an ``exit`` node (its inner start event is entered, its end events lead
  to the exit);
- a terminate end event of the main process is a ``term`` node: it ends the
  case at once, cancelling every other token (a step in progress is not
  completed and leaves the path); one inside a sub-process or a called
  process ends that sub-process only, which, having no parallel branches
  (see below), is a plain end;
- a loop task (``standardLoopCharacteristics`` on a task) is its ``task`` node
  followed by a ``rep`` node, which sends the token back to the task while its
  ``loopCondition`` is drawn to hold (by the model's probability), at most
  ``loopMaximum`` times; with ``testBefore`` the ``rep`` node comes before the
  task too, so the task may be skipped.

An intermediate timer catch event is a ``wait`` node, and a task with boundary
timers a ``btask`` node whose timers are ``boundary`` nodes (:mod:`.waits`).

Not supported (a clear error naming file, line and element, never flattened
silently): inclusive gateways outside a block (see above), complex and
event-based gateways, boundary events other than timers on a task, event
sub-processes, transactions and ad-hoc sub-processes, multi-instance
activities other than signed steps (a multi-instance service task, call
activity or sub-process) and standard loop activities other than tasks,
script tasks (the engine refuses them unless the host registers trusted
functions, which a simulation cannot run), timers the engine refuses (with
its reason), message, signal and conditional catch events, error,
escalation, compensation, cancel and link events, parallel gateways inside
a called process or an embedded sub-process, and a sub-process without
exactly one start event.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from lxml import etree

from ..bpmn.annotations import ProcessInfo, check_af_placement, read_process
from ..bpmn.calls import Call, CallResolver, candidate_files, missing_process
from ..bpmn.inclusive import inclusive_blocks
from ..bpmn.model import FlowInfo, NodeInfo, StepInfo, TimeLimit
from ..bpmn.timers import TimerInfo
from ..bpmn.vendor import vendor_problems
from ..errors import BpmnError
from ..io.namespaces import BPMN_NS, bpmn
from ..io.xmlsafe import parse_xml_file, strip_comments
from .signing import gateway_kind, refuse_signed
from .waits import SourceTimers, attach_boundaries, timer_kind

__all__ = [
    "MAX_GRAPH_NODES", "GraphNode", "ProcessGraph", "StandardLoop", "compile_bpmn", "loop_tasks", "standard_loop",
    "subprocess_parents",
]  # fmt: skip

MAX_GRAPH_NODES = 200_000
"""Most nodes a compiled graph may have. Each call activity is inlined, so a few processes that call each other
many times over (at most ``MAX_CALL_DEPTH`` deep) could otherwise stand for billions of nodes."""

_TASKS = frozenset(
    {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "businessRuleTask"}
)
_PASS_EVENTS = frozenset({"intermediateCatchEvent", "intermediateThrowEvent"})
_UNSUPPORTED = frozenset({"complexGateway", "eventBasedGateway", "boundaryEvent", "transaction", "adHocSubProcess"})
_LOOPS = {
    "multiInstanceLoopCharacteristics": "a multi-instance activity that no person signs (only a user, manual or "
    "plain task is a signed step, 会签, 或签, simulated one instance per signer); the simulator would run it as "
    "one instance",
    "standardLoopCharacteristics": "a loop activity (standardLoopCharacteristics) that is not a task; the simulator "
    "runs loop tasks only",
}
_STANDARD = "standardLoopCharacteristics"


@dataclass(frozen=True)
class StandardLoop:
    """A task's ``standardLoopCharacteristics`` as the engine (SpiffWorkflow 3.2) runs it: the task is done again
    while ``condition`` holds (checked after each time, or also before the first with ``test_before``), at most
    ``maximum`` times."""

    maximum: int | None
    test_before: bool
    condition: str | None


_EVENT_DEFINITIONS = (
    "timerEventDefinition", "messageEventDefinition", "signalEventDefinition", "conditionalEventDefinition",
    "errorEventDefinition", "escalationEventDefinition", "compensateEventDefinition", "cancelEventDefinition",
    "linkEventDefinition", "terminateEventDefinition",
)  # fmt: skip
_WHY_NOT = {
    "timerEventDefinition": "a timer: the simulator does not model its wait (it would pass in no time)",
    "messageEventDefinition": "a message the host delivers: the simulator does not model when it arrives",
    "signalEventDefinition": "a signal the host delivers: the simulator does not model when it arrives",
    "conditionalEventDefinition": "a condition on case data: the simulator does not model when it holds",
}
_HARMLESS_THROWS = frozenset({"messageEventDefinition", "signalEventDefinition"})  # thrown, nothing here catches them


@dataclass(frozen=True)
class _Shape:
    """What the XML says of one flow node beyond :class:`NodeInfo`: the sub-process it is in, and so on."""

    parent: str | None  # the id of the embedded sub-process it is directly in
    definitions: tuple[str, ...]  # its event definitions (local names)
    loop: str | None  # multiInstanceLoopCharacteristics | standardLoopCharacteristics
    triggered: bool  # an event sub-process (triggeredByEvent="true")
    standard: etree._Element | None = None  # its standardLoopCharacteristics element


def _shapes(proc: etree._Element) -> dict[str, _Shape]:
    """Each flow node of ``proc`` with an id: its :class:`_Shape`."""
    found: dict[str, _Shape] = {}
    for el in proc.iter():
        if not isinstance(el.tag, str) or el.get("id") is None or etree.QName(el).namespace != BPMN_NS:
            continue
        parent = el.getparent()
        inside = parent.get("id") if parent is not None and parent.tag == bpmn("subProcess") else None
        children = {etree.QName(c).localname for c in el if isinstance(c.tag, str)}
        definitions = tuple(d for d in _EVENT_DEFINITIONS if d in children)
        if el.find(bpmn("eventDefinitionRef")) is not None:
            definitions += ("eventDefinitionRef",)
        loop = next((x for x in _LOOPS if x in children), None)
        standard = el.find(bpmn(_STANDARD)) if loop == _STANDARD else None
        found[el.get("id", "")] = _Shape(inside, definitions, loop, el.get("triggeredByEvent") == "true", standard)
    return found


@dataclass(frozen=True)
class GraphNode:
    """One node of the compiled graph.

    ``key`` is unique in the graph (an inlined node is prefixed with its call
    activity's id and ``/``); ``id`` is the BPMN id reported in paths.
    """

    key: str
    id: str
    kind: str  # task sign btask rep wait xor follow or orjoin and pass end term enter exit
    name: str
    file: str | None
    line: int | None
    posts: tuple[str, ...] = ()
    out: tuple[int, ...] = ()
    flows: tuple[str, ...] = ()
    default: str | None = None
    need: int = 1  # tokens an ``and`` node waits for
    once: bool = False
    suspends: bool = False
    extension: bool = False
    least: tuple[int, str] | None = None  # af:minDuration: (value, unit) the step stays open at least
    units: tuple[str, ...] = ()  # af:step/@units: the units whose people do the step (() = the case's)
    step: StepInfo | None = field(default=None, compare=False)  # a task's annotations (who may do it: keeps_off)
    join: int = -1  # an ``or`` split: the index of its ``orjoin`` (bpmn.inclusive)
    loop: StandardLoop | None = None  # a ``rep`` node: the loop task's characteristics
    branch_flows: tuple[FlowInfo, ...] = field(default=(), compare=False)  # a ``follow`` gateway's flows
    timer: TimerInfo | None = None  # a ``wait`` node's or a ``boundary`` timer's (simulation.waits)
    boundary: tuple[int, ...] = ()  # a ``btask``'s boundary timers (their nodes)


@dataclass(frozen=True)
class ProcessGraph:
    """A process compiled for simulation."""

    id: str
    name: str
    file: str | None
    nodes: tuple[GraphNode, ...]
    start: int
    time_limit: TimeLimit | None = None
    starts_after: int | None = None  # node whose completion starts the case clock
    index: dict[str, int] = field(default_factory=dict)  # key -> node index

    def tasks(self) -> list[GraphNode]:
        """The task nodes (steps, signed multi-instance ones too), in document order."""
        return [n for n in self.nodes if n.kind in ("task", "sign", "btask")]

    def splits(self) -> list[GraphNode]:
        """The exclusive splits, whose branches need probabilities."""
        return [n for n in self.nodes if n.kind == "xor"]

    def inclusive_splits(self) -> list[GraphNode]:
        """The inclusive splits, whose non-default flows each need a probability."""
        return [n for n in self.nodes if n.kind == "or"]

    def loops(self) -> list[GraphNode]:
        """The ``rep`` nodes of loop tasks (id: the task's), which decide whether the task is done again."""
        return [n for n in self.nodes if n.kind == "rep"]


@dataclass
class _Draft:
    key: str
    id: str
    kind: str
    name: str
    file: str | None
    line: int | None
    posts: tuple[str, ...] = ()
    targets: list[str] = field(default_factory=list)  # keys
    flows: list[str] = field(default_factory=list)
    default: str | None = None
    need: int = 1
    once: bool = False
    suspends: bool = False
    extension: bool = False
    least: tuple[int, str] | None = None
    units: tuple[str, ...] = ()
    step: StepInfo | None = None
    join: str | None = None  # an ``or`` split: the key of its ``orjoin``
    loop: StandardLoop | None = None
    branch_flows: tuple[FlowInfo, ...] = ()
    timer: TimerInfo | None = None
    boundary: list[str] = field(default_factory=list)


class _Processes(Mapping[str, ProcessInfo]):
    """The processes of one file by id, each read by :func:`read_process` when first asked for."""

    def __init__(self, root: etree._Element, file: str) -> None:
        self._elements = {p.get("id", ""): p for p in root.iter(bpmn("process"))}
        self._file = file
        self._read: dict[str, ProcessInfo] = {}
        self._shapes: dict[str, dict[str, _Shape]] = {}

    def shapes(self, pid: str) -> dict[str, _Shape]:
        """The :class:`_Shape` of each flow node of process ``pid`` (read once)."""
        if pid not in self._shapes:
            self._shapes[pid] = _shapes(self._elements[pid])
        return self._shapes[pid]

    def __getitem__(self, pid: str) -> ProcessInfo:
        if pid not in self._read:
            self._read[pid] = read_process(self._elements[pid], self._file)
        return self._read[pid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._elements)

    def __len__(self) -> int:
        return len(self._elements)


@dataclass
class _Source:
    """A BPMN file as the simulator reads it: parsed safely, ``af:`` placement checked."""

    path: Path
    root: etree._Element
    processes: _Processes
    timers: SourceTimers | None = None


def _read(path: Path) -> _Source:
    root = strip_comments(parse_xml_file(path)).getroot()
    check_af_placement(root, str(path))
    for problem in vendor_problems(root, str(path)):  # the engine would refuse the model: so does the simulator
        raise problem
    return _Source(path, root, _Processes(root, str(path)), SourceTimers(root, str(path)))


class _Builder:
    def __init__(self, main: _Source) -> None:
        self.drafts: dict[str, _Draft] = {}
        self.before: dict[str, str] = {}  # a loop task with testBefore -> its rep node, which flows into it reach
        self.calls = CallResolver(candidate_files(main.path), _read, lambda source: source.processes)

    def add(self, source: _Source, pid: str, prefix: str, exit_key: str | None) -> str:
        """Add one process's nodes; return the key of its entry node."""
        fname = str(source.path)
        info = source.processes[pid]
        shapes = source.processes.shapes(pid)
        starts = self._starts(info, shapes, fname)
        out: dict[str, list[str]] = {}
        incoming: dict[str, int] = {}
        for f in info.flows.values():
            out.setdefault(f.source, []).append(f.id)
            incoming[f.target] = incoming.get(f.target, 0) + 1
        blocks = _blocks(info, out, fname)
        inner_starts: dict[str, list[str]] = {}
        for node in info.nodes.values():
            parent = shapes[node.id].parent
            if node.kind == "startEvent" and parent is not None:
                inner_starts.setdefault(parent, []).append(node.id)
        for node in info.nodes.values():
            shape = shapes[node.id]
            step = info.steps.get(node.id)
            signed, timer = self._screen(source, info, node.kind, node.id, shape)
            key = prefix + node.id
            d = _draft(key, node, step, fname)
            flows = out.get(node.id, [])
            d.flows = list(flows)
            d.targets = [prefix + info.flows[f].target for f in flows]
            d.default = next((f for f in flows if info.flows[f].default), None)
            # where a token that ends here goes: the exit of the sub-process or call activity it is in, or nowhere
            leaves_to = prefix + shape.parent + "/exit" if shape.parent is not None else exit_key
            if timer is not None:  # an intermediate timer (wait) or a boundary timer (simulation.waits)
                d.kind, d.timer = timer
            elif node.kind in _TASKS:
                d.kind = "sign" if signed else "task"
                self._loop(d, shape.standard, fname)
            elif node.kind == "exclusiveGateway":  # xor, pass, or follow (a signed step's decision: simulation.signing)
                d.kind, d.branch_flows = gateway_kind(info, node.id, [info.flows[f] for f in flows], fname)
            elif node.kind == "inclusiveGateway":
                d.kind, d.join = _or_kind(node.id, blocks, prefix)
            elif node.kind == "parallelGateway":
                if prefix or shape.parent is not None:
                    where = "a called process" if prefix else f"sub-process '{shape.parent}'"
                    raise BpmnError(
                        f"parallel gateways inside {where} are not supported by the simulator",
                        file=fname, line=node.line, element=node.id,
                    )  # fmt: skip
                d.kind, d.need = "and", max(1, incoming.get(node.id, 0))
            elif node.kind == "subProcess":
                self._embed(d, inner_starts.get(node.id, []), prefix, fname)
            elif node.kind == "endEvent" or (not flows and node.kind != "callActivity"):
                terminate = "terminateEventDefinition" in shape.definitions
                d.kind = "term" if terminate and leaves_to is None else "end"
            elif node.kind == "callActivity":
                self._call(source, info, node.id, d)
            elif node.kind not in _PASS_EVENTS and node.kind != "startEvent":
                raise BpmnError(
                    f"{node.kind} '{node.id}' is not supported by the simulator", file=fname, line=node.line,
                    element=node.id,
                )  # fmt: skip
            if d.kind == "end" and leaves_to is not None:
                d.kind, d.targets, d.flows = "pass", [leaves_to], [""]
            if d.kind == "enter" and not self.drafts[key + "/exit"].targets:  # nothing after it: an end
                self._end_after(self.drafts[key + "/exit"], leaves_to)
            self.drafts[key] = d
        attach_boundaries(self.drafts, prefix, info, fname)
        return prefix + starts[0].id

    def _starts(self, info: ProcessInfo, shapes: Mapping[str, _Shape], fname: str) -> list[NodeInfo]:
        """The one start event of a process (else refused), after checking the graph stays within its bound."""
        starts = [n for n in info.nodes.values() if n.kind == "startEvent" and shapes[n.id].parent is None]
        if len(starts) != 1:
            raise BpmnError(
                f"process '{info.id}' has {len(starts)} start events; the simulator needs exactly one",
                file=fname, line=info.line, element=info.id,
            )  # fmt: skip
        if len(self.drafts) + len(info.nodes) > MAX_GRAPH_NODES:
            raise BpmnError(
                f"inlining the processes that call activities call makes more than {MAX_GRAPH_NODES:,} nodes "
                "(each call activity is inlined; compile.MAX_GRAPH_NODES)",
                file=fname, line=info.line, element=info.id,
            )  # fmt: skip
        return starts

    def _screen(
        self, source: _Source, info: ProcessInfo, kind: str, ident: str, shape: _Shape
    ) -> tuple[bool, tuple[str, TimerInfo] | None]:
        """Whether a flow node is a signed step (会签...), and its timer (simulation.waits); refuse what the
        simulator does not run."""
        step = info.steps.get(ident)
        signed = step is not None and step.countersign is not None  # simulated instance by instance
        file, line = str(source.path), info.nodes[ident].line
        if signed:
            refuse_signed(info, ident, file)
        timer = timer_kind(source.timers, kind, ident, line, file, shape.definitions)
        if timer is None:
            self._refuse(kind, ident, line, file, replace(shape, loop=None) if signed else shape)
        return signed, timer

    @staticmethod
    def _refuse(kind: str, ident: str, line: int | None, file: str, shape: _Shape) -> None:
        """Refuse, naming it, a flow node the simulator would otherwise run wrongly."""
        why: str | None = None
        if kind in _UNSUPPORTED:
            why = f"{kind} '{ident}' is not supported by the simulator"
        elif shape.loop is not None and (shape.loop != _STANDARD or kind not in _TASKS):
            why = f"{kind} '{ident}' is {_LOOPS[shape.loop]}: not supported by the simulator"
        elif kind == "subProcess" and shape.triggered:
            why = (
                f"event sub-process '{ident}' is not supported by the simulator: it starts on an event (timer, "
                "message, signal, error, ...) whose moment the simulator does not model"
            )
        elif kind == "receiveTask":
            why = (
                f"receiveTask '{ident}' is not supported by the simulator: it waits for a message the host delivers, "
                "whose moment the simulator does not model (it is not a piece of staff work)"
            )
        elif kind == "scriptTask":
            why = (
                f"scriptTask '{ident}' is not supported by the simulator: the engine never runs a script from a "
                "BPMN file and runs a script task only as a trusted function the host registers, which a "
                "simulation has not"
            )
        elif shape.definitions:
            definition = shape.definitions[0]
            if kind in {"intermediateThrowEvent", "endEvent"} and all(
                d in _HARMLESS_THROWS or (kind == "endEvent" and d == "terminateEventDefinition")
                for d in shape.definitions
            ):
                return
            event = definition.removesuffix("EventDefinition")
            reason = _WHY_NOT.get(definition, f"a {event} event, which the simulator does not model")
            why = f"{kind} '{ident}' is not supported by the simulator: it is {reason}"
        if why is not None:
            raise BpmnError(why, file=file, line=line, element=ident)

    def _loop(self, d: _Draft, el: etree._Element | None, file: str) -> None:
        """A loop task (``el``: its standardLoopCharacteristics): its flows go to a ``rep`` node, which leads back
        to it or on (and, with ``testBefore``, comes before it too: :func:`compile_bpmn` redirects the flows into
        the task to it)."""
        if el is None:
            return
        loop = standard_loop(el, file, d.id, d.line)
        if d.once:
            raise BpmnError(f"task '{d.id}' is an af:once step and a loop task; the simulator refuses the pair",
                            file=file, line=d.line, element=d.id)  # fmt: skip
        key = d.key + "/loop"
        self.drafts[key] = _Draft(key, d.id, "rep", d.name, d.file, d.line, targets=[d.key, *d.targets],
                                  flows=["", *d.flows], loop=loop)  # fmt: skip
        d.targets, d.flows = [key], [""]
        if loop.test_before:
            self.before[d.key] = key

    def _end_after(self, exit_draft: _Draft, leaves_to: str | None) -> None:
        """An ``exit`` with no flow out: its token ends there, or leaves the scope it is in."""
        if leaves_to is None:
            leaves_to = exit_draft.key + "/end"
            self.drafts[leaves_to] = _Draft(leaves_to, exit_draft.id, "end", exit_draft.name, exit_draft.file,
                                            exit_draft.line)  # fmt: skip
        exit_draft.targets, exit_draft.flows = [leaves_to], [""]

    def _embed(self, d: _Draft, starts: list[str], prefix: str, file: str) -> None:
        """An embedded sub-process: ``d`` becomes its ``enter`` node, leading to its inner start; add its exit."""
        if len(starts) != 1:
            raise BpmnError(
                f"sub-process '{d.id}' has {len(starts)} start events; the simulator needs exactly one",
                file=file, line=d.line, element=d.id,
            )  # fmt: skip
        exit_key = d.key + "/exit"
        self.drafts[exit_key] = _Draft(
            exit_key, d.id, "exit", d.name, d.file, d.line, targets=d.targets, flows=d.flows, suspends=d.suspends
        )
        d.kind, d.targets, d.flows = "enter", [prefix + starts[0]], [""]

    def _call(self, source: _Source, info: ProcessInfo, activity: str, d: _Draft) -> None:
        """Inline the called process between an ``enter`` and an ``exit`` node (found by :mod:`bpmn.calls`)."""
        called = info.called.get(activity)
        if called is None:
            d.kind = "task"  # a call activity without calledElement: simulated as one step
            return
        found = self.calls.find(source, called)
        if found is None:  # compile_bpmn refused this before: every call reached was resolved
            raise missing_process(Call(info.id, activity, called, str(source.path), d.line))
        sub, sub_info = found
        exit_key = d.key + "/exit"
        entry = self.add(sub, sub_info.id, d.key + "/", exit_key)
        self.drafts[exit_key] = _Draft(
            exit_key, d.id, "exit", d.name, d.file, d.line, targets=d.targets, flows=d.flows, suspends=d.suspends
        )
        d.kind, d.targets, d.flows = "enter", [entry], [""]


def _or_kind(node: str, blocks: Mapping[str, str], prefix: str) -> tuple[str, str | None]:
    """An inclusive gateway: a split (with the key of its join, :mod:`approvalflow.bpmn.inclusive`), a join, or one that
    passes."""
    if node in blocks:
        return "or", prefix + blocks[node]
    return ("orjoin" if node in blocks.values() else "pass"), None


def _blocks(info: ProcessInfo, out: Mapping[str, list[str]], file: str) -> dict[str, str]:
    """The inclusive splits of ``info`` with their joins (:func:`~approvalflow.bpmn.inclusive.inclusive_blocks`);
    an inclusive gateway used otherwise is refused naming file, line and element."""
    kinds = {n.id: n.kind for n in info.nodes.values()}
    if "inclusiveGateway" not in kinds.values():
        return {}
    targets = {n: [info.flows[f].target for f in fs] for n, fs in out.items()}

    def fail(node: str, why: str) -> BpmnError:
        found = info.nodes.get(node)
        return BpmnError(
            f"{kinds.get(node, 'node')} '{node}' is not supported by the simulator: {why} (the simulator runs an "
            "inclusive gateway only as a block: a split whose every branch leads to one inclusive join)",
            file=file, line=found.line if found is not None else None, element=node,
        )  # fmt: skip

    return inclusive_blocks(kinds, targets, fail)


def _draft(key: str, node: NodeInfo, step: StepInfo | None, fname: str) -> _Draft:
    """A node's draft with what its step's annotations say (posts, once, extension, units, suspension, least)."""
    d = _Draft(key, node.id, "pass", node.name or node.id, fname, node.line)
    if step is not None:
        d.posts, d.once, d.extension, d.units = step.posts, step.once, step.extension, step.units
        d.step = step
        d.suspends = step.suspends_clock is not None
        if step.min_duration is not None:
            d.least = (step.min_duration.value, step.min_duration.unit)
    return d


def _pick(root: etree._Element, file: str, process_id: str | None) -> etree._Element:
    procs = list(root.iter(bpmn("process")))
    if process_id is not None:
        chosen = [p for p in procs if p.get("id") == process_id]
        if not chosen:
            raise BpmnError(f"no process '{process_id}' in the file", file=file, element=process_id)
        return chosen[0]
    runnable = [p for p in procs if p.find(bpmn("startEvent")) is not None]
    if not runnable:
        raise BpmnError("no process with a start event in the file", file=file)
    return runnable[0]


def compile_bpmn(path: str | os.PathLike[str], *, process_id: str | None = None) -> ProcessGraph:
    """Compile the process of a BPMN file (the first with a start event, or ``process_id``).

    Call activities are resolved as the loader resolves them (:mod:`approvalflow.bpmn.calls`): a called process
    that no file defines, a recursive call or a chain deeper than ``MAX_CALL_DEPTH`` is refused with the
    loader's error.
    """
    file = Path(path)
    main = _read(file)
    b = _Builder(main)
    pid = _pick(main.root, str(file), process_id).get("id", "")
    b.calls.resolve(main, pid)
    start_key = b.add(main, pid, "", None)
    if b.before:  # a testBefore loop task: its condition is checked before it, so flows into it go to its rep node
        for d in b.drafts.values():  # but a rep node's own way back to its task
            first = d.targets[:1] if d.kind == "rep" else [b.before.get(t, t) for t in d.targets[:1]]
            d.targets = first + [b.before.get(t, t) for t in d.targets[1:]]
    keys = list(b.drafts)
    index = {k: i for i, k in enumerate(keys)}
    nodes = []
    for k in keys:
        d = b.drafts[k]
        for t, f in zip(d.targets, d.flows, strict=True):
            if t not in index:
                raise BpmnError(f"sequence flow '{f}' leads to '{t}', which is not a flow node", file=d.file,
                                line=d.line, element=d.id)  # fmt: skip
        nodes.append(
            GraphNode(
                d.key, d.id, d.kind, d.name, d.file, d.line, d.posts, tuple(index[t] for t in d.targets),
                tuple(d.flows), d.default, d.need, d.once, d.suspends, d.extension, d.least, d.units,
                d.step, index[d.join] if d.join is not None else -1, d.loop, d.branch_flows, d.timer,
                tuple(index[b] for b in d.boundary),
            )
        )  # fmt: skip
    info = main.processes[pid]
    tl = info.time_limit
    after = index.get(tl.starts_after) if tl is not None and tl.starts_after else None
    return ProcessGraph(info.id, info.name or info.id, str(file), tuple(nodes), index[start_key], tl, after, index)


def standard_loop(el: etree._Element, file: str, ident: str, line: int | None) -> StandardLoop:
    """Read a ``standardLoopCharacteristics`` element as the engine does; refuse one the engine refuses."""
    raw = el.get("loopMaximum")
    maximum: int | None = None
    if raw is not None:
        if not raw.strip().isdigit():
            raise BpmnError(f"loopMaximum of task '{ident}' is {raw!r}, not a whole number", file=file, line=line,
                            element=ident)  # fmt: skip
        maximum = int(raw)
    found = el.find(bpmn("loopCondition"))
    condition = (found.text or "").strip() or None if found is not None else None
    if maximum is None and condition is None:
        raise BpmnError(f"loop task '{ident}' has neither a loopMaximum nor a loopCondition", file=file, line=line,
                        element=ident)  # fmt: skip
    return StandardLoop(maximum, el.get("testBefore", "false") == "true", condition)


def loop_tasks(files: Iterable[str | os.PathLike[str]]) -> dict[str, StandardLoop]:
    """Each loop task (``standardLoopCharacteristics``) in the BPMN ``files``, by id: replay follows its loop."""
    found: dict[str, StandardLoop] = {}
    for file in files:
        root = strip_comments(parse_xml_file(file)).getroot()
        for el in root.iter(bpmn(_STANDARD)):
            task = el.getparent()
            if task is not None and etree.QName(task).localname in _TASKS and task.get("id"):
                found[task.get("id", "")] = standard_loop(el, str(file), task.get("id", ""), task.sourceline)
    return found


def subprocess_parents(files: Iterable[str | os.PathLike[str]]) -> dict[str, str]:
    """Each flow node directly inside an embedded sub-process in the BPMN ``files``, with that sub-process's id.

    Replay (:mod:`approvalflow.simulation.replay`) walks a token into a sub-process and out of it with this.
    """
    parents: dict[str, str] = {}
    for file in files:
        root = strip_comments(parse_xml_file(file)).getroot()
        for proc in root.iter(bpmn("process")):
            parents.update((k, v.parent) for k, v in _shapes(proc).items() if v.parent is not None)
    return parents
