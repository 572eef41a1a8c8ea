"""A short-lived memory of the API keys a serve process verified, so that a request need not read the store for
its key (:func:`approvalflow.service.auth.current_principal`).

An entry maps the SHA-256 of a key (never the key itself) to the store's record of it, for ``seconds`` (2 by
default) after the store was read. It is forgotten at once when this process revokes any key
(:func:`approvalflow.store.keys.revoke_key` counts revocations; an entry made before the last one is not used);
a key revoked by another process (``approvalflow keys revoke``, another serve process) is refused by this one at
most ``seconds`` later. ``seconds=0`` turns the memory off: every request reads its key from the store. Only keys
found valid are remembered: an unknown, malformed or revoked key reads the store each time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from ..store.keys import ApiKey, revocations

__all__ = ["KEY_SECONDS", "KeyCache"]

#: How long a verified key is remembered by default (seconds).
KEY_SECONDS = 2.0


@dataclass(frozen=True)
class _Entry:
    record: ApiKey
    until: float
    revoked: int


class KeyCache:
    """Verified keys, by digest, for ``seconds``; at most ``size`` of them (the oldest forgotten first)."""

    def __init__(self, seconds: float = KEY_SECONDS, size: int = 10_000) -> None:
        if not (seconds >= 0 and size >= 1):
            raise ValueError(f"a key cache keeps keys 0 seconds or more, at least 1 of them, not {seconds}, {size}")
        self.seconds, self.size = seconds, size
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, key: str) -> ApiKey | None:
        """The record of ``key`` when it was verified less than ``seconds`` ago and no key was revoked by this
        process since; else None (read the store)."""
        if not self.seconds:
            return None
        entry = self._entries.get(self._digest(key))
        if entry is None or entry.until <= time.monotonic() or entry.revoked != revocations():
            return None
        return entry.record

    def put(self, key: str, record: ApiKey, revoked: int) -> None:
        """Remember that ``key`` was verified as ``record``, when ``revoked`` revocations had been counted (read
        before the store was)."""
        if not self.seconds or record.revoked_at is not None:
            return
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[self._digest(key)] = _Entry(record, time.monotonic() + self.seconds, revoked)

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._entries.clear()
