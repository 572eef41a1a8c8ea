"""A BPMN process as a token net for conformance checking: read without the engine, executable or not.

``log check`` needs the behaviour of a flowchart, not a running case: a model drawn or mined by another tool
(PM4Py writes ``isExecutable="false"`` and exclusive splits without conditions) is checked as it is.
:func:`load_model` parses the file safely (:mod:`approvalflow.io.xmlsafe`), reads the ``af:`` annotations
with :func:`approvalflow.bpmn.annotations.read_process` (posts, segregation, time limits for the rule
findings) and builds a :class:`ProcessNet` on BPMN's token semantics:

- every sequence flow is a place; a token on it is a token on the flow;
- a task is a *visible* transition labelled with its BPMN id: one per incoming flow (several incoming flows
  are an implicit exclusive merge), producing a token on every outgoing flow (an implicit parallel split);
- an exclusive (and an event-based) gateway is one *silent* transition per pair of incoming and outgoing
  flow: conditions are not evaluated, every branch is possible (free choice);
- a parallel gateway is one silent transition taking a token from every incoming flow and giving one to
  every outgoing flow;
- an inclusive split is one silent transition per non-empty subset of its outgoing flows (at most
  :data:`MAX_INCLUSIVE` of them); an inclusive join is supported when it closes the block of one inclusive
  split (each branch of the split reaches exactly one of the join's incoming flows, and nothing else enters
  the branches): the split remembers which subset it chose and the join waits for exactly those branches;
- start events are silent transitions from the initial place; end events consume their token; a terminate
  end event empties the process (or the sub-process it is in); intermediate events are silent pass-throughs;
- an embedded sub-process is flattened: entering it marks it active and starts its start event; it is left
  when no token is left inside; an interrupting boundary event on a task or sub-process is a silent
  alternative to it (a boundary event on a sub-process empties it).

The run ends when no token is left anywhere (the empty marking). Refused by name (a :class:`BpmnError`),
never approximated: call activities, loop and multi-instance markers, non-interrupting boundary events,
event sub-processes, ad-hoc sub-processes, complex gateways, inclusive joins that close no single inclusive
split, conditional flows out of a task, and flow nodes without an incoming flow other than start events.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from lxml import etree

from ..bpmn.annotations import STEP_KINDS, check_af_placement, read_process
from ..bpmn.calls import candidate_files
from ..bpmn.model import StepInfo, TimeLimit
from ..errors import BpmnError, DefinitionError
from ..io.namespaces import BPMN_NS, bpmn, local
from ..io.xmlsafe import DEFAULT_MAX_BYTES, parse_xml, strip_comments

__all__ = [
    "MAX_CALL_DEPTH", "MAX_INCLUSIVE", "MAX_MODEL_ELEMENTS", "ProcessNet", "Transition", "load_model", "normalise_name",
]  # fmt: skip

MAX_INCLUSIVE = 8
"""Most outgoing flows of an inclusive split (it is 2**n - 1 transitions)."""

_PASS = frozenset({"intermediateCatchEvent", "intermediateThrowEvent"})
_XOR = frozenset({"exclusiveGateway", "eventBasedGateway"})
_REFUSED_KINDS = {
    "complexGateway": "a complex gateway's activation rule cannot be checked",
    "adHocSubProcess": "an ad-hoc sub-process runs its tasks in any order and number",
}
MAX_CALL_DEPTH = 10
"""Most call activities nested in one another that are flattened."""
MAX_MODEL_ELEMENTS = 5_000
"""Most flow nodes and sequence flows of a model checked (all processes flattened into it together)."""


@dataclass(frozen=True)
class Transition:
    """A move of the model: ``label`` is the step id of a visible transition, None for a silent one."""

    label: str | None
    node: str  # the BPMN element it comes from
    consume: tuple[int, ...]  # places, sorted, with repetition
    produce: tuple[int, ...]
    empty: tuple[int, ...] = ()  # places that must hold no token (a sub-process is left when nothing is inside)
    clear: tuple[int, ...] = ()  # places emptied when it fires (terminate end event, interrupting boundary)


@dataclass
class ProcessNet:
    """The token net of one BPMN process, with the ``af:`` facts of its steps."""

    id: str
    name: str | None
    file: str | None
    places: list[str] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    initial: tuple[int, ...] = ()
    steps: dict[str, StepInfo] = field(default_factory=dict)
    time_limit: TimeLimit | None = None
    names: dict[str, list[str]] = field(default_factory=dict)  # normalised task name -> step ids

    def place(self, name: str) -> int:
        self.places.append(name)
        return len(self.places) - 1

    def add(self, transition: Transition) -> None:
        self.transitions.append(transition)

    @property
    def name_or_id(self) -> str:
        return self.name or self.id

    def step_of(self, activity: str) -> str | None:
        """The step an event's activity names: a task's BPMN id, else its name (normalised); None if neither.

        A name that several tasks carry is a :class:`BpmnError` listing them: the log cannot say which."""
        if activity in self.steps:
            return activity
        found = self.names.get(normalise_name(activity), [])
        if len(found) > 1:
            raise BpmnError(
                f"the activity '{activity[:80]}' of the log is the name of {len(found)} tasks "
                f"({', '.join(found)}): name them apart, or write the task ids in the log",
                file=self.file,
            )
        return found[0] if found else None


def normalise_name(text: str) -> str:
    """A name as it is compared: Unicode NFKC, case folded, whitespace runs made one space, ends trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


