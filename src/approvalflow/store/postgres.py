"""A case store on PostgreSQL (psycopg 3), for deployments where several application hosts share cases.

``psycopg`` is an optional dependency (``pip install approvalflow[postgres]``); it is imported only when a
``postgresql://`` store is opened, and its absence is a clear :class:`~approvalflow.store.base.StoreError`.
Transactions run at READ COMMITTED: a concurrent ``UPDATE ... WHERE version = ?`` waits for the first writer
and then finds the version changed, so exactly one of two writers of the same case succeeds.
:meth:`PostgresStore.claim` locks one case row with ``SELECT ... FOR UPDATE SKIP LOCKED`` for the length of a
transaction in which the case is read, fired and saved: the timers of a case are fired by one worker only
(:func:`~approvalflow.store.timers.fire_due`).
psycopg's errors never reach the caller.

A connection the server dropped (restarted, ``pg_terminate_backend``, a network cut) fails the operation that meets
it with :class:`~approvalflow.store.base.StoreUnavailable` (the HTTP service answers 503); the next operation
opens a new connection. While the server cannot be reached, new attempts are spaced by a backoff (0.5 s doubling
to 30 s): an operation in between fails at once with :class:`StoreUnavailable` rather than waiting for the connect
timeout again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .base import StoreError, StoreUnavailable, redact
from .sql import Cursor, SqlStoreBase

__all__ = ["CONNECT_TIMEOUT", "PostgresStore"]

#: Seconds to wait for the server when opening a store (an unreachable host fails after this long).
#: Raise it with ``PostgresStore(url, connect_timeout=N)`` or ``?connect_timeout=N`` in the URL.
CONNECT_TIMEOUT = 10
#: The first and the longest pause between two attempts to reconnect to a server that cannot be reached (seconds).
RECONNECT_BACKOFF = (0.5, 30.0)

_LOG = logging.getLogger("approvalflow.store.postgres")


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "a postgresql:// case store needs psycopg 3: pip install 'psycopg[binary]>=3.1' (or approvalflow[postgres])"
        ) from None
    return psycopg


class PostgresStore(SqlStoreBase):
    """A case store in a PostgreSQL database; the tables are created on first use unless opened ``readonly``.

    Read-only: every transaction of the session is ``READ ONLY`` (``default_transaction_read_only``) and the
    schema is only checked, never created. Each read runs in one ``REPEATABLE READ`` transaction (one snapshot).
    The URL's password never appears in a message or a repr (:func:`~approvalflow.store.base.redact`).
    """

    placeholder = "%s"

    def __init__(
        self,
        url: str,
        *,
        readonly: bool = False,
        key: bytes | None = None,
        upgrade: bool = False,
        connect_timeout: int | None = None,
    ) -> None:
        self._pg = _psycopg()
        self._secret_url = url
        self.url = redact(url)
        self.readonly = readonly
        self.key = key
        self.upgrade = upgrade
        self._conn: Any = None
        self._claiming = False
        self._closed = False
        self._backoff = 0.0
        self._retry_at = 0.0
        self._lost = ""
        self._connect_timeout = connect_timeout
        try:
            self._conn = self._connect(url, connect_timeout)
        except self._pg.Error as exc:
            self.close()
            raise StoreError(f"cannot open the case store ({self._message(exc)})", file=self.url) from None
        except Exception as exc:  # a URL psycopg cannot even parse (ProgrammingError is a psycopg.Error)
            self.close()
            raise StoreError(f"cannot open the case store ({self._message(exc)})", file=self.url) from None
        self._open_schema()

    def _connect(self, url: str, connect_timeout: int | None) -> Any:
        timeout = (
            {}
            if "connect_timeout=" in url and connect_timeout is None
            else {"connect_timeout": connect_timeout or CONNECT_TIMEOUT}
        )
        conn = self._pg.connect(url, autocommit=True, **timeout)
        if self.readonly:
            conn.execute("SET default_transaction_read_only = on")
        return conn

    def _live(self) -> Any:
        """The connection, opened again when the server dropped it (:class:`StoreUnavailable` when it cannot be,
        or when the last attempt failed less than the backoff ago)."""
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if self._closed:
            raise StoreError("the case store is closed", file=self.url)
        now = time.monotonic()
        if now < self._retry_at:
            raise StoreUnavailable(
                f"the case store's database cannot be reached ({self._lost}); the next attempt to reconnect is in "
                f"{self._retry_at - now:.1f} s",
                file=self.url,
            )
        if conn is not None:
            self._conn = None
            conn.close()
        try:
            self._conn = self._connect(self._secret_url, self._connect_timeout)
        except Exception as exc:  # psycopg.Error, or an OS error of the socket
            self._lost = self._message(exc)
            first, most = RECONNECT_BACKOFF
            self._backoff = min(most, self._backoff * 2 if self._backoff else first)
            self._retry_at = time.monotonic() + self._backoff
            _LOG.warning("%s: cannot reconnect (%s); next attempt in %.1f s", self.url, self._lost, self._backoff)
            raise StoreUnavailable(
                f"the case store's database cannot be reached ({self._lost}); next attempt in {self._backoff:.1f} s",
                file=self.url,
            ) from None
        if self._backoff or self._lost:
            _LOG.warning("%s: reconnected", self.url)
        self._backoff, self._retry_at, self._lost = 0.0, 0.0, ""
        return self._conn

    def _failure(self, exc: BaseException, what: str, case: str | None = None) -> StoreError:
        """The error of a failed operation: :class:`StoreUnavailable` when the connection was lost (the next
        operation reconnects), else :class:`StoreError` saying ``what`` failed."""
        message = self._message(exc)
        conn = self._conn
        lost = conn is None or conn.closed or conn.broken or isinstance(exc, self._pg.OperationalError)
        if lost:
            self._lost = message
            _LOG.warning("%s: the connection to the database was lost (%s); the next operation reconnects",
                         self.url, message)  # fmt: skip
            return StoreUnavailable(
                f"the connection to the case store's database was lost ({message}): the request was not completed "
                "(a write cut off while it was being committed may have been saved: read the case again before "
                "repeating it)",
                file=self.url,
                case=case,
            )
        return StoreError(f"{what} ({message})", file=self.url, case=case)

    def _message(self, exc: BaseException) -> str:
        return redact(_first_line(exc), self._secret_url)

    def _tables_query(self) -> str:
        return "information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'af\\_%'"

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        if self.readonly:
            raise StoreError("the case store is open read-only; nothing was written", file=self.url)
        conn = self._live()
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except self._pg.errors.UniqueViolation:
            raise
        except self._pg.Error as exc:
            raise self._failure(exc, "the write failed") from None

    @contextmanager
    def _read(self, what: str = "the case store") -> Iterator[Cursor]:
        conn = self._conn if self._claiming else self._live()  # inside a claim: never another connection
        if not self._claiming:  # one statement, BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY (inside a claim: a
            conn.isolation_level = self._pg.IsolationLevel.REPEATABLE_READ  # savepoint of its READ COMMITTED one)
            conn.read_only = True
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except self._pg.Error as exc:
            raise self._failure(exc, f"cannot read {what}") from None
        finally:
            if not self._claiming and not conn.closed and not conn.broken:  # writes: the server's default again
                conn.isolation_level = None
                conn.read_only = None

    @contextmanager
    def claim(self, case_id: str, at: int) -> Iterator[bool]:
        """Lock case ``case_id`` for this connection while it still has a timer due by ``at`` (micros): yields
        True when this worker holds it, False when another worker holds it (``SKIP LOCKED``: no wait) or nothing is
        due any more (fired meanwhile). Everything read and written inside runs in the one transaction that holds
        the row lock, committed when the block ends (rolled back on an error); another writer of the case (an API
        request) waits for it. Not re-entrant."""
        if self.readonly:
            raise StoreError("the case store is open read-only; nothing was written", file=self.url)
        if self._claiming:
            raise StoreError("a claim is already held on this connection", file=self.url, case=case_id)
        query = (
            "SELECT c.id FROM af_cases c WHERE c.id = %s AND EXISTS "
            "(SELECT 1 FROM af_timers t WHERE t.case_id = c.id AND t.due <= %s) FOR UPDATE OF c SKIP LOCKED"
        )
        conn = self._live()
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(query, (case_id, at))
                held = cur.fetchone() is not None
                self._claiming = True
                try:
                    yield held
                finally:
                    self._claiming = False
        except self._pg.Error as exc:
            raise self._failure(exc, "the claim failed", case_id) from None

    def _is_duplicate(self, exc: BaseException) -> bool:
        if isinstance(exc, self._pg.errors.UniqueViolation):
            return True
        if isinstance(exc, self._pg.Error):
            raise self._failure(exc, "the write failed") from None
        return False

    def drop(self) -> None:
        """Remove the store's tables (tests)."""
        with self._tx() as cur:
            for table in (
                "af_keys", "af_files", "af_definitions", "af_processes", "af_done", "af_todo", "af_timers",
                "af_anomalies", "af_deadlines", "af_cases", "af_meta",
            ):  # fmt: skip
                cur.execute(f"DROP TABLE IF EXISTS {table}")

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
