"""docs/catalog.md stays true: its Python examples run, and its tables name every rule and column."""

from __future__ import annotations

import doctest
import re
import shutil
from pathlib import Path

import pytest

from approvalflow.catalog import load_catalog
from approvalflow.catalog.check import RULES
from approvalflow.catalog.columns import POWER_COLUMNS, RISK_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "catalog.md"


def test_doctest_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0


def test_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "processes", tmp_path / "processes")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    runnable = [b for b in blocks if ">>>" not in b]
    assert len(runnable) == 2
    for code in runnable:
        exec(compile(code, str(DOC), "exec"), {})
    assert load_catalog(tmp_path / "catalog" / "county.yaml").powers  # catalog_from_bpmn's example
    rewritten = load_catalog(tmp_path / "processes" / "catalog" / "sample_county.yaml")
    assert rewritten == load_catalog(ROOT / "processes" / "catalog" / "sample_county.yaml")  # risk_table's


def test_every_rule_and_column_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| `{rule}` | {RULES[rule]} |" in text, rule
    for col in (*POWER_COLUMNS, *RISK_COLUMNS):
        assert f"| {col.header} | `{col.field}` |" in text, col.header
