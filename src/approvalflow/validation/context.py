"""What every static check sees (:class:`Context`), and the registry of checks by rule id.

A check is a small function ``Context -> Iterable[StaticFinding]`` registered
with :func:`check` under the rule ids it may report. Checks collect every
finding; none stops at the first. Expensive shared facts (the flat graph of a
process, the token game of a scope) are computed once per file here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..bpmn.annotations import ProcessInfo
from ..bpmn.model import StepInfo
from ..org.organisation import Organisation
from .document import Document, Workspace
from .findings import STATIC, StaticFinding
from .graph import Flat, ProcessGraph, flatten
from .tokens import TokenResult, explore

__all__ = ["CHECKS", "Check", "Context", "check"]

Check = Callable[["Context"], Iterable[StaticFinding]]

# rule id -> the check that reports it (one check may report several ids): the checks of the registry STATIC
CHECKS: dict[str, Check] = STATIC.checks


def check(*rules: str) -> Callable[[Check], Check]:
    """Register a check under the rule ids it reports (each declared in :data:`~.findings.STATIC`)."""
    return STATIC.register(*rules)


@dataclass
class Context:
    """One readable file, its graph, and the organisation to check it against (if any)."""

    doc: Document
    graph: ProcessGraph
    workspace: Workspace
    org: Organisation | None = None
    unit: str | None = None
    _flat: dict[str, Flat] = field(default_factory=dict)
    _tokens: dict[str, TokenResult] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.doc.file

    @property
    def processes(self) -> dict[str, ProcessInfo]:
        return self.doc.processes

    def steps(self) -> dict[str, StepInfo]:
        """Every step of every process of the file."""
        return {sid: s for info in self.processes.values() for sid, s in info.steps.items()}

    def reachable_steps(self, process: str) -> dict[str, StepInfo]:
        """The steps of ``process`` and of the processes it calls (through the flat graph)."""
        flat = self.flat(process)
        found: dict[str, StepInfo] = {}
        for info in self._called_infos(process):
            found.update({k: v for k, v in info.steps.items() if k in flat.graph})
        return found

    def known_steps(self, process: str) -> set[str]:
        """Steps a reference in ``process`` may name: its own, those it calls, those of its callers."""
        known = set(self.reachable_steps(process))
        for doc, caller in self.workspace.callers(self.doc, process):
            known |= set(caller.steps)
            for called in caller.called.values():
                found = self.workspace.find_process(doc, called)
                if found is not None:
                    known |= set(found[1].steps)
        return known

    def _called_infos(self, process: str) -> list[ProcessInfo]:
        return [info for _, info in self.called(process)]

    def called(self, process: str) -> list[tuple[Document, ProcessInfo]]:
        """``process`` and every process it calls, directly or not, with their documents."""
        found = [(self.doc, self.processes[process])]
        todo = list(found)
        seen = {process}
        while todo:
            doc, info = todo.pop()
            for called in info.called.values():
                hit = self.workspace.find_process(doc, called)
                if hit is not None and hit[1].id not in seen:
                    seen.add(hit[1].id)
                    found.append(hit)
                    todo.append(hit)
        return found

    def roots(self) -> list[str]:
        """Processes of the file that no other process of the file calls."""
        called = {c for info in self.processes.values() for c in info.called.values()}
        return [pid for pid in self.processes if pid not in called]

    def flat(self, process: str) -> Flat:
        if process not in self._flat:
            self._flat[process] = flatten(self.doc, self.graph, process, self.workspace)
        return self._flat[process]

    def tokens(self, scope: str) -> TokenResult:
        if scope not in self._tokens:
            self._tokens[scope] = explore(self.graph, scope)
        return self._tokens[scope]
