"""The host's API to keep cases in a store: add, load (trail verified), complete a step and save.

::

    store = open_store("cases.db")
    stored = add_case(store, start_case(process, org, unit="market-bureau"))
    stored = load_case_from(store, stored.case.id, process, org)
    complete_step(store, stored, "accept", "wang")      # ConflictError if another host saved the case first
    act(store, stored, lambda case: case.check("review", "li"))   # any operation of Case, saved the same way

A :class:`StoredCase` is a case and the store version it was read at; saving it writes version + 1 only if
the store still holds that version (optimistic versioning), otherwise :class:`ConflictError` and nothing is
written. A refused attempt is saved too (its trail entry is the record of the refusal), then re-raised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from ..bpmn.loader import ProcessDefinition
from ..engine.case import Case, start_case
from ..engine.persistence import dump_case, load_case
from ..errors import CaseFormatError, StepRefused
from ..expressions import TrustedFunction
from ..org.meetings import Meeting
from ..org.organisation import Organisation
from ..rules.checks import Finding
from ..time.calendar import WorkingCalendar
from ..time.clock import Clock
from .base import CaseRecord, CaseStore, StoreError
from .index import record_of

__all__ = ["StoredCase", "act", "add_case", "complete_step", "load_case_from", "save_case", "start_deployed"]

T = TypeVar("T")


@dataclass
class StoredCase:
    """A case as read from (or last written to) a store, with the version it has there."""

    case: Case
    version: int


def add_case(store: CaseStore, case: Case) -> StoredCase:
    """Store a new case (version 1).

    A store opened with the host's key (``open_store(url, key=KEY)``) keeps only cases whose trail is signed with
    that same key (``start_case(..., trail_key=KEY)``): an unsigned trail in a keyed store is refused here rather
    than found later by ``store check``.
    """
    key = getattr(store, "key", None)
    if key is not None and case.trail.key != key:
        raise StoreError(
            f"the store signs with a key, but case {case.id}'s trail is not signed with it: start the case with "
            "trail_key= the same key",
            case=case.id,
        )
    record = store.insert(record_of(case, dump_case(case)))
    return StoredCase(case, record.version)


def start_deployed(
    store: CaseStore,
    process: str,
    organisation: Organisation,
    *,
    version: int | None = None,
    trusted_functions: Mapping[str, TrustedFunction] | None = None,
    script_tasks: Mapping[str, TrustedFunction] | None = None,
    **options: Any,
) -> StoredCase:
    """Start a case of a process deployed in the store (its latest version, or ``version``) and add it.

    The definition is loaded from the store's process registry (:mod:`approvalflow.store.registry`), never from
    disk. ``options`` are those of :func:`~approvalflow.engine.case.start_case` (``unit``, ``data``, ``case_id``,
    ``clock``...).
    """
    from .registry import stored_definition

    definition = stored_definition(
        store, process, version, trusted_functions=trusted_functions, script_tasks=script_tasks
    )
    return add_case(store, start_case(definition, organisation, **options))


def save_case(store: CaseStore, stored: StoredCase) -> StoredCase:
    """Write the case back; :class:`~approvalflow.store.base.ConflictError` if someone saved it meanwhile."""
    record = store.update(record_of(stored.case, dump_case(stored.case)), expected=stored.version)
    stored.version = record.version
    return stored


def load_case_from(
    store: CaseStore,
    case_id: str,
    definition: ProcessDefinition | None,
    organisation: Organisation,
    *,
    clock: Clock | None = None,
    calendar: WorkingCalendar | None = None,
    trail_key: bytes | None = None,
    record: CaseRecord | None = None,
) -> StoredCase:
    """Read a case and restore it; its trail is verified against the head kept in the store's own columns.

    ``trail_key`` (default: the key the store was opened with, if any) makes every trail entry's signature
    checked too.

    The case loads on the definition it started on: ``definition`` when its digest is the case's, else the one the
    store's process registry keeps under the case's digest (:mod:`approvalflow.store.registry`; ``definition`` may
    then be None), whatever happened to the file on disk since.

    ``record``: the case's record when the caller has just read it (``store.get(case_id)``), not read again.
    """
    if record is None or record.id != case_id:
        record = store.get(case_id)
    name = f"{store.url} case {case_id}"
    key = trail_key if trail_key is not None else getattr(store, "key", None)
    definition = _definition_for(store, record.digest, record.process, definition, name)
    case = load_case(record.state, definition, organisation, clock=clock, calendar=calendar, name=name, trail_key=key)
    result = case.trail.verify(record.trail_head)
    if not result.ok:
        raise CaseFormatError(
            f"case {case_id}: the audit trail does not match the head the store keeps: " + "; ".join(result.problems),
            file=name,
        )
    return StoredCase(case, record.version)


def _definition_for(
    store: CaseStore, digest: str, process: str, given: ProcessDefinition | None, name: str
) -> ProcessDefinition:
    """``given`` if it is the case's definition, else the registry's of the case's digest, else ``given``
    (restoring then says the digests differ) or an error naming the digest."""
    if given is not None and given.digest == digest:
        return given
    from .registry import KnownDefinitions

    found = KnownDefinitions(store, [given] if given is not None else []).get(digest)
    if found is not None:
        return found
    if given is not None:
        return given
    raise CaseFormatError(
        f"the case ran on process '{process[:80]}' with digest {digest[:12]}…, which is not deployed in this store: "
        "give its definition",
        file=name,
    )


def complete_step(
    store: CaseStore,
    stored: StoredCase,
    step: str,
    actor: str,
    *,
    data: Mapping[str, Any] | None = None,
    meeting: Meeting | Mapping[str, Any] | None = None,
    at: datetime | str | None = None,
    opinion: str | None = None,
    comment: str | None = None,
    instance: int | None = None,
) -> list[Finding]:
    """Complete a step and save the case in one go; a refusal is saved (in the trail) and re-raised.

    ``opinion``, ``comment`` and ``instance`` sign an instance of a multi-instance step (:meth:`Case.complete`)."""
    return act(
        store,
        stored,
        lambda case: case.complete(
            step, actor, data=data, meeting=meeting, at=at, opinion=opinion, comment=comment, instance=instance
        ),
    )


def act(store: CaseStore, stored: StoredCase, operation: Callable[[Case], T]) -> T:
    """Do ``operation`` on the stored case and save it in one go; what it returns is returned.

    A refusal (:class:`~approvalflow.errors.StepRefused`) is saved too, its trail entry being the record of the
    refused attempt, and re-raised; any other error saves nothing (the case was left as it was). A
    :class:`~approvalflow.store.base.ConflictError` means another host saved the case first: reload and try again.
    """
    try:
        result = operation(stored.case)
    except StepRefused:
        save_case(store, stored)
        raise
    save_case(store, stored)
    return result