class _Builder:
    """Builds the transitions of one ``bpmn:process`` into a :class:`ProcessNet` (its own, or a caller's)."""

    def __init__(
        self, proc: etree._Element, file: str | None, net: ProcessNet | None = None, chain: tuple[str, ...] = ()
    ) -> None:
        self.proc, self.file, self.chain = proc, file, chain
        info = read_process(proc, file)
        self.net = net or ProcessNet(info.id, info.name, file, steps={}, time_limit=info.time_limit)
        self.prefix = "".join(f"{c}/" for c in chain)
        self.info = info
        self.first = len(self.net.places)
        if len(self.net.places) + len(info.nodes) + len(info.flows) > MAX_MODEL_ELEMENTS:
            raise BpmnError(
                f"the model has more than {MAX_MODEL_ELEMENTS:,} flow nodes and sequence flows, more than a "
                "conformance check takes (approvalflow.supervision.procnet.MAX_MODEL_ELEMENTS)",
                file=file,
                line=proc.sourceline,
                element=info.id,
            )
        self.flows: dict[str, int] = {}
        self.incoming: dict[str, list[str]] = {}
        self.outgoing: dict[str, list[str]] = {}
        self.elements: dict[str, etree._Element] = {}
        self.inside: dict[str, list[int]] = {}  # sub-process or call activity id -> every place inside it
        self.active: dict[str, int] = {}  # sub-process or call activity id -> its "active" place
        self.unsafe: set[str] = set()  # nodes a token may leave a block from otherwise than by its flows
        self.terminates: list[int] = []  # transitions of terminate end events: they empty every place
        self.pending: list[tuple[etree._Element, str]] = []  # boundary events on sub-processes
        self.joins: list[etree._Element] = []
        self.splits: list[etree._Element] = []

    def refuse(self, el: etree._Element, message: str) -> BpmnError:
        ident = el.get("id") or local(el)
        return BpmnError(f"{local(el)} '{ident}' cannot be checked for conformance: {message}", node=el)

    def build(self, start: int) -> None:
        """Every transition of the process, its start events taking their token from ``start``."""
        self._collect(self.proc)
        self._nodes(self.proc, start, None)
        for el, host in self.pending:
            ident = el.get("id", "")
            self.net.add(
                Transition(None, ident, (self.active[host],), self._out(ident), clear=tuple(self.inside[host]))
            )
        _inclusive_blocks(self)
        everything = tuple(range(self.first, len(self.net.places)))
        for i in self.terminates:
            t = self.net.transitions[i]
            self.net.transitions[i] = Transition(t.label, t.node, t.consume, t.produce, clear=everything)

    def _collect(self, container: etree._Element) -> None:
        for el in container.iter():
            if isinstance(el.tag, str) and el.get("id") in self.info.nodes:
                self.elements[el.get("id", "")] = el
                if local(el) in ("endEvent", "subProcess", "transaction", "callActivity"):
                    self.unsafe.add(el.get("id", ""))
                if local(el) == "boundaryEvent":
                    self.unsafe.add(el.get("attachedToRef", ""))
        for flow in self.info.flows.values():
            self.flows[flow.id] = self.net.place(self.prefix + flow.id)
            self.outgoing.setdefault(flow.source, []).append(flow.id)
            self.incoming.setdefault(flow.target, []).append(flow.id)
            for end in (flow.source, flow.target):
                if end not in self.elements:
                    raise BpmnError(
                        f"sequenceFlow '{flow.id}' cannot be checked for conformance: it connects '{end}', "
                        "which is no flow node of the process",
                        file=self.file,
                        line=flow.line,
                        element=flow.id,
                    )

    def _children(self, container: etree._Element) -> Iterator[etree._Element]:
        for el in container:
            if isinstance(el.tag, str) and etree.QName(el).namespace == BPMN_NS and el.get("id") in self.elements:
                yield el

    def _nodes(self, container: etree._Element, start: int, scope: str | None) -> None:
        starts = [el for el in self._children(container) if local(el) == "startEvent"]
        if not starts:
            raise self.refuse(container, "it has no start event")
        if scope is not None and len(starts) > 1:
            raise self.refuse(container, "an embedded sub-process with several start events")
        for el in self._children(container):
            self._node(el, start, scope)

    def _out(self, ident: str) -> tuple[int, ...]:
        return tuple(sorted(self.flows[f] for f in self.outgoing.get(ident, [])))

    def _in(self, el: etree._Element) -> list[int]:
        found = [self.flows[f] for f in self.incoming.get(el.get("id", ""), [])]
        if not found:
            raise self.refuse(el, "it has no incoming sequence flow (only start events may lack one)")
        return found

    def _node(self, el: etree._Element, start: int, scope: str | None) -> None:
        kind, ident = local(el), el.get("id", "")
        if kind in _REFUSED_KINDS:
            raise self.refuse(el, _REFUSED_KINDS[kind])
        if kind == "startEvent":
            self.net.add(Transition(None, ident, (start,), self._out(ident)))
        elif kind == "endEvent":
            self._end(el, scope)
        elif kind == "boundaryEvent":
            self._boundary(el)
        elif kind in _PASS or kind in _XOR:
            self._exclusive(el)
        elif kind == "parallelGateway":
            self.net.add(Transition(None, ident, tuple(sorted(self._in(el))), self._out(ident)))
        elif kind == "inclusiveGateway":
            self._inclusive(el)
        elif kind in ("subProcess", "transaction", "callActivity"):
            self._subprocess(el)
        elif kind in STEP_KINDS:
            self._task(el)
        else:
            raise self.refuse(el, f"a {kind} is not a flow node conformance knows")

    def _end(self, el: etree._Element, scope: str | None) -> None:
        ident = el.get("id", "")
        terminate = el.find(bpmn("terminateEventDefinition")) is not None
        if terminate and scope is not None:
            raise self.refuse(el, "a terminate end event inside a sub-process")
        for p in self._in(el):
            if terminate:
                self.terminates.append(len(self.net.transitions))
            self.net.add(Transition(None, ident, (p,), ()))

    def _exclusive(self, el: etree._Element) -> None:
        ident = el.get("id", "")
        outs = self._out(ident)
        for p in self._in(el):
            for o in outs or (None,):
                self.net.add(Transition(None, ident, (p,), () if o is None else (o,)))

    def _markers(self, el: etree._Element) -> None:
        for tag in ("standardLoopCharacteristics", "multiInstanceLoopCharacteristics"):
            if el.find(bpmn(tag)) is not None:
                raise self.refuse(el, f"a {tag} marker repeats it a number of times the log cannot be aligned with")

    def _task(self, el: etree._Element) -> None:
        ident = el.get("id", "")
        self._markers(el)
        for f in self.outgoing.get(ident, []):
            if self.info.flows[f].condition:
                raise self.refuse(el, f"its outgoing flow '{f}' has a condition; put a gateway after the task")
        self.net.steps[ident] = self.info.steps[ident]
        for p in self._in(el):
            self.net.add(Transition(ident, ident, (p,), self._out(ident)))

    def _subprocess(self, el: etree._Element) -> None:
        """An embedded sub-process, or a call activity's process, flattened: entered, run, left when empty."""
        ident = el.get("id", "")
        self._markers(el)
        if el.get("triggeredByEvent") == "true":
            raise self.refuse(el, "an event sub-process starts on an event the log does not show")
        self.active[ident] = active = self.net.place(f"{self.prefix}{ident}:active")
        first = len(self.net.places)
        inner = self.net.place(f"{self.prefix}{ident}:start")
        if local(el) == "callActivity":
            self._call(el, inner)
        else:
            self._nodes(el, inner, ident)
        inside = {self.flows[f.get("id", "")] for f in el.iter(bpmn("sequenceFlow")) if f.get("id") in self.flows}
        self.inside[ident] = sorted(inside | set(range(first, len(self.net.places))))
        for p in self._in(el):
            self.net.add(Transition(None, ident, (p,), tuple(sorted((active, inner)))))
        self.net.add(Transition(None, ident, (active,), self._out(ident), empty=tuple(self.inside[ident])))

    def _call(self, el: etree._Element, inner: int) -> None:
        called = el.get("calledElement", "")
        ident = el.get("id", "")
        if called in self.chain or len(self.chain) >= MAX_CALL_DEPTH:
            raise self.refuse(el, f"it calls '{called}' recursively or more than {MAX_CALL_DEPTH} calls deep")
        proc = _find_process(self.proc, called, self.file)
        if proc is None:
            raise self.refuse(el, f"the process '{called}' it calls is in no file beside this one")
        sub = _Builder(proc, _file_of(proc, self.file), self.net, (*self.chain, ident))
        sub.build(inner)

    def _boundary(self, el: etree._Element) -> None:
        ident, host = el.get("id", ""), el.get("attachedToRef", "")
        if el.get("cancelActivity", "true") == "false":
            raise self.refuse(el, "a non-interrupting boundary event adds work the log cannot bound")
        target = self.elements.get(host)
        if target is None:
            raise self.refuse(el, f"it is attached to '{host}', which is no activity of the process")
        if local(target) in ("subProcess", "transaction", "callActivity"):
            self.pending.append((el, host))  # placed once the sub-process's places exist
            return
        for p in self._in(target):
            self.net.add(Transition(None, ident, (p,), self._out(ident)))

    def _inclusive(self, el: etree._Element) -> None:
        ident = el.get("id", "")
        ins, outs = self.incoming.get(ident, []), self.outgoing.get(ident, [])
        if len(ins) > 1 and len(outs) > 1:
            raise self.refuse(el, "an inclusive gateway that both joins and splits")
        if len(ins) > 1:
            self.joins.append(el)
            return
        if len(outs) > MAX_INCLUSIVE:
            raise self.refuse(el, f"an inclusive split of {len(outs)} flows (at most {MAX_INCLUSIVE})")
        self._in(el)
        self.splits.append(el)


