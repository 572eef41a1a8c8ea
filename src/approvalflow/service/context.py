"""What every request of the service works with: the store, the organisations and the clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from ..time.clock import Clock, SystemClock

if TYPE_CHECKING:
    from ..org.organisation import Organisation
    from ..store.base import CaseStore

__all__ = ["ServiceContext", "get_context"]


@dataclass
class ServiceContext:
    """The store the service serves, the organisations its cases run in (by unit id), and the clock it reads."""

    store: CaseStore
    organisations: Mapping[str, Organisation]
    clock: Clock = field(default_factory=SystemClock)

    def organisation_of(self, unit: str) -> Organisation | None:
        """The organisation that has ``unit``, or None."""
        return self.organisations.get(unit)


def get_context(request: Request) -> ServiceContext:
    """The context of the app serving ``request`` (set by :func:`approvalflow.service.app.create_app` as
    ``app.state.context``): a FastAPI dependency of every route."""
    context: ServiceContext = request.app.state.context
    return context
