"""The case store (案件库): what it keeps and the protocol every store implements.

A store keeps each case's serialized state (:func:`~approvalflow.engine.persistence.dump_case`, audit trail included),
the trail's head in separate columns, and index rows computed from the case when it is saved
(:mod:`approvalflow.store.index`): power, unit, status, current steps, every open deadline with the moment from
which it is yellow and the moment it turns red, and anomalies from the trail. A supervision sweep reads only
the index; it never deserializes a case.

Writes are optimistic: every record has a ``version``; :meth:`CaseStore.update` succeeds only when the stored
version is still the one the writer read, otherwise it raises :class:`ConflictError` and changes nothing.
Each write is one transaction: a writer killed half way leaves the previous version intact.

Implementations: :class:`~approvalflow.store.memory.MemoryStore` (tests),
:class:`~approvalflow.store.sqlite.SqliteStore` (the embedded default) and
:class:`~approvalflow.store.postgres.PostgresStore` (several hosts sharing cases);
:func:`approvalflow.store.factory.open_store` opens one of them from a path or URL. This module imports none of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol

from ..engine.trail import TrailHead
from ..errors import InvalidInputError, RunError

__all__ = [
    "AnomalyEntry",
    "CaseRecord",
    "CaseStore",
    "CollectingStore",
    "ConflictError",
    "DeadlineEntry",
    "IndexProblem",
    "StoreError",
    "TimerEntry",
    "from_micros",
    "micros",
    "redact",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Status = Literal["open", "completed", "suspended", "withdrawn", "terminated"]
"""A stored case's status: ``open`` (running, 在办), ``completed`` (办结), ``suspended`` (中止), ``withdrawn``
(撤回/撤销申请), ``terminated`` (终止). Stores written before the last three existed hold only ``open`` and
``completed``."""


def micros(moment: datetime) -> int:
    """A timezone-aware moment as integer microseconds since the Unix epoch (exact, sortable)."""
    if moment.tzinfo is None:
        raise InvalidInputError(f"naive datetime {moment.isoformat()}: give moments with a timezone")
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


# Linear on any text: a scheme starts where no scheme character precedes it and is at most 32 characters long,
# and user and password are bounded, so a long run of scheme characters is scanned once (not once per position).
_SECRET_IN_AUTHORITY = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,31}://)"
    r"(?P<user>[^:@/?# \t\r\n]{0,1024}):(?P<secret>[^@/?# \t\r\n]{0,1024})@"
)
_SECRET_IN_QUERY = re.compile(r"(?i)(?P<key>[?&; \t\r\n](?:password|passwd|pwd|sslpassword)=)(?P<secret>[^&; \t\r\n]*)")


def redact(text: str, url: str | None = None) -> str:
    """``text`` with every password of a URL replaced by ``***``: the one helper for messages, reprs and logs.

    Removes the password of ``scheme://user:password@host`` forms and of ``password=`` query parameters
    wherever they appear in ``text``; with ``url``, also every literal occurrence of that URL's password (a
    driver message that quotes it without the URL around it).
    """
    secrets: list[str] = []
    if url:
        secrets += [m.group("secret") for m in _SECRET_IN_AUTHORITY.finditer(url)]
        secrets += [m.group("secret") for m in _SECRET_IN_QUERY.finditer(" " + url)]
    out = _SECRET_IN_AUTHORITY.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", text)
    out = _SECRET_IN_QUERY.sub(lambda m: f"{m.group('key')}***", out)
    for secret in sorted({s for s in secrets if s and s != "***"}, key=len, reverse=True):
        out = out.replace(secret, "***")
    return out


@dataclass(frozen=True)
class IndexProblem:
    """A case whose index rows do not tie to its case row (or index rows without a case): never trusted.

    ``table`` is where the problem is (``af_cases``, ``af_deadlines``, ``af_anomalies``), ``row`` the row
    (``ordinal`` or ``seq``) when one row is at fault.
    """

    case_id: str
    table: str
    message: str
    row: int | None = None

    @property
    def where(self) -> str:
        """The table and row, e.g. ``af_deadlines row 2``."""
        return f"{self.table}" + (f" row {self.row}" if self.row is not None else "")

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case_id, "table": self.table, "row": self.row, "message": self.message}


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
    """Something in a case's trail a supervisor should see (异常): see :mod:`approvalflow.store.anomalies`."""

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
class TimerEntry:
    """A timer event an open case waits on, as indexed: the case, the event's id and the moment it is due."""

    case_id: str
    element: str
    due: datetime


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
    timers: tuple[TimerEntry, ...] = ()
    """The timers the case waits on (:mod:`approvalflow.engine.timers`), indexed so that ``fire_due`` finds the
    cases with a timer due without reading the others."""

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

    def due(self, at: datetime, *, problems: list[IndexProblem] | None = None) -> list[DeadlineEntry]:
        """Every indexed open deadline that is yellow or red at ``at`` (``yellow_from <= at``).

        Only rows that tie to their case row (its index digest) are returned. A case whose rows do not tie
        raises :class:`StoreError`, or, with a ``problems`` list, is appended to it and left out.
        """
        ...

    def moving(self, *, problems: list[IndexProblem] | None = None) -> list[CaseRecord]:
        """Open cases whose case deadlines move with time (``clock`` set); ``state`` may be left empty."""
        ...

    def anomalies(
        self, until: datetime | None = None, *, problems: list[IndexProblem] | None = None
    ) -> list[AnomalyEntry]:
        """Anomalies recorded up to ``until`` (all without it), of cases whose rows tie (as :meth:`due`)."""
        ...

    def summaries(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        """Every case without its state (``state`` empty), its case row sealed: for efficiency figures."""
        ...

    def records(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        """Every case with its state, in id order, its case row sealed: for event-log export."""
        ...

    def count(self, status: Status | None = None) -> int:
        """How many cases (of one status) are stored."""
        ...

    def timers_due(self, at: datetime) -> list[str]:
        """The ids of the cases with a timer due by ``at`` (from the timer index), sorted."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class CollectingStore:
    """A store whose index readings collect :class:`IndexProblem` in ``problems`` instead of raising.

    What ``supervise`` sweeps: cases whose index rows do not tie are left out of the cards and listed in
    ``problems``, so that one damaged case neither hides nor blocks the others.
    """

    def __init__(self, store: CaseStore) -> None:
        self.store = store
        self.url = store.url
        self.problems: list[IndexProblem] = []

    def insert(self, record: CaseRecord) -> CaseRecord:
        return self.store.insert(record)

    def update(self, record: CaseRecord, *, expected: int) -> CaseRecord:
        return self.store.update(record, expected=expected)

    def insert_many(self, records: Iterable[CaseRecord]) -> int:
        return self.store.insert_many(records)

    def get(self, case_id: str) -> CaseRecord:
        return self.store.get(case_id)

    def ids(self, status: Status | None = None) -> list[str]:
        return self.store.ids(status)

    def due(self, at: datetime, *, problems: list[IndexProblem] | None = None) -> list[DeadlineEntry]:
        return self.store.due(at, problems=self.problems if problems is None else problems)

    def moving(self, *, problems: list[IndexProblem] | None = None) -> list[CaseRecord]:
        return self.store.moving(problems=self.problems if problems is None else problems)

    def anomalies(
        self, until: datetime | None = None, *, problems: list[IndexProblem] | None = None
    ) -> list[AnomalyEntry]:
        return self.store.anomalies(until, problems=self.problems if problems is None else problems)

    def summaries(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        return self.store.summaries(problems=self.problems if problems is None else problems)

    def records(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        return self.store.records(problems=self.problems if problems is None else problems)

    def count(self, status: Status | None = None) -> int:
        return self.store.count(status)

    def timers_due(self, at: datetime) -> list[str]:
        return self.store.timers_due(at)

    def close(self) -> None:
        self.store.close()
