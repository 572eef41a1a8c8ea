"""``approvalflow calendar update``: apply a year's official holiday arrangement to every open case of a store.

When the State Council publishes a year's arrangement, the deadlines counted on that year provisionally (from the
law, :mod:`approvalflow.time.statutory`) or not at all become known. :func:`update_calendar` reads the arrangement
(a supplement file, docs/time.md), and for each open case of the store computes its deadlines (the case's and
each open step's, as the store indexes them) on the calendar before and after; a case whose deadlines moved, or
that had counted on that year provisionally, gets a ``calendar-update`` trail entry naming the year, the source and
each deadline that moved (old -> new), and is saved, with its index, at the version it was read at. A case saved
by someone else meanwhile, or one that cannot be loaded, is reported as refused and left as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..bpmn.loader import ProcessDefinition
from ..engine.case import Case
from ..errors import ApprovalflowError
from ..org.organisation import Organisation
from ..time.calendar import ChinaCalendar
from ..time.clock import FakeClock, SystemClock, parse_moment
from .base import CaseStore, ConflictError, DeadlineEntry, IndexProblem, StoreError
from .cases import StoredCase, load_case_from, save_case
from .index import record_of
from .registry import KnownDefinitions

__all__ = ["CalendarUpdate", "DeadlineMove", "update_calendar"]


@dataclass(frozen=True)
class DeadlineMove:
    """A deadline before and after the arrangement: the case's ``promised`` or ``statutory`` one, or a step's."""

    scope: str
    limit: str
    task: str | None
    old: date | None
    new: date | None

    def to_json(self) -> dict[str, Any]:
        old, new = (d.isoformat() if d else None for d in (self.old, self.new))
        return {"scope": self.scope, "limit": self.limit, "task": self.task, "old": old, "new": new}

    def __str__(self) -> str:
        return f"{self.task or self.limit} {self.old or '-'} -> {self.new or '-'}"


@dataclass
class CalendarUpdate:
    """What :func:`update_calendar` did: the open cases looked at, those whose deadlines moved, those noted."""

    year: int
    source: str
    cases: int = 0
    moved: dict[str, list[DeadlineMove]] = field(default_factory=dict)
    noted: list[str] = field(default_factory=list)
    refused: list[IndexProblem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "source": self.source,
            "cases": self.cases,
            "moved": [{"case": c, "deadlines": [m.to_json() for m in ms]} for c, ms in self.moved.items()],
            "noted": self.noted,
            "refused": [{"case": p.case_id, "message": p.message} for p in self.refused],
        }


def _rows(case: Case, state: str) -> dict[tuple[str, str, str | None, int], DeadlineEntry]:
    """The case's open deadlines as the store indexes them, keyed by what they are the deadline of."""
    return {(d.scope, d.limit, d.task, d.ordinal): d for d in record_of(case, state).deadlines}


def _moves(before: Case, after: Case, state: str) -> list[DeadlineMove]:
    old, new = _rows(before, state), _rows(after, state)
    moves = []
    for key in sorted(old.keys() | new.keys(), key=lambda k: k[3]):
        a, b = old.get(key), new.get(key)
        if (a.day if a else None) != (b.day if b else None):
            moves.append(DeadlineMove(key[0], key[1], key[2], a.day if a else None, b.day if b else None))
    return moves


def _depends(case: Case, year: int) -> bool:
    """Whether the case counted on ``year`` provisionally: noted on it, or in its current case deadlines."""
    deadlines = case.deadlines()
    return year in case.provisional_years or (deadlines is not None and year in deadlines.provisional)


def update_calendar(
    store: CaseStore,
    arrangement: str | Path,
    processes: Iterable[ProcessDefinition],
    organisations: Sequence[Organisation],
    *,
    supplements: Iterable[str | Path] = (),
    at: datetime | str | None = None,
) -> CalendarUpdate:
    """Apply the arrangement (a supplement file) to every open case of ``store``; see the module docstring.

    ``supplements`` are the ones the cases ran with until now (the calendar before is ``ChinaCalendar(supplements)``,
    after ``ChinaCalendar([*supplements, arrangement])``). ``at`` (default: now) is the moment the trail entries
    carry, and the moment the deadlines are computed at.
    """
    kept = list(supplements)
    before, after = ChinaCalendar(kept), ChinaCalendar([*kept, arrangement])
    [(year, source)] = [(y, s) for y, s in after.sources.items() if y not in before.sources]
    moment = parse_moment(at) if at is not None else SystemClock().now()
    by_digest = KnownDefinitions(store, processes)
    result = CalendarUpdate(year, source)
    for case_id in sorted([*store.ids("open"), *store.ids("suspended")]):  # a suspended case's deadlines move too
        result.cases += 1
        try:
            _update_one(store, case_id, by_digest, organisations, (before, after), moment, result)
        except ConflictError:
            result.refused.append(IndexProblem(case_id, "af_cases", "saved by someone else meanwhile; run again"))
        except ApprovalflowError as exc:
            result.refused.append(IndexProblem(case_id, "af_cases", str(exc)))
    return result


def _update_one(
    store: CaseStore,
    case_id: str,
    processes: KnownDefinitions,
    organisations: Sequence[Organisation],
    calendars: tuple[ChinaCalendar, ChinaCalendar],
    moment: datetime,
    result: CalendarUpdate,
) -> None:
    record = store.get(case_id)
    definition = processes.get(record.digest)
    if definition is None:
        message = f"it ran on process '{record.process}' with digest {record.digest[:12]}…: no such process was given"
        raise StoreError(message, case=case_id)
    org = next((o for o in organisations if record.unit in o.units), None)
    if org is None:
        raise StoreError(f"its unit '{record.unit}' is in none of the organisations given", case=case_id)

    def load(calendar: ChinaCalendar) -> StoredCase:
        return load_case_from(store, case_id, definition, org, clock=FakeClock(moment), calendar=calendar)

    old, new = load(calendars[0]), load(calendars[1])
    moves = _moves(old.case, new.case, record.state)
    if not moves and not _depends(old.case, result.year):
        return
    new.case.note_calendar_update(result.year, result.source, [m.to_json() for m in moves], moment)
    save_case(store, new)
    result.noted.append(case_id)
    if moves:
        result.moved[case_id] = moves
