"""The case store (案件库): what it keeps, the protocol every store implements, and :func:`open_store`.

A store keeps each case's serialized state (:func:`~approvalflow.persistence.dump_case`, audit trail included),
the trail's head in separate columns, and index rows computed from the case when it is saved
(:mod:`approvalflow.store.index`): power, unit, status, current steps, every open deadline with the moment from
which it is yellow and the moment it turns red, and anomalies from the trail. A supervision sweep reads only
the index; it never deserializes a case.

Writes are optimistic: every record has a ``version``; :meth:`CaseStore.update` succeeds only when the stored
version is still the one the writer read, otherwise it raises :class:`ConflictError` and changes nothing.
Each write is one transaction: a writer killed half way leaves the previous version intact.

Implementations: :class:`~approvalflow.store.memory.MemoryStore` (tests),
:class:`~approvalflow.store.sqlite.SqliteStore` (the embedded default) and
:class:`~approvalflow.store.postgres.PostgresStore` (several hosts sharing cases).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from ..errors import RunError
from ..trail import TrailHead

__all__ = [
    "AnomalyEntry",
    "CaseRecord",
    "CaseStore",
    "ConflictError",
    "DeadlineEntry",
    "StoreError",
    "from_micros",
    "micros",
    "open_store",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Status = Literal["open", "completed"]


def micros(moment: datetime) -> int:
    """A timezone-aware moment as integer microseconds since the Unix epoch (exact, sortable)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give moments with a timezone")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    """The inverse of :func:`micros`, in UTC."""
    return _EPOCH + timedelta(microseconds=value)


class ConflictError(RunError):
    """Another writer saved the case since it was read (optimistic versioning); nothing was written.

    Reload the case and try again: the step may already be done.
    """

    def __init__(self, message: str, *, case: str, step: str | None = None, expected: int | None = None) -> None:
        self.expected = expected
        super().__init__(message, case=case, step=step)


class StoreError(RunError):
    """The case store cannot do what was asked (unknown case, damaged record, unreachable server)."""


@dataclass(frozen=True)
class DeadlineEntry:
    """An open deadline of a case or of one of its open steps, as indexed.

    ``yellow_from`` is the first moment a yellow card (黄牌) is due, ``end`` the moment a red card (红牌) is
    due (the deadline has passed). ``posts`` and ``people`` are who is responsible: the posts of the open
    step (for the case: of every open step) and the people of the case's unit who hold them.
    """

    case_id: str
    ordinal: int
    scope: Literal["case", "step"]
    limit: Literal["promised", "statutory", "step"]
    task: str | None
    day: date
    end: datetime
    yellow_from: datetime
    unit: str
    power: str | None
    posts: tuple[str, ...] = ()
    people: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnomalyEntry:
    """Something in a case's trail a supervisor should see (异常): see :mod:`approvalflow.supervision.anomalies`."""

    case_id: str
    kind: str
    at: datetime
    step: str | None
    actor: str | None
    rules: tuple[str, ...]
    unit: str
    power: str | None
    detail: str = ""


@dataclass(frozen=True)
class CaseRecord:
    """One stored case: index columns, the trail head, a summary for efficiency figures, and the state.

    ``clock`` is set while the case deadlines move with time (an open ``suspendsClock`` step after the clock
    started): the facts needed to compute them at any moment without the engine. ``version`` is 0 for a
    record not yet stored.
    """

    id: str
    process: str
    digest: str
    power: str | None
    unit: str
    status: Status
    steps: tuple[str, ...]
    started_at: datetime
    ended_at: datetime | None
    trail_head: TrailHead
    state: str
    summary: dict[str, Any] = field(default_factory=dict)
    clock: dict[str, Any] | None = None
    deadlines: tuple[DeadlineEntry, ...] = ()
    anomalies: tuple[AnomalyEntry, ...] = ()
    version: int = 0

    def with_version(self, version: int) -> CaseRecord:
        return replace(self, version=version)


class CaseStore(Protocol):
    """Where cases live between steps. Every method is one transaction."""

    url: str

    def insert(self, record: CaseRecord) -> CaseRecord:
        """Store a new case at version 1; :class:`ConflictError` if the id is taken."""
        ...

    def update(self, record: CaseRecord, *, expected: int) -> CaseRecord:
        """Replace a case stored at version ``expected``; returns it at ``expected + 1``.

        :class:`ConflictError` (and nothing written) if the stored version differs.
        """
        ...

    def insert_many(self, records: Iterable[CaseRecord]) -> int:
        """Store many new cases in bulk (one transaction per batch); returns how many."""
        ...

    def get(self, case_id: str) -> CaseRecord:
        """The stored case; :class:`StoreError` if there is none."""
        ...

    def ids(self, status: Status | None = None) -> list[str]:
        """The ids of the stored cases (of one status), sorted."""
        ...

    def due(self, at: datetime) -> list[DeadlineEntry]:
        """Every indexed open deadline that is yellow or red at ``at`` (``yellow_from <= at``)."""
        ...

    def moving(self) -> list[CaseRecord]:
        """Open cases whose case deadlines move with time (``clock`` set); ``state`` may be left empty."""
        ...

    def anomalies(self, until: datetime | None = None) -> list[AnomalyEntry]:
        """Anomalies recorded up to ``until`` (all without it)."""
        ...

    def summaries(self) -> Iterator[CaseRecord]:
        """Every case without its state (``state`` empty): for efficiency figures."""
        ...

    def records(self) -> Iterator[CaseRecord]:
        """Every case with its state, in id order: for event-log export."""
        ...

    def count(self, status: Status | None = None) -> int:
        """How many cases (of one status) are stored."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def open_store(url_or_path: str | Path) -> CaseStore:
    """A store from a file path (SQLite), ``sqlite:///path``, ``memory:`` or a ``postgresql://`` URL."""
    text = str(url_or_path)
    if text.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(text)
    if text in ("memory:", ":memory:"):
        from .memory import MemoryStore

        return MemoryStore()
    from .sqlite import SqliteStore

    return SqliteStore(text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else text)
