"""The audit trail (痕迹管理): every attempted action, hash-chained.

Each entry carries the SHA-256 of the previous entry (``prev``) and its own
``hash`` over its canonical JSON (sorted keys, UTF-8, no spaces) including
``prev`` and ``seq``. :func:`verify` recomputes the chain and so detects an
edited, inserted, removed or reordered entry. A chain cannot by itself reveal
that its *last* entries were cut off; pass the head (hash and count) kept
elsewhere, as a serialized case and a case store do, to detect that too.

Statutory anchors: 行政处罚法 art. 47 (全过程记录), 重大行政决策程序暂行条例
art. 33 (archive the whole decision process).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["GENESIS", "AuditTrail", "TrailHead", "VerifyResult", "entry_hash", "read_jsonl", "verify"]

GENESIS = "0" * 64


def _canonical(entry: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 of an entry's canonical JSON, without its own ``hash`` field."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


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


def verify(entries: Sequence[Mapping[str, Any]], *, head: TrailHead | None = None) -> VerifyResult:
    """Recompute the chain; with ``head``, also check that nothing was cut off at the end."""
    problems: list[str] = []
    first_bad: int | None = None
    prev = GENESIS
    for n, entry in enumerate(entries, start=1):
        issues = []
        if entry.get("seq") != n:
            issues.append(f"sequence number {entry.get('seq')!r}, expected {n} (entry removed, added or moved)")
        if entry.get("prev") != prev:
            issues.append("does not follow the entry before it (entry removed, added or moved)")
        if entry.get("hash") != entry_hash(entry):
            issues.append("its content does not match its hash (entry edited)")
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
    return VerifyResult(not problems, tuple(problems), first_bad)


@dataclass
class AuditTrail:
    """An append-only, hash-chained list of entries (plain dicts, JSON-ready)."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def head(self) -> TrailHead:
        return TrailHead(self.entries[-1]["hash"] if self.entries else GENESIS, len(self.entries))

    def append(self, **fields: Any) -> dict[str, Any]:
        """Append an entry; ``seq``, ``prev`` and ``hash`` are set here."""
        entry: dict[str, Any] = {"seq": len(self.entries) + 1, "prev": self.head.hash}
        entry.update(json.loads(json.dumps(fields, ensure_ascii=False, default=str)))
        entry["hash"] = entry_hash(entry)
        self.entries.append(entry)
        return entry

    def verify(self, head: TrailHead | None = None) -> VerifyResult:
        return verify(self.entries, head=head)

    def to_jsonl(self) -> str:
        """JSON Lines, one entry a line, UTF-8 text."""
        return "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in self.entries)

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.to_jsonl(), encoding="utf-8")

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]]) -> AuditTrail:
        return cls([dict(e) for e in entries])


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON Lines trail; a line that is not a JSON object raises ValueError naming the line."""
    entries: list[dict[str, Any]] = []
    text = Path(path).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not a JSON object ({exc.msg})") from exc
        if not isinstance(value, dict):
            raise ValueError(f"{path}:{number}: not a JSON object")
        entries.append(value)
    return entries
