"""Who is asking: the principal of a request (authentication and the roles of docs/service.md).

Every request carries ``Authorization: Bearer <key>``, a key made by ``approvalflow keys create`` and kept hashed in
the case store (:mod:`approvalflow.store.keys`). :func:`current_principal` checks it (401 without a valid key) and
gives the :class:`Principal`; the ``require_*`` helpers say whether its role and unit allow what is asked (403).

The API and the console both depend on :func:`current_principal`; tests may override it
(``app.dependency_overrides[current_principal] = lambda: Principal(...)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ..store.keys import ApiKey
from .context import ServiceContext, get_context
from .problems import ProblemError

__all__ = [
    "CONSOLE_COOKIE",
    "Principal",
    "Role",
    "current_principal",
    "require_actor",
    "require_case_read",
    "require_case_write",
    "require_reader",
    "require_writer",
]

Role = Literal["platform", "supervisor", "applicant"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a platform acting for the people of its ``unit``, a supervisor reading every unit
    (writing nothing), or an applicant reading the status of one case (``case``)."""

    key_id: str
    role: Role
    unit: str | None = None
    case: str | None = None


#: The cookie a browser keeps the key in after ``/console/login``: sent with the console's own reads (GET under
#: ``/console``) only, never accepted by the API, so that a page of another site cannot make a browser act (CSRF).
CONSOLE_COOKIE = "approvalflow_console_key"


async def current_principal(request: Request, context: ServiceContext = Depends(get_context)) -> Principal:  # noqa: B008
    """The principal of the request, from its ``Authorization: Bearer <key>`` header: 401 (problem
    ``unauthenticated``) without one, or with a malformed, unknown or revoked key. A key verified a moment ago is
    found in the context's memory of keys (:mod:`approvalflow.service.keycache`) without reading the store."""
    header: str | None = request.headers.get("authorization")
    if header is None and request.method in ("GET", "HEAD") and request.url.path.startswith("/console"):
        cookie = request.cookies.get(CONSOLE_COOKIE)  # the console in a browser (it only reads: no CSRF to fear)
        header = f"Bearer {cookie}" if cookie else None
    if header is None:
        raise ProblemError(401, "unauthenticated", "no API key: send 'Authorization: Bearer <key>'")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ProblemError(401, "unauthenticated", "the Authorization header is not 'Bearer <key>'")
    found = context.keys.get(key)
    if found is None:
        found = await run_in_threadpool(_verify, context, key)
    if found is None:
        raise ProblemError(401, "unauthenticated", "the API key is not valid (unknown, malformed or revoked)")
    return Principal(found.key_id, found.role, found.unit, found.case)


def _verify(context: ServiceContext, key: str) -> ApiKey | None:
    """The store's record of a valid key (remembered for a moment), or None."""
    from ..store.keys import authenticate, revocations

    counted = revocations()
    with context.lock:
        found = authenticate(context.store, key)
    if found is not None:
        context.keys.put(key, found, counted)
    return found


def _forbid(detail: str) -> ProblemError:
    return ProblemError(403, "forbidden", detail)


def require_reader(p: Principal) -> None:
    """Platforms and supervisors read lists and figures; an applicant reads only its case's status (403)."""
    if p.role == "applicant":
        raise _forbid("an applicant key reads only the status of its own case (GET /api/v1/status/{case})")


def require_writer(p: Principal) -> str:
    """Only a platform key writes; its unit (403 for the others)."""
    if p.role != "platform" or p.unit is None:
        raise _forbid(f"a {p.role} key writes nothing: only a platform key acts on cases")
    return p.unit


def require_case_read(p: Principal, case_unit: str, case_id: str) -> None:
    """A platform reads the cases of its unit, a supervisor every case, an applicant none but by status (403)."""
    require_reader(p)
    if p.role == "platform" and p.unit != case_unit:
        raise _forbid(f"case {case_id} is not a case of unit {p.unit}")


def require_case_write(p: Principal, case_unit: str, case_id: str) -> str:
    """Only the platform of the case's unit writes to it (403 otherwise); that unit."""
    unit = require_writer(p)
    if unit != case_unit:
        raise _forbid(f"case {case_id} is not a case of unit {unit}")
    return unit


def require_actor(p: Principal, person_unit: str | None, person: str | None, what: str = "actor") -> None:
    """A platform acts for the people of its unit only: ``person`` (the actor, or a person it names as ``what``),
    found in unit ``person_unit`` of one of the organisations served, must be of the key's unit (403 otherwise; a
    person of no organisation is left to the library, which refuses an unknown actor by name)."""
    if person is not None and person_unit is not None and person_unit != p.unit:
        raise _forbid(f"{what} {person} is a person of unit {person_unit}, not of {p.unit}: a platform acts for the "
                      "people of its own unit")  # fmt: skip
