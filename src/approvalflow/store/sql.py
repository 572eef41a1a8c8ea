"""What the SQL stores share: the schema, rows to and from records, and the queries.

The schema has these tables: ``af_cases`` (one row a case: index columns, trail head, summary, state),
``af_deadlines`` (one row an open deadline, indexed on the moment it turns yellow), ``af_anomalies``
(indexed on the moment), ``af_timers`` (the timers open cases wait on), and the worklists: ``af_todo`` (one row for
each ready step and each person who may do it, indexed on the person, then the deadline) and ``af_done`` (one
row a completed step, indexed on the person, then the moment). Moments that queries compare are integer
microseconds since the epoch. Each write is one transaction; an update changes the case row only where
``version`` is the one read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from ..engine.trail import TrailHead
from ..errors import InvalidInputError
from ..time.periods import SHANGHAI
from .base import (
    COLUMN_JSON,
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
    from_micros,
    micros,
    page,
)
from .integrity import check_seal, row_digest, rows_digest, seal, tie

__all__ = [
    "CHILD_TABLES",
    "KEYS_TABLE",
    "REGISTRY_TABLES",
    "SCHEMA",
    "SCHEMA_VERSION",
    "TABLES",
    "Cursor",
    "Damaged",
    "SqlStoreBase",
    "case_row",
    "done_from_row",
    "done_rows",
    "timer_rows",
    "todo_from_row",
    "todo_rows",
]

SCHEMA_VERSION = "4"
"""Version 4 added the worklists ``af_todo`` and ``af_done``, the process registry (``af_processes``,
``af_definitions``, ``af_files``) and the HTTP service's API keys (``af_keys``); version 3 ``af_timers`` (the timers
open cases wait on); version 2 the index digest columns."""
#: The tables of a case store, each with the columns this version reads (checked when a store is opened).
TABLES = {
    "af_meta": "key, value",
    "af_cases": "id, version, process, digest, power, unit, status, steps, started_at, ended_at, trail_hash,"
    " trail_count, clock, summary, deadline_count, anomaly_count, next_yellow, first_anomaly, index_rows,"
    " index_seal, state",
    "af_deadlines": "case_id, ordinal, scope, lim, task, day, end_at, yellow_at, unit, power, posts, people",
    "af_anomalies": "case_id, seq, kind, at, at_text, step, actor, rules, unit, power, detail",
    "af_timers": "case_id, ordinal, element, due",
    "af_todo": "case_id, ordinal, version, person, task, instance, name, ready_since, day, lim, end_at, yellow_at,"
    " due_key, unit, power, process, on_behalf_of, valid_from, valid_to",
    "af_done": "case_id, seq, version, person, task, name, at, ready_since, unit, power, process",
    "af_processes": "process, version, digest, file_name, deployed_at",
    "af_definitions": "digest, process, files",
    "af_files": "sha256, size, content",
    "af_keys": "key_id, hash, role, unit, case_id, created_at, revoked_at",
}
#: ``due_key`` of a 待办 row without a deadline: after every real moment (the list is ordered by deadline).
NO_DEADLINE = 2**62
#: The worklists (schema version 4): who may do each ready step now (``af_todo``) and who did each completed step
#: (``af_done``), each row tied to its case row by the case's ``version`` (a reader compares them), rewritten with
#: the case row in the same transaction. A standing proxy's 待办 row (委托) names ``on_behalf_of`` and is listed only
#: from ``valid_from`` to ``valid_to`` (microseconds; all three null on a person's own row): a filter on the rows of
#: the person's index range, not another index.
_WORKLIST_TABLES = (
    "CREATE TABLE IF NOT EXISTS af_todo (case_id TEXT NOT NULL, ordinal INTEGER NOT NULL, version INTEGER NOT NULL,"
    " person TEXT NOT NULL, task TEXT NOT NULL, instance INTEGER, name TEXT NOT NULL, ready_since BIGINT NOT NULL,"
    " day TEXT, lim TEXT, end_at BIGINT, yellow_at BIGINT, due_key BIGINT NOT NULL, unit TEXT NOT NULL, power TEXT,"
    " process TEXT NOT NULL, on_behalf_of TEXT, valid_from BIGINT, valid_to BIGINT, PRIMARY KEY (case_id, ordinal))",
    "CREATE INDEX IF NOT EXISTS af_todo_person ON af_todo (person, due_key, ready_since, case_id, ordinal)",
    "CREATE TABLE IF NOT EXISTS af_done (case_id TEXT NOT NULL, seq INTEGER NOT NULL, version INTEGER NOT NULL,"
    " person TEXT NOT NULL, task TEXT NOT NULL, name TEXT NOT NULL, at BIGINT NOT NULL, ready_since BIGINT NOT NULL,"
    " unit TEXT NOT NULL, power TEXT, process TEXT NOT NULL, PRIMARY KEY (case_id, seq))",
    "CREATE INDEX IF NOT EXISTS af_done_person ON af_done (person, at, case_id, seq)",
)
#: The timer index (schema version 3): one row for each timer an open case waits on, indexed on its due moment. It is
#: a hint for ``fire_due``, not sealed: the case itself, loaded and verified, decides what fires.
_TIMERS_TABLE = (
    "CREATE TABLE IF NOT EXISTS af_timers (case_id TEXT NOT NULL, ordinal INTEGER NOT NULL, element TEXT NOT NULL,"
    " due BIGINT NOT NULL, PRIMARY KEY (case_id, ordinal))",
    "CREATE INDEX IF NOT EXISTS af_timers_due ON af_timers (due)",
)
#: The process registry (schema version 4, :mod:`approvalflow.store.registry`): each deployed version of a process
#: (``af_processes``), each definition by digest with the names and SHA-256 of its files, main file first
#: (``af_definitions``), and each file's bytes once, base64 (``af_files``).
REGISTRY_TABLES = (
    "CREATE TABLE IF NOT EXISTS af_processes (process TEXT NOT NULL, version INTEGER NOT NULL, digest TEXT NOT NULL,"
    " file_name TEXT NOT NULL, deployed_at TEXT NOT NULL, PRIMARY KEY (process, version), UNIQUE (process, digest))",
    "CREATE TABLE IF NOT EXISTS af_definitions (digest TEXT PRIMARY KEY, process TEXT NOT NULL, files TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS af_files (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, content TEXT NOT NULL)",
)
#: The API keys of the HTTP service (schema version 4, :mod:`approvalflow.store.keys`): one row a key, its SHA-256
#: only (the key itself is shown once, when created), its role and scope, and when it was revoked.
KEYS_TABLE = (
    "CREATE TABLE IF NOT EXISTS af_keys (key_id TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL, unit TEXT,"
    " case_id TEXT, created_at TEXT NOT NULL, revoked_at TEXT)",
)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS af_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS af_cases (id TEXT PRIMARY KEY, version INTEGER NOT NULL, process TEXT NOT NULL,"
    " digest TEXT NOT NULL, power TEXT, unit TEXT NOT NULL, status TEXT NOT NULL, steps TEXT NOT NULL,"
    " started_at TEXT NOT NULL, ended_at TEXT, trail_hash TEXT NOT NULL, trail_count INTEGER NOT NULL,"
    " clock TEXT, summary TEXT NOT NULL, deadline_count INTEGER NOT NULL, anomaly_count INTEGER NOT NULL,"
    " next_yellow BIGINT, first_anomaly BIGINT, index_rows TEXT NOT NULL, index_seal TEXT NOT NULL,"
    " state TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS af_cases_status ON af_cases (status, unit, power)",
    "CREATE INDEX IF NOT EXISTS af_cases_moving ON af_cases (id) WHERE clock IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS af_cases_next_yellow ON af_cases (next_yellow) WHERE next_yellow IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS af_cases_first_anomaly ON af_cases (first_anomaly) WHERE first_anomaly IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS af_deadlines (case_id TEXT NOT NULL, ordinal INTEGER NOT NULL, scope TEXT NOT NULL,"
    " lim TEXT NOT NULL, task TEXT, day TEXT NOT NULL, end_at BIGINT NOT NULL, yellow_at BIGINT NOT NULL,"
    " unit TEXT NOT NULL, power TEXT, posts TEXT NOT NULL, people TEXT NOT NULL, PRIMARY KEY (case_id, ordinal))",
    "CREATE INDEX IF NOT EXISTS af_deadlines_yellow ON af_deadlines (yellow_at)",
    "CREATE TABLE IF NOT EXISTS af_anomalies (case_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
    " at BIGINT NOT NULL, at_text TEXT NOT NULL, step TEXT, actor TEXT, rules TEXT NOT NULL, unit TEXT NOT NULL,"
    " power TEXT, detail TEXT NOT NULL, PRIMARY KEY (case_id, seq))",
    "CREATE INDEX IF NOT EXISTS af_anomalies_at ON af_anomalies (at)",
    *_TIMERS_TABLE,
    *_WORKLIST_TABLES,
    *REGISTRY_TABLES,
    *KEYS_TABLE,
)
#: The columns schema version 2 added to af_cases (what ``store reindex`` adds to a version-1 store).
_UPGRADE_1_2 = (
    "deadline_count INTEGER NOT NULL DEFAULT 0",
    "anomaly_count INTEGER NOT NULL DEFAULT 0",
    "next_yellow BIGINT",
    "first_anomaly BIGINT",
    "index_rows TEXT NOT NULL DEFAULT ''",
    "index_seal TEXT NOT NULL DEFAULT ''",
)
_CASE_COLUMNS = TABLES["af_cases"]
_CASE_NAMES = [c.strip() for c in _CASE_COLUMNS.split(",")]
_UPDATE_CASE = f"UPDATE af_cases SET {', '.join(f'{c} = ?' for c in _CASE_NAMES[1:])} WHERE id = ? AND version = ?"
_HEADER_COLUMNS = _CASE_COLUMNS.replace(", state", ", ''")  # everything but the state
_DEADLINE_COLUMNS = TABLES["af_deadlines"]
_ANOMALY_COLUMNS = TABLES["af_anomalies"]
#: The longest ``summary`` or ``clock`` JSON text a reader parses (characters); a longer one is a damaged row.
#: A real summary has a few hundred characters per completed step. Raise it for a process with thousands of steps
#: by assigning ``approvalflow.store.sql.MAX_INDEX_JSON_CHARS`` before opening the store.
MAX_INDEX_JSON_CHARS = 1_000_000
_SCOPES = ("case", "step")
_LIMITS = ("promised", "statutory", "step")
_STATUSES = ("open", "completed", "suspended", "withdrawn", "terminated")
_TODO_COLUMNS = TABLES["af_todo"]
_DONE_COLUMNS = TABLES["af_done"]
#: The index tables whose rows belong to a case (``store reindex`` removes those of no case), with their row key.
CHILD_TABLES = (
    ("af_deadlines", "ordinal"),
    ("af_anomalies", "seq"),
    ("af_timers", "ordinal"),
    ("af_todo", "ordinal"),
    ("af_done", "seq"),
)


#: How each index table of a case is written (:meth:`SqlStoreBase._write_children`): its name, row key, columns (the
#: key second, ``version`` third in a worklist table) and whether it carries the case's version, in the order of
#: :data:`Rows` after the case row.
_CHILD_SPECS = (
    ("af_deadlines", "ordinal", TABLES["af_deadlines"], False),
    ("af_anomalies", "seq", TABLES["af_anomalies"], False),
    ("af_timers", "ordinal", TABLES["af_timers"], False),
    ("af_todo", "ordinal", TABLES["af_todo"], True),
    ("af_done", "seq", TABLES["af_done"], True),
)


#: The start of each index table's ``CREATE TABLE`` statement (:meth:`SqlStoreBase._ddl`).
_CHILD_CREATES = tuple(f"CREATE TABLE IF NOT EXISTS {spec[0]} (" for spec in _CHILD_SPECS)


def _changes(
    old: Sequence[tuple[Any, ...]], new: Sequence[tuple[Any, ...]], versioned: bool
) -> tuple[list[Any] | None, Sequence[tuple[Any, ...]], bool]:
    """What turns a case's ``old`` rows of a table into ``new``: the keys of the old rows to delete (None: all of
    them), the rows to insert, and whether old rows are kept (whose version must then become the new one).

    Rows are matched by key (second column); a worklist row (``versioned``) is kept when it is the new row but for
    its version (third column)."""
    if old == new:
        return [], (), False
    by_key = {r[1]: r for r in old}
    fresh: list[tuple[Any, ...]] = []
    kept: set[Any] = set()
    for r in new:
        found = by_key.get(r[1])
        if found is not None and (found[3:] == r[3:] and found[:2] == r[:2] if versioned else found == r):
            kept.add(r[1])
        else:
            fresh.append(r)
    if not kept:
        return None, fresh, False
    return [k for k in by_key if k not in kept], fresh, versioned


class Cursor(Protocol):
    """The part of a DB-API cursor the stores use."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


