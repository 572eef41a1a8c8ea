"""Who is asking: the principal of a request (authentication and the roles of docs/service.md).

The API and the console both depend on :func:`current_principal`; tests may override it
(``app.dependency_overrides[current_principal] = lambda: Principal(...)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Principal", "Role", "current_principal"]

Role = Literal["platform", "supervisor", "applicant"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a platform acting for the people of its ``unit``, a supervisor reading every unit
    (writing nothing), or an applicant reading the status of one case (``case``)."""

    key_id: str
    role: Role
    unit: str | None = None
    case: str | None = None


def current_principal() -> Principal:
    """The principal of the request (replaced by the key check of :mod:`approvalflow.service.api`)."""
    raise NotImplementedError("authentication is set up by approvalflow.service.app.create_app")
