"""`approvalflow layout` writes DI that loads, renders identically, and changes nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from approvalflow.bpmn.loader import load_process
from approvalflow.cli.main import main
from approvalflow.errors import ApprovalflowError, XmlError
from approvalflow.render import render_views
from approvalflow.render.di import BPMNDI_NS, read_layouts
from approvalflow.render.di_write import missing_di, write_layout
from approvalflow.validation import validate_file

ROOT = Path(__file__).parent.parent
LICENSING = ROOT / "processes" / "licensing"
MIWG = ROOT / "tests" / "corpus" / "bpmn-miwg"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DI_FREE = """<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment that must survive -->
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:x">
  <bpmn:process id="p" isExecutable="false">
    <bpmn:startEvent id="s"/>
    <bpmn:task id="t" name="审查"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def strip_di(path: Path) -> None:
    """Remove every BPMNDiagram, so that a test can lay out a file from scratch whatever state processes/ is in."""
    tree = etree.parse(str(path))
    for diagram in tree.getroot().findall(f"{{{BPMNDI_NS}}}BPMNDiagram"):
        tree.getroot().remove(diagram)
    path.write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("general_licensing.bpmn", "hearing.bpmn"):
        shutil.copy(LICENSING / name, tmp_path / name)
        strip_di(tmp_path / name)
    return tmp_path


def test_layout_round_trips(folder: Path) -> None:
    path = folder / "general_licensing.bpmn"
    original = path.read_bytes()
    flow, risk = render_views(path, "flow"), render_views(path, "risk")
    assert missing_di(path)
    assert write_layout(path) == 1
    assert missing_di(path) == []
    assert render_views(path, "flow") == flow  # the DI reproduces the Graphviz drawing exactly
    assert render_views(path, "risk") == risk
    laid_out = path.read_bytes()
    closing = original.rindex(b"</bpmn:definitions>")
    assert laid_out.startswith(original[:closing])  # every byte before the DI stays
    assert laid_out.endswith(original[closing:])


def test_layout_is_idempotent_and_keeps_existing_di(folder: Path) -> None:
    path = folder / "general_licensing.bpmn"
    write_layout(path)
    laid_out = path.read_bytes()
    assert write_layout(path) == 0  # already laid out: nothing to do
    assert path.read_bytes() == laid_out
    assert write_layout(path, force=True) == 1  # replaced, not duplicated: the same bytes again
    assert path.read_bytes() == laid_out
    assert laid_out.count(b"<bpmndi:BPMNDiagram ") == 1


def test_a_hand_drawn_layout_is_kept_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "A.1.0.bpmn"
    shutil.copy(MIWG / "A.1.0.bpmn", path)
    drawn = path.read_bytes()
    assert write_layout(path) == 0
    assert path.read_bytes() == drawn
    before = {s.element: s.bounds for lay in read_layouts(etree.fromstring(drawn)) for s in lay.shapes}
    assert write_layout(path, force=True) == 1
    root = etree.parse(str(path)).getroot()
    assert len(root.findall(f"{{{BPMNDI_NS}}}BPMNDiagram")) == 1
    after = {s.element: s.bounds for lay in read_layouts(root) for s in lay.shapes}
    assert set(after) == set(before)  # every element drawn again, by Graphviz now
    assert after != before


def test_comments_survive(tmp_path: Path) -> None:
    path = tmp_path / "tiny.bpmn"
    path.write_text(DI_FREE, encoding="utf-8")
    assert write_layout(path) == 1
    text = path.read_text(encoding="utf-8")
    assert "<!-- a comment that must survive -->" in text
    root = etree.fromstring(text.encode())
    edges = {e.element: e.waypoints for lay in read_layouts(root) for e in lay.edges}
    shapes = {s.element: s.bounds for lay in read_layouts(root) for s in lay.shapes}
    assert set(edges) == {"f1", "f2"} and set(shapes) == {"s", "t", "e"}
    # left to right: the flow leaves the start event's right side and enters the task's left side
    assert edges["f1"][0] == (shapes["s"].right, shapes["s"].cy)
    assert edges["f1"][-1] == (shapes["t"].x, shapes["t"].cy)
    assert shapes["s"].right < shapes["t"].x < shapes["t"].right < shapes["e"].x


def _facts(path: Path) -> tuple[object, ...]:
    try:
        p = load_process(path)
    except ApprovalflowError as exc:  # a called-only process (hearing.bpmn) does not load alone: the same error after
        return ("error", str(exc))
    return (p.id, p.name, p.power, p.time_limit, p.documentation, dict(p.nodes), dict(p.steps), dict(p.flows),
            dict(p.lanes), p.risks)  # fmt: skip


