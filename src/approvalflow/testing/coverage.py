"""BPMN coverage: which flow nodes and sequence flows the cases of a test session exercised, per process.

A node counts as exercised once a case reached it (a step that became ready, a gateway or event the token passed,
a call activity that started); a sequence flow once a token travelled along it. Both are read from the engine's
task tree, so gateways decided by conditions and sub-processes of call activities are counted too. The pytest
plugin records the cases its fixtures create and every scenario item; ``af_coverage.record(case)`` adds any other
case. :class:`Coverage` writes a terminal summary, ``coverage.json`` and ``index.html``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._spiff import reached_tasks

if TYPE_CHECKING:
    from ..bpmn.loader import ProcessDefinition
    from ..engine.case import Case

__all__ = ["Coverage", "ProcessCoverage", "exercised"]


def exercised(case: Case) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The nodes and the sequence flows this case has exercised so far, as (process id, BPMN id) pairs.

    A node counts once a token reached it (a task only predicted does not); a flow counts when its source was
    entered (completed, started or waiting) and its target was reached, or is a join's merged branch.
    """
    by_ends: dict[tuple[str, str, str], list[str]] = {}
    for pid, info in case.definition.processes.items():
        for flow in info.flows.values():
            by_ends.setdefault((pid, flow.source, flow.target), []).append(flow.id)
    nodes: set[tuple[str, str]] = set()
    flows: set[tuple[str, str]] = set()
    for pid, node, entered, children in reached_tasks(case.engine_workflow):
        nodes.add((pid, node))
        if not entered:
            continue
        for target, reached in children:
            if target is not None and reached:
                flows.update((pid, f) for f in by_ends.get((pid, node, target), ()))
    return nodes, flows


@dataclass
class ProcessCoverage:
    """Coverage of one BPMN process: every node and flow it has, and those exercised."""

    id: str
    name: str | None
    file: str | None
    nodes: dict[str, str] = field(default_factory=dict)  # id -> name (or kind)
    flows: dict[str, str] = field(default_factory=dict)  # id -> "source -> target"
    covered_nodes: set[str] = field(default_factory=set)
    covered_flows: set[str] = field(default_factory=set)
    cases: int = 0
    tests: set[str] = field(default_factory=set)

    @property
    def node_ratio(self) -> float:
        return len(self.covered_nodes) / len(self.nodes) if self.nodes else 1.0

    @property
    def flow_ratio(self) -> float:
        return len(self.covered_flows) / len(self.flows) if self.flows else 1.0

    @property
    def missed_nodes(self) -> list[str]:
        return [n for n in self.nodes if n not in self.covered_nodes]

    @property
    def missed_flows(self) -> list[str]:
        return [f for f in self.flows if f not in self.covered_flows]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "file": self.file,
            "cases": self.cases,
            "tests": sorted(self.tests),
            "nodes": _part(self.nodes, self.covered_nodes, self.node_ratio),
            "flows": _part(self.flows, self.covered_flows, self.flow_ratio),
        }


def _part(every: dict[str, str], covered: set[str], ratio: float) -> dict[str, Any]:
    return {
        "total": len(every),
        "covered": len(covered),
        "ratio": round(ratio, 4),
        "covered_ids": [i for i in every if i in covered],
        "missed_ids": [i for i in every if i not in covered],
    }


