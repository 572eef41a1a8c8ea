"""Read the ``af:`` annotations of a BPMN process into typed metadata.

Runs after schema validation, so values already have the right shape; this
module checks what the schema cannot: that each ``af:`` element sits where it
means something, that no unknown ``af:`` element or attribute appears, and it
turns the XML into :mod:`approvalflow.bpmn.model` objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from lxml import etree

from ..errors import BpmnError, ExtensionError
from ..io.namespaces import AF_NS, BPMN_NS, af, bpmn, local
from ..io.xmlsafe import element_label
from .countersign import read_countersign
from .model import (
    Category,
    Collective,
    Domain,
    FlowInfo,
    Material,
    MinDuration,
    NodeInfo,
    Power,
    RiskLevel,
    RiskPoint,
    StepInfo,
    TimeLimit,
    Unit,
)
from .vendor import candidate_groups

__all__ = ["ProcessInfo", "check_af_placement", "read_process"]

STEP_KINDS = frozenset(
    {
        "userTask",
        "manualTask",
        "task",
        "callActivity",
        "sendTask",
        "receiveTask",
        "serviceTask",
        "businessRuleTask",
        "scriptTask",
        "subProcess",
    }
)
_STEP_ELEMENTS = frozenset(
    {
        "step",
        "separateFrom",
        "sameActorAs",
        "suspendsClock",
        "once",
        "minDuration",
        "requires",
        "collective",
        "countersign",
        "extension",
        "risk",
        "materials",
    }
)
_ALLOWED: dict[str, frozenset[str]] = {
    "process": frozenset({"power", "timeLimit", "risk", "materials"}),
    "lane": frozenset({"lane"}),
    # af:timer (working days) on a timer event: read by approvalflow.bpmn.timers
    "boundaryEvent": frozenset({"risk", "timer"}),
    "intermediateCatchEvent": frozenset({"risk", "timer"}),
    "startEvent": frozenset({"risk", "timer"}),  # the start of an event sub-process (bpmn.timers refuses the others)
}


@dataclass
class ProcessInfo:
    """Everything the ``af:`` annotations and the BPMN structure say about one process."""

    id: str
    name: str | None
    line: int | None
    executable: bool
    file: str | None = None
    power: Power | None = None
    time_limit: TimeLimit | None = None
    documentation: str | None = None
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    steps: dict[str, StepInfo] = field(default_factory=dict)
    flows: dict[str, FlowInfo] = field(default_factory=dict)
    lanes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lane name -> posts
    risks: tuple[RiskPoint, ...] = ()
    called: dict[str, str] = field(default_factory=dict)  # call activity id -> calledElement
    materials: tuple[Material, ...] = ()  # the process's af:materials (申请材料)


def _allowed_for(owner: etree._Element) -> frozenset[str]:
    kind = local(owner)
    if kind in STEP_KINDS:
        return _STEP_ELEMENTS
    if kind in _ALLOWED:
        return _ALLOWED[kind]
    return frozenset({"risk"})  # gateways, events, sequence flows may carry risk points


def check_af_placement(root: etree._Element, file: str | None) -> None:
    """Every ``af:`` element is known and inside the ``extensionElements`` of a node that uses it."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name in el.attrib:
            if name.startswith("{" + AF_NS + "}"):
                raise ExtensionError(
                    f"unknown af attribute '{etree.QName(name).localname}' on {element_label(el)}; "
                    "af annotations are elements inside bpmn:extensionElements",
                    file=file,
                    line=el.sourceline,
                    element=el.get("id"),
                )
        if etree.QName(el).namespace != AF_NS:
            continue
        parent = el.getparent()
        if parent is not None and etree.QName(parent).namespace == AF_NS:
            continue  # af:description / af:measure inside af:risk; checked by the schema
        owner = parent.getparent() if parent is not None else None
        if parent is None or parent.tag != bpmn("extensionElements") or owner is None:
            raise ExtensionError(
                f"{element_label(el)} must be inside bpmn:extensionElements",
                file=file,
                line=el.sourceline,
                element=None,
            )
        allowed = _allowed_for(owner)
        if local(el) not in allowed:
            known = (
                "unknown af element"
                if local(el) not in _STEP_ELEMENTS | {"power", "timeLimit", "lane", "timer"}
                else ("af element not allowed here")
            )
            raise ExtensionError(
                f"{known} 'af:{local(el)}' on {element_label(owner)}; allowed here: "
                + ", ".join(f"af:{n}" for n in sorted(allowed)),
                file=file,
                line=el.sourceline,
                element=owner.get("id"),
            )


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(value.split()) if value else ()


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    text = "".join(el.itertext()).strip()
    return text or None


