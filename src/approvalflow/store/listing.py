"""Lists of a store's cases, a page at a time: what ``GET /api/v1/cases`` and the console's search read.

:func:`case_page` selects the cases of a unit, status, process and power (the index columns of ``af_cases``, in the
SQL of the store: :meth:`~approvalflow.store.sql.SqlStoreBase.records_where`), then keeps those opened in a period
and of an applicant (read from the state: :func:`applicant_of`), in order of case id. A page ends after ``limit``
cases, or after ``scan`` rows read (a filter on the opening moment or the applicant that few cases meet never makes
one request read the whole store); ``after`` of the next page is then the last id read. Case ids are unique and
never change, so the order is stable: a case added between two pages appears on a later page when its id sorts
after the cursor, and no case is listed twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from .base import CaseRecord, CaseStore, IndexProblem

__all__ = ["SCAN", "CasePage", "applicant_of", "case_page"]

#: The most case rows one page reads before it ends (short) with a cursor to go on from.
SCAN = 5000


@dataclass(frozen=True)
class CasePage:
    """The cases of one page, and the id to read the next page after (None: there is no more)."""

    records: list[CaseRecord]
    after: str | None


def applicant_of(record: CaseRecord, needle: str | None = None) -> str | None:
    """The applicant of a stored case (``data.applicant`` of its state, text), or None; with ``needle`` (lower
    case), None at once when the state does not contain it (the state is parsed only when it may match)."""
    state = record.state
    if not state:
        return None
    if needle is not None and needle not in state.lower() and json.dumps(needle)[1:-1] not in state.lower():
        return None
    try:
        data = json.loads(state).get("data")
    except (ValueError, AttributeError, RecursionError):
        return None
    value = data.get("applicant") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _selected(
    store: CaseStore, equal: Mapping[str, str], after: str, batch: int, problems: list[IndexProblem] | None
) -> Iterator[CaseRecord]:
    inner = getattr(store, "store", store)  # a CollectingStore's own store
    select = getattr(inner, "records_where", None)
    if select is not None:  # SQLite, PostgreSQL: the index columns in SQL
        yield from select(equal, after=after, batch=batch, problems=problems)
        return
    for record in store.records(problems=problems):  # the memory store: every case, in id order
        if record.id > after and all(getattr(record, k) == v for k, v in equal.items()):
            yield record


def case_page(
    store: CaseStore,
    *,
    unit: str | None = None,
    status: str | None = None,
    process: str | None = None,
    power: str | None = None,
    applicant: str | None = None,
    opened_from: datetime | None = None,
    opened_to: datetime | None = None,
    after: str = "",
    limit: int = 100,
    scan: int | None = None,
    problems: list[IndexProblem] | None = None,
) -> CasePage:
    """One page of the cases matching every filter given, in order of id after ``after``: at most ``limit``, read
    from at most ``scan`` rows. ``applicant`` is matched exactly; ``opened_from`` (inclusive) and ``opened_to``
    (exclusive) bound the moment the case was started. A case whose row is not sealed is left out (and listed in
    ``problems`` when given, else the store raises). ``scan`` defaults to :data:`SCAN`."""
    scan = SCAN if scan is None else scan
    equal = {k: v for k, v in (("unit", unit), ("status", status), ("process", process), ("power", power)) if v}
    needle = applicant.lower() if applicant is not None else None
    found: list[CaseRecord] = []
    rows = _selected(store, equal, after, min(scan, limit + 1), problems)
    for read, record in enumerate(rows, start=1):
        if len(found) == limit:
            return CasePage(found, found[-1].id)  # one more matches: the next page starts after the last listed
        opened = record.started_at
        in_period = (opened_from is None or opened >= opened_from) and (opened_to is None or opened < opened_to)
        if in_period and (applicant is None or applicant_of(record, needle) == applicant):
            found.append(record)
        if read >= scan and len(found) < limit:
            return CasePage(found, record.id)
    return CasePage(found, None)
