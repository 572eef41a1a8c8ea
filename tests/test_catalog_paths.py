"""A catalog's 流程图 paths stay inside the catalog's folder (or --root), and only regular files are opened."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from approvalflow.bpmn.model import Category
from approvalflow.catalog import Catalog, CatalogError, PowerRow, check_catalog, load_catalog, risk_table, save_catalog
from approvalflow.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
LICENSING = ROOT / "processes" / "licensing"
CHART = "general_licensing.bpmn"


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """tmp/catalog/ (the catalog's folder, holding flowcharts/ inside) and tmp/elsewhere/ (outside it)."""
    shutil.copytree(LICENSING, tmp_path / "catalog" / "flowcharts")
    shutil.copytree(LICENSING, tmp_path / "elsewhere")
    return tmp_path


def _catalog(folder: Path, *flowcharts: str, name: str = "清单.csv") -> Path:
    powers = [
        PowerRow(code=f"A-{i}", name="食品经营许可", category=Category.LICENSING, flowchart=chart)
        for i, chart in enumerate(flowcharts)
    ]
    path = folder / name
    save_catalog(Catalog(powers=powers), path)
    return path


def _rules(path: Path, **options: object) -> list[tuple[str, int | None, str | None]]:
    report = check_catalog(load_catalog(path), **options)  # type: ignore[arg-type]
    return [(f.rule, f.row, f.column) for f in report.findings if f.rule.startswith("catalog-flowchart")]


def test_a_path_inside_is_checked(layout: Path) -> None:
    assert _rules(_catalog(layout / "catalog", f"flowcharts/{CHART}", f"./flowcharts/../flowcharts/{CHART}")) == []


@pytest.mark.parametrize(
    "chart",
    [
        f"../elsewhere/{CHART}",
        f"flowcharts/../../elsewhere/{CHART}",
        "../../../../../../../../etc/passwd",
        "ABSOLUTE",
    ],
)
def test_a_path_leaving_the_folder_is_refused_with_row_and_column(layout: Path, chart: str) -> None:
    chart = str(layout / "elsewhere" / CHART) if chart == "ABSOLUTE" else chart
    path = _catalog(layout / "catalog", f"flowcharts/{CHART}", chart)
    assert _rules(path) == [("catalog-flowchart-outside", 3, "流程图")]  # the second power, row 3 of the sheet
    # with --allow-outside the file is opened (and checks clean, or is missing for /etc/passwd's neighbours)
    rules = {r for r, _, _ in _rules(path, allow_outside=True)}
    assert "catalog-flowchart-outside" not in rules


def test_a_symbolic_link_out_of_the_folder_is_refused(layout: Path) -> None:
    folder = layout / "catalog"
    (folder / "flowcharts" / "link.bpmn").symlink_to(layout / "elsewhere" / CHART)
    (folder / "linked_dir").symlink_to(layout / "elsewhere")
    path = _catalog(folder, "flowcharts/link.bpmn", f"linked_dir/{CHART}")
    assert _rules(path) == [("catalog-flowchart-outside", 2, "流程图"), ("catalog-flowchart-outside", 3, "流程图")]
    (folder / "flowcharts" / "inner.bpmn").symlink_to(folder / "flowcharts" / CHART)  # a link that stays inside
    assert _rules(_catalog(folder, "flowcharts/inner.bpmn", name="inner.csv")) == []


def test_root_widens_the_folder(layout: Path) -> None:
    path = _catalog(layout / "catalog", f"../elsewhere/{CHART}")
    assert _rules(path) == [("catalog-flowchart-outside", 2, "流程图")]
    assert _rules(path, root=layout) == []
    assert _rules(path, root=layout / "catalog" / "flowcharts") == [("catalog-flowchart-outside", 2, "流程图")]


def test_a_fifo_is_refused_without_opening_it(layout: Path) -> None:
    folder = layout / "catalog"
    os.mkfifo(folder / "x.bpmn")
    (folder / "dir.bpmn").mkdir()
    path = _catalog(folder, "x.bpmn", "dir.bpmn")
    found: list[list[tuple[str, int | None, str | None]]] = []
    worker = threading.Thread(target=lambda: found.append(_rules(path)), daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "the check hung on a FIFO"
    assert found == [[("catalog-flowchart-not-file", 2, "流程图"), ("catalog-flowchart-not-file", 3, "流程图")]]


def test_a_missing_file_and_a_link_loop(layout: Path) -> None:
    folder = layout / "catalog"
    (folder / "loop.bpmn").symlink_to(folder / "loop.bpmn")
    path = _catalog(folder, "none.bpmn", "loop.bpmn")
    assert [r for r, _, _ in _rules(path)] == ["catalog-flowchart-missing", "catalog-flowchart-missing"]


def test_risk_table_refuses_a_path_outside_naming_the_row(layout: Path) -> None:
    path = _catalog(layout / "catalog", f"flowcharts/{CHART}", f"../elsewhere/{CHART}")
    catalog = load_catalog(path)
    with pytest.raises(CatalogError, match=r"权力清单 row 3, column 流程图: .*outside") as info:
        risk_table(catalog)
    assert info.value.problems[0].row == 3
    rows = risk_table(catalog, root=layout)
    assert rows and {r.power for r in rows} == {"A-0", "A-1"}
    assert risk_table(catalog, allow_outside=True) == rows


def test_cli_allow_outside_and_root(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _catalog(layout / "catalog", f"../elsewhere/{CHART}")
    assert main(["catalog", "check", str(path), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule"], f["row"], f["column"]) for f in findings] == [("catalog-flowchart-outside", 2, "流程图")]
    assert "--allow-outside" in findings[0]["message"]
    assert main(["catalog", "check", str(path), "--allow-outside"]) == 0
    assert main(["catalog", "check", str(path), "--root", str(layout)]) == 0