def _file_of(proc: etree._Element, default: str | None) -> str | None:
    url = proc.getroottree().docinfo.URL
    return str(url) if url else default


def _find_process(proc: etree._Element, called: str, file: str | None) -> etree._Element | None:
    """The ``bpmn:process`` ``called``: in the caller's document, else in the BPMN files of its folder."""
    for candidate in proc.getroottree().getroot().iter(bpmn("process")):
        if candidate.get("id") == called:
            return candidate
    for path in candidate_files(file):
        try:
            root = strip_comments(parse_xml(path, filename=str(path))).getroot()
        except DefinitionError:
            continue
        for candidate in root.iter(bpmn("process")):
            if candidate.get("id") == called:
                return candidate
    return None


def _chosen(root: etree._Element, process_id: str | None, file: str | None) -> etree._Element:
    processes = list(root.iter(bpmn("process")))
    if process_id is not None:
        for proc in processes:
            if proc.get("id") == process_id:
                return proc
        raise BpmnError(f"no bpmn:process '{process_id}' in the file", file=file)
    called = {el.get("calledElement") for el in root.iter(bpmn("callActivity"))}
    with_flow = [p for p in processes if p.find(bpmn("startEvent")) is not None and p.get("id") not in called]
    if len(with_flow) == 1:
        return with_flow[0]
    if not with_flow:
        raise BpmnError("the file defines no bpmn:process with a start event", file=file, line=root.sourceline)
    ids = ", ".join(p.get("id", "?") for p in with_flow)
    raise BpmnError(f"the file defines several processes ({ids}): say which (process_id=)", file=file)


