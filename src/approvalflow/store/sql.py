"""What the SQL stores share: the schema, rows to and from records, and the queries.

The schema has three tables: ``af_cases`` (one row a case: index columns, trail head, summary, state),
``af_deadlines`` (one row an open deadline, indexed on the moment it turns yellow) and ``af_anomalies``
(indexed on the moment). Moments that queries compare are integer microseconds since the epoch.
Each write is one transaction; an update changes the case row only where ``version`` is the one read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Protocol

from ..periods import SHANGHAI
from ..trail import TrailHead
from .base import AnomalyEntry, CaseRecord, ConflictError, DeadlineEntry, Status, from_micros, micros

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Cursor", "SqlStoreBase"]

SCHEMA_VERSION = "1"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS af_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS af_cases (id TEXT PRIMARY KEY, version INTEGER NOT NULL, process TEXT NOT NULL,"
    " digest TEXT NOT NULL, power TEXT, unit TEXT NOT NULL, status TEXT NOT NULL, steps TEXT NOT NULL,"
    " started_at TEXT NOT NULL, ended_at TEXT, trail_hash TEXT NOT NULL, trail_count INTEGER NOT NULL,"
    " clock TEXT, summary TEXT NOT NULL, state TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS af_cases_status ON af_cases (status, unit, power)",
    "CREATE INDEX IF NOT EXISTS af_cases_moving ON af_cases (id) WHERE clock IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS af_deadlines (case_id TEXT NOT NULL, ordinal INTEGER NOT NULL, scope TEXT NOT NULL,"
    " lim TEXT NOT NULL, task TEXT, day TEXT NOT NULL, end_at BIGINT NOT NULL, yellow_at BIGINT NOT NULL,"
    " unit TEXT NOT NULL, power TEXT, posts TEXT NOT NULL, people TEXT NOT NULL, PRIMARY KEY (case_id, ordinal))",
    "CREATE INDEX IF NOT EXISTS af_deadlines_yellow ON af_deadlines (yellow_at)",
    "CREATE TABLE IF NOT EXISTS af_anomalies (case_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
    " at BIGINT NOT NULL, at_text TEXT NOT NULL, step TEXT, actor TEXT, rules TEXT NOT NULL, unit TEXT NOT NULL,"
    " power TEXT, detail TEXT NOT NULL, PRIMARY KEY (case_id, seq))",
    "CREATE INDEX IF NOT EXISTS af_anomalies_at ON af_anomalies (at)",
)
_CASE_COLUMNS = (
    "id, version, process, digest, power, unit, status, steps, started_at, ended_at, trail_hash, trail_count,"
    " clock, summary, state"
)
_DEADLINE_COLUMNS = "case_id, ordinal, scope, lim, task, day, end_at, yellow_at, unit, power, posts, people"
_ANOMALY_COLUMNS = "case_id, seq, kind, at, at_text, step, actor, rules, unit, power, detail"


class Cursor(Protocol):
    """The part of a DB-API cursor the stores use."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


def _case_row(r: CaseRecord, version: int) -> tuple[Any, ...]:
    return (
        r.id,
        version,
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
        json.dumps(r.clock, ensure_ascii=False) if r.clock is not None else None,
        json.dumps(r.summary, ensure_ascii=False),
        r.state,
    )


def _deadline_rows(r: CaseRecord) -> list[tuple[Any, ...]]:
    return [
        (
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
        for d in r.deadlines
    ]


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


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split()) if text else ()


def record_from_row(row: Sequence[Any]) -> CaseRecord:
    """A :class:`CaseRecord` (without deadlines and anomalies) from an ``af_cases`` row."""
    return CaseRecord(
        id=row[0],
        version=int(row[1]),
        process=row[2],
        digest=row[3],
        power=row[4],
        unit=row[5],
        status=row[6],
        steps=_split(row[7]),
        started_at=datetime.fromisoformat(row[8]),
        ended_at=datetime.fromisoformat(row[9]) if row[9] else None,
        trail_head=TrailHead(row[10], int(row[11])),
        clock=json.loads(row[12]) if row[12] else None,
        summary=json.loads(row[13]),
        state=row[14] or "",
    )