def _ext(el: etree._Element, name: str) -> etree._Element | None:
    return el.find(f"{{{BPMN_NS}}}extensionElements/{{{AF_NS}}}{name}")


def _risks(el: etree._Element) -> tuple[RiskPoint, ...]:
    found = []
    for r in el.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{AF_NS}}}risk"):
        found.append(
            RiskPoint(
                id=r.get("id", ""),
                level=RiskLevel(r.get("level")),
                description=_text(r.find(af("description"))) or "",
                measures=tuple(t for m in r.iterfind(af("measure")) if (t := _text(m))),
                category=r.get("category"),
                post=r.get("post"),
                node=el.get("id"),
                line=r.sourceline,
            )
        )
    return tuple(found)


def _fraction(value: str) -> Fraction:
    return Fraction(value)


def _collective(el: etree._Element | None) -> Collective | None:
    if el is None:
        return None
    return Collective(
        quorum=_fraction(el.get("quorum", "2/3")),
        last_speaker=el.get("lastSpeaker"),
        pass_rule=el.get("pass", "majority-of-present"),
        group=el.get("group", "leadership").strip() or "leadership",
    )


def _unit(value: str | None) -> Unit:
    if value == "day":
        return "day"
    if value == "hour":
        return "hour"
    return "workday"


def _annotations(proc: etree._Element) -> dict[str, list[str]]:
    texts = {a.get("id"): _text(a.find(bpmn("text"))) for a in proc.iter(bpmn("textAnnotation"))}
    attached: dict[str, list[str]] = {}
    for assoc in proc.iter(bpmn("association")):
        src, dst = assoc.get("sourceRef"), assoc.get("targetRef")
        for node, note in ((src, dst), (dst, src)):
            text = texts.get(note)
            if node and text:
                attached.setdefault(node, []).append(text)
    return attached


