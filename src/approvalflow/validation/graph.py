"""The graph of a BPMN file, built once from its XML, for the static checks.

:class:`ProcessGraph` holds every flow node and sequence flow of a file, grouped
into *scopes*: each ``bpmn:process`` and each sub-process (embedded, event,
transaction, ad-hoc) is a scope with its own start and end events. Boundary
events hang off their activity by a virtual flow, and link events are joined
throw to catch by name, so that the structural checks see what the engine runs.

:func:`flatten` builds one ``networkx.DiGraph`` of a process with its
sub-processes and called processes expanded in place (an activity ``A`` with an
inner flow becomes ``A`` -> inner start ... inner end -> ``A#out``), which the
dominator and time-budget checks use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
from lxml import etree

from ..io.namespaces import BPMN_NS, local
from .document import Document, Workspace

__all__ = ["Flow", "Node", "ProcessGraph", "Scope", "build_graph", "flatten"]

SCOPE_KINDS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
_NOT_NODES = frozenset(
    {
        "sequenceFlow",
        "dataObject",
        "dataObjectReference",
        "dataStoreReference",
        "textAnnotation",
        "association",
        "laneSet",
        "extensionElements",
        "documentation",
        "ioSpecification",
        "property",
        "group",
        "dataStore",
    }
)


@dataclass
class Node:
    """A flow node with what the checks need beyond :class:`approvalflow.bpmn.model.NodeInfo`."""

    id: str
    kind: str
    scope: str
    line: int | None
    name: str | None = None
    default: str | None = None
    attached_to: str | None = None
    interrupting: bool = True
    events: frozenset[str] = frozenset()
    link: str | None = None
    compensation: bool = False
    triggered: bool = False
    called: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind} '{' '.join((self.name or self.id).split())}'"

    @property
    def is_gateway(self) -> bool:
        return self.kind.endswith("Gateway")

    @property
    def has_inner(self) -> bool:
        return self.kind in SCOPE_KINDS and not self.triggered


@dataclass
class Flow:
    """A sequence flow, or a virtual one (boundary event, link event) with ``virtual`` set."""

    id: str
    source: str
    target: str
    scope: str
    line: int | None
    condition: str | None = None  # "" for a conditionExpression without text: still a conditional flow
    virtual: bool = False


@dataclass
class Scope:
    """A process or sub-process: the flow nodes directly inside it."""

    id: str
    kind: str
    line: int | None
    nodes: list[str] = field(default_factory=list)
    parent: str | None = None


@dataclass
class ProcessGraph:
    """All flow nodes, flows and scopes of one file, with incoming and outgoing flows per node."""

    file: str
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    scopes: dict[str, Scope] = field(default_factory=dict)
    inc: dict[str, list[str]] = field(default_factory=dict)
    out: dict[str, list[str]] = field(default_factory=dict)

    def starts(self, scope: str) -> list[str]:
        """Start events of a scope; with none, the nodes no flow enters (BPMN's implicit start)."""
        members = self.scopes[scope].nodes
        found = [n for n in members if self.nodes[n].kind == "startEvent"]
        if found:
            return found
        return [n for n in members if self.is_free(n) and not self.inc[n]]

    def ends(self, scope: str) -> list[str]:
        """End events, and activities and events that no flow leaves (BPMN's implicit end)."""
        return [
            n
            for n in self.scopes[scope].nodes
            if self.nodes[n].kind == "endEvent" or (not self.out[n] and not self.nodes[n].is_gateway)
        ]

    def is_free(self, node: str) -> bool:
        """Nodes started by something other than a sequence flow: boundary events, event sub-processes, ..."""
        n = self.nodes[node]
        return not (n.attached_to or n.triggered or n.compensation or (n.link and n.kind.endswith("CatchEvent")))

    def scope_graph(self, scope: str) -> nx.DiGraph:
        """The nodes of one scope, joined by its flows (virtual ones included)."""
        g = nx.DiGraph()
        g.add_nodes_from(self.scopes[scope].nodes)
        g.add_edges_from((f.source, f.target) for f in self.flows.values() if f.scope == scope)
        return g


def _event_defs(el: etree._Element) -> tuple[frozenset[str], str | None]:
    defs = [c for c in el if isinstance(c.tag, str) and local(c).endswith("EventDefinition")]
    link = next((d.get("name") or d.get("id") or "" for d in defs if local(d) == "linkEventDefinition"), None)
    return frozenset(local(d) for d in defs), link


def _node(el: etree._Element, kind: str, scope: str) -> Node:
    events, link = _event_defs(el)
    return Node(
        id=str(el.get("id")),
        kind=kind,
        scope=scope,
        line=el.sourceline,
        name=el.get("name"),
        default=el.get("default"),
        attached_to=el.get("attachedToRef"),
        interrupting=el.get("cancelActivity", "true") != "false",
        events=events,
        link=link,
        compensation=el.get("isForCompensation") == "true",
        triggered=el.get("triggeredByEvent") == "true",
        called=el.get("calledElement"),
    )


def _walk(g: ProcessGraph, container: etree._Element, scope: str) -> None:
    for el in container:
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS or not el.get("id"):
            continue
        kind = local(el)
        if kind == "sequenceFlow":
            cond = el.find(f"{{{BPMN_NS}}}conditionExpression")
            text = "".join(cond.itertext()).strip() if cond is not None else None
            g.flows[str(el.get("id"))] = Flow(
                str(el.get("id")), el.get("sourceRef", ""), el.get("targetRef", ""), scope, el.sourceline, text
            )
            continue
        if kind in _NOT_NODES or not (
            kind.endswith(("Event", "Gateway", "Task")) or kind in SCOPE_KINDS or kind in {"task", "callActivity"}
        ):
            continue
        node = _node(el, kind, scope)
        g.nodes[node.id] = node
        g.scopes[scope].nodes.append(node.id)
        if kind in SCOPE_KINDS:
            g.scopes[node.id] = Scope(
                node.id, "eventSubProcess" if node.triggered else kind, el.sourceline, parent=scope
            )
            _walk(g, el, node.id)


def _virtual_flows(g: ProcessGraph) -> None:
    for node in list(g.nodes.values()):
        if node.attached_to and node.attached_to in g.nodes:
            host = g.nodes[node.attached_to]
            fid = f"{host.id}~{node.id}"
            g.flows[fid] = Flow(fid, host.id, node.id, host.scope, node.line, virtual=True)
    for throw in g.nodes.values():
        if throw.link is None or not throw.kind.endswith("ThrowEvent"):
            continue
        for catch in g.nodes.values():
            if catch.link == throw.link and catch.scope == throw.scope and catch.kind.endswith("CatchEvent"):
                fid = f"{throw.id}~{catch.id}"
                g.flows[fid] = Flow(fid, throw.id, catch.id, throw.scope, throw.line, virtual=True)


def build_graph(doc: Document) -> ProcessGraph:
    """The graph of every process of a readable document."""
    g = ProcessGraph(doc.file)
    assert doc.tree is not None
    for proc in doc.tree.getroot().iter(f"{{{BPMN_NS}}}process"):
        pid = str(proc.get("id"))
        g.scopes[pid] = Scope(pid, "process", proc.sourceline)
        _walk(g, proc, pid)
    _virtual_flows(g)
    g.flows = {k: f for k, f in g.flows.items() if f.source in g.nodes and f.target in g.nodes}
    g.inc = {n: [] for n in g.nodes}
    g.out = {n: [] for n in g.nodes}
    for f in g.flows.values():
        g.out[f.source].append(f.id)
        g.inc[f.target].append(f.id)
    return g


@dataclass
class Flat:
    """A process with its sub-processes and called processes expanded; node attribute ``info`` is the Node."""

    graph: nx.DiGraph
    root: str
    starts: list[str]


class _Flattener:
    def __init__(self, workspace: Workspace, graphs: dict[str, ProcessGraph]) -> None:
        self.ws = workspace
        self.graphs = graphs
        self.g = nx.DiGraph()
        self.done: dict[tuple[str, str], tuple[list[str], list[str]]] = {}

    def graph_of(self, doc: Document) -> ProcessGraph:
        if doc.file not in self.graphs:
            self.graphs[doc.file] = build_graph(doc)
        return self.graphs[doc.file]

    def scope(self, doc: Document, pg: ProcessGraph, scope: str) -> tuple[list[str], list[str]]:
        """Add a scope (once); return its entry and exit nodes in the flat graph."""
        key = (doc.file, scope)
        if key in self.done:
            return self.done[key]
        self.done[key] = ([], [])  # recursion guard: a process calling itself adds no edge
        for n in pg.scopes[scope].nodes:
            self.g.add_node(n, info=pg.nodes[n])
            self._expand(doc, pg, pg.nodes[n])
        for f in pg.flows.values():
            if f.scope == scope:  # a boundary event fires while its activity runs: from the entry
                source = f.source if pg.nodes[f.target].attached_to else self._exit(pg, f.source)
                self.g.add_edge(source, f.target)
        result = (pg.starts(scope), [self._exit(pg, e) for e in pg.ends(scope)])
        self.done[key] = result
        return result

    def _exit(self, pg: ProcessGraph, node: str) -> str:
        return f"{node}#out" if self.g.has_node(f"{node}#out") else node

    def _expand(self, doc: Document, pg: ProcessGraph, node: Node) -> None:
        inner: tuple[list[str], list[str]] | None = None
        if node.has_inner:
            inner = self.scope(doc, pg, node.id)
        elif node.kind == "callActivity" and node.called:
            found = self.ws.find_process(doc, node.called)
            if found is not None:
                other = found[0]
                inner = self.scope(other, self.graph_of(other), node.called)
        if inner is None:
            return
        exit_id = f"{node.id}#out"
        self.g.add_node(exit_id, info=None)
        self.g.add_edges_from((node.id, s) for s in inner[0])
        self.g.add_edges_from((e, exit_id) for e in inner[1])


def flatten(doc: Document, pg: ProcessGraph, process: str, workspace: Workspace) -> Flat:
    """The flat graph of ``process`` (a process id of ``doc``), sub-processes and call activities expanded."""
    fl = _Flattener(workspace, {doc.file: pg})
    starts, _ = fl.scope(doc, pg, process)
    return Flat(fl.g, process, starts)
