"""The case factory behind the ``af_cases`` fixture: start cases of a process on the test's fake clock.

Processes and organisations are loaded once per session (keyed by file and modification time); every case the
factory starts is handed to the coverage collector, if the session collects coverage, when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..bpmn.loader import ProcessDefinition, load_process
from ..engine.case import Case, Policy, start_case
from ..errors import RunError
from ..org.organisation import Organisation, OrgUnit, load_organisation
from ..time.clock import Clock

__all__ = ["CaseFactory", "cached_organisation", "cached_process", "guess_unit"]

_PROCESSES: dict[tuple[Path, float], ProcessDefinition] = {}
_ORGS: dict[tuple[Path, float], Organisation] = {}


def cached_process(path: str | Path) -> ProcessDefinition:
    """Load a BPMN file once per session (again only when the file changes)."""
    resolved = Path(path).resolve()
    key = (resolved, resolved.stat().st_mtime if resolved.exists() else 0.0)
    if key not in _PROCESSES:
        _PROCESSES[key] = load_process(resolved)
    return _PROCESSES[key]


def cached_organisation(path: str | Path) -> Organisation:
    """Load an organisation file once per session (again only when the file changes)."""
    resolved = Path(path).resolve()
    key = (resolved, resolved.stat().st_mtime if resolved.exists() else 0.0)
    if key not in _ORGS:
        _ORGS[key] = load_organisation(resolved)
    return _ORGS[key]


def _posts_held(unit: OrgUnit, organisation: Organisation, posts: set[str]) -> int:
    held = {p for person in organisation.people.values() if person.unit == unit.id for p in person.posts}
    return len(posts & held)


def guess_unit(definition: ProcessDefinition, organisation: Organisation) -> str | None:
    """The unit to run ``definition`` in when none is named: the only unit, or the one unit whose people hold
    the most posts the process names. Raises :class:`RunError` when two units tie."""
    if len(organisation.units) <= 1:
        return None
    posts = {p for step in definition.steps.values() for p in step.posts}
    scores = {u.id: _posts_held(u, organisation, posts) for u in organisation.units.values()}
    best = max(scores.values())
    top = [u for u, s in scores.items() if s == best]
    if len(top) != 1:
        raise RunError(
            f"process '{definition.id}': name the unit to run it in (unit=...); "
            f"these units hold equally many of its posts: {', '.join(top)}"
        )
    return top[0]


class CaseFactory:
    """Starts cases on one clock with a default organisation; ``af_cases(process, ...)`` in tests.

    ``organisation`` may be a callable that loads it, called the first time a case needs it.
    ``process`` is a :class:`ProcessDefinition` or a path to a BPMN file: a relative path is looked up in
    ``search`` (the test file's folder, then the rootdir) in order.
    """

    def __init__(
        self,
        clock: Clock,
        organisation: Organisation | Callable[[], Organisation] | None = None,
        *,
        search: tuple[Path, ...] = (),
        on_finish: Callable[[Case], None] | None = None,
    ) -> None:
        self.clock = clock
        self.organisation = organisation
        self.search = search
        self.cases: list[Case] = []
        self._on_finish = on_finish

    def resolve(self, path: str | Path) -> Path:
        """Where a relative path given to the factory points (the first of ``search`` where it exists)."""
        candidate = Path(path)
        if candidate.is_absolute():
            return candidate
        for base in self.search:
            if (base / candidate).exists():
                return base / candidate
        return candidate

    def process(self, process: ProcessDefinition | str | Path) -> ProcessDefinition:
        """The process definition for a definition or a path."""
        if isinstance(process, ProcessDefinition):
            return process
        return cached_process(self.resolve(process))

    def organisation_of(self, org: Organisation | str | Path | None) -> Organisation:
        """The organisation for an organisation, a path, or the default (loaded when first needed)."""
        if isinstance(org, Organisation):
            return org
        if org is not None:
            return cached_organisation(self.resolve(org))
        if self.organisation is None:
            raise RunError("no organisation: pass org=... or set the af_org ini option")
        if not isinstance(self.organisation, Organisation):
            self.organisation = self.organisation()
        return self.organisation

    def __call__(
        self,
        process: ProcessDefinition | str | Path,
        *,
        org: Organisation | str | Path | None = None,
        unit: str | None = None,
        data: Mapping[str, Any] | None = None,
        policy: Policy | str = Policy.ENFORCE,
        **options: Any,
    ) -> Case:
        """Start a case of ``process`` on the factory's clock; other ``options`` go to :func:`start_case`."""
        definition = self.process(process)
        organisation = self.organisation_of(org)
        chosen = unit if unit is not None else guess_unit(definition, organisation)
        case = start_case(definition, organisation, unit=chosen, clock=self.clock, data=data, policy=policy, **options)
        self.cases.append(case)
        return case

    def finish(self) -> None:
        """Hand every case started to ``on_finish`` (the coverage collector) and forget them."""
        if self._on_finish is not None:
            for case in self.cases:
                self._on_finish(case)
        self.cases.clear()