def deadline_from_row(row: Sequence[Any]) -> DeadlineEntry:
    return DeadlineEntry(
        row[0],
        int(row[1]),
        row[2],
        row[3],
        row[4],
        date.fromisoformat(row[5]),
        from_micros(int(row[6])).astimezone(SHANGHAI),
        from_micros(int(row[7])).astimezone(SHANGHAI),
        row[8],
        row[9],
        _split(row[10]),
        _split(row[11]),
    )


def anomaly_from_row(row: Sequence[Any]) -> AnomalyEntry:
    return AnomalyEntry(
        row[0], row[2], datetime.fromisoformat(row[4]), row[5], row[6], _split(row[7]), row[8], row[9], row[10]
    )


class SqlStoreBase:
    """The queries of a SQL case store; subclasses give the transactions, placeholders and errors."""

    url: str
    placeholder = "?"
    batch = 5000
    #: How ``moving()`` reaches the few cases with a moving clock; SQLite without statistics would otherwise pick
    #: the status index and read every open case (a sweep over a million cases then took seconds).
    _moving_hint = ""

    def _tx(self) -> AbstractContextManager[Cursor]:  # one transaction, a cursor in it
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Cursor]:  # a cursor for reading
        raise NotImplementedError

    def _is_duplicate(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def _q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _marks(self, n: int) -> str:
        return ", ".join([self.placeholder] * n)

    def _create(self) -> None:
        with self._tx() as cur:
            for statement in SCHEMA:
                cur.execute(statement)
            cur.execute(self._q("SELECT value FROM af_meta WHERE key = ?"), ("schema",))
            if cur.fetchone() is None:
                cur.execute(self._q("INSERT INTO af_meta (key, value) VALUES (?, ?)"), ("schema", SCHEMA_VERSION))

    def _write_children(self, cur: Cursor, record: CaseRecord) -> None:
        cur.execute(self._q("DELETE FROM af_deadlines WHERE case_id = ?"), (record.id,))
        cur.execute(self._q("DELETE FROM af_anomalies WHERE case_id = ?"), (record.id,))
        self._insert_children(cur, [record])

    def _insert_children(self, cur: Cursor, records: Sequence[CaseRecord]) -> None:
        deadlines = [row for r in records for row in _deadline_rows(r)]
        anomalies = [row for r in records for row in _anomaly_rows(r)]
        if deadlines:
            cur.executemany(f"INSERT INTO af_deadlines ({_DEADLINE_COLUMNS}) VALUES ({self._marks(12)})", deadlines)
        if anomalies:
            cur.executemany(f"INSERT INTO af_anomalies ({_ANOMALY_COLUMNS}) VALUES ({self._marks(11)})", anomalies)

    def insert(self, record: CaseRecord) -> CaseRecord:
        try:
            with self._tx() as cur:
                cur.execute(f"INSERT INTO af_cases ({_CASE_COLUMNS}) VALUES ({self._marks(15)})", _case_row(record, 1))
                self._insert_children(cur, [record])
        except Exception as exc:
            if self._is_duplicate(exc):
                raise ConflictError("a case with this id is already stored", case=record.id) from None
            raise
        return record.with_version(1)

    def update(self, record: CaseRecord, *, expected: int) -> CaseRecord:
        row = _case_row(record, expected + 1)
        sets = ", ".join(f"{c.strip()} = {self.placeholder}" for c in _CASE_COLUMNS.split(",")[1:])
        with self._tx() as cur:
            cur.execute(
                self._q(f"UPDATE af_cases SET {sets} WHERE id = ? AND version = ?"), (*row[1:], record.id, expected)
            )
            if cur.rowcount != 1:
                cur.execute(self._q("SELECT version FROM af_cases WHERE id = ?"), (record.id,))
                found = cur.fetchone()
                raise ConflictError(
                    f"the case was saved by someone else (read at version {expected}, the store has "
                    f"{'no such case' if found is None else 'version ' + str(found[0])}); reload it and try again",
                    case=record.id,
                    expected=expected,
                )
            self._write_children(cur, record)
        return record.with_version(expected + 1)

    def insert_many(self, records: Iterable[CaseRecord]) -> int:
        total, chunk = 0, []
        for record in records:
            chunk.append(record)
            if len(chunk) >= self.batch:
                total += self._insert_chunk(chunk)
                chunk = []
        return total + (self._insert_chunk(chunk) if chunk else 0)

    def _insert_chunk(self, chunk: Sequence[CaseRecord]) -> int:
        try:
            with self._tx() as cur:
                cur.executemany(
                    f"INSERT INTO af_cases ({_CASE_COLUMNS}) VALUES ({self._marks(15)})",
                    [_case_row(r, 1) for r in chunk],
                )
                self._insert_children(cur, chunk)
        except Exception as exc:
            if self._is_duplicate(exc):
                raise ConflictError(
                    "one of the cases is already stored; nothing of this batch was written", case=chunk[0].id
                ) from None
            raise
        return len(chunk)

    def get(self, case_id: str) -> CaseRecord:
        from .base import StoreError

        with self._read() as cur:
            cur.execute(self._q(f"SELECT {_CASE_COLUMNS} FROM af_cases WHERE id = ?"), (case_id,))
            row = cur.fetchone()
            if row is None:
                raise StoreError(f"no such case in the store {self.url}", case=case_id)
            where = " WHERE case_id = ? ORDER BY "
            cur.execute(self._q(f"SELECT {_DEADLINE_COLUMNS} FROM af_deadlines{where}ordinal"), (case_id,))
            deadlines = tuple(deadline_from_row(r) for r in cur.fetchall())
            cur.execute(self._q(f"SELECT {_ANOMALY_COLUMNS} FROM af_anomalies{where}seq"), (case_id,))
            anomalies = tuple(anomaly_from_row(r) for r in cur.fetchall())
        return replace(record_from_row(row), deadlines=deadlines, anomalies=anomalies)

    def ids(self, status: Status | None = None) -> list[str]:
        with self._read() as cur:
            if status is None:
                cur.execute("SELECT id FROM af_cases ORDER BY id")
            else:
                cur.execute(self._q("SELECT id FROM af_cases WHERE status = ? ORDER BY id"), (status,))
            return [r[0] for r in cur.fetchall()]

    def count(self, status: Status | None = None) -> int:
        with self._read() as cur:
            if status is None:
                cur.execute("SELECT count(*) FROM af_cases")
            else:
                cur.execute(self._q("SELECT count(*) FROM af_cases WHERE status = ?"), (status,))
            return int(cur.fetchone()[0])

    def due(self, at: datetime) -> list[DeadlineEntry]:
        with self._read() as cur:
            cur.execute(self._q(f"SELECT {_DEADLINE_COLUMNS} FROM af_deadlines WHERE yellow_at <= ?"), (micros(at),))
            return [deadline_from_row(r) for r in cur.fetchall()]

    def moving(self) -> list[CaseRecord]:
        columns = _CASE_COLUMNS.replace("state", "''")
        with self._read() as cur:
            hint = self._moving_hint
            cur.execute(f"SELECT {columns} FROM af_cases {hint} WHERE clock IS NOT NULL AND status = 'open'")
            return [record_from_row(r) for r in cur.fetchall()]

    def anomalies(self, until: datetime | None = None) -> list[AnomalyEntry]:
        with self._read() as cur:
            sql = f"SELECT {_ANOMALY_COLUMNS} FROM af_anomalies"
            if until is None:
                cur.execute(sql + " ORDER BY case_id, seq")
            else:
                cur.execute(self._q(sql + " WHERE at <= ? ORDER BY case_id, seq"), (micros(until),))
            return [anomaly_from_row(r) for r in cur.fetchall()]

    def _iterate(self, columns: str) -> Iterator[CaseRecord]:
        last = ""
        while True:  # keyset pagination: no cursor held open between pages
            with self._read() as cur:
                cur.execute(self._q(f"SELECT {columns} FROM af_cases WHERE id > ? ORDER BY id LIMIT 1000"), (last,))
                rows = cur.fetchall()
            if not rows:
                return
            for row in rows:
                yield record_from_row(row)
            last = rows[-1][0]

    def summaries(self) -> Iterator[CaseRecord]:
        return self._iterate(_CASE_COLUMNS.replace("state", "''"))

    def records(self) -> Iterator[CaseRecord]:
        return self._iterate(_CASE_COLUMNS)
