"""The case store (案件库): what it keeps and the protocol every store implements.

A store keeps each case's serialized state (:func:`~approvalflow.engine.persistence.dump_case`, audit trail included),
the trail's head in separate columns, and index rows computed from the case when it is saved
(:mod:`approvalflow.store.index`): power, unit, status, current steps, every open deadline with the moment from
which it is yellow and the moment it turns red, anomalies from the trail, and the worklists: who may do each ready
step now (待办) and who did each completed step (已办, :mod:`approvalflow.store.worklists`). A supervision sweep and
a worklist read only the index; they never deserialize a case.

Writes are optimistic: every record has a ``version``; :meth:`CaseStore.update` succeeds only when the stored
version is still the one the writer read, otherwise it raises :class:`ConflictError` and changes nothing.
Each write is one transaction: a writer killed half way leaves the previous version intact.

Implementations: :class:`~approvalflow.store.memory.MemoryStore` (tests),
:class:`~approvalflow.store.sqlite.SqliteStore` (the embedded default) and
:class:`~approvalflow.store.postgres.PostgresStore` (several hosts sharing cases);
:func:`approvalflow.store.factory.open_store` opens one of them from a path or URL. This module imports none of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
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
    "DoneEntry",
    "IndexProblem",
    "StoreError",
    "StoreUnavailable",
    "TimerEntry",
    "TodoEntry",
    "from_micros",
    "micros",
    "redact",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Status = Literal["open", "completed", "suspended", "withdrawn", "terminated"]
"""A stored case's status: ``open`` (running, 在办), ``completed`` (办结), ``suspended`` (中止), ``withdrawn``
(撤回/撤销申请), ``terminated`` (终止). Stores written before the last three existed hold only ``open`` and
``completed``."""
#: The case statuses whose ready steps are on a 待办 (a case of another status has none; its rows do not tie).
TODO_STATUSES: tuple[str, ...] = ("open",)


_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """A timezone-aware moment as integer microseconds since the Unix epoch (exact, sortable)."""
    if moment.tzinfo is None:
        raise InvalidInputError(f"naive datetime {moment.isoformat()}: give moments with a timezone")
    return (moment - _EPOCH) // _MICROSECOND


def page(person: str, limit: int | None, offset: int) -> None:
    """A worklist's ``person`` is an id (non-empty text), ``limit`` and ``offset`` whole numbers (``limit`` at
    least 1): else :class:`InvalidInputError`."""
    if not isinstance(person, str) or not person or person != person.strip():
        raise InvalidInputError(f"a worklist is asked for a person id (text), not {str(person)[:40]!r}")
    if limit is not None and (type(limit) is not int or limit < 1):
        raise InvalidInputError(f"a worklist limit is a whole number from 1, not {str(limit)[:20]!r}")
    if type(offset) is not int or offset < 0:
        raise InvalidInputError(f"a worklist offset is a whole number from 0, not {str(offset)[:20]!r}")


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


class StoreUnavailable(StoreError):
    """The case store's server cannot be reached now: the connection was lost (a server restart, a terminated
    backend, a network cut) or cannot be opened again yet. The operation was not completed; the next one reconnects
    (after a backoff while the server stays unreachable). Try again later."""


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

    ``table`` is where the problem is (``af_cases``, ``af_deadlines``, ``af_anomalies``, ``af_timers``,
    ``af_todo``, ``af_done``), ``row`` the row (``ordinal`` or ``seq``) when one row is at fault.
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


Level = Literal["yellow", "red"]


@dataclass(frozen=True)
class TodoEntry:
    """One item of a person's 待办 (to-do) as indexed: a ready step of an open case the person may do now.

    One entry for each ready step and each person who may do it (:mod:`approvalflow.store.worklists`): its
    assignee when it has one, else every person of the step's units holding one of its posts whom no rule known
    before completion refuses. ``deadline`` is the day of the earliest deadline that applies (the step's own limit,
    the case's promised or statutory deadline: ``limit`` says which), ``end`` the moment it turns red and
    ``yellow_from`` the earliest moment any of them is yellow (None without a deadline). ``version`` is the version
    of the case row the entry was written with (what ties it to the case row). ``level`` is the card at the moment
    a worklist was asked for (``yellow``, ``red`` or None), set by the store's :meth:`CaseStore.todo`; None in the
    index itself. ``on_behalf_of`` names the person a standing proxy (委托) acts for: the item is the principal's
    held step, on the proxy's list only from ``valid_from`` (included) to ``valid_to`` (excluded), the proxy's
    period; all three are None for an item of the person's own.
    """

    case_id: str
    ordinal: int
    person: str
    task: str
    instance: int | None
    name: str
    ready_since: datetime
    deadline: date | None
    limit: Literal["promised", "statutory", "step"] | None
    end: datetime | None
    yellow_from: datetime | None
    unit: str
    power: str | None
    process: str
    version: int = 0
    level: Level | None = None
    on_behalf_of: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def valid_at(self, at: datetime) -> bool:
        """Whether the item is on the list at ``at``: always for one's own, within the period for a proxy's."""
        if self.on_behalf_of is None or self.valid_from is None or self.valid_to is None:
            return True
        return self.valid_from <= at < self.valid_to

    def level_at(self, at: datetime) -> Level | None:
        """The card at ``at``, as a sweep gives it: red once ``end`` has come, yellow from ``yellow_from``."""
        if self.end is not None and at >= self.end:
            return "red"
        if self.yellow_from is not None and at >= self.yellow_from:
            return "yellow"
        return None

    def to_json(self) -> dict[str, Any]:
        """The item as ``approvalflow todo --json`` prints it."""
        return {
            "case": self.case_id,
            "task": self.task,
            "instance": self.instance,
            "name": self.name,
            "ready_since": self.ready_since.isoformat(),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "limit": self.limit,
            "due": self.end.isoformat() if self.end else None,
            "yellow_from": self.yellow_from.isoformat() if self.yellow_from else None,
            "level": self.level,
            "unit": self.unit,
            "power": self.power,
            "process": self.process,
            "on_behalf_of": self.on_behalf_of,
        }


@dataclass(frozen=True)
class DoneEntry:
    """One item of a person's 已办 (done): a step they completed (a signature of a multi-instance step included),
    from the case's history as the trail records it. ``seq`` is the completion's place in the case's history;
    ``status`` the case's status when the worklist was asked for (set by :meth:`CaseStore.done`)."""

    case_id: str
    seq: int
    person: str
    task: str
    name: str
    at: datetime
    ready_since: datetime
    unit: str
    power: str | None
    process: str
    version: int = 0
    status: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The item as ``approvalflow done --json`` prints it."""
        return {
            "case": self.case_id,
            "task": self.task,
            "name": self.name,
            "at": self.at.isoformat(),
            "ready_since": self.ready_since.isoformat(),
            "status": self.status,
            "unit": self.unit,
            "power": self.power,
            "process": self.process,
        }


#: How a store writes its JSON columns (``af_cases.summary``, ``af_cases.clock``): ``json.dumps(value,
#: ensure_ascii=False, sort_keys=True)``, with the encoder made once.
COLUMN_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


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
    todo: tuple[TodoEntry, ...] = ()
    """Who may do each ready step now (待办 rows, :mod:`approvalflow.store.worklists`)."""
    done: tuple[DoneEntry, ...] = ()
    """Who completed which step (已办 rows)."""

    def summary_text(self) -> str:
        """The ``summary`` as a store writes it: ``json.dumps(summary, ensure_ascii=False, sort_keys=True)``.

        A record made by :func:`~approvalflow.store.index.record_of` carries that text, made from the JSON of each
        completion kept since it was first indexed, for as long as its ``summary`` is the very dict it was made
        with (a record made with ``dataclasses.replace(record, summary=...)`` has its own summary encoded). Like
        every field of this frozen record, the summary is not to be changed in place."""
        kept = self.__dict__.get("_summary_text")
        if kept is not None and kept[0] is self.summary:
            return str(kept[1])
        return COLUMN_JSON.encode(self.summary)

    def with_version(self, version: int) -> CaseRecord:
        """The same record at ``version`` (every other field the same objects: what ``replace`` gives, without
        running the dataclass's constructor again)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        object.__setattr__(new, "version", version)
        return new


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

    def todo(
        self,
        person: str,
        *,
        at: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
        problems: list[IndexProblem] | None = None,
    ) -> list[TodoEntry]:
        """The person's 待办: every ready step of an open case they may do now, from the index (never a scan).

        A standing proxy's items (``on_behalf_of`` set) are listed only when ``at`` is within the proxy's period.

        Ordered by deadline (earliest red moment first, those without one last), then by since when the step
        waits; ``level`` is the card at ``at`` (default: now). ``limit`` and ``offset`` page through the list.
        Only entries written with the case row's current version are returned; others raise :class:`StoreError`,
        or, with a ``problems`` list, are appended to it and left out.
        """
        ...

    def done(
        self,
        person: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        problems: list[IndexProblem] | None = None,
    ) -> list[DoneEntry]:
        """The person's 已办: the steps they completed, most recent first, with the case's status now."""
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

    def todo(
        self,
        person: str,
        *,
        at: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
        problems: list[IndexProblem] | None = None,
    ) -> list[TodoEntry]:
        found = self.problems if problems is None else problems
        return self.store.todo(person, at=at, limit=limit, offset=offset, problems=found)

    def done(
        self,
        person: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        problems: list[IndexProblem] | None = None,
    ) -> list[DoneEntry]:
        found = self.problems if problems is None else problems
        return self.store.done(person, limit=limit, offset=offset, problems=found)

    def close(self) -> None:
        self.store.close()