PROCESS_FILES = sorted(p for p in (ROOT / "processes").rglob("*.bpmn") if p.parent.name not in {"seal", "powerlist"})


@pytest.mark.parametrize("name", [str(p.relative_to(ROOT / "processes")) for p in PROCESS_FILES])
def test_loading_and_validation_are_unchanged(tmp_path: Path, name: str) -> None:
    source = ROOT / "processes" / name
    folder = tmp_path / "p"
    shutil.copytree(source.parent, folder)
    for other in folder.glob("*.bpmn"):
        strip_di(other)
    path = folder / source.name
    facts = _facts(path)
    findings = [f.to_json() for f in validate_file(path)]
    assert write_layout(path) >= 1
    assert _facts(path) == facts
    assert [f.to_json() for f in validate_file(path)] == findings


def test_laid_out_lanes_hold_their_nodes(folder: Path) -> None:
    path = folder / "general_licensing.bpmn"
    write_layout(path)
    root = etree.parse(str(path)).getroot()
    shapes = {s.element: s.bounds for lay in read_layouts(root) for s in lay.shapes}
    lanes = root.findall(f".//{BPMN}lane")
    assert len(lanes) == 3
    tops = sorted(shapes[str(lane.get("id"))].y for lane in lanes)
    assert len(set(tops)) == 3  # bands, one under the other
    for lane in lanes:
        band = shapes[str(lane.get("id"))]
        for ref in lane.iterfind(f"{BPMN}flowNodeRef"):
            node = shapes[str(ref.text)]
            assert band.x <= node.x and node.right <= band.right and band.y <= node.y and node.bottom <= band.bottom


def test_bad_input_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "broken.bpmn"
    path.write_bytes(b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><bpmn:process")
    with pytest.raises(XmlError):
        write_layout(path)
    assert path.read_bytes().endswith(b"<bpmn:process")
    assert [p.name for p in tmp_path.iterdir()] == ["broken.bpmn"]  # no temporary file left behind


def test_layout_command_and_check(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(folder / "hearing.bpmn")
    assert main(["layout", path, "--check"]) == 1
    assert "no layout for" in capsys.readouterr().out
    assert main(["layout", path]) == 0
    assert "wrote the layout of 1 process" in capsys.readouterr().out
    assert main(["layout", path]) == 0
    assert "already laid out" in capsys.readouterr().out
    assert main(["layout", path, "--force"]) == 0
    assert main(["layout", path, "--check"]) == 0
    assert main(["layout", str(folder / "missing.bpmn")]) == 2
    err = capsys.readouterr().err
    assert "missing.bpmn" in err and "Traceback" not in err


WITH_BOUNDARY = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:x">
  <process id="p" isExecutable="false">
    <startEvent id="s"/>
    <userTask id="review" name="审查"/>
    <boundaryEvent id="late" name="超时" attachedToRef="review" cancelActivity="false">
      <timerEventDefinition><timeDuration>P3D</timeDuration></timerEventDefinition>
    </boundaryEvent>
    <userTask id="remind" name="督办"/>
    <endEvent id="e"/>
    <endEvent id="e2"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <sequenceFlow id="f_late" sourceRef="late" targetRef="remind"/>
    <sequenceFlow id="f_rem" sourceRef="remind" targetRef="e2"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="e"/>
  </process>
</definitions>
"""


def test_boundary_events_sit_on_their_activity_and_their_flows_are_drawn(tmp_path: Path) -> None:
    path = tmp_path / "escalation.bpmn"
    path.write_text(WITH_BOUNDARY, encoding="utf-8")
    write_layout(path)
    assert missing_di(path) == []  # the boundary event and the flow leaving it have DI too
    (layout,) = read_layouts(etree.parse(str(path)).getroot())
    shapes = {s.element: s.bounds for s in layout.shapes}
    host, event, target = shapes["review"], shapes["late"], shapes["remind"]
    centre_x, centre_y = event.x + event.width / 2, event.y + event.height / 2
    assert host.x < centre_x < host.right and centre_y == host.bottom  # on the activity's lower edge
    assert target.y >= host.bottom  # the escalation is a branch below, not the main line
    assert shapes["e"].y < host.bottom  # the normal way on stays in the activity's row
    edges = {e.element: e.waypoints for e in layout.edges}
    first, last = edges["f_late"][0], edges["f_late"][-1]
    assert first == (centre_x, event.bottom)  # leaves the event downwards
    assert last[0] == target.x and target.y < last[1] < target.bottom  # enters the target's side
    svg = etree.fromstring(render_views(path, "flow")[0].encode())
    drawn = {el.get("data-element-id") for el in svg.iter() if el.get("data-element-id")}
    assert {"late", "f_late", "remind"} <= drawn
