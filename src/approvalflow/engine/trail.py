"""The audit trail (痕迹管理): every attempted action, hash-chained.

Each entry carries the SHA-256 of the previous entry (``prev``) and its own
``hash`` over its canonical JSON (sorted keys, UTF-8, no spaces) including
``prev`` and ``seq``. :func:`verify_trail` recomputes the chain and so detects an
edited, inserted, removed or reordered entry. A chain cannot by itself reveal
that its *last* entries were cut off; pass the head (hash and count) kept
elsewhere, as a serialized case and a case store do, to detect that too.

Without a key, whoever can write the trail can also recompute every hash after
an edit ("rechain" it): the chain then verifies. A host that holds a secret key
passes it as ``key``: every entry then also carries ``mac``, the HMAC-SHA256 of
its hash under that key, and :func:`verify_trail` with the key refuses any entry whose
``mac`` is missing or wrong, so a rechained trail is detected. An anchor (the
head's hash and count, exported and kept elsewhere, see :meth:`AuditTrail.anchor`)
detects a rechained trail without a key, and a trail cut off at its end.

Each entry that a case writes also carries ``state``: the SHA-256 of the case's
state after the action (:mod:`approvalflow.engine.persistence`) when that state was
observed (the case saved, its trail read or exported) before the next action, else
``null``; the last entry of a saved case always binds the saved state, so that a
state edited without its trail no longer matches the trail's last entry. A case
appends its entries with :meth:`AuditTrail.defer`: they are hashed (and signed)
when the trail is next read, so an action that nobody observes costs no hashing.

Statutory anchors: 行政处罚法 art. 47 (全过程记录), 重大行政决策程序暂行条例
art. 33 (archive the whole decision process).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import InvalidInputError, TrailFileError

__all__ = [
    "GENESIS", "MAX_KEY_FILE_BYTES", "MIN_KEY_BYTES", "AuditTrail", "TrailHead", "VerifyResult", "entry_hash",
    "entry_mac", "read_key", "read_trail", "verify_trail",
]  # fmt: skip

GENESIS = "0" * 64
MIN_KEY_BYTES = 16
"""Shortest key accepted (HMAC-SHA256 keys should be 32 random bytes; ``approvalflow audit key`` writes one)."""
MAX_TRAIL_BYTES = 512 * 2**20
"""Largest JSON Lines trail file read."""
MAX_KEY_FILE_BYTES = 4096
"""Largest key file read."""
MAX_PENDING = 16
"""Most entries a trail keeps unhashed (:meth:`AuditTrail.defer`)."""
_UNHASHED = ("hash", "mac")
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
_PLAIN = json.JSONEncoder(ensure_ascii=False, default=str)  # what an entry's fields are copied through
# zlib's preset dictionary for the pending entries a trail keeps deflated: the field names and the values the engine
# writes most, as they appear in canonical JSON. Only an aid to compression (any text deflates and inflates back to
# itself); it must never change while a trail in memory holds text deflated with it.
_WORDS = (
    b'"action":"complete","actor":"","at":"20T00:00+08:00","calendar":"china","cancelled":[],"data":{},"digest":"",'
    b'"findings":[],"outcome":"recorded","outcome":"noted","outcome":"refused","outcome":"started","policy":"enforce",'
    b'"post":null,"process":"","step":null,"unit":""}\n{"action":"start","actor":null,"at":"20'
    b'"data":{},"findings":[],"outcome":"completed","post":"","step":"","unit":""}\n{"action":"complete","actor":"'
)
_NO_ENTRIES: tuple[bytes, ...] = ()


def _canonical(entry: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k not in _UNHASHED}
    return _CANONICAL.encode(body).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 of an entry's canonical JSON, without its own ``hash`` and ``mac`` fields."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def entry_mac(key: bytes, entry_hash_hex: str) -> str:
    """HMAC-SHA256 of an entry's hash under the host's key."""
    return hmac.new(key, entry_hash_hex.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def _check_key(key: bytes | None) -> bytes | None:
    if key is not None and len(key) < MIN_KEY_BYTES:
        raise InvalidInputError(f"a trail key must have at least {MIN_KEY_BYTES} bytes; this one has {len(key)}")
    return key


def read_key(path: str | Path) -> bytes:
    """The host's secret key from a file: its bytes less one trailing newline; TrailFileError when unusable.

    One key file serves trails and the store's index seals. Only a regular file of at most
    :data:`MAX_KEY_FILE_BYTES` is read (a FIFO or a device is refused unopened), and the key needs
    :data:`MIN_KEY_BYTES` at least.
    """
    from ..io.inputfiles import read_regular_file

    raw = read_regular_file(
        path,
        max_bytes=MAX_KEY_FILE_BYTES,
        error=TrailFileError,
        hint="a key is a few dozen bytes (trail.MAX_KEY_FILE_BYTES)",
    )
    key = raw[:-1] if raw.endswith(b"\n") else raw
    if len(key) < MIN_KEY_BYTES:
        raise TrailFileError(f"a key must have at least {MIN_KEY_BYTES} bytes; this one has {len(key)}", file=path)
    return key


class Observer(Protocol):
    """What a trail's ``observer`` gives: the case, which settles the pending entries when its state is observed."""

    def _observe(self) -> object: ...