def load_model(
    source: str | bytes | Path, *, process_id: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> ProcessNet:
    """Read a BPMN file (a path, or the document as text or bytes) as a :class:`ProcessNet` for conformance.

    Executable or not; conditions are ignored (free choice). Refuses by name what it cannot model exactly (see
    the module docstring). ``process_id`` chooses the process when the file has several with a start event.
    Call activities are flattened with the process they call, from the same file or the BPMN files beside it.
    """
    is_path = isinstance(source, Path) or (isinstance(source, str) and source.lstrip("\ufeff \t\r\n")[:1] not in "<")
    file = str(source) if is_path else None
    tree = parse_xml(source, filename=file, max_bytes=max_bytes)
    root = strip_comments(tree).getroot()
    if root.tag != bpmn("definitions"):
        raise BpmnError(f"the root element is <{root.tag}>, not bpmn:definitions ({BPMN_NS})", file=file, line=1)
    check_af_placement(root, file)
    builder = _Builder(_chosen(root, process_id, file), file)
    net = builder.net
    start = net.place("start")
    net.initial = (start,)
    builder.build(start)
    for ident, info in net.steps.items():
        if info.node.name:
            net.names.setdefault(normalise_name(info.node.name), []).append(ident)
    return net


def _branch(builder: _Builder, flow: str, joins: set[str]) -> tuple[set[str], set[str]]:
    """The nodes a branch starting with ``flow`` reaches before an inclusive join, and the join flows it hits."""
    nodes: set[str] = set()
    hits: set[str] = set()
    todo = [flow]
    seen: set[str] = set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        target = builder.info.flows[f].target
        if target in joins:
            hits.add(f)
            continue
        if target not in nodes:
            nodes.add(target)
            todo.extend(builder.outgoing.get(target, []))
    return nodes, hits


def _inclusive_blocks(builder: _Builder) -> None:
    """The transitions of inclusive splits, and of the joins that close their blocks (others refused)."""
    net = builder.net
    joins = {j.get("id", ""): j for j in builder.joins}
    closed: set[str] = set()
    for split in builder.splits:
        ident = split.get("id", "")
        source = builder.flows[builder.incoming[ident][0]]
        outs = builder.outgoing.get(ident, [])
        pairing = _pairing(builder, split, outs, set(joins))
        if pairing is None:
            for k in range(1, len(outs) + 1):
                for subset in combinations(outs, k):
                    net.add(Transition(None, ident, (source,), tuple(sorted(builder.flows[f] for f in subset))))
            continue
        join, mapping = pairing
        closed.add(join)
        for k in range(1, len(outs) + 1):
            for subset in combinations(outs, k):
                marker = net.place(f"{builder.prefix}{ident}:{'+'.join(subset)}")
                given = tuple(sorted([*(builder.flows[f] for f in subset), marker]))
                net.add(Transition(None, ident, (source,), given))
                taken = tuple(sorted([*(builder.flows[mapping[f]] for f in subset), marker]))
                net.add(Transition(None, join, taken, builder._out(join)))
    for ident, el in joins.items():
        if ident not in closed:
            raise builder.refuse(
                el, "an inclusive join is checked only where it closes the block of one inclusive split"
            )


def _pairing(
    builder: _Builder, split: etree._Element, outs: list[str], joins: set[str]
) -> tuple[str, dict[str, str]] | None:
    """The join closing ``split``'s block and which of its flows each branch reaches; None if there is none."""
    ident = split.get("id", "")
    mapping: dict[str, str] = {}
    claimed: set[str] = set()
    for f in outs:
        nodes, hits = _branch(builder, f, joins)
        if len(hits) != 1 or ident in nodes or nodes & claimed or nodes & builder.unsafe:
            return None
        claimed |= nodes
        mapping[f] = next(iter(hits))
    targets = {builder.info.flows[h].target for h in mapping.values()}
    if len(targets) != 1 or len(set(mapping.values())) != len(outs):
        return None
    join = next(iter(targets))
    if set(builder.incoming.get(join, [])) != set(mapping.values()):
        return None
    for node in claimed:  # nothing outside the block enters a branch
        for f in builder.incoming.get(node, []):
            if builder.info.flows[f].source not in claimed | {ident}:
                return None
    return join, mapping
