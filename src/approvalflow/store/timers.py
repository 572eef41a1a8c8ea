"""Fire the timers due across a store: ``fire_due(store, at, processes, organisations)`` (``approvalflow tick``).

The store indexes, for every open case, the timers it waits on and when each is due (``af_timers``, written with
the case by :func:`~approvalflow.store.cases.save_case`). ``fire_due`` asks the index for the cases with a timer due
by ``at`` (one range query; no other case is read), then for each one: reads it, verifies its trail against the
head in its case row, restores it onto its process (found by digest), fires what is due by ``at``
(:meth:`Case.advance <approvalflow.engine.case.Case.advance>`) and saves it back through the store's normal path
(new version, index rows and seal rewritten). A case that cannot be read, restored or saved (damaged, no process
of its digest given) is reported and left as it is; the others still fire.

Several workers (``approvalflow serve --tick``, ``approvalflow tick`` run from several hosts) may fire the same
store at once; each due case is fired by one of them. Over PostgreSQL a worker claims a case with
``SELECT ... FOR UPDATE SKIP LOCKED`` (:meth:`~approvalflow.store.postgres.PostgresStore.claim`) in the transaction
that reads, fires and saves it: a case another worker holds, or that another worker fired meanwhile, is skipped
without an error and without being read. A store without claims (SQLite, whose writers are serialised by the
database, and the memory store) relies on optimistic versioning: a worker whose save finds the case saved by
someone else meanwhile reads it again and fires what is still due (nothing, when the other worker fired it);
it never reports that race as an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..bpmn.loader import ProcessDefinition
from ..engine.persistence import load_case
from ..engine.timers import TimerFiring
from ..errors import ApprovalflowError, CaseFormatError
from ..org.organisation import Organisation
from ..time.calendar import WorkingCalendar
from ..time.clock import parse_moment
from .base import CaseRecord, CaseStore, ConflictError, StoreUnavailable, micros
from .cases import StoredCase, save_case
from .registry import KnownDefinitions

__all__ = ["RETRIES", "FiredCase", "fire_due"]

#: How many times a case is read again when its save finds it saved by someone else meanwhile (a store without
#: claims); after that it is left for the next tick, without an error.
RETRIES = 3


@dataclass(frozen=True)
class FiredCase:
    """What ``fire_due`` did to one case: the timers that fired, or why the case was left as it is."""

    case: str
    fired: tuple[TimerFiring, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "fired": [
                {"timer": f.element, "due": f.due.isoformat(), "at": f.at.isoformat(), "interrupted": [*f.interrupted]}
                for f in self.fired
            ],
            "error": self.error,
        }


def fire_due(
    store: CaseStore,
    at: datetime | str,
    processes: Iterable[ProcessDefinition],
    organisations: Sequence[Organisation],
    *,
    calendar: WorkingCalendar | None = None,
    trail_key: bytes | None = None,
    lock: AbstractContextManager[Any] | None = None,
) -> list[FiredCase]:
    """Fire every timer due by ``at`` in every case of ``store`` that has one, and save each case; see the module.

    ``lock`` (e.g. the service's store lock, an ``RLock``) is held while the store is used: around the index query
    and around each case, so that other users of the same connection interleave between cases.

    Returns one :class:`FiredCase` for each case the index named, in id order, but those another worker holds or
    fired meanwhile (they are that worker's). A store that cannot be reached (:class:`StoreUnavailable`: the
    connection was lost) ends the round with that error; the cases not reached yet are left for the next round.
    """
    moment = parse_moment(at)
    guard: AbstractContextManager[Any] = lock if lock is not None else nullcontext()
    with guard:
        by_digest = KnownDefinitions(store, processes)
        due = store.timers_due(moment)
    out = []
    for case_id in due:
        with guard:
            try:
                fired = _claimed(store, case_id, moment, by_digest, organisations, calendar, trail_key)
            except StoreUnavailable:  # the database is gone: the round ends here, the next one tries again
                raise
            except ApprovalflowError as exc:
                fired = FiredCase(case_id, error=str(exc))
        if fired is not None:
            out.append(fired)
    return out


def _claimed(
    store: CaseStore,
    case_id: str,
    moment: datetime,
    by_digest: KnownDefinitions,
    organisations: Sequence[Organisation],
    calendar: WorkingCalendar | None,
    trail_key: bytes | None,
) -> FiredCase | None:
    """Fire one case if this worker may: None when another worker holds it or fired it meanwhile (PostgreSQL), or
    kept saving it first (left for the next tick)."""
    for _ in range(RETRIES):
        with _claim(store, case_id, moment) as held:
            if not held:
                return None
            try:
                done = _fire_one(store, store.get(case_id), moment, by_digest, organisations, calendar, trail_key)
            except ConflictError:  # saved by someone else since it was read: read it again
                continue
            return done
    return None


@contextmanager
def _claim(store: CaseStore, case_id: str, moment: datetime) -> Iterator[bool]:
    """The store's claim on the case (PostgreSQL: a row lock, ``SKIP LOCKED``), or True for a store without one."""
    claim = getattr(store, "claim", None)
    if claim is None:
        yield True
        return
    with claim(case_id, micros(moment)) as held:
        yield bool(held)


def _fire_one(
    store: CaseStore,
    record: CaseRecord,
    moment: datetime,
    by_digest: KnownDefinitions,
    organisations: Sequence[Organisation],
    calendar: WorkingCalendar | None,
    trail_key: bytes | None,
) -> FiredCase:
    name = f"{store.url} case {record.id}"
    definition = by_digest.get(record.digest)
    if definition is None:
        raise CaseFormatError(
            f"the case ran on process '{record.process}' with digest {record.digest[:12]}…: no such process was given",
            file=name,
        )
    org = next((o for o in organisations if record.unit in o.units), None)
    if org is None:
        raise CaseFormatError(f"no organisation given has the case's unit '{record.unit}'", file=name)
    key = trail_key if trail_key is not None else getattr(store, "key", None)
    case = load_case(record.state, definition, org, calendar=calendar, name=name, trail_key=key)
    check = case.trail.verify(record.trail_head)
    if not check.ok:
        raise CaseFormatError(
            "the audit trail does not match the head the store keeps: " + "; ".join(check.problems), file=name
        )
    fired = case.advance(moment)
    if fired:
        save_case(store, StoredCase(case, record.version))
    return FiredCase(record.id, tuple(fired))
