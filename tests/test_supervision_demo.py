"""The supervision demo: sample cases through a SQLite store, a sweep, the efficiency report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from approvalflow import load_organisation, load_process
from approvalflow.demo.supervision import DEFAULT_AT, run_supervision_demo
from approvalflow.store.cases import load_case_from
from approvalflow.store.factory import open_store

from .conftest import LICENSING, ROOT, SAMPLE_ORG


def test_demo_store_sweep_and_report(tmp_path: Path) -> None:
    result = run_supervision_demo(tmp_path, ROOT / "processes")
    assert result.store.is_file() and result.report.is_file()
    assert (tmp_path / "efficiency.csv").read_text(encoding="utf-8").startswith("dimension,group,")
    assert "<svg" in result.report.read_text(encoding="utf-8")
    # Every card the demo printed is the engine's own alert for the stored case at the same moment.
    process, org = load_process(LICENSING), load_organisation(SAMPLE_ORG)
    store = open_store(result.store)
    at = datetime.fromisoformat(DEFAULT_AT)
    expected = []
    for case_id in store.ids():
        case = load_case_from(store, case_id, process, org).case
        expected += [
            f"{a.level:6} {case_id:8} {a.task or 'case ' + a.limit:16} due {a.deadline.day}" for a in case.alerts(at)
        ]
    store.close()
    printed = [line.strip()[: len(e)] for line, e in zip(result.lines[1:-1], expected, strict=True)]
    assert printed == [e.strip() for e in expected]
    assert expected  # the demo shows at least one card