@dataclass(frozen=True)
class TrailHead:
    """The last hash and the number of entries: enough to detect a cut-off tail."""

    hash: str
    count: int


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of verification: ``ok``, and a problem per broken place (1-based entry numbers)."""

    ok: bool
    problems: tuple[str, ...] = ()
    first_bad: int | None = None

    def __bool__(self) -> bool:
        return self.ok


def verify_trail(
    entries: Sequence[Mapping[str, Any]],
    *,
    head: TrailHead | None = None,
    key: bytes | None = None,
    anchor: str | None = None,
) -> VerifyResult:
    """Recompute the chain; with ``head``, also check that nothing was cut off at the end.

    With ``key``, every entry must carry the right ``mac`` (a rechained trail fails here). With ``anchor``,
    a hash exported earlier (:meth:`AuditTrail.anchor`), the trail must still contain that entry.
    """
    _check_key(key)
    problems: list[str] = []
    first_bad: int | None = None
    prev = GENESIS
    for n, entry in enumerate(entries, start=1):
        issues = []
        if entry.get("seq") != n:
            issues.append(f"sequence number {entry.get('seq')!r}, expected {n} (entry removed, added or moved)")
        if entry.get("prev") != prev:
            issues.append("does not follow the entry before it (entry removed, added or moved)")
        try:
            intact = entry.get("hash") == entry_hash(entry)
        except UnicodeEncodeError:  # a lone surrogate (JSON's \ud800) cannot be hashed: no entry we write has one
            intact = False
            issues.append("it holds text that is not valid Unicode (a lone surrogate)")
        if not intact:
            issues.append("its content does not match its hash (entry edited)")
        mac = str(entry.get("mac", ""))
        if key is not None and not hmac.compare_digest(mac, entry_mac(key, str(entry.get("hash")))):
            issues.append("its signature (mac) does not match the key (entry forged or the trail rechained)")
        if issues:
            problems.append(f"entry {n}: " + "; ".join(issues))
            first_bad = first_bad or n
        prev = str(entry.get("hash"))
    if head is not None and (head.count != len(entries) or (entries and head.hash != prev)):
        problems.append(
            f"the trail has {len(entries)} entries ending in {prev[:12]}…, but its head says "
            f"{head.count} ending in {head.hash[:12]}… (entries cut off or added at the end)"
        )
        first_bad = first_bad or min(head.count, len(entries)) + 1
    if anchor is not None and not any(e.get("hash") == anchor for e in entries):
        problems.append(
            f"no entry has the anchored hash {anchor[:12]}… (the trail was rewritten or cut before the anchor)"
        )
        first_bad = first_bad or 1
    return VerifyResult(not problems, tuple(problems), first_bad)


class AuditTrail:
    """An append-only, hash-chained list of entries (plain dicts, JSON-ready); signed when it has a ``key``.

    Each entry is kept as its canonical JSON (UTF-8, keys sorted, no spaces), a third of the memory of the dict it
    encodes; :attr:`entries` decodes them, a new list of new dicts on each access (changing that list or its dicts
    changes nothing in the trail, which only :meth:`append` and :meth:`defer` extend).

    Entries appended with :meth:`defer` are pending: their fields are encoded at once (later changes to the objects
    passed change nothing), their ``seq``, ``prev``, ``state``, ``hash`` and ``mac`` are set when the trail is next
    observed (any read: :attr:`entries`, :attr:`head`, :meth:`canonical_json`, :meth:`anchor`, :meth:`verify`...)
    or by :meth:`settle`. Then the last pending entry binds ``state`` as the trail's ``observer`` (the case) gives
    it, the earlier ones bind ``None``: their state was never observed before the next action changed it.

    A case saved after each action (as a store does) has one entry pending at a time, kept as its text. Entries
    that wait together (a case that runs in memory, unobserved, as in a simulation or a test) are kept as one text,
    deflated (zlib, with a preset dictionary of the trail's field names): a third of the memory, inflated when they
    are hashed. They are never saved so, and never read from anyone else's data.
    """

    __slots__ = ("_last", "_pending", "_raw", "_waiting", "key", "observer")

    def __init__(self, entries: Iterable[Mapping[str, Any]] = (), key: bytes | None = None) -> None:
        self.key = _check_key(key)
        self._last: Any = GENESIS  # the last entry's hash (as written: a loaded trail is verified later)
        raw = []
        for entry in entries:
            raw.append(_stored(entry))
            self._last = entry.get("hash")
        # the hashed entries' canonical JSON: a list from the first one on (until then one empty tuple for all trails)
        self._raw: list[bytes] | tuple[bytes, ...] = raw or _NO_ENTRIES
        # The pending entries: their fields as canonical JSON, without seq, prev, state, hash; one entry as its text,
        # several joined by newlines (never inside canonical JSON) and deflated (see the class); ``_waiting`` counts
        # them.
        self._pending = b""
        self._waiting = 0
        self.observer: Callable[[], Observer | None] | None = None  # the case (a weak reference to it)

    def _observed(self) -> None:
        if self._waiting:
            owner = self.observer() if self.observer is not None else None
            if owner is not None:
                owner._observe()  # the case settles the pending entries with the digest of its state
            if self._waiting:
                self.settle(None)

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The entries, decoded afresh (a copy); reading settles the pending entries (see the class)."""
        self._observed()
        return [_decoded(raw) for raw in self._raw]

    def entries_from(self, start: int) -> list[dict[str, Any]]:
        """The entries after the first ``start``, decoded afresh (``entries_from(0)`` is :attr:`entries`).

        The entry a settle hashed last, in this process, is given as the mapping it was encoded from (once; then it
        is decoded like the others): a store's index reads the entry of each save right after the save."""
        self._observed()
        try:  # taken in one step (another thread may settle meanwhile); not put back: a cache of one, decoded without
            closed: tuple[bytes, dict[str, Any]] | None = _LAST_CLOSED.pop()
        except IndexError:
            closed = None
        out = []
        for raw in self._raw[start:]:
            if closed is not None and closed[0] is raw:
                out.append(dict(sorted(closed[1].items())))  # its keys in the order its text has them
                closed = None
            else:
                out.append(_decoded(raw))
        return out

    @property
    def count(self) -> int:
        """The number of entries (pending ones included)."""
        return len(self._raw) + self._waiting

    @property
    def head(self) -> TrailHead:
        self._observed()
        return TrailHead(self._last, len(self._raw))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AuditTrail):
            return NotImplemented
        return self.entries == other.entries

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AuditTrail(entries={self.entries!r})"

    def append(self, **fields: Any) -> dict[str, Any]:
        """Append an entry; ``seq``, ``prev``, ``hash`` (and ``mac`` with a key) are set here.

        Pending entries are settled first (binding no state). The entry is fully built (and must be encodable)
        before the trail changes: a failure appends nothing.
        """
        body = json.loads(_PLAIN.encode(fields))
        self.settle(None)
        return self._close(body)

    def defer(self, **fields: Any) -> None:
        """Append an entry whose hash is computed later (see the class); its fields are encoded now.

        The entries already pending bind no state any more (this one follows them); past :data:`MAX_PENDING` of them
        they are hashed now, so that :meth:`mark` stays cheap however long a case runs unobserved."""
        raw = _CANONICAL.encode(fields).encode()
        if self._waiting >= MAX_PENDING:
            self.settle(None)
        if self._waiting:
            kept = self._pending if self._waiting == 1 else _inflate(self._pending)
            raw = _deflate(kept + b"\n" + raw)
        self._pending = raw
        self._waiting += 1

    def settle(self, state: object) -> None:
        """Hash the pending entries: the last one binds ``state``, the others ``None``."""
        if not self._waiting:
            return
        pending, waiting = self._pending, self._waiting
        self._pending, self._waiting = b"", 0
        texts = [pending] if waiting == 1 else _inflate(pending).split(b"\n")
        for n, raw in enumerate(texts, start=1):
            body = _decoded(raw)
            body["state"] = state if n == waiting else None
            entry = self._close(body)
        if state is None or type(state) is str:  # then the entry holds what its text decodes to (no default=str)
            _LAST_CLOSED[:] = [(self._raw[-1], entry)]

    def _close(self, body: dict[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {"seq": len(self._raw) + 1, "prev": self._last}
        entry.update(body)
        entry["hash"] = digest = entry_hash(entry)
        if self.key is not None:
            entry["mac"] = entry_mac(self.key, digest)
        if not self._raw:
            self._raw = []
        self._raw.append(_CANONICAL.encode(entry).encode())  # type: ignore[union-attr]
        self._last = digest
        return entry

    def mark(self) -> tuple[int, bytes, int]:
        """Where the trail stands, to go back to with :meth:`rollback` (an action that failed)."""
        return len(self._raw), self._pending, self._waiting

    def rollback(self, mark: tuple[int, bytes, int]) -> None:
        """Drop what was added since ``mark`` and make pending again what was pending then."""
        count, self._pending, self._waiting = mark
        self._drop_after(count)

    def truncate(self, count: int) -> None:
        """Drop entries after the first ``count``: only to undo appends of an action that was rolled back."""
        self._observed()
        self._drop_after(count)

    def _drop_after(self, count: int) -> None:
        if count < len(self._raw):
            del self._raw[count:]  # type: ignore[union-attr]  # entries after count: a list
        self._last = _decoded(self._raw[-1]).get("hash") if self._raw else GENESIS

    def canonical_json(self) -> str:
        """The entries as one canonical JSON array (keys sorted, no spaces), as a saved case holds them."""
        self._observed()
        return "[" + ",".join(raw.decode("utf-8", "surrogatepass") for raw in self._raw) + "]"

    def verify(self, head: TrailHead | None = None) -> VerifyResult:
        return verify_trail(self.entries, head=head, key=self.key)

    def anchor(self) -> dict[str, Any]:
        """The head to keep elsewhere (another system, a printed record): count, hash and, with a key, its mac."""
        head = self.head
        out: dict[str, Any] = {"count": head.count, "hash": head.hash}
        if self.key is not None:
            out["mac"] = entry_mac(self.key, head.hash)
        return out

    def to_jsonl(self) -> str:
        """JSON Lines, one entry a line, UTF-8 text."""
        return "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in self.entries)

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.to_jsonl(), encoding="utf-8")

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]], key: bytes | None = None) -> AuditTrail:
        return cls(entries, key)


