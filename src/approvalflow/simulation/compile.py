"""Compile a BPMN process into the compact graph the simulation kernel walks.

The BPMN file is parsed with lxml (safely, :mod:`approvalflow.io.xmlsafe`) and its
``af:`` annotations read by :mod:`approvalflow.bpmn.annotations`, the same reader the
engine's loader uses, so the simulator sees the same steps, posts (``af:step``
or the lane), suspensions, ``af:once`` steps, the extension step and the case
time limit as the engine does, without importing SpiffWorkflow.

What the graph keeps:

- tasks of every kind (user, manual, service, ... tasks) become ``task`` nodes;
- an exclusive gateway with several outgoing flows is a ``xor`` split (a
  branch is drawn by probability), one with a single outgoing flow a ``pass``;
- a parallel gateway is an ``and`` node: it waits for a token on each incoming
  flow (join) and sends one down each outgoing flow (split);
- start, intermediate and end events are ``pass`` and ``end`` nodes;
- a call activity is inlined between an ``enter`` and an ``exit`` node (the
  engine's path lists the called process's steps, and so does the
  simulator's); the called process is found as the loader finds it
  (:mod:`approvalflow.bpmn.calls`: the same file, then the other ``.bpmn``
  files of the folder), and a process no file defines, a recursive call or a
  chain deeper than ``MAX_CALL_DEPTH`` is refused with the loader's error.

Not supported (a clear error naming file, line and element): inclusive,
complex and event-based gateways, boundary events, embedded sub-processes,
and parallel gateways inside a called process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..bpmn.annotations import ProcessInfo, check_af_placement, read_process
from ..bpmn.calls import Call, CallResolver, candidate_files, missing_process
from ..bpmn.model import TimeLimit
from ..errors import BpmnError
from ..io.namespaces import bpmn
from ..io.xmlsafe import parse_xml_file, strip_comments

__all__ = ["MAX_GRAPH_NODES", "GraphNode", "ProcessGraph", "compile_bpmn"]

MAX_GRAPH_NODES = 200_000
"""Most nodes a compiled graph may have. Each call activity is inlined, so a few processes that call each other
many times over (at most ``MAX_CALL_DEPTH`` deep) could otherwise stand for billions of nodes."""

_TASKS = frozenset(
    {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "businessRuleTask"}
)
_PASS_EVENTS = frozenset({"intermediateCatchEvent", "intermediateThrowEvent"})
_UNSUPPORTED = frozenset(
    {"inclusiveGateway", "complexGateway", "eventBasedGateway", "boundaryEvent", "subProcess", "transaction",
     "adHocSubProcess"}
)  # fmt: skip


@dataclass(frozen=True)
class GraphNode:
    """One node of the compiled graph.

    ``key`` is unique in the graph (an inlined node is prefixed with its call
    activity's id and ``/``); ``id`` is the BPMN id reported in paths.
    """

    key: str
    id: str
    kind: str  # task | xor | and | pass | end | enter | exit
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
    units: tuple[str, ...] = ()  # af:step/@units: other units whose people do the step


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
        """The task nodes (steps), in document order."""
        return [n for n in self.nodes if n.kind == "task"]

    def splits(self) -> list[GraphNode]:
        """The exclusive splits, whose branches need probabilities."""
        return [n for n in self.nodes if n.kind == "xor"]


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


class _Processes(Mapping[str, ProcessInfo]):
    """The processes of one file by id, each read by :func:`read_process` when first asked for."""

    def __init__(self, root: etree._Element, file: str) -> None:
        self._elements = {p.get("id", ""): p for p in root.iter(bpmn("process"))}
        self._file = file
        self._read: dict[str, ProcessInfo] = {}

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


def _read(path: Path) -> _Source:
    root = strip_comments(parse_xml_file(path)).getroot()
    check_af_placement(root, str(path))
    return _Source(path, root, _Processes(root, str(path)))


class _Builder:
    def __init__(self, main: _Source) -> None:
        self.drafts: dict[str, _Draft] = {}
        self.calls = CallResolver(candidate_files(main.path), _read, lambda source: source.processes)

    def add(self, source: _Source, pid: str, prefix: str, exit_key: str | None) -> str:
        """Add one process's nodes; return the key of its entry node."""
        fname = str(source.path)
        info = source.processes[pid]
        starts = [n for n in info.nodes.values() if n.kind == "startEvent"]
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
        out: dict[str, list[str]] = {}
        incoming: dict[str, int] = {}
        for f in info.flows.values():
            out.setdefault(f.source, []).append(f.id)
            incoming[f.target] = incoming.get(f.target, 0) + 1
        for node in info.nodes.values():
            if node.kind in _UNSUPPORTED:
                raise BpmnError(
                    f"{node.kind} '{node.id}' is not supported by the simulator", file=fname, line=node.line,
                    element=node.id,
                )  # fmt: skip
            key = prefix + node.id
            d = _Draft(key, node.id, "pass", node.name or node.id, fname, node.line)
            step = info.steps.get(node.id)
            if step is not None:
                d.posts, d.once, d.extension, d.units = step.posts, step.once, step.extension, step.units
                d.suspends = step.suspends_clock is not None
                if step.min_duration is not None:
                    d.least = (step.min_duration.value, step.min_duration.unit)
            flows = out.get(node.id, [])
            d.flows = list(flows)
            d.targets = [prefix + info.flows[f].target for f in flows]
            d.default = next((f for f in flows if info.flows[f].default), None)
            if node.kind in _TASKS:
                d.kind = "task"
            elif node.kind == "exclusiveGateway":
                d.kind = "xor" if len(flows) > 1 else "pass"
            elif node.kind == "parallelGateway":
                if prefix:
                    raise BpmnError(
                        "parallel gateways inside a called process are not supported by the simulator",
                        file=fname, line=node.line, element=node.id,
                    )  # fmt: skip
                d.kind, d.need = "and", max(1, incoming.get(node.id, 0))
            elif node.kind == "endEvent" or (not flows and node.kind != "callActivity"):
                d.kind = "end"
            elif node.kind == "callActivity":
                self._call(source, info, node.id, d)
            elif node.kind not in _PASS_EVENTS and node.kind != "startEvent":
                raise BpmnError(
                    f"{node.kind} '{node.id}' is not supported by the simulator", file=fname, line=node.line,
                    element=node.id,
                )  # fmt: skip
            if d.kind == "end" and exit_key is not None:
                d.kind, d.targets, d.flows = "pass", [exit_key], [""]
            self.drafts[key] = d
        return prefix + starts[0].id

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
            )
        )  # fmt: skip
    info = main.processes[pid]
    tl = info.time_limit
    after = index.get(tl.starts_after) if tl is not None and tl.starts_after else None
    return ProcessGraph(info.id, info.name or info.id, str(file), tuple(nodes), index[start_key], tl, after, index)
