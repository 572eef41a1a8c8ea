"""The embedded case store: one SQLite file (standard library ``sqlite3``), WAL mode.

WAL lets readers (a supervision sweep) run while a writer commits; ``synchronous=NORMAL`` keeps every committed
transaction across a killed process (an operating-system crash may lose the last commits, never half of one).
Writes take the write lock at their start (``BEGIN IMMEDIATE``) and wait up to ``timeout`` seconds for it.
sqlite3's own errors never reach the caller: they become :class:`~approvalflow.store.base.StoreError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .base import StoreError
from .sql import Cursor, SqlStoreBase

__all__ = ["SqliteStore"]


class SqliteStore(SqlStoreBase):
    """A case store in one SQLite file; created with its schema on first use."""

    _moving_hint = "INDEXED BY af_cases_moving"

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.url = str(path)
        try:
            self._conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self._create()
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: not a usable case store ({exc})") from None

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        cur = self._conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: cannot start a write ({exc})") from None
        try:
            yield cur
        except sqlite3.IntegrityError:
            self._conn.rollback()
            raise
        except sqlite3.Error as exc:
            self._conn.rollback()
            raise StoreError(f"{self.url}: the write failed ({exc})") from None
        except BaseException:
            self._conn.rollback()
            raise
        try:
            self._conn.commit()
        except sqlite3.Error as exc:
            self._conn.rollback()
            raise StoreError(f"{self.url}: the write failed ({exc})") from None

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        try:
            yield self._conn.cursor()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: cannot read the case store ({exc})") from None

    def _is_duplicate(self, exc: BaseException) -> bool:
        if isinstance(exc, sqlite3.IntegrityError):
            return True
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"{self.url}: the write failed ({exc})") from None
        return False

    def close(self) -> None:
        self._conn.close()