def _lanes(proc: etree._Element) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Map node id -> innermost lane name, and lane name -> posts of its steps."""
    node_lane: dict[str, str] = {}
    lane_posts: dict[str, tuple[str, ...]] = {}
    for lane in proc.iter(bpmn("lane")):
        name = lane.get("name") or lane.get("id") or ""
        ext = _ext(lane, "lane")
        lane_posts[name] = _ids(ext.get("posts")) if ext is not None else (name,)
        for ref in lane.iterfind(bpmn("flowNodeRef")):
            if ref.text:
                node_lane[ref.text.strip()] = name  # nested lanes come later and win
    return node_lane, lane_posts


def read_process(proc: etree._Element, file: str | None) -> ProcessInfo:
    """Build the metadata of one ``bpmn:process`` (nodes, steps, flows, lanes, risks)."""
    pid = proc.get("id", "")
    if not pid.strip():
        raise BpmnError(
            "bpmn:process has no id: calls, cases and findings name a process by its id; give it one",
            file=file,
            line=proc.sourceline,
        )
    info = ProcessInfo(
        id=pid,
        name=proc.get("name"),
        line=proc.sourceline,
        executable=proc.get("isExecutable", "true") != "false",
        file=file,
        documentation=_text(proc.find(bpmn("documentation"))),
    )
    info.power, info.time_limit = _power(proc), _time_limit(proc)
    info.materials = _materials(proc, None, file)
    node_lane, info.lanes = _lanes(proc)
    notes = _annotations(proc)
    risks: list[RiskPoint] = list(_risks(proc))
    for el in proc.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
            continue
        kind = local(el)
        ident = el.get("id")
        if ident is None or kind in {"laneSet", "lane", "textAnnotation", "association", "process"}:
            continue
        if kind == "sequenceFlow":
            info.flows[ident] = flow = _flow(el, ident, pid)
            risks.extend(flow.risks)
        elif _is_flow_node(el, kind):
            info.nodes[ident] = node = _node(el, kind, ident, pid, node_lane.get(ident), notes.get(ident, ()))
            risks.extend(node.risks)
            if kind == "callActivity" and el.get("calledElement"):
                info.called[ident] = el.get("calledElement", "")
            if kind in STEP_KINDS:
                info.steps[ident] = _step(el, node, info.lanes, file)
    _mark_defaults(proc, info.flows)
    info.risks = tuple(risks)
    _check_material_ids(info, file)
    return info


def _materials(el: etree._Element, step: str | None, file: str | None) -> tuple[Material, ...]:
    """The ``af:materials`` of a process (``step`` None) or a step: each id once, each name not blank."""
    found: list[Material] = []
    for m in el.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{AF_NS}}}materials/{{{AF_NS}}}material"):
        ident, name = (m.get("id") or "").strip(), (m.get("name") or "").strip()
        where = f"af:material '{ident}'" + (f" of step '{step}'" if step else "")
        if not name:
            raise ExtensionError(f"{where} has a blank name: the 一次告知 notice names each material",
                                 file=file, line=m.sourceline, element=step or ident)  # fmt: skip
        if any(f.id == ident for f in found):
            raise ExtensionError(f"{where} is declared twice; each material has one id", file=file,
                                 line=m.sourceline, element=step or ident)  # fmt: skip
        found.append(Material(ident, name, m.get("required", "true") in ("true", "1"), m.sourceline, step))
    if len(el.findall(f"{{{BPMN_NS}}}extensionElements/{{{AF_NS}}}materials")) > 1:
        raise ExtensionError("af:materials appears twice on one element; list every material in one",
                             file=file, line=el.sourceline, element=step or el.get("id"))  # fmt: skip
    return tuple(found)


def _check_material_ids(info: ProcessInfo, file: str | None) -> None:
    """A material id names one material of the process: a step may not declare one its process or another step
    declares (a supplied material is matched to its id)."""
    seen = {m.id: m for m in info.materials}
    for step in info.steps.values():
        for m in step.materials:
            other = seen.get(m.id)
            if other is not None:
                owner = f"step '{other.step}'" if other.step else f"process '{info.id}'"
                raise ExtensionError(f"af:material '{m.id}' of step '{step.id}' is declared by {owner} too (line "
                                     f"{other.line}); a material id names one material", file=file, line=m.line,
                                     element=step.id)  # fmt: skip
            seen[m.id] = m


def _power(proc: etree._Element) -> Power | None:
    """The process's ``af:power`` (the entry of the power list it exercises), if any."""
    p = _ext(proc, "power")
    if p is None:
        return None
    return Power(p.get("code", ""), p.get("name", ""), Category(p.get("category")), p.get("basis"), p.get("body"))


def _time_limit(proc: etree._Element) -> TimeLimit | None:
    """The process's ``af:timeLimit`` (限时办结), if any."""
    t = _ext(proc, "timeLimit")
    if t is None:
        return None
    return TimeLimit(
        _int(t.get("statutory")),
        _int(t.get("promised")),
        _int(t.get("extension")),
        _unit(t.get("unit")),
        t.get("startsAfter"),
        t.get("restartOnReturn") in ("true", "1"),
    )


def _flow(el: etree._Element, ident: str, pid: str) -> FlowInfo:
    """A ``bpmn:sequenceFlow`` with its condition and risk points (``default`` is set by :func:`_mark_defaults`)."""
    return FlowInfo(
        id=ident,
        source=el.get("sourceRef", ""),
        target=el.get("targetRef", ""),
        process=pid,
        line=el.sourceline,
        name=el.get("name"),
        condition=_text(el.find(bpmn("conditionExpression"))),
        risks=_risks(el),
    )


def _is_flow_node(el: etree._Element, kind: str) -> bool:
    """Whether a BPMN element with an id is a flow node (data objects, messages, event definitions, ... are not)."""
    return (
        el.find(bpmn("incoming")) is not None
        or el.find(bpmn("outgoing")) is not None
        or kind.endswith("Event")
        or kind.endswith("Gateway")
        or kind in STEP_KINDS
    )


