"""All BPMN MIWG reference models render from their DI with every flow node drawn."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from approvalflow.render import render_views

MIWG = sorted((Path(__file__).parent / "corpus" / "bpmn-miwg").glob("*.bpmn"))
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOW_NODE_SUFFIXES = ("Task", "Event", "Gateway")
FLOW_NODE_NAMES = {"task", "callActivity", "subProcess", "transaction", "adHocSubProcess"}


def flow_node_ids(path: Path) -> set[str]:
    root = etree.parse(str(path)).getroot()
    ids = set()
    for el in root.iter(f"{{{BPMN}}}*"):
        name = etree.QName(el).localname
        if name.startswith("global"):
            continue  # global tasks are reusable definitions, not flow nodes
        if el.get("id") and (name in FLOW_NODE_NAMES or name.endswith(FLOW_NODE_SUFFIXES)):
            ids.add(el.get("id"))
    return ids


def drawn_ids(svg: str) -> set[str]:
    root = etree.fromstring(svg.encode())
    return {el.get("data-element-id") for el in root.iter() if el.get("data-element-id")}


def test_the_corpus_is_there() -> None:
    assert len(MIWG) == 21  # A.1.0 to C.9.2; C.4.0 and C.5.0 hold several diagrams each


@pytest.mark.parametrize("path", MIWG, ids=[p.stem for p in MIWG])
def test_every_flow_node_is_drawn(path: Path) -> None:
    svgs = render_views(path)
    drawn = set().union(*(drawn_ids(svg) for svg in svgs))
    expected = flow_node_ids(path)
    assert expected, "the model has flow nodes"
    assert expected <= drawn, f"not drawn: {sorted(expected - drawn)}"


@pytest.mark.parametrize("path", MIWG, ids=[p.stem for p in MIWG])
def test_every_flow_with_di_is_drawn(path: Path) -> None:
    root = etree.parse(str(path)).getroot()
    with_di = {e.get("bpmnElement") for e in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNEdge")}
    flows = {f.get("id") for f in root.iter(f"{{{BPMN}}}sequenceFlow", f"{{{BPMN}}}messageFlow")} & with_di
    drawn = set().union(*(drawn_ids(svg) for svg in render_views(path)))
    assert flows <= drawn, f"not drawn: {sorted(flows - drawn)}"


def test_one_svg_per_diagram() -> None:
    c40 = next(p for p in MIWG if p.stem == "C.4.0")
    svgs = render_views(c40)
    assert len(svgs) == 4  # C.4.0 has four BPMNDiagram elements
    assert len(set(svgs)) == 4


def test_message_flows_and_pools_are_drawn() -> None:
    b20 = next(p for p in MIWG if p.stem == "B.2.0")
    root = etree.fromstring(render_views(b20)[0].encode())
    kinds = {el.get("class") for el in root.iter() if el.get("data-element-id")}
    assert {"af-element af-participant", "af-element af-lane", "af-element af-messageFlow"} <= kinds
