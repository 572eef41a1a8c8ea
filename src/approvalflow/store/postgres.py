"""A case store on PostgreSQL (psycopg 3), for deployments where several application hosts share cases.

``psycopg`` is an optional dependency (``pip install approvalflow[postgres]``); it is imported only when a
``postgresql://`` store is opened, and its absence is a clear :class:`~approvalflow.store.base.StoreError`.
Transactions run at READ COMMITTED: a concurrent ``UPDATE ... WHERE version = ?`` waits for the first writer
and then finds the version changed, so exactly one of two writers of the same case succeeds.
psycopg's errors never reach the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .base import StoreError
from .sql import Cursor, SqlStoreBase

__all__ = ["PostgresStore"]


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "a postgresql:// case store needs psycopg 3: pip install 'psycopg[binary]>=3.1' (or approvalflow[postgres])"
        ) from None
    return psycopg


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user = head.partition("//")
    return f"{scheme}//{user.split(':', 1)[0]}:***@{tail}"


class PostgresStore(SqlStoreBase):
    """A case store in a PostgreSQL database; the tables are created on first use."""

    placeholder = "%s"

    def __init__(self, url: str) -> None:
        self._pg = _psycopg()
        self.url = _safe(url)
        try:
            self._conn = self._pg.connect(url, autocommit=True)
            self._create()
        except self._pg.Error as exc:
            raise StoreError(f"{self.url}: cannot open the case store ({_first_line(exc)})") from None

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                yield cur
        except self._pg.errors.UniqueViolation:
            raise
        except self._pg.Error as exc:
            raise StoreError(f"{self.url}: the write failed ({_first_line(exc)})") from None

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        try:
            with self._conn.cursor() as cur:
                yield cur
        except self._pg.Error as exc:
            raise StoreError(f"{self.url}: cannot read the case store ({_first_line(exc)})") from None

    def _is_duplicate(self, exc: BaseException) -> bool:
        if isinstance(exc, self._pg.errors.UniqueViolation):
            return True
        if isinstance(exc, self._pg.Error):
            raise StoreError(f"{self.url}: the write failed ({_first_line(exc)})") from None
        return False

    def drop(self) -> None:
        """Remove the store's tables (tests)."""
        with self._tx() as cur:
            for table in ("af_anomalies", "af_deadlines", "af_cases", "af_meta"):
                cur.execute(f"DROP TABLE IF EXISTS {table}")

    def close(self) -> None:
        self._conn.close()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
