"""Flow and risk views of the licensing process: SVG parsed as XML, elements found by data-element-id."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from approvalflow.render import diagrams_of, render_views

ROOT = Path(__file__).parent.parent
LICENSING = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
SVG = "{http://www.w3.org/2000/svg}"
NODES = ["start", "receive", "gw_materials", "notify_correction", "accept", "review", "gw_hearing", "hearing",
         "gw_hearing_join", "gw_extension", "extend", "gw_extension_join", "decide", "deliver", "end"]  # fmt: skip


@pytest.fixture(scope="module")
def flow() -> etree._Element:
    return etree.fromstring(render_views(LICENSING, "flow")[0].encode())


@pytest.fixture(scope="module")
def risk() -> etree._Element:
    return etree.fromstring(render_views(LICENSING, "risk")[0].encode())


def element(root: etree._Element, ident: str) -> etree._Element:
    found = root.findall(f".//*[@data-element-id='{ident}']")
    assert len(found) == 1, f"{ident}: {len(found)} elements"
    return found[0]


def label_text(root: etree._Element, ident: str) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("data-label-for") == ident]


def test_every_node_flow_and_lane_is_drawn(flow: etree._Element) -> None:
    for ident in [*NODES, "Lane_window", "Lane_review", "Lane_leaders", "f_gw_accept", "f_notify_receive"]:
        element(flow, ident)


def test_notation(flow: etree._Element) -> None:
    assert element(flow, "start").find(f"{SVG}circle") is not None
    assert element(flow, "gw_materials").find(f"{SVG}polygon") is not None
    assert element(flow, "review").find(f"{SVG}rect").get("rx") == "8"  # tasks are rounded rectangles
    assert element(flow, "hearing").find(f"{SVG}rect").get("stroke-width") == "4"  # call activity: thick border
    assert len(element(flow, "hearing").findall(f"{SVG}path")) == 1  # calls a process: the [+] marker
    end = element(flow, "end").find(f"{SVG}circle")
    assert end.get("stroke-width") == "4"
    path = element(flow, "f_start_receive").find(f"{SVG}path")
    assert path.get("marker-end") == "url(#af-seq-end)"
    assert len(element(flow, "f_gw_notify").findall(f"{SVG}path")) == 2  # default flow: line and slash


def test_step_labels_carry_post_and_time_limit(flow: etree._Element) -> None:
    assert label_text(flow, "review") == ["审查", "审查员 · 8个工作日"]  # post id reviewer, shown by its title
    assert label_text(flow, "decide") == ["决定", "分管副职 · 2个工作日"]
    assert label_text(flow, "f_gw_accept") == ["齐全"]
    assert label_text(flow, "Lane_review") == ["审批科室"]
    lane_title = next(t for t in flow.iter(f"{SVG}text") if t.get("data-label-for") == "Lane_review")
    assert lane_title.get("transform", "").startswith("rotate(-90")


def test_header_names_the_power(flow: etree._Element) -> None:
    header = " ".join("".join(t.itertext()) for t in flow.iter(f"{SVG}text") if t.get("data-label-for") == "header")
    assert "140500-XK-0001 一般行政许可" in header
    assert "法定时限：20个工作日" in header and "承诺时限：15个工作日" in header
    assert "行政许可" in header and "行政许可法" in header


def test_labels_lie_inside_their_limits(flow: etree._Element, risk: etree._Element) -> None:
    for root in (flow, risk):
        for text in root.iter(f"{SVG}text"):
            if text.get("data-box") is None:
                continue
            x, y, w, h = map(float, text.get("data-box").split())
            lx, ly, lw, lh = map(float, text.get("data-limit").split())
            assert lx - 0.01 <= x and x + w <= lx + lw + 0.01, text.get("data-label-for")
            assert ly - 0.01 <= y and y + h <= ly + lh + 0.01, text.get("data-label-for")


def test_no_two_shapes_overlap() -> None:
    diagram = diagrams_of(LICENSING)[0]
    nodes = [s for s in diagram.shapes if s.kind != "lane"]
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            assert not a.bounds.overlaps(b.bounds), (a.id, b.id)


def test_risk_view_colours_badges_and_table(risk: etree._Element) -> None:
    review = element(risk, "review").find(f"{SVG}rect")
    assert (review.get("fill"), review.get("stroke")) == ("#fde4e2", "#c62828")  # 高: red
    deliver = element(risk, "deliver").find(f"{SVG}rect")
    assert deliver.get("stroke") == "#c9a100"  # 低: yellow
    badges = [g for g in risk.iter(f"{SVG}g") if g.get("class") == "af-risk-badge"]
    assert sorted(g.get("data-risk-id") for g in badges) == [f"R-XK-{i}" for i in range(1, 9)]
    numbers = {g.get("data-risk-id"): "".join(g.itertext()) for g in badges}
    assert numbers["R-XK-1"] == "1"  # 收件 is the first step from the left
    rows = [g for g in risk.iter(f"{SVG}g") if g.get("class") == "af-risk-row"]
    assert len(rows) == 8
    row = next(r for r in rows if r.get("data-risk-id") == "R-XK-4")
    cells = "".join(row.itertext())
    assert "审查" in cells and "高" in cells and "受理与审查岗位分离" in cells and "审查员" in cells
    legend = "".join(next(g for g in risk.iter(f"{SVG}g") if g.get("class") == "af-risk-legend").itertext())
    assert "高风险 2 个" in legend and "中风险 5 个" in legend and "低风险 1 个" in legend


def test_post_names_can_be_given(tmp_path: Path) -> None:
    svg = render_views(LICENSING, "flow", post_names={"reviewer": "审核岗"})[0]
    root = etree.fromstring(svg.encode())
    assert label_text(root, "review") == ["审查", "审核岗 · 8个工作日"]
    assert label_text(root, "receive") == ["收件", "窗口人员 · 1个工作日"]  # not in the mapping: the glossary


def test_risk_table_names_the_responsible_post(risk: etree._Element) -> None:
    rows = {r.get("data-risk-id"): r for r in risk.iter(f"{SVG}g") if r.get("class") == "af-risk-row"}
    post = [t for t in rows["R-XK-6"].iter(f"{SVG}text") if (t.get("data-label-for") or "").endswith(":责任岗位")]
    assert ["".join(t.itertext()) for t in post] == ["分管副职"]  # decide: posts="deputy"
    hearing = [t for t in rows["R-XK-8"].iter(f"{SVG}text") if (t.get("data-label-for") or "").endswith(":责任岗位")]
    assert "工作日" not in "".join("".join(t.itertext()) for t in hearing)  # never the time limit


def test_output_is_deterministic() -> None:
    assert render_views(LICENSING, "risk") == render_views(LICENSING, "risk")


def test_the_render_api_is_what_it_says() -> None:
    import approvalflow.render as render

    assert sorted(render.__all__, key=str.lower) == sorted(set(render.__all__), key=str.lower)
    for name in render.__all__:
        assert getattr(render, name) is not None, name


ANNOTATED = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  id="d" targetNamespace="t">
  <process id="p">
    <task id="t1" name="审查"/>
    <textAnnotation id="n1"><text>依据第三十四条</text></textAnnotation>
    <textAnnotation id="n2"><text>两人核查</text></textAnnotation>
    <textAnnotation id="n3"><text>说明</text></textAnnotation>
    <association id="a_none" sourceRef="t1" targetRef="n1" associationDirection="None"/>
    <association id="a_one" sourceRef="t1" targetRef="n2" associationDirection="One"/>
    <association id="a_both" sourceRef="t1" targetRef="n3" associationDirection="Both"/>
  </process>
  <bpmndi:BPMNDiagram id="dg"><bpmndi:BPMNPlane id="pl" bpmnElement="p">
    <bpmndi:BPMNShape id="s_t1" bpmnElement="t1"><dc:Bounds x="100" y="100" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_n1" bpmnElement="n1"><dc:Bounds x="300" y="20" width="120" height="40"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_n2" bpmnElement="n2"><dc:Bounds x="300" y="120" width="120" height="40"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_n3" bpmnElement="n3"><dc:Bounds x="300" y="220" width="120" height="40"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="e1" bpmnElement="a_none"><di:waypoint x="200" y="120"/><di:waypoint x="300" y="40"/>
    </bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="e2" bpmnElement="a_one"><di:waypoint x="200" y="140"/><di:waypoint x="300" y="140"/>
    </bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="e3" bpmnElement="a_both"><di:waypoint x="200" y="160"/><di:waypoint x="300" y="240"/>
    </bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</definitions>
"""