def _node(el: etree._Element, kind: str, ident: str, pid: str, lane: str | None, notes: Sequence[str]) -> NodeInfo:
    """A flow node: its kind, lane, documentation, attached text annotations and risk points."""
    return NodeInfo(
        id=ident,
        kind=kind,
        name=el.get("name"),
        process=pid,
        line=el.sourceline,
        lane=lane,
        documentation=_text(el.find(bpmn("documentation"))),
        annotations=tuple(notes),
        risks=_risks(el),
    )


def _mark_defaults(proc: etree._Element, flows: dict[str, FlowInfo]) -> None:
    """Mark the flows that exclusive and inclusive gateways name as their ``default``."""
    for gw in proc.iter(bpmn("exclusiveGateway"), bpmn("inclusiveGateway")):
        default = gw.get("default")
        if default in flows:
            f = flows[default]
            flows[default] = FlowInfo(f.id, f.source, f.target, f.process, f.line, f.name, f.condition, True, f.risks)


def _with_candidate_groups(
    el: etree._Element, node: NodeInfo, posts: tuple[str, ...], file: str | None
) -> tuple[str, ...]:
    """``af:step/@posts``, or the posts another engine's ``candidateGroups`` names (:mod:`.vendor`); both given,
    they must name the same posts."""
    try:
        groups = candidate_groups(el) if node.kind == "userTask" else ()
    except ValueError as exc:
        raise ExtensionError(str(exc), file=file, line=el.sourceline, element=node.id) from None
    if groups and posts and set(groups) != set(posts):
        raise ExtensionError(
            f"step '{node.id}' names posts twice, differently: af:step/@posts {' '.join(posts)!r} and "
            f"candidateGroups {','.join(groups)!r}; keep one",
            file=file,
            line=el.sourceline,
            element=node.id,
        )
    return posts or groups


def _step(el: etree._Element, node: NodeInfo, lane_posts: dict[str, tuple[str, ...]], file: str | None) -> StepInfo:
    s = _ext(el, "step")
    case_unit = s is not None and s.get("caseUnit") in ("true", "1")
    if s is not None and s.get("caseUnit") is not None and not _ids(s.get("units")):
        raise ExtensionError(
            f"af:step/@caseUnit on step '{node.id}' without af:step/@units: caseUnit lets the case's unit do a step "
            "that names the units doing it; name them in units, or drop caseUnit",
            file=file,
            line=s.sourceline,
            element=node.id,
        )
    posts = _ids(s.get("posts")) if s is not None else ()
    posts = _with_candidate_groups(el, node, posts, file)
    from_lane = False
    if not posts and node.lane is not None and node.kind != "callActivity":  # a called process's steps have posts
        posts, from_lane = lane_posts.get(node.lane, ()), True
    same = _ext(el, "sameActorAs")
    sep = _ext(el, "separateFrom")
    req = _ext(el, "requires")
    sus = _ext(el, "suspendsClock")
    low = _ext(el, "minDuration")
    return StepInfo(
        node=node,
        posts=posts,
        domain=Domain(s.get("domain")) if s is not None and s.get("domain") else None,
        time_limit=_int(s.get("timeLimit")) if s is not None else None,
        unit=_unit(s.get("unit")) if s is not None else "workday",
        separate_from=_ids(sep.get("steps")) if sep is not None else (),
        same_actor_as=same.get("step") if same is not None else None,
        suspends_clock=(sus.get("reason") or "suspended") if sus is not None else None,
        once=_ext(el, "once") is not None,
        requires=_ids(req.get("steps")) if req is not None else (),
        collective=_collective(_ext(el, "collective")),
        extension=_ext(el, "extension") is not None,
        posts_from_lane=from_lane,
        units=_ids(s.get("units")) if s is not None else (),
        case_unit=case_unit,
        min_duration=(
            MinDuration(_int(low.get("value")) or 0, _unit(low.get("unit") or "day"), low.get("reason"))
            if low is not None
            else None
        ),
        countersign=read_countersign(el, node.id, file),
        materials=_materials(el, node.id, file),
        return_to=s.get("returnTo") if s is not None else None,
    )
