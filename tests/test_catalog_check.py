"""``catalog check``: a catalog against its flowcharts; the CLI (check, convert, init)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from approvalflow.catalog import catalog_from_bpmn, check_catalog, load_catalog, save_catalog
from approvalflow.catalog.synthetic import synthetic_county
from approvalflow.cli.main import main

DATA = Path(__file__).parent / "data" / "catalog"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(DATA, tmp_path, dirs_exist_ok=True)
    return tmp_path


def _edit(folder: Path, change: dict[str, object], risk: int | None = None) -> Path:
    """The sample with one power (or one risk point) changed."""
    data = yaml.safe_load((folder / "sample.yaml").read_text(encoding="utf-8"))
    target = data["risk_points"][risk] if risk is not None else data["powers"][1]
    target.update(change)
    path = folder / "edited.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _rules(path: Path) -> list[tuple[str, str | None]]:
    return [(f.rule, f.column) for f in check_catalog(load_catalog(path)).findings]


def test_sample_agrees_with_its_flowchart() -> None:
    # two powers share flowcharts/licence.bpmn, whose af:power code is another one: not a finding
    report = check_catalog(load_catalog(DATA / "sample.yaml"))
    assert (report.powers, report.risk_points, report.findings) == (2, 4, [])


def test_limit_mismatch(folder: Path) -> None:
    # the flowchart says statutory 20 workdays; 20日 is calendar days: the unit differs
    assert _rules(_edit(folder, {"statutory_limit": "20日"})) == [("catalog-limit-mismatch", "法定办结时限")]
    assert _rules(_edit(folder, {"promised_limit": "15个工作日"})) == [("catalog-limit-mismatch", "承诺办结时限")]
    assert _rules(_edit(folder, {"promised_limit": None})) == [("catalog-limit-blank", "承诺办结时限")]


def test_flowchart_missing_and_invalid(folder: Path) -> None:
    assert _rules(_edit(folder, {"flowchart": "flowcharts/nowhere.bpmn"})) == [("catalog-flowchart-missing", "流程图")]
    assert _rules(_edit(folder, {"flowchart": "flowcharts/broken.bpmn"})) == [("catalog-flowchart-invalid", "流程图")]
    assert _rules(_edit(folder, {"flowchart": None})) == [("catalog-no-flowchart", "流程图")]


def test_duplicate_code(folder: Path) -> None:
    findings = check_catalog(load_catalog(_edit(folder, {"code": "140521-XK-0001"}))).findings
    # the second power now has the first one's code; its two risk rows become duplicates of the first's
    assert [f.rule for f in findings].count("catalog-duplicate-code") == 1
    dup = next(f for f in findings if f.rule == "catalog-duplicate-code")
    assert dup.row == 17  # the YAML line of the second power


def test_risk_findings(folder: Path) -> None:
    assert _rules(_edit(folder, {"level": "低"}, risk=3)) == [("catalog-risk-mismatch", "风险等级")]
    assert _rules(_edit(folder, {"step": "受理"}, risk=3)) == [("catalog-risk-mismatch", "环节")]
    assert _rules(_edit(folder, {"step": "审核"}, risk=3)) == [("catalog-risk-step", "环节")]
    assert _rules(_edit(folder, {"description": "别的"}, risk=3)) == [("catalog-risk-text", "风险点")]
    # R-9 is not on the flowchart, and R-2 is then missing from the table for this power
    assert _rules(_edit(folder, {"id": "R-9"}, risk=3)) == [
        ("catalog-risk-extra", "风险点编号"),
        ("catalog-risk-missing", "流程图"),
    ]
    assert _rules(_edit(folder, {"power": "X-1"}, risk=3)) == [
        ("catalog-risk-unknown-power", "职权编码"),
        ("catalog-risk-missing", "流程图"),
    ]


def test_generated_catalog_checks_clean(tmp_path: Path) -> None:
    catalog, skipped = catalog_from_bpmn([ROOT / "processes/licensing/general_licensing.bpmn"], relative_to=tmp_path)
    assert skipped == []
    assert [p.code for p in catalog.powers] == ["140500-XK-0001"]
    # the flowchart and its called hearing process carry af:risk annotations; each becomes one row
    assert len(catalog.risk_points) >= 5
    assert {r.power for r in catalog.risk_points} == {"140500-XK-0001"}
    # the skeleton points out of its folder, into the process library: checked within that library
    assert check_catalog(catalog, base=tmp_path, root=ROOT / "processes").findings == []
    assert {f.rule for f in check_catalog(catalog, base=tmp_path).findings} == {"catalog-flowchart-outside"}


def test_synthetic_is_deterministic_and_consistent(tmp_path: Path) -> None:
    a = synthetic_county(tmp_path / "a", seed=7, powers=300)
    b = synthetic_county(tmp_path / "b", seed=7, powers=300)
    c = synthetic_county(tmp_path / "c", seed=8, powers=300)
    assert a == b and a != c
    assert len(a.powers) == 300
    assert len({p.code for p in a.powers}) == 300
    # every template has 12 to 18 risk points, so 300 powers carry between 3,600 and 5,400 of them
    assert 3600 <= len(a.risk_points) <= 5400
    assert check_catalog(a, base=tmp_path / "a").findings == []


# -- command line -----------------------------------------------------------------------------------------


def test_cli_check_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "check", str(_edit(folder, {"level": "低"}, risk=3)), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["powers"], out["risk_points"]) == (2, 4)
    (finding,) = out["findings"]
    assert {k: finding[k] for k in ("rule", "severity", "column")} == {
        "rule": "catalog-risk-mismatch",
        "severity": "error",
        "column": "风险等级",
    }
    assert isinstance(finding["row"], int) and finding["message"]


def test_cli_check_clean_and_warning_exit_0(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "check", str(folder / "sample.yaml")]) == 0
    assert main(["catalog", "check", str(_edit(folder, {"description": "别的"}, risk=3))]) == 0
    assert "warning catalog-risk-text" in capsys.readouterr().out


def test_cli_check_unreadable_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.csv").write_text("职权编码,职权名称,职权类别\nA,B,行政审批\n", encoding="utf-8")
    assert main(["catalog", "check", str(tmp_path / "c.csv")]) == 2
    assert "row 2, column C (职权类别)" in capsys.readouterr().err
    assert main(["catalog", "check", str(tmp_path / "c.csv"), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["problems"][0]["cell"] == "C2"


def test_cli_convert_and_init(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["catalog", "convert", str(folder / "sample.yaml"), str(folder / "out.csv"), "--encoding", "gb18030"]) == 0
    )
    assert (folder / "out.csv").read_bytes().startswith("职权编码".encode("gb18030"))
    assert load_catalog(folder / "out.csv") == load_catalog(folder / "sample.yaml")
    assert main(["catalog", "init", str(folder / "flowcharts"), "-o", str(folder / "init.xlsx")]) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "broken.bpmn" in captured.err
    made = load_catalog(folder / "init.xlsx")
    assert [p.flowchart for p in made.powers] == ["flowcharts/licence.bpmn"]
    assert [r.step for r in made.risk_points] == ["受理", "决定"]
    assert main(["catalog", "check", str(folder / "init.xlsx")]) == 0


def test_cli_names_the_csv_risk_file(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = load_catalog(_edit(folder, {"level": "低"}, risk=3))
    save_catalog(catalog, folder / "清单.csv")
    assert main(["catalog", "check", str(folder / "清单.csv")]) == 1
    line = capsys.readouterr().out.splitlines()[0]
    # the fourth risk point is row 5 of the risk table (header row 1), which is the sibling file
    assert line.startswith(f"{folder / '清单.廉政风险点.csv'}: 廉政风险点 row 5, 风险等级: error catalog-risk-mismatch")


def test_synthetic_default_is_county_sized(tmp_path: Path) -> None:
    # a county list of the reform: about 5,700 powers and about 94,000 risk points
    catalog = synthetic_county(tmp_path)
    assert len(catalog.powers) == 5700
    assert 93_000 <= len(catalog.risk_points) <= 95_000
    assert check_catalog(catalog, base=tmp_path).findings == []
