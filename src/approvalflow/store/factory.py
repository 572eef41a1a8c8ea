"""Open a case store from a path or URL: :func:`open_store`, the one place that knows every backend.

Kept apart from :mod:`approvalflow.store.base` so that the protocol imports none of its implementations
(the backends import the protocol). PostgreSQL's driver is imported only when a ``postgresql://`` store is opened.
"""

from __future__ import annotations

from pathlib import Path

from .base import CaseStore
from .memory import MemoryStore
from .postgres import PostgresStore
from .sqlite import SqliteStore

__all__ = ["open_store"]


def open_store(
    url_or_path: str | Path, *, readonly: bool = False, key: bytes | None = None, upgrade: bool = False
) -> CaseStore:
    """A store from a file path (SQLite), ``sqlite:///path``, ``memory:`` or a ``postgresql://`` URL.

    ``readonly=True`` opens an existing store for reading only (SQLite ``mode=ro``, PostgreSQL read-only
    transactions): a missing or empty file is a :class:`StoreError`, never a new store, and nothing is
    written, not even the schema. Otherwise a missing SQLite file or an empty database gets the schema.
    ``key`` (the host's secret) makes the index digests HMAC-SHA256 instead of SHA-256
    (:mod:`approvalflow.store.integrity`). ``upgrade=True`` (writable only) brings a store of an older schema
    version to this one (``store reindex`` then fills the new columns).
    """
    text = str(url_or_path)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresStore(text, readonly=readonly, key=key, upgrade=upgrade)
    if text in ("memory:", ":memory:"):
        return MemoryStore()
    path = text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else text
    return SqliteStore(path, readonly=readonly, key=key, upgrade=upgrade)
