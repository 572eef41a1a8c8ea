"""The demo loads the sample county catalog, checks it and prints one line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from approvalflow.demo.licensing import _run_catalog

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "processes" / "catalog" / "sample_county.yaml"


def test_demo_prints_the_catalog_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_catalog(SAMPLE) == 0
    out = capsys.readouterr().out
    match = re.search(r"权力清单 .*: (\d+) powers, (\d+) risk points, (\d+) findings \((\d+) errors\)", out)
    assert match is not None, out
    powers, risks, findings, errors = map(int, match.groups())
    assert 20 <= powers <= 30 and risks > powers and findings == errors == 0


def test_demo_counts_findings_of_a_broken_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    text = SAMPLE.read_text(encoding="utf-8").replace("statutory_limit: 20个工作日", "statutory_limit: 20日", 1)
    (folder / "sample_county.yaml").write_text(text, encoding="utf-8")
    for sub in ("licensing", "penalty", "joint", "disclosure", "petition", "hotline", "assistance", "decision",
                "seal", "powerlist", "procurement", "village"):  # fmt: skip
        shutil.copytree(ROOT / "processes" / sub, tmp_path / sub)
    assert _run_catalog(folder / "sample_county.yaml") == 0  # findings are shown, not an error of the demo
    assert "1 findings (1 errors)" in capsys.readouterr().out


def test_demo_without_a_catalog_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_catalog(tmp_path / "none.yaml") == 0
    assert capsys.readouterr().out == ""


def test_unreadable_catalog_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.yaml").write_text("powers: [{code: A, name: B, category: 行政审批}]\n", encoding="utf-8")
    assert _run_catalog(tmp_path / "c.yaml") == 2
    assert "职权类别" in capsys.readouterr().out


@pytest.mark.slow
def test_full_demo_shows_the_catalog_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from approvalflow.cli.main import main

    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    library = out.index("流程库")
    catalog = out.index("权力清单 the sample county catalog")
    supervision = out.index("电子监察")
    assert library < catalog < supervision  # between the process library and supervision
    assert "0 findings (0 errors)" in out[catalog:supervision]
