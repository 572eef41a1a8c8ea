"""The API keys of the HTTP service (``approvalflow keys``), kept in the case store, hashed.

A key is ``af_<key id>_<secret>``: a 16-hex-digit id (shown in listings, used to revoke) and 256 random bits as 64
hexadecimal digits. It is shown once, when created; the store keeps its SHA-256 only (``af_keys.hash``), with its
role and scope and when it was created and revoked. A key of 256 random bits needs no slow password hash: nobody can
guess it, and its SHA-256 does not give it back. :func:`authenticate` finds the row by the id and compares the
digests in constant time (:func:`hmac.compare_digest`); a revoked key authenticates nothing.

Roles (``docs/service.md``): ``platform`` (a service-hall platform acting for the people of its ``unit``),
``supervisor`` (纪检监察, 政务服务管理办公室: reads every unit, writes nothing), ``applicant`` (办件查询: the status of
one ``case``; the key is the check code printed on the 受理回执).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from ..errors import InvalidInputError
from .base import StoreError

__all__ = [
    "ROLES",
    "ApiKey",
    "KeyBackend",
    "MemoryKeys",
    "SqlKeys",
    "authenticate",
    "create_key",
    "keys_of",
    "list_keys",
    "revocations",
    "revoke_key",
]

Role = Literal["platform", "supervisor", "applicant"]
ROLES: tuple[Role, ...] = ("platform", "supervisor", "applicant")
_KEY = re.compile(r"af_([0-9a-f]{16})_([0-9a-f]{64})")
_ID = re.compile(r"[0-9a-f]{16}")
_NAME_MAX = 200
_revoked = [0]  # keys revoked by this process (see revocations)
_revoked_lock = threading.Lock()


def revocations() -> int:
    """How many times this process revoked a key (:func:`revoke_key`): a memory of verified keys
    (:class:`approvalflow.service.keycache.KeyCache`) forgets what it learnt before the count changed."""
    return _revoked[0]


@dataclass(frozen=True)
class ApiKey:
    """A key as the store keeps it (never the key itself): its id, role, scope and dates (ISO 8601)."""

    key_id: str
    role: Role
    unit: str | None
    case: str | None
    created_at: str
    revoked_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The key as ``approvalflow keys list --json`` prints it."""
        return {
            "key_id": self.key_id,
            "role": self.role,
            "unit": self.unit,
            "case": self.case,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


Row = tuple[Any, ...]  # (key_id, hash, role, unit, case_id, created_at, revoked_at)


class KeyBackend(Protocol):
    """Where a store keeps its keys (table ``af_keys``, or a dict in memory)."""

    def insert(self, row: Row) -> None:
        """Keep a new key's row."""
        ...

    def get(self, key_id: str) -> Row | None:
        """The row of a key id, or None."""
        ...

    def rows(self) -> list[Row]:
        """Every row, by creation moment then id."""
        ...

    def revoke(self, key_id: str, at: str) -> bool:
        """Set ``revoked_at`` of a key not revoked yet; False when there is no such key or it was revoked."""
        ...


class MemoryKeys:
    """The keys of a :class:`~approvalflow.store.memory.MemoryStore`."""

    def __init__(self) -> None:
        self._rows: dict[str, Row] = {}
        self._lock = threading.Lock()

    def insert(self, row: Row) -> None:
        with self._lock:
            if row[0] in self._rows:
                raise StoreError("a key with this id exists already; nothing was written")
            self._rows[row[0]] = row

    def get(self, key_id: str) -> Row | None:
        return self._rows.get(key_id)

    def rows(self) -> list[Row]:
        return sorted(self._rows.values(), key=lambda r: (r[5], r[0]))

    def revoke(self, key_id: str, at: str) -> bool:
        with self._lock:
            row = self._rows.get(key_id)
            if row is None or row[6] is not None:
                return False
            self._rows[key_id] = (*row[:6], at)
            return True


class SqlKeys:
    """The keys of a SQL store (SQLite, PostgreSQL): the same SQL for both."""

    _COLUMNS = "key_id, hash, role, unit, case_id, created_at, revoked_at"

    def __init__(self, store: Any) -> None:
        self.store = store

    def insert(self, row: Row) -> None:
        s = self.store
        try:
            with s._tx() as cur:
                cur.execute(s._q(f"INSERT INTO af_keys ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"), row)
        except Exception as exc:
            if s._is_duplicate(exc):
                raise StoreError("a key with this id exists already; nothing was written", file=s.url) from None
            raise

    def get(self, key_id: str) -> Row | None:
        s = self.store
        with s._read("table af_keys") as cur:
            cur.execute(s._q(f"SELECT {self._COLUMNS} FROM af_keys WHERE key_id = ?"), (key_id,))
            row = cur.fetchone()
        return None if row is None else tuple(row)

    def rows(self) -> list[Row]:
        s = self.store
        with s._read("table af_keys") as cur:
            cur.execute(f"SELECT {self._COLUMNS} FROM af_keys ORDER BY created_at, key_id")
            return [tuple(r) for r in cur.fetchall()]

    def revoke(self, key_id: str, at: str) -> bool:
        s = self.store
        with s._tx() as cur:
            cur.execute(s._q("UPDATE af_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL"), (at, key_id))
            return bool(cur.rowcount == 1)


def keys_of(store: Any) -> KeyBackend:
    """The keys of a store (through a :class:`~approvalflow.store.base.CollectingStore` too); :class:`StoreError`
    for a store that keeps none."""
    from .sql import SqlStoreBase

    inner = getattr(store, "store", store)
    if isinstance(inner, SqlStoreBase):
        return SqlKeys(inner)
    backend = getattr(inner, "keys", None)
    if isinstance(backend, MemoryKeys):
        return backend
    raise StoreError(f"the store {getattr(store, 'url', '?')} keeps no API keys")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def _name(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or value != value.strip() or len(value) > _NAME_MAX:
        raise InvalidInputError(f"a key's {what} is an id (text, at most {_NAME_MAX} characters), not {value!r:.60}")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInputError(f"a key's {what} holds a control character")
    return value


def create_key(
    store: Any, role: str, *, unit: str | None = None, case: str | None = None, at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key of ``role``: (what the store keeps, the key itself, to be shown once and never again).

    ``platform`` needs ``unit`` (and no case), ``applicant`` needs ``case`` (and no unit), ``supervisor`` neither.
    """
    from ..time.clock import SystemClock

    if role not in ROLES:
        raise InvalidInputError(f"a key's role is one of {', '.join(ROLES)}, not {str(role)[:40]!r}")
    unit, case = _name(unit, "unit"), _name(case, "case")
    if role == "platform" and (unit is None or case is not None):
        raise InvalidInputError("a platform key names its unit (--unit) and no case")
    if role == "supervisor" and (unit is not None or case is not None):
        raise InvalidInputError("a supervisor key reads every unit: it names no unit and no case")
    if role == "applicant" and (case is None or unit is not None):
        raise InvalidInputError("an applicant key names its case (--case, the 办件编号) and no unit")
    key_id = secrets.token_hex(8)
    key = f"af_{key_id}_{secrets.token_hex(32)}"
    moment = (at or SystemClock().now()).isoformat()
    keys_of(store).insert((key_id, _digest(key), role, unit, case, moment, None))
    return ApiKey(key_id, role, unit, case, moment), key


def _from_row(row: Row, url: str) -> tuple[ApiKey, str]:
    if (
        len(row) != 7
        or not all(isinstance(row[i], str) for i in (0, 1, 2, 5))
        or not _ID.fullmatch(row[0])
        or row[2] not in ROLES
        or not all(row[i] is None or isinstance(row[i], str) for i in (3, 4, 6))
    ):
        raise StoreError(f"table af_keys: damaged row {str(row[:1])[:60]}", file=url)
    return ApiKey(row[0], row[2], row[3], row[4], row[5], row[6]), row[1]


def list_keys(store: Any) -> list[ApiKey]:
    """Every key the store keeps (revoked ones too), oldest first; never the keys themselves."""
    url = getattr(store, "url", "?")
    return [_from_row(r, url)[0] for r in keys_of(store).rows()]


def revoke_key(store: Any, key_id: str, *, at: datetime | None = None) -> ApiKey:
    """Revoke a key by its id: from then on it authenticates nothing. :class:`InvalidInputError` for an unknown or
    already revoked key."""
    from ..time.clock import SystemClock

    if not isinstance(key_id, str) or not _ID.fullmatch(key_id):
        raise InvalidInputError(f"a key id is 16 hexadecimal digits (as 'keys list' shows), not {str(key_id)[:40]!r}")
    backend = keys_of(store)
    with _revoked_lock:  # counted before the store is changed: a key verified meanwhile is not remembered
        _revoked[0] += 1
    if not backend.revoke(key_id, (at or SystemClock().now()).isoformat()):
        state = "no such key" if backend.get(key_id) is None else "revoked already"
        raise InvalidInputError(f"key {key_id}: {state}")
    row = backend.get(key_id)
    assert row is not None
    return _from_row(row, getattr(store, "url", "?"))[0]


def authenticate(store: Any, key: str) -> ApiKey | None:
    """The key's record when ``key`` is a key of the store not revoked, else None (a malformed key too)."""
    found = _KEY.fullmatch(key) if isinstance(key, str) else None
    if found is None:
        return None
    row = keys_of(store).get(found.group(1))
    if row is None:
        hmac.compare_digest(_digest(key), _digest(key))  # about the same time whether the id exists or not
        return None
    record, digest = _from_row(row, getattr(store, "url", "?"))
    if not hmac.compare_digest(digest, _digest(key)) or record.revoked_at is not None:
        return None
    return record
