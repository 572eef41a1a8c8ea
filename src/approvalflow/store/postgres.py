"""A case store on PostgreSQL (psycopg 3), for deployments where several application hosts share cases.

``psycopg`` is an optional dependency (``pip install approvalflow[postgres]``); it is imported only when a
``postgresql://`` store is opened, and its absence is a clear :class:`~approvalflow.store.base.StoreError`.
Transactions run at READ COMMITTED: a concurrent ``UPDATE ... WHERE version = ?`` waits for the first writer
and then finds the version changed, so exactly one of two writers of the same case succeeds.
:meth:`PostgresStore.claim` locks one case row with ``SELECT ... FOR UPDATE SKIP LOCKED`` for the length of a
transaction in which the case is read, fired and saved: the timers of a case are fired by one worker only
(:func:`~approvalflow.store.timers.fire_due`).
psycopg's errors never reach the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .base import StoreError, redact
from .sql import Cursor, SqlStoreBase

__all__ = ["CONNECT_TIMEOUT", "PostgresStore"]

#: Seconds to wait for the server when opening a store (an unreachable host fails after this long).
#: Raise it with ``PostgresStore(url, connect_timeout=N)`` or ``?connect_timeout=N`` in the URL.
CONNECT_TIMEOUT = 10


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
        try:
            timeout = (
                {}
                if "connect_timeout=" in url and connect_timeout is None
                else {"connect_timeout": connect_timeout or CONNECT_TIMEOUT}
            )
            self._conn = self._pg.connect(url, autocommit=True, **timeout)
            if readonly:
                self._conn.execute("SET default_transaction_read_only = on")
        except self._pg.Error as exc:
            self.close()
            raise StoreError(f"cannot open the case store ({self._message(exc)})", file=self.url) from None
        except Exception as exc:  # a URL psycopg cannot even parse (ProgrammingError is a psycopg.Error)
            self.close()
            raise StoreError(f"cannot open the case store ({self._message(exc)})", file=self.url) from None
        self._open_schema()

    def _message(self, exc: BaseException) -> str:
        return redact(_first_line(exc), self._secret_url)

    def _tables_query(self) -> str:
        return "information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'af\\_%'"

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        if self.readonly:
            raise StoreError("the case store is open read-only; nothing was written", file=self.url)
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                yield cur
        except self._pg.errors.UniqueViolation:
            raise
        except self._pg.Error as exc:
            raise StoreError(f"the write failed ({self._message(exc)})", file=self.url) from None

    @contextmanager
    def _read(self, what: str = "the case store") -> Iterator[Cursor]:
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                if not self._claiming:  # inside a claim: a savepoint of its READ COMMITTED transaction
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield cur
        except self._pg.Error as exc:
            raise StoreError(f"cannot read {what} ({self._message(exc)})", file=self.url) from None

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
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute(query, (case_id, at))
                held = cur.fetchone() is not None
                self._claiming = True
                try:
                    yield held
                finally:
                    self._claiming = False
        except self._pg.Error as exc:
            raise StoreError(f"the claim failed ({self._message(exc)})", file=self.url, case=case_id) from None

    def _is_duplicate(self, exc: BaseException) -> bool:
        if isinstance(exc, self._pg.errors.UniqueViolation):
            return True
        if isinstance(exc, self._pg.Error):
            raise StoreError(f"the write failed ({self._message(exc)})", file=self.url) from None
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
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
