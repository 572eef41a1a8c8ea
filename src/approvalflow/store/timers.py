"""Fire the timers due across a store: ``fire_due(store, at, processes, organisations)`` (``approvalflow tick``).

The store indexes, for every open case, the timers it waits on and when each is due (``af_timers``, written with
the case by :func:`~approvalflow.store.cases.save_case`). ``fire_due`` asks the index for the cases with a timer due
by ``at`` (one range query; no other case is read), then for each one: reads it, verifies its trail against the
head in its case row, restores it onto its process (found by digest), fires what is due by ``at``
(:meth:`Case.advance <approvalflow.engine.case.Case.advance>`) and saves it back through the store's normal path
(new version, index rows and seal rewritten). A case that cannot be read, restored or saved (damaged, no process
of its digest given, saved by another host meanwhile) is reported and left as it is; the others still fire.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
from .base import CaseRecord, CaseStore
from .cases import StoredCase, save_case
from .registry import KnownDefinitions

__all__ = ["FiredCase", "fire_due"]


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
) -> list[FiredCase]:
    """Fire every timer due by ``at`` in every case of ``store`` that has one, and save each case; see the module.

    Returns one :class:`FiredCase` for each case the index named, in id order.
    """
    moment = parse_moment(at)
    by_digest = KnownDefinitions(store, processes)
    out = []
    for case_id in store.timers_due(moment):
        try:
            out.append(_fire_one(store, store.get(case_id), moment, by_digest, organisations, calendar, trail_key))
        except ApprovalflowError as exc:
            out.append(FiredCase(case_id, error=str(exc)))
    return out


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
