"""The supervision part of ``approvalflow demo``: the sample cases in a SQLite store, a sweep, a report.

:func:`run_supervision_demo` plays every demo case of :mod:`approvalflow.demo.licensing` step by step through a SQLite
case store in ``folder`` (each completion saved, refusals too), sweeps the store at a moment, and writes the
efficiency report (``efficiency.html``, ``.csv``, ``.json``). It returns the lines to print.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..bpmn.loader import load_process
from ..errors import StepRefused
from ..org.organisation import load_organisation
from ..store.cases import add_case, complete_step
from ..store.sqlite import SqliteStore
from ..supervision.efficiency import evaluate_efficiency
from ..supervision.sweep import sweep_store
from .cases import DEMO_CASES, find_processes, start_demo_case

__all__ = ["SupervisionDemo", "run_supervision_demo"]

DEFAULT_AT = "2026-10-20T09:00:00+08:00"


@dataclass
class SupervisionDemo:
    """What the demo did: the store, the report files, and lines for people."""

    store: Path
    report: Path
    lines: list[str] = field(default_factory=list)


def run_supervision_demo(folder: Path, processes: Path | None = None, at: str = DEFAULT_AT) -> SupervisionDemo:
    """Run the demo cases into ``folder/cases.db``, sweep at ``at``, write ``folder/efficiency.*``."""
    base = processes or find_processes()
    definition = load_process(base / "licensing" / "general_licensing.bpmn")
    org = load_organisation(base / "org" / "sample_county.yaml")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cases.db"
    path.unlink(missing_ok=True)
    store = SqliteStore(path)
    try:
        for n, demo in enumerate(DEMO_CASES, start=1):
            case, clock = start_demo_case(demo, definition, org, f"demo-{n}")
            stored = add_case(store, case)
            for task, actor, moment, data in demo.steps:
                clock.to(moment)
                with contextlib.suppress(StepRefused):  # a refusal is saved in the trail
                    complete_step(store, stored, task, actor, data=data)
        when = datetime.fromisoformat(at)
        swept = sweep_store(store, when)
        ev = evaluate_efficiency(store.summaries(), until=when)
    finally:
        store.close()
    (folder / "efficiency.html").write_text(ev.to_html(), encoding="utf-8")
    (folder / "efficiency.csv").write_text(ev.to_csv(), encoding="utf-8")
    (folder / "efficiency.json").write_text(json.dumps(ev.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    counts = swept.counts()
    lines = [
        f"电子监察 supervision at {at}: {swept.open_cases} open cases in {path}, "
        f"{counts['red']} red and {counts['yellow']} yellow cards, {len(swept.anomalies)} anomalies"
    ]
    lines += [
        f"   {c.level:6} {c.case:8} {c.task or 'case ' + c.limit:16} due {c.deadline}  {', '.join(c.people)}"
        for c in swept.cards
    ]
    total = ev.total.to_json()
    lines.append(
        f"效能评估 efficiency: received {total['received']}, completed {total['completed']}, "
        f"on time {total['on_time_rate']}, report {folder / 'efficiency.html'}"
    )
    return SupervisionDemo(path, folder / "efficiency.html", lines)
