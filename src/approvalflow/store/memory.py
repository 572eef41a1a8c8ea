"""An in-memory case store: the test double of :class:`~approvalflow.store.base.CaseStore`.

Its records are Python objects nobody else can reach, so there is nothing to tie: the ``problems`` arguments
of the protocol are accepted and never used.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime

from ..time.periods import SHANGHAI
from .base import (
    TODO_STATUSES,
    AnomalyEntry,
    CaseRecord,
    ConflictError,
    DeadlineEntry,
    DoneEntry,
    IndexProblem,
    Status,
    StoreError,
    TodoEntry,
    micros,
    page,
)
from .keys import MemoryKeys
from .registry_rows import MemoryRegistry

__all__ = ["MemoryStore"]


class MemoryStore:
    """Cases in a dict, guarded by a lock; same semantics as the SQL stores, nothing persisted."""

    def __init__(self) -> None:
        self.url = "memory:"
        self._cases: dict[str, CaseRecord] = {}
        self._lock = threading.Lock()
        self.registry = MemoryRegistry()  # the process registry (approvalflow.store.registry)
        self.keys = MemoryKeys()  # the HTTP service's API keys (approvalflow.store.keys)

    def insert(self, record: CaseRecord) -> CaseRecord:
        with self._lock:
            if record.id in self._cases:
                raise ConflictError("a case with this id is already stored", case=record.id)
            stored = record.with_version(1)
            self._cases[record.id] = stored
            return stored

    def update(self, record: CaseRecord, *, expected: int) -> CaseRecord:
        with self._lock:
            current = self._cases.get(record.id)
            if current is None or current.version != expected:
                found = "no such case" if current is None else f"version {current.version}"
                raise ConflictError(
                    f"the case was saved by someone else (read at version {expected}, the store has {found}); "
                    "reload it and try again",
                    case=record.id,
                    expected=expected,
                )
            stored = record.with_version(expected + 1)
            self._cases[record.id] = stored
            return stored

    def insert_many(self, records: Iterable[CaseRecord]) -> int:
        n = 0
        for record in records:
            self.insert(record)
            n += 1
        return n

    def get(self, case_id: str) -> CaseRecord:
        try:
            return self._cases[case_id]
        except KeyError:
            raise StoreError("no such case in the store", case=case_id) from None

    def ids(self, status: Status | None = None) -> list[str]:
        return sorted(k for k, r in self._cases.items() if status is None or r.status == status)

    def due(self, at: datetime, *, problems: list[IndexProblem] | None = None) -> list[DeadlineEntry]:
        return [d for r in self._cases.values() for d in r.deadlines if d.yellow_from <= at]

    def moving(self, *, problems: list[IndexProblem] | None = None) -> list[CaseRecord]:
        return [r for r in self._cases.values() if r.clock is not None and r.status in ("open", "suspended")]

    def anomalies(
        self, until: datetime | None = None, *, problems: list[IndexProblem] | None = None
    ) -> list[AnomalyEntry]:
        return [a for r in self._cases.values() for a in r.anomalies if until is None or a.at <= until]

    def summaries(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        for key in sorted(self._cases):
            yield replace(self._cases[key], state="")

    def records(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        for key in sorted(self._cases):
            yield self._cases[key]

    def timers_due(self, at: datetime) -> list[str]:
        return sorted(r.id for r in self._cases.values() if any(t.due <= at for t in r.timers))

    def todo(
        self,
        person: str,
        *,
        at: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
        problems: list[IndexProblem] | None = None,
    ) -> list[TodoEntry]:
        """The person's 待办, as the SQL stores order and page it (here by reading every record: a test double)."""
        page(person, limit, offset)
        moment = datetime.now(SHANGHAI) if at is None else at
        micros(moment)  # a naive moment is refused
        with self._lock:
            found = [
                replace(t, version=r.version)
                for r in self._cases.values()
                if r.status in TODO_STATUSES
                for t in r.todo
                if t.person == person and t.valid_at(moment)
            ]
        found.sort(key=lambda t: (micros(t.end) if t.end else 2**62, micros(t.ready_since), t.case_id, t.ordinal))
        chosen = found[offset : None if limit is None else offset + limit]
        return [replace(t, level=t.level_at(moment)) for t in chosen]

    def done(
        self,
        person: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        problems: list[IndexProblem] | None = None,
    ) -> list[DoneEntry]:
        """The person's 已办, most recent first, with each case's status."""
        page(person, limit, offset)
        with self._lock:
            found = [
                replace(d, version=r.version, status=r.status)
                for r in self._cases.values()
                for d in r.done
                if d.person == person
            ]
        found.sort(key=lambda d: (micros(d.at), d.case_id, d.seq), reverse=True)
        return found[offset : None if limit is None else offset + limit]

    def count(self, status: Status | None = None) -> int:
        return len(self.ids(status))

    def close(self) -> None:
        pass
