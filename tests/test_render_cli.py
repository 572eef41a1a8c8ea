"""`approvalflow render PATH... --view flow|risk -o DIR`, in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from approvalflow.cli.main import main

ROOT = Path(__file__).parent.parent
MIWG = ROOT / "tests" / "corpus" / "bpmn-miwg"


def test_render_a_folder_recursively(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", str(ROOT / "processes" / "licensing"), "--view", "risk", "-o", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["general_licensing.risk.svg", "hearing.risk.svg"]
    svg = etree.parse(str(tmp_path / "general_licensing.risk.svg")).getroot()
    assert svg.find(".//*[@data-element-id='decide']") is not None
    assert "general_licensing.risk.svg" in capsys.readouterr().out


def test_several_diagrams_give_numbered_files(tmp_path: Path) -> None:
    assert main(["render", str(MIWG / "C.5.0.bpmn"), "-o", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["C.5.0-2.flow.svg", "C.5.0.flow.svg"]


def test_bad_file_is_one_line_and_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<definitions", encoding="utf-8")
    assert main(["render", str(bad), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.bpmn" in err
    assert not (tmp_path / "out").exists()
