"""The embedded case store: one SQLite file (standard library ``sqlite3``), WAL mode.

WAL lets readers (a supervision sweep) run while a writer commits; ``synchronous=NORMAL`` keeps every committed
transaction across a killed process (an operating-system crash may lose the last commits, never half of one).
Writes take the write lock at their start (``BEGIN IMMEDIATE``) and wait up to ``timeout`` seconds for it; the
queries of one read run in one read transaction (one snapshot).

Opened ``readonly``, the file is opened with SQLite's ``mode=ro`` (nothing can be written through the
connection, not even the schema) and must already be a case store: a missing, empty or non-SQLite file is a
:class:`~approvalflow.store.base.StoreError` and is left as it was. A WAL file in a read-only folder (no
``-shm`` file can be created) is opened ``immutable``: nobody can be writing it.
sqlite3's own errors never reach the caller: they become :class:`~approvalflow.store.base.StoreError`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from .base import StoreError
from .sql import Cursor, SqlStoreBase

__all__ = ["SQLITE_MAGIC", "SqliteStore"]

#: The first 16 bytes of every SQLite 3 database file.
SQLITE_MAGIC = b"SQLite format 3\x00"


class SqliteStore(SqlStoreBase):
    """A case store in one SQLite file; created with its schema on first use unless opened ``readonly``."""

    _moving_hint = "INDEXED BY af_cases_moving"
    _codepoint_ids = True  # BINARY collation: ids come in code-point order
    _child_table_suffix = " WITHOUT ROWID"

    def __init__(
        self,
        path: str | Path,
        *,
        timeout: float = 30.0,
        readonly: bool = False,
        key: bytes | None = None,
        upgrade: bool = False,
    ) -> None:
        self.path = Path(path)
        self.url = str(path)
        self.readonly = readonly
        self.key = key
        self.upgrade = upgrade
        self._conn: sqlite3.Connection | None = None
        if readonly:
            self._check_file()
        try:
            if readonly:
                self._conn = self._connect_readonly(timeout)
            else:
                self._conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"not a usable case store ({exc})", file=path) from None
        except UnicodeDecodeError:  # a schema (or an error message) that is not UTF-8
            self.close()
            raise StoreError("not a usable case store (its schema holds text that is not UTF-8)", file=path) from None
        self._open_schema()

    def _check_file(self) -> None:
        """An existing, non-empty SQLite file (before SQLite sees it): read the first 16 bytes only."""
        if not self.path.exists():
            raise StoreError("no such case store (a SQLite file or a postgresql:// URL)", file=self.url)
        if not self.path.is_file():
            raise StoreError("not a case store (not a file)", file=self.url)
        try:
            with self.path.open("rb") as f:
                magic = f.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise StoreError(f"cannot read the case store ({exc.strerror or exc})", file=self.url) from None
        if not magic:
            raise StoreError("an empty file, not a case store", file=self.url)
        if magic != SQLITE_MAGIC:
            raise StoreError("not a case store (not a SQLite database file)", file=self.url)

    def _connect_readonly(self, timeout: float) -> sqlite3.Connection:
        uri = "file:" + quote(str(self.path.resolve())) + "?mode=ro"
        writable_folder = os.access(self.path.parent, os.W_OK)
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA query_only=ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
            if writable_folder and not self._wal_without_shm():
                raise
        # WAL mode in a folder where the -shm file cannot be created: nobody can be writing the file either
        conn = sqlite3.connect(
            uri + "&immutable=1", uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA query_only=ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn

    def _wal_without_shm(self) -> bool:
        shm = self.path.with_name(self.path.name + "-shm")
        return not shm.exists() and not os.access(self.path.parent, os.W_OK)

    def _tables_query(self) -> str:
        return "sqlite_master WHERE type = 'table' AND name LIKE 'af!_%' ESCAPE '!'"

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the case store is closed", file=self.url)
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        if self.readonly:
            raise StoreError("the case store is open read-only; nothing was written", file=self.url)
        conn = self._connection()
        cur = conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot start a write ({exc})", file=self.url) from None
        try:
            yield cur
        except sqlite3.IntegrityError:
            conn.rollback()
            raise
        except sqlite3.Error as exc:
            conn.rollback()
            raise StoreError(f"the write failed ({exc})", file=self.url) from None
        except BaseException:
            conn.rollback()
            raise
        try:
            conn.commit()
        except sqlite3.Error as exc:
            conn.rollback()
            raise StoreError(f"the write failed ({exc})", file=self.url) from None

    @contextmanager
    def _read(self, what: str = "the case store") -> Iterator[Cursor]:
        conn = self._connection()
        began = False
        try:
            cur = conn.cursor()
            if not conn.in_transaction:
                cur.execute("BEGIN")
                began = True
            yield cur
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {what} ({exc})", file=self.url) from None
        except UnicodeDecodeError as exc:  # sqlite3 decodes TEXT (and its own messages) as UTF-8
            raise StoreError(f"cannot read {what}: text that is not UTF-8 (byte {exc.start})", file=self.url) from None
        finally:
            if began and conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.rollback()

    def integrity_check(self) -> list[str]:
        from .sql import SCHEMA

        with self._read("the database file") as cur:
            cur.execute("PRAGMA quick_check")
            found = [str(r[0]) for r in cur.fetchall()]
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            indexes = {r[0] for r in cur.fetchall()}
        problems = [] if found == ["ok"] else found
        for statement in SCHEMA:
            if statement.startswith("CREATE INDEX"):
                name = statement.split()[5]
                if name not in indexes:
                    problems.append(f"index {name} is missing ('approvalflow store reindex' creates it)")
        return problems

    def _is_duplicate(self, exc: BaseException) -> bool:
        if isinstance(exc, sqlite3.IntegrityError):
            return True
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"the write failed ({exc})", file=self.url) from None
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
