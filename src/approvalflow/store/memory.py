"""An in-memory case store: the test double of :class:`~approvalflow.store.base.CaseStore`.

Its records are Python objects nobody else can reach, so there is nothing to tie: the ``problems`` arguments
of the protocol are accepted and never used.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime

from .base import AnomalyEntry, CaseRecord, ConflictError, DeadlineEntry, IndexProblem, Status, StoreError
from .registry_rows import MemoryRegistry

__all__ = ["MemoryStore"]


class MemoryStore:
    """Cases in a dict, guarded by a lock; same semantics as the SQL stores, nothing persisted."""

    def __init__(self) -> None:
        self.url = "memory:"
        self._cases: dict[str, CaseRecord] = {}
        self._lock = threading.Lock()
        self.registry = MemoryRegistry()  # the process registry (approvalflow.store.registry)

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
        return [r for r in self._cases.values() if r.clock is not None and r.status == "open"]

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

    def count(self, status: Status | None = None) -> int:
        return len(self.ids(status))

    def close(self) -> None:
        pass