#: Rows already converted from index entries (:func:`_converted`), at most this many a table (then started afresh).
_ROWS_KEPT = 8192
E = TypeVar("E")


def _converted(cache: dict[int, tuple[Any, ...]], entry: E, convert: Callable[[E], tuple[Any, ...]]) -> tuple[Any, ...]:
    """``(entry, *convert(entry))``, kept in ``cache`` by the entry's id with the entry itself (so that an id is never
    taken for another's): the index gives the same entry objects again for the rows a save did not change (a
    deadline that stayed, every 已办 row but the newest), whose conversion is then not done again."""
    kept = cache.get(id(entry))
    if kept is None or kept[0] is not entry:
        if len(cache) >= _ROWS_KEPT:
            cache.clear()
        kept = cache[id(entry)] = (entry, *convert(entry))
    return kept


def _deadline_rows(r: CaseRecord) -> list[tuple[Any, ...]]:
    """The ``af_deadlines`` rows of a record (columns of :data:`TABLES`)."""
    return [_deadline_kept(d)[1] for d in r.deadlines]


#: ``(entry, row, digest)`` of each deadline entry converted: its ``af_deadlines`` row and the row's digest
#: (:func:`.integrity.row_digest`).
_DEADLINES_KEPT: dict[int, tuple[Any, ...]] = {}


def _deadline_row(d: DeadlineEntry) -> tuple[tuple[Any, ...], str]:
    row = (
        d.case_id,
        d.ordinal,
        d.scope,
        d.limit,
        d.task,
        d.day.isoformat(),
        micros(d.end),
        micros(d.yellow_from),
        d.unit,
        d.power,
        " ".join(d.posts),
        " ".join(d.people),
    )
    return row, row_digest("af_deadlines", row)


def _deadline_kept(d: DeadlineEntry) -> tuple[Any, ...]:
    """``(d, row, digest)`` (:func:`_converted`)."""
    return _converted(_DEADLINES_KEPT, d, _deadline_row)


def _anomaly_rows(r: CaseRecord) -> list[tuple[Any, ...]]:
    return [
        (
            a.case_id,
            n,
            a.kind,
            micros(a.at),
            a.at.isoformat(),
            a.step,
            a.actor,
            " ".join(a.rules),
            a.unit,
            a.power,
            a.detail,
        )
        for n, a in enumerate(r.anomalies)
    ]


def timer_rows(r: CaseRecord) -> list[tuple[Any, ...]]:
    """The ``af_timers`` rows of a record (columns of :data:`TABLES`)."""
    return [(t.case_id, n, t.element, micros(t.due)) for n, t in enumerate(r.timers)]


def todo_rows(r: CaseRecord, version: int) -> list[tuple[Any, ...]]:
    """The ``af_todo`` rows of a record written at ``version`` (columns of :data:`TABLES`)."""
    out = []
    seen: dict[int, int] = {}  # a step's rows share its moments: each converted once (by id: all alive here)

    def us(moment: datetime | None) -> int | None:
        if moment is None:
            return None
        found = seen.get(id(moment))
        if found is None:
            found = seen[id(moment)] = micros(moment)
        return found

    for t in r.todo:
        end = us(t.end)
        out.append(
            (
                t.case_id,
                t.ordinal,
                version,
                t.person,
                t.task,
                t.instance,
                t.name,
                us(t.ready_since),
                t.deadline.isoformat() if t.deadline is not None else None,
                t.limit,
                end,
                us(t.yellow_from),
                NO_DEADLINE if end is None else end,
                t.unit,
                t.power,
                t.process,
                t.on_behalf_of,
                us(t.valid_from),
                us(t.valid_to),
            )
        )
    return out