class Coverage:
    """Collects coverage over a session; one :class:`ProcessCoverage` per BPMN process id."""

    def __init__(self) -> None:
        self.processes: dict[str, ProcessCoverage] = {}

    def add_definition(self, definition: ProcessDefinition) -> None:
        """Count every node and flow of ``definition`` (and of the processes it calls), even if no case ran."""
        for pid, info in definition.processes.items():
            entry = self.processes.get(pid)
            if entry is None:
                entry = self.processes[pid] = ProcessCoverage(pid, info.name, info.file)
            for node in info.nodes.values():
                entry.nodes.setdefault(node.id, node.name or node.kind)
            for flow in info.flows.values():
                entry.flows.setdefault(flow.id, f"{flow.source} -> {flow.target}")

    def record(self, case: Case, test: str | None = None) -> None:
        """Add what ``case`` exercised; ``test`` names the test it ran in (a pytest node id)."""
        self.add_definition(case.definition)
        nodes, flows = exercised(case)
        touched = {pid for pid, _ in nodes} | {case.definition.id}
        for pid in touched & set(self.processes):
            entry = self.processes[pid]
            entry.cases += 1
            if test:
                entry.tests.add(test)
            entry.covered_nodes.update(n for p, n in nodes if p == pid and n in entry.nodes)
            entry.covered_flows.update(f for p, f in flows if p == pid and f in entry.flows)

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready mapping: per process, and totals."""
        entries = sorted(self.processes.values(), key=lambda e: e.id)
        node_total = sum(len(e.nodes) for e in entries)
        flow_total = sum(len(e.flows) for e in entries)
        return {
            "processes": [e.to_json() for e in entries],
            "total": {
                "nodes": {"total": node_total, "covered": sum(len(e.covered_nodes) for e in entries)},
                "flows": {"total": flow_total, "covered": sum(len(e.covered_flows) for e in entries)},
            },
        }

    def summary_lines(self) -> list[str]:
        """The terminal summary: one line per process, then the elements no test reached."""
        lines = [f"{'process':<32} {'cases':>5} {'nodes':>12} {'flows':>12}"]
        for e in sorted(self.processes.values(), key=lambda e: e.id):
            nodes = f"{len(e.covered_nodes)}/{len(e.nodes)} {e.node_ratio:4.0%}"
            flows = f"{len(e.covered_flows)}/{len(e.flows)} {e.flow_ratio:4.0%}"
            lines.append(f"{e.id:<32} {e.cases:>5} {nodes:>12} {flows:>12}")
        for e in sorted(self.processes.values(), key=lambda e: e.id):
            if e.missed_nodes:
                lines.append(f"  {e.id}: nodes not reached: {', '.join(e.missed_nodes)}")
            if e.missed_flows:
                lines.append(f"  {e.id}: flows not taken: {', '.join(e.missed_flows)}")
        return lines

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``coverage.json`` and ``index.html`` into ``folder`` (created if missing); returns both paths."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        report = out / "coverage.json"
        report.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
        page = out / "index.html"
        page.write_text(_html(self), encoding="utf-8")
        return [report, page]


_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}.hit{background:#d9f2d9}.miss{background:#f8d7d7}"
)


def _rows(every: dict[str, str], covered: set[str]) -> str:
    return "".join(
        f'<tr class="{"hit" if i in covered else "miss"}" data-element-id="{html.escape(i)}">'
        f"<td>{html.escape(i)}</td><td>{html.escape(label)}</td><td>{'yes' if i in covered else 'no'}</td></tr>"
        for i, label in every.items()
    )


def _html(coverage: Coverage) -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>BPMN coverage</title><style>{_STYLE}</style>"]
    parts.append("</head><body><h1>BPMN coverage</h1>")
    for e in sorted(coverage.processes.values(), key=lambda e: e.id):
        title = html.escape(f"{e.id} ({e.name})" if e.name else e.id)
        parts.append(f"<h2 id='{html.escape(e.id)}'>{title}</h2><p>{html.escape(e.file or '')} · {e.cases} case(s)")
        nodes, flows = f"{len(e.covered_nodes)}/{len(e.nodes)}", f"{len(e.covered_flows)}/{len(e.flows)}"
        parts.append(f" · nodes {nodes} · flows {flows}</p>")
        parts.append("<table><tr><th>node</th><th>name</th><th>reached</th></tr>")
        parts.append(_rows(e.nodes, e.covered_nodes) + "</table>")
        parts.append("<table><tr><th>sequence flow</th><th>from → to</th><th>taken</th></tr>")
        parts.append(_rows(e.flows, e.covered_flows) + "</table>")
    parts.append("</body></html>")
    return "".join(parts)
