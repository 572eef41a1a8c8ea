"""The rows of the process registry (:mod:`approvalflow.store.registry`) in each kind of store.

Kept apart from the registry itself so that :class:`~approvalflow.store.memory.MemoryStore` can hold a
:class:`MemoryRegistry` without importing the loader. :class:`SqlRegistry` is the one SQL of SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .base import StoreError

__all__ = ["MemoryRegistry", "NewVersion", "RegistryBackend", "SqlRegistry", "files_json"]


@dataclass(frozen=True)
class NewVersion:
    """A definition to keep: its process, digest, main file, files (name, SHA-256) and their bytes."""

    process: str
    digest: str
    file: str
    files: tuple[tuple[str, str], ...]  # (name, sha256), main file first
    contents: Mapping[str, bytes]  # sha256 -> bytes


class RegistryBackend(Protocol):
    """What a store keeps for the registry (one transaction per :meth:`put`)."""

    def put(self, items: Sequence[NewVersion], at: str) -> list[tuple[int, bool, str]]:
        """Keep each item (in order) unless its (process, digest) is kept: (version, new, deployed_at) each."""
        ...

    def rows(self, process: str | None) -> list[tuple[Any, ...]]:
        """The ``af_processes`` rows (of one process), by process and version."""
        ...

    def definition(self, digest: str) -> tuple[Any, Any] | None:
        """The ``af_definitions`` row's (process, files JSON) of a digest, or None."""
        ...

    def content(self, sha: str) -> Any:
        """The base64 content kept for a file's SHA-256, or None."""
        ...


class MemoryRegistry:
    """The registry of a :class:`~approvalflow.store.memory.MemoryStore`."""

    def __init__(self) -> None:
        self._processes: list[tuple[str, int, str, str, str]] = []
        self._definitions: dict[str, tuple[str, str]] = {}
        self._files: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, items: Sequence[NewVersion], at: str) -> list[tuple[int, bool, str]]:
        with self._lock:
            out: list[tuple[int, bool, str]] = []
            processes, definitions, files = list(self._processes), dict(self._definitions), dict(self._files)
            for item in items:
                known = [r for r in processes if r[0] == item.process and r[2] == item.digest]
                if known:
                    out.append((known[0][1], False, known[0][4]))
                    continue
                version = max((r[1] for r in processes if r[0] == item.process), default=0) + 1
                for sha, data in item.contents.items():
                    files.setdefault(sha, base64.b64encode(data).decode("ascii"))
                definitions.setdefault(item.digest, (item.process, files_json(item.files)))
                processes.append((item.process, version, item.digest, item.file, at))
                out.append((version, True, at))
            self._processes, self._definitions, self._files = processes, definitions, files
            return out

    def rows(self, process: str | None) -> list[tuple[Any, ...]]:
        return sorted(r for r in self._processes if process is None or r[0] == process)

    def definition(self, digest: str) -> tuple[Any, Any] | None:
        return self._definitions.get(digest)

    def content(self, sha: str) -> Any:
        return self._files.get(sha)


class SqlRegistry:
    """The registry of a SQL store (SQLite, PostgreSQL): the same SQL for both."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def put(self, items: Sequence[NewVersion], at: str) -> list[tuple[int, bool, str]]:
        s = self.store
        out: list[tuple[int, bool, str]] = []
        try:
            with s._tx() as cur:
                for item in items:
                    out.append(self._put_one(cur, item, at))
        except Exception as exc:
            if s._is_duplicate(exc):
                raise StoreError(
                    "another host deployed a version of this process meanwhile; nothing was written: run deploy again",
                    file=s.url,
                ) from None
            raise
        return out

    def _put_one(self, cur: Any, item: NewVersion, at: str) -> tuple[int, bool, str]:
        q = self.store._q
        cur.execute(
            q("SELECT version, deployed_at FROM af_processes WHERE process = ? AND digest = ?"),
            (item.process, item.digest),
        )
        known = cur.fetchone()
        if known is not None:
            return known[0], False, known[1]
        cur.execute(q("SELECT max(version) FROM af_processes WHERE process = ?"), (item.process,))
        top = cur.fetchone()[0]
        version = (top if isinstance(top, int) else 0) + 1
        for sha, data in item.contents.items():
            cur.execute(q("SELECT 1 FROM af_files WHERE sha256 = ?"), (sha,))
            if cur.fetchone() is None:
                cur.execute(
                    q("INSERT INTO af_files (sha256, size, content) VALUES (?, ?, ?)"),
                    (sha, len(data), base64.b64encode(data).decode("ascii")),
                )
        cur.execute(q("SELECT 1 FROM af_definitions WHERE digest = ?"), (item.digest,))
        if cur.fetchone() is None:
            cur.execute(
                q("INSERT INTO af_definitions (digest, process, files) VALUES (?, ?, ?)"),
                (item.digest, item.process, files_json(item.files)),
            )
        cur.execute(
            q("INSERT INTO af_processes (process, version, digest, file_name, deployed_at) VALUES (?, ?, ?, ?, ?)"),
            (item.process, version, item.digest, item.file, at),
        )
        return version, True, at

    def rows(self, process: str | None) -> list[tuple[Any, ...]]:
        s = self.store
        columns = "process, version, digest, file_name, deployed_at"
        with s._read("table af_processes") as cur:
            if process is None:
                cur.execute(f"SELECT {columns} FROM af_processes ORDER BY process, version")
            else:
                cur.execute(s._q(f"SELECT {columns} FROM af_processes WHERE process = ? ORDER BY version"), (process,))
            return [tuple(r) for r in cur.fetchall()]

    def definition(self, digest: str) -> tuple[Any, Any] | None:
        s = self.store
        with s._read("table af_definitions") as cur:
            cur.execute(s._q("SELECT process, files FROM af_definitions WHERE digest = ?"), (digest,))
            row = cur.fetchone()
        return None if row is None else (row[0], row[1])

    def content(self, sha: str) -> Any:
        s = self.store
        with s._read("table af_files") as cur:
            cur.execute(s._q("SELECT content FROM af_files WHERE sha256 = ?"), (sha,))
            row = cur.fetchone()
        return None if row is None else row[0]


def files_json(files: Iterable[tuple[str, str]]) -> str:
    """The ``files`` column of ``af_definitions``: a JSON list of ``{"name", "sha256"}``, main file first."""
    return json.dumps([{"name": n, "sha256": h} for n, h in files], ensure_ascii=False)