def _stored(entry: Mapping[str, Any]) -> bytes:
    """An entry as kept: its canonical JSON (a lone surrogate kept as is, for :func:`verify_trail` to report)."""
    return _CANONICAL.encode(dict(entry)).encode("utf-8", "surrogatepass")


# Raw deflate (no header or checksum: the text never leaves the process) with a 2 KiB window and little memory
# for the compressor (about 10 KiB, where zlib's defaults allocate 256 KiB for each call): pending entries are a few
# kilobytes at most and alike.
_WINDOW_BITS = -11
_MEMORY_LEVEL = 2


# The text last deflated, by the bytes it became (held here, so that no other object can take their id): the next
# entry of a case run step by step in memory then finds its trail's pending text here, not inflated again.
_LAST_DEFLATED: list[tuple[bytes, bytes]] = []
#: The entry a settle hashed last (its text and the mapping it was encoded from, made of decoded JSON values and
#: referred to by nothing else), given once by :meth:`AuditTrail.entries_from` instead of decoding the text again.
_LAST_CLOSED: list[tuple[bytes, dict[str, Any]]] = []


def _deflate(text: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, _WINDOW_BITS, _MEMORY_LEVEL, zdict=_WORDS)
    packed = packer.compress(text) + packer.flush()
    _LAST_DEFLATED[:] = [(packed, text)]
    return packed


def _inflate(packed: bytes) -> bytes:
    for known, text in _LAST_DEFLATED:
        if known is packed:
            return text
    unpacker = zlib.decompressobj(_WINDOW_BITS, zdict=_WORDS)
    return unpacker.decompress(packed) + unpacker.flush()


def _decoded(raw: bytes) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(raw.decode("utf-8", "surrogatepass"))
    return entry


def read_trail(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON Lines trail; a line that is not a JSON object raises TrailFileError naming the line."""
    from ..io.inputfiles import read_regular_file

    entries: list[dict[str, Any]] = []
    raw = read_regular_file(path, max_bytes=MAX_TRAIL_BYTES, error=TrailFileError, hint="trail.MAX_TRAIL_BYTES")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TrailFileError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrailFileError(f"not a JSON object ({exc.msg})", file=path, line=number) from exc
        except RecursionError:
            raise TrailFileError("nested too deeply to be a trail entry", file=path, line=number) from None
        if not isinstance(value, dict):
            raise TrailFileError("not a JSON object", file=path, line=number)
        entries.append(value)
    return entries


# The names before issue 15, kept so that code written against them keeps working.
verify = verify_trail
read_jsonl = read_trail
