"""Reading a store that may be damaged: open it read-only, and name the case whose contents break a reader.

``supervise`` and ``log export`` open the store READ-ONLY (:func:`open_existing_store`): a missing or empty file
is an error, never a new store, and nothing is written. Code that trusts a record's contents (summaries, saved
states) raises one of :data:`DAMAGE` on a damaged record; :class:`LastRead` remembers the last record handed out so
that the error becomes a :class:`~approvalflow.store.base.StoreError` naming that case.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .base import CaseRecord, CaseStore, CollectingStore, IndexProblem, StoreError
from .factory import open_store

__all__ = ["DAMAGE", "LastRead", "TrackedRecords", "open_existing_store"]

#: What a damaged record's contents raise inside code that trusts them (summaries, saved states).
DAMAGE = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError)


def open_existing_store(url: str, *, key: bytes | None = None) -> CaseStore:
    """Open an existing store READ-ONLY: a missing or empty file is an error, never a new store; nothing is written."""
    return open_store(url, readonly=True, key=key)


class LastRead:
    """The id of the last record a reader was handed (``case``), to name a case whose contents break the reader."""

    def __init__(self) -> None:
        self.case: str | None = None

    def track(self, records: Iterable[CaseRecord]) -> Iterator[CaseRecord]:
        """The records, remembering the id of each one as it is handed out."""
        for record in records:
            self.case = record.id
            yield record

    def damaged(self, store: CaseStore | CollectingStore, what: str, exc: BaseException) -> StoreError:
        """The error for a record whose ``what`` (``summary``, ``state``) broke a reader with ``exc``."""
        message = f"table af_cases, column {what}: damaged ({type(exc).__name__}: {exc})"
        return StoreError(message, case=self.case, file=store.url)


class TrackedRecords(CollectingStore):
    """A store whose :meth:`records` (only those whose case row ties; any other raises) are tracked by ``last``."""

    def __init__(self, store: CaseStore, last: LastRead) -> None:
        super().__init__(store)
        self.last = last

    def records(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        return self.last.track(self.store.records(problems=problems))