#: ``(entry, columns)`` of each 已办 entry converted: its ``af_done`` columns after ``version``.
_DONE_KEPT: dict[int, tuple[Any, ...]] = {}


def _done_columns(d: DoneEntry) -> tuple[tuple[Any, ...]]:
    return ((d.person, d.task, d.name, micros(d.at), micros(d.ready_since), d.unit, d.power, d.process),)


def done_rows(r: CaseRecord, version: int) -> list[tuple[Any, ...]]:
    """The ``af_done`` rows of a record written at ``version`` (columns of :data:`TABLES`)."""
    return [(d.case_id, d.seq, version, *_converted(_DONE_KEPT, d, _done_columns)[1]) for d in r.done]


def case_row(r: CaseRecord, version: int, key: bytes | None) -> tuple[Any, ...]:
    """The ``af_cases`` row of a record (columns of :data:`TABLES`), sealed (:mod:`.integrity`)."""
    return _rows_of(r, version, key)[0]


_Many = list[tuple[Any, ...]]
Rows = tuple[tuple[Any, ...], _Many, _Many, _Many, _Many, _Many]


def _rows_of(r: CaseRecord, version: int, key: bytes | None) -> Rows:
    """The ``af_cases`` row of a record and its ``af_deadlines``, ``af_anomalies``, ``af_timers``, ``af_todo`` and
    ``af_done`` rows (each built once)."""
    kept = [_deadline_kept(d) for d in r.deadlines]
    deadlines, anomalies = [k[1] for k in kept], _anomaly_rows(r)
    header = (
        r.id,
        r.process,
        r.digest,
        r.power,
        r.unit,
        r.status,
        " ".join(r.steps),
        r.started_at.isoformat(),
        r.ended_at.isoformat() if r.ended_at else None,
        r.trail_head.hash,
        r.trail_head.count,
        COLUMN_JSON.encode(r.clock) if r.clock is not None else None,
        r.summary_text(),
        len(deadlines),
        len(anomalies),
        min((d[7] for d in deadlines), default=None),
        min((a[3] for a in anomalies), default=None),
    )
    rows = rows_digest(deadlines, anomalies, [k[2] for k in kept])
    timers = timer_rows(r)
    row = (header[0], version, *header[1:], rows, seal(header, rows, key), r.state)
    return row, deadlines, anomalies, timers, todo_rows(r, version), done_rows(r, version)


def _header(row: Sequence[Any]) -> tuple[Any, ...]:
    """The sealed columns of an ``af_cases`` row read with :data:`_CASE_COLUMNS`."""
    return (row[0], *row[2:18])


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split()) if text else ()


class Damaged(StoreError):
    """A column of a row is not what the schema says (raised by the readers below, turned into a fuller StoreError)."""

    def __init__(self, column: str, what: str) -> None:
        super().__init__(f"column {column}: {what}")
        self.column = column


def _text(value: Any, column: str, *, null: bool = False, choices: tuple[str, ...] = ()) -> Any:
    if value is None and null:
        return None
    if not isinstance(value, str):
        raise Damaged(column, f"expected text, found {_kind(value)}")
    if choices and value not in choices:
        raise Damaged(column, f"{_clip(value)!r} is not one of {', '.join(choices)}")
    return value


