"""What every request of the service works with: the store, the organisations and the clock."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ..time.clock import Clock, SystemClock
from .keycache import KeyCache

if TYPE_CHECKING:
    from ..bpmn.loader import ProcessDefinition
    from ..catalog.model import Catalog
    from ..org.organisation import Organisation
    from ..store.base import CaseStore

__all__ = ["ServiceContext", "get_context"]


@dataclass
class ServiceContext:
    """The store the service serves, the organisations its cases run in (by unit id), and the clock it reads.

    Optional:

    - ``catalog``: the power list (权力清单, :mod:`approvalflow.catalog`); when given, the console's cards carry the
      责任事项 and 追责情形 of their power (by 职权编码, which must be the ``af:power`` code of the flowchart);
    - ``processes``: definitions the host loaded itself, used (by digest) before the store's process registry to
      restore a stored case (a case whose process was never deployed in the store).

    ``lock`` is held by every request while it uses the store: a SQLite store is one connection, which threads may
    not use at once (the routes run in a thread pool). ``trail_key`` signs the trails of the cases started (the
    store's own key when it was opened with one). ``keys`` remembers the API keys verified a moment ago
    (:mod:`approvalflow.service.keycache`; ``KeyCache(0)`` reads the store for every request). ``threads``: how
    many requests run their store work at once in worker threads while the application serves (None: the
    thread pool's default, 40); 1 makes them run one at a time, in the order they came, as the store lock would
    serialise them anyway (see docs/service.md, "Throughput")."""

    store: CaseStore
    organisations: Mapping[str, Organisation]
    clock: Clock = field(default_factory=SystemClock)
    lock: Any = field(default_factory=threading.RLock)
    catalog: Catalog | None = None
    processes: Sequence[ProcessDefinition] = ()
    keys: KeyCache = field(default_factory=KeyCache)
    threads: int | None = None
    _definitions: dict[str, ProcessDefinition] = field(default_factory=dict, repr=False)

    def definition(self, digest: str) -> ProcessDefinition | None:
        """The definition of this digest: one of ``processes``, else the one deployed in the store's registry, kept
        for the next requests (a digest names one definition, checked when it is loaded); None when neither has
        it (not remembered: it may be deployed later). Called with ``lock`` held."""
        found = self._definitions.get(digest)
        if found is None:
            from ..store.registry import KnownDefinitions

            found = KnownDefinitions(self.store, self.processes).get(digest)
            if found is not None:
                if len(self._definitions) >= 64:
                    self._definitions.pop(next(iter(self._definitions)))
                self._definitions[digest] = found
        return found

    def responsibility(self) -> dict[str, tuple[str, str]]:
        """责任事项 and 追责情形 by power code, from ``catalog`` (empty without one): what a card carries."""
        if self.catalog is None:
            return {}
        return {p.code: (p.responsibilities or "", p.accountability or "") for p in self.catalog.powers}

    def organisation_of(self, unit: str) -> Organisation | None:
        """The organisation that has ``unit``, or None."""
        return self.organisations.get(unit)

    def unit_of_person(self, person: str) -> str | None:
        """The unit of a person of any of the organisations, or None."""
        for organisation in {id(o): o for o in self.organisations.values()}.values():
            found = organisation.person(person)
            if found is not None:
                return str(found.unit)
        return None


async def get_context(request: Request) -> ServiceContext:
    """The context of the app serving ``request`` (set by :func:`approvalflow.service.app.create_app` as
    ``app.state.context``): a FastAPI dependency of every route."""
    context: ServiceContext = request.app.state.context
    return context