def test_associations_point_as_their_direction_says() -> None:
    root = etree.fromstring(render_views(ANNOTATED, "flow")[0].encode())
    ends = {}
    for ident in ("a_none", "a_one", "a_both"):
        (path,) = element(root, ident).findall(f"{SVG}path")
        assert path.get("stroke-dasharray")  # an association is dotted
        ends[ident] = (path.get("marker-start"), path.get("marker-end"))
    assert ends == {
        "a_none": (None, None),
        "a_one": (None, "url(#af-assoc-end)"),
        "a_both": ("url(#af-assoc-end)", "url(#af-assoc-end)"),
    }
    # the same open arrowhead serves both ends: reversed at the start
    marker = root.find(f".//{SVG}marker[@id='af-assoc-end']")
    assert marker is not None and marker.get("orient") == "auto-start-reverse"


MESSAGES = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  id="d" targetNamespace="t">
  <collaboration id="c">
    <participant id="applicant" name="申请人"/>
    <participant id="bureau" name="县市场监督管理局" processRef="p"/>
    <messageFlow id="m_apply" sourceRef="applicant" targetRef="t1"/>
    <messageFlow id="m_notice" sourceRef="t1" targetRef="applicant"/>
    <messageFlow id="m_plain" sourceRef="applicant" targetRef="t1"/>
  </collaboration>
  <process id="p"><task id="t1" name="受理"/></process>
  <bpmndi:BPMNDiagram id="dg"><bpmndi:BPMNPlane id="pl" bpmnElement="c">
    <bpmndi:BPMNShape id="s_a" bpmnElement="applicant" isHorizontal="true"><dc:Bounds x="0" y="0" width="400" height="60"/>
    </bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_b" bpmnElement="bureau" isHorizontal="true"><dc:Bounds x="0" y="200" width="400" height="150"/>
    </bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_t1" bpmnElement="t1"><dc:Bounds x="150" y="240" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="e1" bpmnElement="m_apply" messageVisibleKind="initiating">
      <di:waypoint x="170" y="60"/><di:waypoint x="170" y="240"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="e2" bpmnElement="m_notice" messageVisibleKind="non_initiating">
      <di:waypoint x="230" y="240"/><di:waypoint x="230" y="160"/><di:waypoint x="230" y="60"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="e3" bpmnElement="m_plain"><di:waypoint x="200" y="60"/><di:waypoint x="200" y="240"/>
    </bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</definitions>
"""


def test_message_flows_show_the_envelope_their_di_asks_for() -> None:
    root = etree.fromstring(render_views(MESSAGES, "flow")[0].encode())
    envelopes = {}
    for ident in ("m_apply", "m_notice", "m_plain"):
        found = [g for g in element(root, ident).iter(f"{SVG}g") if g.get("data-message")]
        envelopes[ident] = [(g.get("data-message"), g.find(f"{SVG}rect")) for g in found]
    assert envelopes["m_plain"] == []
    ((kind, rect),) = envelopes["m_apply"]
    # halfway along (170, 60) -> (170, 240) is (170, 150); the envelope is 20 x 14 around it, white
    assert kind == "initiating" and rect.get("fill") == "#ffffff"
    assert (float(rect.get("x")), float(rect.get("y"))) == (160.0, 143.0)
    ((kind, rect),) = envelopes["m_notice"]
    # halfway along the two legs (80 + 100 = 180 long) is 90 from the start: (230, 150); shaded
    assert kind == "non_initiating" and rect.get("fill") != "#ffffff"
    assert (float(rect.get("x")), float(rect.get("y"))) == (220.0, 143.0)