def _int(value: Any, column: str, *, null: bool = False) -> Any:
    if value is None and null:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Damaged(column, f"expected an integer, found {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "NULL" if value is None else f"{type(value).__name__} {_clip(repr(value))}"


def _clip(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _moment(value: Any, column: str, *, null: bool = False) -> datetime | None:
    text = _text(value, column, null=null)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Damaged(column, f"{_clip(text)!r} is not an ISO 8601 moment") from None
    if moment.tzinfo is None:
        raise Damaged(column, f"{_clip(text)!r} has no timezone")
    return moment


def _micros(value: Any, column: str) -> datetime:
    number = _int(value, column)
    try:
        return from_micros(number).astimezone(SHANGHAI)
    except (OverflowError, ValueError):
        raise Damaged(column, f"{number} is not a moment (microseconds since 1970)") from None


def _json(value: Any, column: str, *, null: bool = False) -> Any:
    text = _text(value, column, null=null)
    if text is None:
        return None
    if len(text) > MAX_INDEX_JSON_CHARS:
        raise Damaged(
            column,
            f"{len(text):,} characters of JSON, at most {MAX_INDEX_JSON_CHARS:,} "
            "(approvalflow.store.sql.MAX_INDEX_JSON_CHARS)",
        )
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, an integer of too many digits, too deep
        raise Damaged(column, f"not JSON ({_clip(str(exc), 120)})") from None
    if not isinstance(doc, dict):
        raise Damaged(column, f"expected a JSON object, found {type(doc).__name__}")
    return doc


def _clock(value: Any) -> dict[str, Any] | None:
    facts = _json(value, "clock", null=True)
    if facts is None:
        return None
    try:
        for name in ("promised", "statutory", "extension_days"):
            _int(facts.get(name), f"clock.{name}", null=True)
        _int(facts.get("yellow_days", 1), "clock.yellow_days")
        _text(facts.get("unit"), "clock.unit", choices=("workday", "day", "hour"))
        _moment(facts.get("clock_start"), "clock.clock_start")
        suspensions = facts.get("suspensions")
        if not isinstance(suspensions, list):
            raise Damaged("clock.suspensions", "expected a list")
        for s in suspensions:
            if not isinstance(s, list) or len(s) != 4:
                raise Damaged("clock.suspensions", "each suspension is [step, reason, start, end]")
            _moment(s[2], "clock.suspensions start")
            _moment(s[3], "clock.suspensions end", null=True)
        for name in ("posts", "people"):
            items = facts.get(name, [])
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise Damaged(f"clock.{name}", "expected a list of text")
    except AttributeError:
        raise Damaged("clock", "expected a JSON object") from None
    return dict(facts)


def record_from_row(row: Sequence[Any]) -> CaseRecord:
    """A :class:`CaseRecord` (without deadlines and anomalies) from an ``af_cases`` row; :class:`Damaged` if bad."""
    if len(row) != 21:
        raise Damaged("*", f"{len(row)} columns, expected 21")
    return CaseRecord(
        id=_text(row[0], "id"),
        version=_int(row[1], "version"),
        process=_text(row[2], "process"),
        digest=_text(row[3], "digest"),
        power=_text(row[4], "power", null=True),
        unit=_text(row[5], "unit"),
        status=_text(row[6], "status", choices=_STATUSES),
        steps=_split(_text(row[7], "steps")),
        started_at=_moment(row[8], "started_at") or datetime.min,
        ended_at=_moment(row[9], "ended_at", null=True),
        trail_head=TrailHead(_text(row[10], "trail_hash"), _int(row[11], "trail_count")),
        clock=_clock(row[12]),
        summary=_json(row[13], "summary"),
        state=_state(row[20]),
    )


def _state(value: Any) -> str:
    from ..engine import persistence

    text = _text(value, "state")
    if len(text) > persistence.MAX_CASE_BYTES:
        raise Damaged(
            "state",
            f"{len(text):,} characters, a saved case has at most {persistence.MAX_CASE_BYTES:,} "
            "(approvalflow.engine.persistence.MAX_CASE_BYTES)",
        )
    return str(text)


def _check_case_row(row: Sequence[Any]) -> None:
    """The index columns of an ``af_cases`` row have their types (before they are hashed)."""
    _int(row[14], "deadline_count")
    _int(row[15], "anomaly_count")
    _int(row[16], "next_yellow", null=True)
    _int(row[17], "first_anomaly", null=True)
    _text(row[18], "index_rows")
    _text(row[19], "index_seal")


def deadline_from_row(row: Sequence[Any]) -> DeadlineEntry:
    """A :class:`DeadlineEntry` from an ``af_deadlines`` row; :class:`Damaged` naming the column if bad."""
    try:  # the fast path: every check inline (a sweep converts every due row)
        case_id, ordinal, scope, lim, task, day, end_at, yellow_at, unit, power, posts, people = row
        if (
            type(case_id) is str
            and type(ordinal) is int
            and scope in _SCOPES
            and lim in _LIMITS
            and (task is None or type(task) is str)
            and type(day) is str
            and type(end_at) is int
            and type(yellow_at) is int
            and type(unit) is str
            and (power is None or type(power) is str)
            and type(posts) is str
            and type(people) is str
        ):
            return DeadlineEntry(
                case_id,
                ordinal,
                scope,
                lim,
                task,
                date.fromisoformat(day),
                from_micros(end_at).astimezone(SHANGHAI),
                from_micros(yellow_at).astimezone(SHANGHAI),
                unit,
                power,
                tuple(posts.split()),
                tuple(people.split()),
            )
    except (ValueError, OverflowError, TypeError):
        pass
    return _deadline_checked(row)


def _deadline_checked(row: Sequence[Any]) -> DeadlineEntry:
    if len(row) != 12:
        raise Damaged("*", f"{len(row)} columns, expected 12")
    day = _text(row[5], "day")
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise Damaged("day", f"{_clip(day)!r} is not a date") from None
    return DeadlineEntry(
        _text(row[0], "case_id"),
        _int(row[1], "ordinal"),
        _text(row[2], "scope", choices=_SCOPES),
        _text(row[3], "lim", choices=_LIMITS),
        _text(row[4], "task", null=True),
        parsed,
        _micros(row[6], "end_at"),
        _micros(row[7], "yellow_at"),
        _text(row[8], "unit"),
        _text(row[9], "power", null=True),
        _split(_text(row[10], "posts")),
        _split(_text(row[11], "people")),
    )


def todo_from_row(row: Sequence[Any]) -> TodoEntry:
    """A :class:`TodoEntry` from an ``af_todo`` row; :class:`Damaged` naming the column if bad."""
    if len(row) != 19:
        raise Damaged("*", f"{len(row)} columns, expected 19")
    day = _text(row[8], "day", null=True)
    try:
        parsed = date.fromisoformat(day) if day is not None else None
    except ValueError:
        raise Damaged("day", f"{_clip(day)!r} is not a date") from None
    end = _micros(row[10], "end_at") if row[10] is not None else None
    yellow = _micros(row[11], "yellow_at") if row[11] is not None else None
    due_key = _int(row[12], "due_key")
    if due_key != (NO_DEADLINE if row[10] is None else row[10]):
        raise Damaged("due_key", f"{due_key} is not the row's end_at (or {NO_DEADLINE} without one)")
    if (day is None) != (row[10] is None) or (day is None) != (row[9] is None):
        raise Damaged("day", "day, lim and end_at are given together or not at all")
    instance = _int(row[5], "instance", null=True)
    if instance is not None and instance < 0:
        raise Damaged("instance", f"{instance} is not an instance index")
    on_behalf_of = _text(row[16], "on_behalf_of", null=True)
    valid_from = _micros(row[17], "valid_from") if row[17] is not None else None
    valid_to = _micros(row[18], "valid_to") if row[18] is not None else None
    if (on_behalf_of is None) != (valid_from is None) or (on_behalf_of is None) != (valid_to is None):
        raise Damaged("on_behalf_of", "on_behalf_of, valid_from and valid_to are given together or not at all")
    if valid_from is not None and valid_to is not None and not valid_from < valid_to:
        raise Damaged("valid_to", f"{row[18]} is not after valid_from {row[17]}")
    if on_behalf_of is not None and (not on_behalf_of or on_behalf_of == row[3]):
        raise Damaged("on_behalf_of", f"{_clip(on_behalf_of)!r} is not someone else the row's person stands in for")
    return TodoEntry(
        _text(row[0], "case_id"),
        _int(row[1], "ordinal"),
        _text(row[3], "person"),
        _text(row[4], "task"),
        instance,
        _text(row[6], "name"),
        _micros(row[7], "ready_since"),
        parsed,
        _text(row[9], "lim", null=True, choices=_LIMITS),
        end,
        yellow,
        _text(row[13], "unit"),
        _text(row[14], "power", null=True),
        _text(row[15], "process"),
        version=_int(row[2], "version"),
        on_behalf_of=on_behalf_of,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def done_from_row(row: Sequence[Any]) -> DoneEntry:
    """A :class:`DoneEntry` from an ``af_done`` row; :class:`Damaged` naming the column if bad."""
    if len(row) != 11:
        raise Damaged("*", f"{len(row)} columns, expected 11")
    return DoneEntry(
        _text(row[0], "case_id"),
        _int(row[1], "seq"),
        _text(row[3], "person"),
        _text(row[4], "task"),
        _text(row[5], "name"),
        _micros(row[6], "at"),
        _micros(row[7], "ready_since"),
        _text(row[8], "unit"),
        _text(row[9], "power", null=True),
        _text(row[10], "process"),
        version=_int(row[2], "version"),
    )


def anomaly_from_row(row: Sequence[Any]) -> AnomalyEntry:
    if len(row) != 11:
        raise Damaged("*", f"{len(row)} columns, expected 11")
    _int(row[1], "seq")
    _micros(row[3], "at")
    return AnomalyEntry(
        _text(row[0], "case_id"),
        _text(row[2], "kind"),
        _moment(row[4], "at_text") or datetime.min,
        _text(row[5], "step", null=True),
        _text(row[6], "actor", null=True),
        _split(_text(row[7], "rules")),
        _text(row[8], "unit"),
        _text(row[9], "power", null=True),
        _text(row[10], "detail"),
    )


class SqlStoreBase:
    """The queries of a SQL case store; subclasses give the transactions, placeholders and errors."""

    url: str
    key: bytes | None = None
    readonly: bool = False
    #: Upgrade a store of an older schema version when opening it for writing (``store reindex`` does).
    upgrade: bool = False
    upgraded_from: str | None = None  # the schema version an upgrade on opening found (``store upgrade`` says it)
    placeholder = "?"
    batch = 5000
    #: How many cases' index rows a handle keeps after writing them, so that the next save of the same case writes
    #: only the rows that changed (:meth:`_write_children`); 0 rewrites every row at every save.
    rows_kept = 1024
    #: How ``moving()`` reaches the few cases with a moving clock; SQLite without statistics would otherwise pick
    #: the status index and read every open case (a sweep over a million cases then took seconds).
    _moving_hint = ""
    #: Whether ``ORDER BY id`` is code-point order (SQLite's BINARY collation), so pagination can demand that ids
    #: strictly increase; a PostgreSQL database may sort text by a locale's collation instead.
    _codepoint_ids = False
    #: What ends the ``CREATE TABLE`` of each of a case's index tables (:data:`_CHILD_SPECS`) when this handle
    #: creates it: SQLite's ``WITHOUT ROWID`` keeps a case's rows together in their primary key's B-tree (no second
    #: tree for the key), so a save that rewrites them changes fewer pages. A table made without it works the same.
    _child_table_suffix = ""

    def _ddl(self, statement: str) -> str:
        """``statement`` as this handle creates it (:attr:`_child_table_suffix` after an index table's)."""
        if self._child_table_suffix and statement.startswith(_CHILD_CREATES):
            return statement + self._child_table_suffix
        return statement

    def _tx(self) -> AbstractContextManager[Cursor]:  # one transaction, a cursor in it
        raise NotImplementedError

    def _read(self, what: str = "the case store") -> AbstractContextManager[Cursor]:  # one read transaction
        raise NotImplementedError

    def _is_duplicate(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _marks(self, n: int) -> str:
        return ", ".join([self.placeholder] * n)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}{', readonly' if self.readonly else ''})"

    # -- opening ------------------------------------------------------------------------------------------

    def _open_schema(self) -> None:
        """Check the schema (read-only) or create and upgrade it; close the connection on any failure."""
        try:
            if self.readonly:
                self._check_schema()
            else:
                self._create()
        except BaseException:
            self.close()
            raise

    def _create(self) -> None:
        with self._tx() as cur:
            cur.execute("SELECT count(*) FROM " + self._tables_query())
            existing = int(cur.fetchone()[0])
            if existing == 0:
                for statement in SCHEMA:
                    cur.execute(self._ddl(statement))
                cur.execute(self._q("INSERT INTO af_meta (key, value) VALUES (?, ?)"), ("schema", SCHEMA_VERSION))
            elif self.upgrade and self._upgrade(cur):
                for statement in SCHEMA:  # indexes a damaged store lost
                    if statement.startswith("CREATE INDEX"):
                        cur.execute(statement)
            elif self._schema_is_current(cur):
                for statement in KEYS_TABLE:  # a version-4 store made before the API keys' table existed
                    cur.execute(statement)
        self._check_schema()

    def _schema_is_current(self, cur: Cursor) -> bool:
        """True when ``af_meta`` says this version's schema (False when it says another or cannot be read)."""
        try:
            cur.execute(self._q("SELECT value FROM af_meta WHERE key = ?"), ("schema",))
            found = cur.fetchone()
        except Exception:  # no af_meta: left to _check_schema's message
            return False
        return found is not None and found[0] == SCHEMA_VERSION

    def _upgrade(self, cur: Cursor) -> bool:
        """Schema 1 to 2: the index digest columns (filled by ``store reindex``, which asks for this); 2 to 3: the
        timer table ``af_timers``, empty (a case of a version-2 store cannot wait on a timer: they were refused);
        3 to 4: the worklist tables ``af_todo`` and ``af_done``, filled by ``store reindex`` (which asks for this),
        and the process registry's tables and the API keys' table, empty.
        True when the store is now of this version's schema (else _check_schema says why not: a newer store is
        never touched)."""
        try:
            cur.execute(self._q("SELECT value FROM af_meta WHERE key = ?"), ("schema",))
            found = cur.fetchone()
        except Exception:  # no af_meta: left to _check_schema's message
            return False
        if found is None or found[0] not in ("1", "2", "3"):
            return found is not None and found[0] == SCHEMA_VERSION
        self.upgraded_from = str(found[0])
        if found[0] == "1":
            for column in _UPGRADE_1_2:
                cur.execute(f"ALTER TABLE af_cases ADD COLUMN {column}")
            for statement in SCHEMA:
                if "af_cases_next_yellow" in statement or "af_cases_first_anomaly" in statement:
                    cur.execute(statement)
        if found[0] in ("1", "2"):
            for statement in _TIMERS_TABLE:  # 2 to 3: no case of a version-2 store waits on a timer (they were refused)
                cur.execute(self._ddl(statement))
        for statement in REGISTRY_TABLES:  # 3 to 4: the process registry, empty (nothing was deployed)
            cur.execute(statement)
        for statement in _WORKLIST_TABLES:  # 3 to 4: the worklists, filled by the reindex that follows an upgrade
            cur.execute(self._ddl(statement))
        for statement in KEYS_TABLE:  # 3 to 4: the service's API keys, none yet
            cur.execute(statement)
        cur.execute(self._q("UPDATE af_meta SET value = ? WHERE key = ?"), (SCHEMA_VERSION, "schema"))
        return True

    def _tables_query(self) -> str:
        """A FROM clause counting the store's tables that exist (SQLite and PostgreSQL differ)."""
        raise NotImplementedError

    def _check_schema(self) -> None:
        """The store has its schema version and every table and column this version reads: else StoreError.

        The version is read first, so that a store of an older version is told how to upgrade it."""
        with self._read("table af_meta") as cur:
            cur.execute(self._q("SELECT value FROM af_meta WHERE key = ?"), ("schema",))
            found = cur.fetchone()
        version = None if found is None else found[0]
        if version != SCHEMA_VERSION:
            hint = ""
            if version in ("2", "3"):
                hint = "; run 'approvalflow store upgrade' (or 'store reindex') with this version to upgrade it"
            elif version == "1":
                hint = "; run 'approvalflow store reindex' with this version to upgrade it (its index is rebuilt)"
            elif isinstance(version, str) and version.isdigit() and int(version) > int(SCHEMA_VERSION):
                hint = "; it was written by a newer approvalflow: use that version (a store is never downgraded)"
            raise StoreError(
                f"table af_meta: schema version {_clip(repr(version))}, this approvalflow reads version "
                f"{SCHEMA_VERSION!r}{hint}",
                file=self.url,
            )
        for table, columns in TABLES.items():
            with self._read(f"table {table}") as cur:
                cur.execute(f"SELECT {columns} FROM {table} WHERE 1 = 0")
                cur.fetchall()

    def _damaged(self, table: str, row: Sequence[Any], exc: Damaged, key: str = "") -> StoreError:
        case = row[0] if row and isinstance(row[0], str) else None
        where = (
            f"table {table}" + (f", {key}" if key else "") + ("" if case else f", row {_clip(repr(tuple(row)), 60)}")
        )
        return StoreError(f"{where}: damaged row: {exc}", case=case, file=self.url)

    def _record(self, row: Sequence[Any]) -> CaseRecord:
        try:
            return record_from_row(row)
        except Damaged as exc:
            raise self._damaged("af_cases", row, exc) from None

    def _deadline(self, row: Sequence[Any]) -> DeadlineEntry:
        try:
            return deadline_from_row(row)
        except Damaged as exc:
            raise self._damaged(
                "af_deadlines", row, exc, f"ordinal {_clip(repr(row[1]))}" if len(row) > 1 else ""
            ) from None

    def _anomaly(self, row: Sequence[Any]) -> AnomalyEntry:
        try:
            return anomaly_from_row(row)
        except Damaged as exc:
            raise self._damaged(
                "af_anomalies", row, exc, f"seq {_clip(repr(row[1]))}" if len(row) > 1 else ""
            ) from None

    # -- writing ------------------------------------------------------------------------------------------

    def _written(self) -> dict[str, tuple[int, str, Rows]]:
        """The index rows this handle last wrote for each case it saved: ``(version, index_seal, rows)``."""
        kept: dict[str, tuple[int, str, Rows]] | None = self.__dict__.get("_kept_rows")
        if kept is None:
            kept = self.__dict__["_kept_rows"] = {}
        return kept

    def _write_children(self, cur: Cursor, rows: Rows, prior: Rows | None = None) -> None:
        """Make the case's index rows those of ``rows``: every row deleted and inserted, or, with ``prior`` (the rows
        this handle wrote for the version being replaced, whose case row it found unchanged), only the rows that
        differ from those; the worklist rows kept then get the new version in one ``UPDATE`` (no index holds it).
        The 待办 rows are always rewritten: they depend on the organisation, which the case row's seal does not
        cover. Either way the case then has exactly the rows of ``rows``."""
        case_id, version = rows[0][0], rows[0][1]
        for n, (table, key, columns, versioned) in enumerate(_CHILD_SPECS, start=1):
            new = rows[n]
            old = prior[n] if prior is not None and table != "af_todo" else None
            fresh: Sequence[tuple[Any, ...]]
            if old is None:
                cur.execute(self._q(f"DELETE FROM {table} WHERE case_id = ?"), (case_id,))
                fresh = new
            else:
                stale, fresh, renumber = _changes(old, new, versioned)
                if stale is None:
                    if old:
                        cur.execute(self._q(f"DELETE FROM {table} WHERE case_id = ?"), (case_id,))
                elif stale:
                    query = self._q(f"DELETE FROM {table} WHERE case_id = ? AND {key} = ?")
                    cur.executemany(query, [(case_id, k) for k in stale])
                if renumber:  # the rows kept, tied to the case row by its version
                    cur.execute(self._q(f"UPDATE {table} SET version = ? WHERE case_id = ?"), (version, case_id))
            if fresh:
                marks = self._marks(len(fresh[0]))
                cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", fresh)

    def _insert_children(self, cur: Cursor, records: Sequence[Rows]) -> None:
        deadlines = [row for r in records for row in r[1]]
        anomalies = [row for r in records for row in r[2]]
        timers = [row for r in records for row in r[3]]
        if timers:
            cur.executemany(f"INSERT INTO af_timers ({TABLES['af_timers']}) VALUES ({self._marks(4)})", timers)
        if deadlines:
            cur.executemany(f"INSERT INTO af_deadlines ({_DEADLINE_COLUMNS}) VALUES ({self._marks(12)})", deadlines)
        if anomalies:
            cur.executemany(f"INSERT INTO af_anomalies ({_ANOMALY_COLUMNS}) VALUES ({self._marks(11)})", anomalies)
        todo = [row for r in records for row in r[4]]
        if todo:
            cur.executemany(f"INSERT INTO af_todo ({_TODO_COLUMNS}) VALUES ({self._marks(19)})", todo)
        done = [row for r in records for row in r[5]]
        if done:
            cur.executemany(f"INSERT INTO af_done ({_DONE_COLUMNS}) VALUES ({self._marks(11)})", done)

    def _row(self, record: CaseRecord, version: int) -> Rows:
        return _rows_of(record, version, self.key)

    def insert(self, record: CaseRecord) -> CaseRecord:
        rows = self._row(record, 1)
        self._written().pop(record.id, None)
        try:
            with self._tx() as cur:
                cur.execute(f"INSERT INTO af_cases ({_CASE_COLUMNS}) VALUES ({self._marks(21)})", rows[0])
                self._insert_children(cur, [rows])
        except Exception as exc:
            if self._is_duplicate(exc):
                raise ConflictError("a case with this id is already stored", case=record.id) from None
            raise
        self._remember(record.id, rows)
        return record.with_version(1)

    def update(self, record: CaseRecord, *, expected: int) -> CaseRecord:
        self._replace(record, expected=expected, version=expected + 1)
        return record.with_version(expected + 1)

    def reindex(self, record: CaseRecord, *, expected: int) -> CaseRecord:
        """Rewrite a case's index columns and rows (and state, unchanged) keeping its version: ``store reindex``.

        :class:`ConflictError` if the stored version is no longer ``expected`` (a writer saved it meanwhile).
        """
        self._replace(record, expected=expected, version=expected)
        return record.with_version(expected)

    def _replace(self, record: CaseRecord, *, expected: int, version: int) -> None:
        rows = self._row(record, version)
        row = rows[0]
        written = self._written()
        kept = written.pop(record.id, None)  # trusted again only once this write has committed
        # the rows written at ``expected`` by this handle, unless a reindex (which keeps the version; it is always a
        # full rewrite) or anyone else changed them since: the case row's seal, over its index columns and its
        # deadline and anomaly rows, is then still the one written with them
        trusted = kept is not None and kept[0] == expected and version != expected and self.rows_kept > 0
        prior = kept[2] if trusted and kept is not None else None
        with self._tx() as cur:
            if prior is not None and kept is not None:
                # only the columns that changed: an index of af_cases none of whose columns is set is not touched
                changed = [n for n in range(1, len(row)) if n >= len(prior[0]) or prior[0][n] != row[n]]
                sets = ", ".join(f"{_CASE_NAMES[n]} = {self.placeholder}" for n in changed)
                query = f"UPDATE af_cases SET {sets} WHERE id = ? AND version = ? AND index_seal = ?"
                cur.execute(self._q(query), (*(row[n] for n in changed), record.id, expected, kept[1]))
                if cur.rowcount != 1:
                    prior = None
            if prior is None:
                cur.execute(self._q(_UPDATE_CASE), (*row[1:], record.id, expected))
            if cur.rowcount != 1:
                cur.execute(self._q("SELECT version FROM af_cases WHERE id = ?"), (record.id,))
                found = cur.fetchone()
                raise ConflictError(
                    f"the case was saved by someone else (read at version {expected}, the store has "
                    f"{'no such case' if found is None else 'version ' + str(found[0])}); reload it and try again",
                    case=record.id,
                    expected=expected,
                )
            self._write_children(cur, rows, prior)
        self._remember(record.id, rows)

    def _remember(self, case_id: str, rows: Rows) -> None:
        """Keep the rows just committed for the case (at most :attr:`rows_kept` cases, the oldest dropped first);
        the case row without its state (large, and written at every save anyway)."""
        written = self._written()
        written[case_id] = (rows[0][1], rows[0][19], (rows[0][:20], *rows[1:]))
        while len(written) > self.rows_kept:
            del written[next(iter(written))]

    def delete_orphans(self) -> int:
        """Delete index rows whose case row does not exist (``store reindex``); returns how many."""
        n = 0
        with self._tx() as cur:
            for table, _ in CHILD_TABLES:
                cur.execute(f"DELETE FROM {table} WHERE case_id NOT IN (SELECT id FROM af_cases)")
                n += max(cur.rowcount, 0)
        return n

    def insert_many(self, records: Iterable[CaseRecord]) -> int:
        total, chunk = 0, []
        for record in records:
            chunk.append(record)
            if len(chunk) >= self.batch:
                total += self._insert_chunk(chunk)
                chunk = []
        return total + (self._insert_chunk(chunk) if chunk else 0)

    def _insert_chunk(self, chunk: Sequence[CaseRecord]) -> int:
        rows = [self._row(r, 1) for r in chunk]
        written = self._written()
        for r in chunk:
            written.pop(r.id, None)
        try:
            with self._tx() as cur:
                cur.executemany(
                    f"INSERT INTO af_cases ({_CASE_COLUMNS}) VALUES ({self._marks(21)})", [r[0] for r in rows]
                )
                self._insert_children(cur, rows)
        except Exception as exc:
            if self._is_duplicate(exc):
                raise ConflictError(
                    "one of the cases is already stored; nothing of this batch was written", case=chunk[0].id
                ) from None
            raise
        return len(chunk)

    # -- reading ------------------------------------------------------------------------------------------

    def get(self, case_id: str) -> CaseRecord:
        with self._read(f"case {case_id}") as cur:
            cur.execute(self._q(f"SELECT {_CASE_COLUMNS} FROM af_cases WHERE id = ?"), (case_id,))
            row = cur.fetchone()
            if row is None:
                raise StoreError(f"no such case in the store {self.url}", case=case_id)
            where = " WHERE case_id = ? ORDER BY "
            cur.execute(self._q(f"SELECT {_DEADLINE_COLUMNS} FROM af_deadlines{where}ordinal"), (case_id,))
            deadlines = cur.fetchall()
            cur.execute(self._q(f"SELECT {_ANOMALY_COLUMNS} FROM af_anomalies{where}seq"), (case_id,))
            anomalies = cur.fetchall()
        record = self._record(row)
        return replace(
            record,
            deadlines=tuple(self._deadline(r) for r in deadlines),
            anomalies=tuple(self._anomaly(r) for r in anomalies),
        )

    def raw_case(self, case_id: str) -> tuple[Any, list[Any], list[Any]]:
        """The stored rows of a case as they are (``af_cases`` row or None, deadline rows, anomaly rows)."""
        with self._read(f"case {case_id}") as cur:
            cur.execute(self._q(f"SELECT {_CASE_COLUMNS} FROM af_cases WHERE id = ?"), (case_id,))
            row = cur.fetchone()
            where = " WHERE case_id = ? ORDER BY "
            cur.execute(self._q(f"SELECT {_DEADLINE_COLUMNS} FROM af_deadlines{where}ordinal"), (case_id,))
            deadlines = cur.fetchall()
            cur.execute(self._q(f"SELECT {_ANOMALY_COLUMNS} FROM af_anomalies{where}seq"), (case_id,))
            anomalies = cur.fetchall()
        return row, deadlines, anomalies

    def raw_timers(self, case_id: str) -> list[Any]:
        """The stored ``af_timers`` rows of a case as they are, in ordinal order."""
        with self._read(f"case {case_id}") as cur:
            query = f"SELECT {TABLES['af_timers']} FROM af_timers WHERE case_id = ? ORDER BY ordinal"
            cur.execute(self._q(query), (case_id,))
            return list(cur.fetchall())

    def raw_worklists(self, case_id: str) -> tuple[list[Any], list[Any]]:
        """The stored ``af_todo`` rows (in ordinal order) and ``af_done`` rows (in seq order) of a case, as they are."""
        with self._read(f"case {case_id}") as cur:
            cur.execute(self._q(f"SELECT {_TODO_COLUMNS} FROM af_todo WHERE case_id = ? ORDER BY ordinal"), (case_id,))
            todo = list(cur.fetchall())
            cur.execute(self._q(f"SELECT {_DONE_COLUMNS} FROM af_done WHERE case_id = ? ORDER BY seq"), (case_id,))
            done = list(cur.fetchall())
        return todo, done

    def raw_ids(self) -> list[Any]:
        """Every ``id`` of ``af_cases`` as stored (even when not text), and ``case_id`` of index rows without one."""
        with self._read("table af_cases") as cur:
            cur.execute("SELECT id FROM af_cases ORDER BY id")
            ids = [r[0] for r in cur.fetchall()]
        return ids

    def integrity_check(self) -> list[str]:
        """What the database engine itself finds wrong with its files (SQLite ``quick_check``); [] when fine."""
        return []

    def orphans(self) -> list[tuple[str, Any, Any]]:
        """Index rows whose case row does not exist: ``(table, case_id, ordinal or seq)`` each."""
        found: list[tuple[str, Any, Any]] = []
        for table, key in CHILD_TABLES:
            with self._read(f"table {table}") as cur:
                cur.execute(
                    f"SELECT case_id, {key} FROM {table} WHERE case_id NOT IN (SELECT id FROM af_cases) "
                    f"ORDER BY case_id, {key}"
                )
                found += [(table, r[0], r[1]) for r in cur.fetchall()]
        return found

    def ids(self, status: Status | None = None) -> list[str]:
        with self._read("table af_cases") as cur:
            if status is None:
                cur.execute("SELECT id FROM af_cases ORDER BY id")
            else:
                cur.execute(self._q("SELECT id FROM af_cases WHERE status = ? ORDER BY id"), (status,))
            rows = cur.fetchall()
        for r in rows:
            if not isinstance(r[0], str):
                raise StoreError(
                    f"table af_cases: damaged row: column id: expected text, found {_kind(r[0])}", file=self.url
                )
        return [r[0] for r in rows]

    def count(self, status: Status | None = None) -> int:
        with self._read("table af_cases") as cur:
            if status is None:
                cur.execute("SELECT count(*) FROM af_cases")
            else:
                cur.execute(self._q("SELECT count(*) FROM af_cases WHERE status = ?"), (status,))
            return int(cur.fetchone()[0])

    # -- reading index rows, tied to their cases ------------------------------------------------------------

    def _plain(self, table: str, row: Sequence[Any], convert: Any) -> None:
        """Every cell is text, an integer or NULL (what can be hashed); otherwise the converter's error."""
        for value in row:
            if value is not None and type(value) is not str and type(value) is not int:
                convert(row)  # raises the StoreError naming the column
                raise self._damaged(table, row, Damaged("*", f"a cell of type {type(value).__name__}"))

    def _tied(
        self,
        heads: Sequence[Sequence[Any]],
        problems: list[IndexProblem] | None,
        *,
        deadlines: Sequence[Sequence[Any]] | None = None,
        anomalies: Sequence[Sequence[Any]] | None = None,
        until: int | None = None,
    ) -> set[str]:
        """The ids of the cases whose case row and rows read tie; the others are problems (raised without a list).

        Index rows read whose case is not among ``heads`` are problems too (a row the reader would use that no
        case row lists). Only what hashing needs is checked here (cells are text, integers or NULL); rows are
        converted, with every column checked, when they are returned.
        """
        by_case_d: dict[Any, list[Sequence[Any]]] = {}
        by_case_a: dict[Any, list[Sequence[Any]]] = {}
        for r in deadlines or ():
            if type(r[1]) is not int or type(r[7]) is not int:
                self._deadline(r)  # raises naming the column
            self._plain("af_deadlines", r, self._deadline)
            by_case_d.setdefault(r[0], []).append(r)
        for r in anomalies or ():
            if type(r[1]) is not int or type(r[3]) is not int:
                self._anomaly(r)
            self._plain("af_anomalies", r, self._anomaly)
            by_case_a.setdefault(r[0], []).append(r)
        good: set[str] = set()
        key = self.key
        for row in heads:
            self._plain("af_cases", row, self._record)
            try:
                _text(row[0], "id")
                _check_case_row(row)
            except Damaged as exc:
                raise self._damaged("af_cases", row, exc) from None
            case_id = row[0]
            d_rows = a_rows = None
            if deadlines is not None:
                d_rows = by_case_d.pop(case_id, [])
                if len(d_rows) > 1:
                    d_rows.sort(key=lambda r: r[1])
            if anomalies is not None:
                a_rows = by_case_a.pop(case_id, [])
                if len(a_rows) > 1:
                    a_rows.sort(key=lambda r: r[1])
            found = tie(
                _header(row),
                (row[14], row[15]),
                (row[16], row[17]),
                row[18],
                row[19],
                key,
                deadlines=d_rows,
                anomalies=a_rows,
                until=until,
            )
            if not found:
                good.add(case_id)
            else:
                self._diagnose(case_id)  # a damaged row of the case is an error naming it, not a mismatch
            for table, n, message in found:
                self._problem(IndexProblem(case_id, table, message, n), problems)
        for table, left in (("af_deadlines", by_case_d), ("af_anomalies", by_case_a)):
            for case_id in sorted(left, key=str):
                for r in sorted(left[case_id], key=lambda r: r[1]):
                    self._problem(
                        IndexProblem(
                            str(case_id),
                            table,
                            "an index row the sweep would read, but no case row lists it (case row missing or changed)",
                            r[1],
                        ),
                        problems,
                    )
        return good

    def _diagnose(self, case_id: str) -> None:
        """Read every index row of a case that does not tie; :class:`StoreError` naming a damaged one."""
        _, deadlines, anomalies = self.raw_case(case_id)
        for r in deadlines:
            self._deadline(r)
        for r in anomalies:
            self._anomaly(r)

    def _problem(self, problem: IndexProblem, problems: list[IndexProblem] | None) -> None:
        if problems is None:
            raise StoreError(
                f"{self.url}: the index does not tie to the case row: {problem.where}: {problem.message}",
                case=problem.case_id,
            )
        problems.append(problem)

    def _heads_sql(self, where: str) -> str:
        header = ", ".join(c.strip() for c in _HEADER_COLUMNS.split(","))
        return self._q(f"SELECT {header} FROM af_cases WHERE {where}")

    def due(self, at: datetime, *, problems: list[IndexProblem] | None = None) -> list[DeadlineEntry]:
        t = micros(at)
        with self._read("table af_deadlines") as cur:  # one snapshot: the case rows and the rows due
            cur.execute(self._heads_sql("next_yellow <= ?"), (t,))
            heads = cur.fetchall()
            cur.execute(self._q(f"SELECT {_DEADLINE_COLUMNS} FROM af_deadlines WHERE yellow_at <= ?"), (t,))
            rows = cur.fetchall()
        good = self._tied(heads, problems, deadlines=rows, until=t)
        return [self._deadline(r) for r in rows if r[0] in good]

    def moving(self, *, problems: list[IndexProblem] | None = None) -> list[CaseRecord]:
        where = "clock IS NOT NULL AND status IN ('open', 'suspended')"
        if self._moving_hint:
            return self._moving_hinted(where, problems)
        with self._read("table af_cases") as cur:
            cur.execute(self._heads_sql(where))
            heads = cur.fetchall()
        good = self._tied(heads, problems)
        return sorted((self._record(r) for r in heads if r[0] in good), key=lambda r: r.id)

    def _moving_hinted(self, where: str, problems: list[IndexProblem] | None) -> list[CaseRecord]:
        # restrict to the partial index's ids first (the planner would otherwise scan the status index)
        with self._read("table af_cases") as cur:
            cur.execute(f"SELECT id FROM af_cases {self._moving_hint} WHERE {where}")
            ids = [r[0] for r in cur.fetchall()]
        out: list[CaseRecord] = []
        for n in range(0, len(ids), 500):
            chunk = ids[n : n + 500]
            marks = ", ".join("?" * len(chunk))
            with self._read("table af_cases") as cur:
                cur.execute(self._heads_sql(f"{where} AND id IN ({marks})"), chunk)
                heads = cur.fetchall()
            good = self._tied(heads, problems)
            out += [self._record(r) for r in heads if r[0] in good]
        return sorted(out, key=lambda r: r.id)

    def anomalies(
        self, until: datetime | None = None, *, problems: list[IndexProblem] | None = None
    ) -> list[AnomalyEntry]:
        t = None if until is None else micros(until)
        with self._read("table af_anomalies") as cur:  # one snapshot: the case rows and the rows up to t
            if t is None:
                cur.execute(self._heads_sql("first_anomaly IS NOT NULL"))
                heads = cur.fetchall()
                cur.execute(f"SELECT {_ANOMALY_COLUMNS} FROM af_anomalies")
            else:
                cur.execute(self._heads_sql("first_anomaly <= ?"), (t,))
                heads = cur.fetchall()
                cur.execute(self._q(f"SELECT {_ANOMALY_COLUMNS} FROM af_anomalies WHERE at <= ?"), (t,))
            rows = cur.fetchall()
        good = self._tied(heads, problems, anomalies=rows, until=t)
        chosen = sorted((r for r in rows if r[0] in good), key=lambda r: (r[0], r[1]))
        return [self._anomaly(r) for r in chosen]

    def _iterate(
        self, columns: str, problems: list[IndexProblem] | None, *, after: str = "", where: str = "",
        params: tuple[Any, ...] = (), batch: int = 1000,
    ) -> Iterator[CaseRecord]:  # fmt: skip
        last = after
        while True:  # keyset pagination: no cursor held open between pages
            with self._read("table af_cases") as cur:
                query = f"SELECT {columns} FROM af_cases WHERE id > ?{where} ORDER BY id LIMIT {int(batch)}"
                cur.execute(self._q(query), (last, *params))
                rows = cur.fetchall()
            if not rows:
                return
            for row in rows:
                stuck = row[0] <= last if self._codepoint_ids else row[0] == last
                if not isinstance(row[0], str) or stuck:  # a damaged b-tree can loop: demand progress
                    raise StoreError(
                        f"table af_cases is damaged: its rows do not come in order of id (after "
                        f"{last[:40]!r}); run 'approvalflow store check' (SQLite: PRAGMA quick_check)",
                        file=self.url,
                    )
                last = row[0]
                record = self._record(row)
                try:
                    _check_case_row(row)
                except Damaged as exc:
                    raise self._damaged("af_cases", row, exc) from None
                problem = check_seal(_header(row), row[18], row[19], self.key)
                if problem:
                    self._problem(IndexProblem(record.id, "af_cases", problem), problems)
                    continue
                yield record

    def timers_due(self, at: datetime) -> list[str]:
        """The ids of the cases with a timer due by ``at``: one range query on the ``af_timers`` index."""
        with self._read("table af_timers") as cur:
            query = "SELECT DISTINCT case_id FROM af_timers WHERE due <= ? ORDER BY case_id"
            cur.execute(self._q(query), (micros(at),))
            found = cur.fetchall()
        return [str(row[0]) for row in found]

    # -- worklists ---------------------------------------------------------------------------------------------

    def _worklist(
        self, table: str, columns: str, order: str, person: str, limit: int | None, offset: int,
        where: str = "", params: tuple[Any, ...] = (),
    ) -> list[tuple[Sequence[Any], Any, Any]]:  # fmt: skip
        """A person's rows of ``af_todo`` or ``af_done``, in ``order``, each with its case row's version and status
        (None when the case row is missing): one range scan of the person's index and a lookup of each case.
        ``where`` (with its ``params``) adds conditions on the rows of that range."""
        page(person, limit, offset)
        cols = ", ".join(f"w.{c.strip()}" for c in columns.split(","))
        no_limit = " LIMIT -1" if offset and self.placeholder == "?" else ""  # SQLite: OFFSET only after a LIMIT
        bounds = f" LIMIT {limit}" if limit is not None else no_limit
        bounds += f" OFFSET {offset}" if offset else ""
        query = (
            f"SELECT {cols}, c.version, c.status FROM {table} w LEFT JOIN af_cases c ON c.id = w.case_id "
            f"WHERE w.person = ?{where} ORDER BY {order}{bounds}"
        )
        with self._read(f"table {table}") as cur:
            cur.execute(self._q(query), (person, *params))
            found = cur.fetchall()
        return [(r[:-2], r[-2], r[-1]) for r in found]

    def _worklist_tie(
        self, table: str, row: Sequence[Any], version: Any, status: Any, problems: list[IndexProblem] | None,
        *, open_only: bool,
    ) -> bool:  # fmt: skip
        """Whether a worklist row ties to its case row (same version; an open case for a 待办); else a problem."""
        message = None
        if version is None:
            message = "row of a case the store does not have"
        elif row[2] != version:
            message = f"row written with version {_clip(repr(row[2]))}, the case row is at version {version}"
        elif open_only and status not in TODO_STATUSES:
            message = f"a 待办 row of a case that is not open (status {_clip(repr(status))})"
        if message is None:
            return True
        case_id = row[0] if isinstance(row[0], str) else repr(row[0])
        self._problem(IndexProblem(case_id, table, message, row[1] if type(row[1]) is int else None), problems)
        return False

    def todo(
        self,
        person: str,
        *,
        at: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
        problems: list[IndexProblem] | None = None,
    ) -> list[TodoEntry]:
        """The person's 待办 (see :meth:`approvalflow.store.base.CaseStore.todo`): the person's index range."""
        moment = datetime.now(SHANGHAI) if at is None else at
        now = micros(moment)  # a naive moment is refused
        order = "w.due_key, w.ready_since, w.case_id, w.ordinal"
        # a proxy's row (委托) only within its period; a damaged one (some of the three null, an empty period) is
        # listed, and refused by name
        where = (
            " AND (w.on_behalf_of IS NULL OR w.valid_from IS NULL OR w.valid_to IS NULL OR w.valid_to <= w.valid_from"
            " OR (w.valid_from <= ? AND w.valid_to > ?))"
        )
        out = []
        rows = self._worklist("af_todo", _TODO_COLUMNS, order, person, limit, offset, where, (now, now))
        for row, version, status in rows:
            try:
                entry = todo_from_row(row)
            except Damaged as exc:
                raise self._damaged("af_todo", row, exc, f"ordinal {_clip(repr(row[1]))}") from None
            if self._worklist_tie("af_todo", row, version, status, problems, open_only=True):
                out.append(replace(entry, level=entry.level_at(moment)))
        return out

    def done(
        self,
        person: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        problems: list[IndexProblem] | None = None,
    ) -> list[DoneEntry]:
        """The person's 已办, most recent first (see :meth:`approvalflow.store.base.CaseStore.done`)."""
        order = "w.at DESC, w.case_id DESC, w.seq DESC"
        out = []
        for row, version, status in self._worklist("af_done", _DONE_COLUMNS, order, person, limit, offset):
            try:
                entry = done_from_row(row)
            except Damaged as exc:
                raise self._damaged("af_done", row, exc, f"seq {_clip(repr(row[1]))}") from None
            if self._worklist_tie("af_done", row, version, status, problems, open_only=False):
                out.append(replace(entry, status=status))
        return out

    def summaries(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        return self._iterate(_HEADER_COLUMNS, problems)

    def records(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        return self._iterate(_CASE_COLUMNS, problems)

    def records_where(
        self,
        equal: Mapping[str, str],
        *,
        after: str = "",
        batch: int = 1000,
        problems: list[IndexProblem] | None = None,
    ) -> Iterator[CaseRecord]:
        """The cases whose index columns ``unit``, ``status``, ``process``, ``power`` have the values of ``equal``, with
        their state, in order of id from the first id after ``after``, read ``batch`` rows at a time (keyset pages
        of the primary key; ``af_cases_status`` serves a status filter); their case rows sealed like
        :meth:`records`."""
        unknown = set(equal) - {"unit", "status", "process", "power"}
        if unknown:
            raise InvalidInputError(f"cases are selected by unit, status, process and power, not {sorted(unknown)}")
        names = sorted(equal)
        where = "".join(f" AND {name} = ?" for name in names)
        return self._iterate(_CASE_COLUMNS, problems, after=after, where=where,
                             params=tuple(equal[n] for n in names), batch=max(1, min(batch, 1000)))  # fmt: skip
