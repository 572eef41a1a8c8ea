"""The sample county catalog (processes/catalog/sample_county.yaml) against the project's own processes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from approvalflow.bpmn.loader import load_process
from approvalflow.bpmn.model import Category
from approvalflow.catalog import Catalog, check_catalog, load_catalog, risk_table, save_catalog
from approvalflow.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = ROOT / "processes"
SAMPLE = PROCESSES / "catalog" / "sample_county.yaml"

# GB/T 39046-2020 A.1 item-type codes (domain reference, section 3); 11 is the extensible range used for 内部管理
GBT_CODE = {
    Category.LICENSING: "01",
    Category.PENALTY: "02",
    Category.COERCION: "03",
    Category.LEVY: "04",
    Category.PAYMENT: "05",
    Category.INSPECTION: "06",
    Category.CONFIRMATION: "07",
    Category.REWARD: "08",
    Category.ADJUDICATION: "09",
    Category.OTHER: "10",
    Category.INTERNAL: "11",
    Category.SERVICE: "20",
}
# the only statutes and documents the project may cite (domain reference)
CITABLE = {
    "《中华人民共和国行政许可法》",
    "《中华人民共和国行政处罚法》",
    "《信访工作条例》",
    "《中华人民共和国政府信息公开条例》",
    "《社会救助暂行办法》",
    "《重大行政决策程序暂行条例》",
    "《中华人民共和国村民委员会组织法》",
    "《国务院办公厅关于进一步优化地方政务服务便民热线的指导意见》",
}


@pytest.fixture(scope="module")
def sample() -> Catalog:
    return load_catalog(SAMPLE)


def test_catalog_check_finds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    # the sample sits in processes/catalog beside the flowcharts it names (../licensing/...): checked within processes/
    assert main(["catalog", "check", str(SAMPLE), "--json", "--root", str(PROCESSES)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["findings"] == []
    assert 20 <= out["powers"] <= 30
    assert out["risk_points"] > out["powers"]


def test_every_flowchart_exists_and_loads(sample: Catalog) -> None:
    charts = {p.flowchart for p in sample.powers}
    assert None not in charts
    for chart in sorted(c for c in charts if c):
        definition = load_process(SAMPLE.parent / chart)
        assert definition.power is not None, chart
    # several powers share one flowchart, as real lists do
    assert len(charts) < len(sample.powers)
    shared = [p.code for p in sample.powers if p.flowchart == "../licensing/general_licensing.bpmn"]
    assert len(shared) >= 3


def test_includes_the_seal_and_power_list_processes(sample: Catalog) -> None:
    charts = {p.flowchart for p in sample.powers}
    assert {"../seal/seal_use.bpmn", "../powerlist/power_list_review.bpmn"} <= charts


def test_risk_table_is_the_one_the_flowcharts_give(sample: Catalog) -> None:
    generated = risk_table(sample, root=PROCESSES)
    assert sample.risk_points == generated, (
        "the flowcharts' af:risk annotations changed: regenerate the risk table with "
        "approvalflow.catalog.risk_table (see the comment at the top of the file)"
    )


def test_codes_bodies_and_bases(sample: Catalog) -> None:
    org = yaml.safe_load((PROCESSES / "org" / "sample_county.yaml").read_text(encoding="utf-8"))
    unit_names = {u["name"] for u in org["units"]}
    codes = [p.code for p in sample.powers]
    assert len(set(codes)) == len(codes)
    for p in sample.powers:
        match = re.fullmatch(r"140521-(\d\d)-\d{4}", p.code)
        assert match is not None and match.group(1) == GBT_CODE[p.category], p.code
        assert p.body in unit_names, p.body
        assert p.basis and p.office and p.fees and p.phone
        cited = set(re.findall(r"《[^》]+》", p.basis))
        assert cited <= CITABLE, cited - CITABLE
        assert p.responsibility_stages and p.accountability_stages, p.code


def test_limits_follow_the_flowcharts(sample: Catalog) -> None:
    # derived from the statutes: licensing 20 working days (行政许可法 art. 42), unified handling 45 (art. 42 with
    # art. 26), penalties 90 days from filing (行政处罚法 art. 60), petitions 60 days (信访工作条例 art. 34),
    # information disclosure 20 working days (政府信息公开条例 art. 33), 低保 30 working days
    statutory = {p.name: p.statutory_limit.text if p.statutory_limit else None for p in sample.powers}
    assert statutory["食品经营许可"] == "20个工作日"
    assert statutory["企业投资项目并联审批"] == "45个工作日"
    assert statutory["对发布虚假广告的行政处罚"] == "90日"
    assert statutory["信访事项受理办理"] == "60日"
    assert statutory["政府信息公开申请答复"] == "20个工作日"
    assert statutory["最低生活保障审核确认"] == "30个工作日"
    assert statutory["12345热线诉求办理"] is None  # no statutory limit, only a promised one


@pytest.mark.parametrize("name", ["sample_county.xlsx", "sample_county.csv"])
def test_shipped_renderings_are_the_same_catalog(sample: Catalog, name: str) -> None:
    assert load_catalog(PROCESSES / "catalog" / name) == sample, (
        f"regenerate with: approvalflow catalog convert {SAMPLE} {name}"
    )


def test_to_xlsx_and_back_is_the_same_catalog(sample: Catalog, tmp_path: Path) -> None:
    save_catalog(sample, tmp_path / "c.xlsx")
    again = load_catalog(tmp_path / "c.xlsx")
    assert again == sample
    # the flowchart paths are relative to the catalog file: in another folder they leave it, or do not resolve
    assert {f.rule for f in check_catalog(again).findings} == {"catalog-flowchart-outside"}
    assert {f.rule for f in check_catalog(again, allow_outside=True).findings} == {"catalog-flowchart-missing"}
    assert check_catalog(again, base=SAMPLE.parent, root=PROCESSES).findings == []


def test_diagram_layout_is_not_annotation(tmp_path: Path) -> None:
    """Removing (or adding) BPMN diagram layout (bpmndi) changes nothing in the catalog check."""
    copy = tmp_path / "processes"
    shutil.copytree(PROCESSES, copy)
    stripped = 0
    for path in copy.rglob("*.bpmn"):
        text = path.read_text(encoding="utf-8")
        new = re.sub(r"<bpmndi:BPMNDiagram\b.*?</bpmndi:BPMNDiagram>", "", text, flags=re.DOTALL)
        stripped += new != text
        path.write_text(new, encoding="utf-8")
    assert stripped > 0  # some files of the project carry layout
    with_layout = check_catalog(load_catalog(SAMPLE), root=PROCESSES)
    without = check_catalog(load_catalog(copy / "catalog" / "sample_county.yaml"), root=copy)
    assert without.to_json() == with_layout.to_json()
