"""The index digest: what ties a case's index rows to its case row and its trail head.

Every case row carries

- ``deadline_count`` and ``anomaly_count``: how many ``af_deadlines`` and ``af_anomalies`` rows it has;
- ``next_yellow`` and ``first_anomaly``: the earliest ``yellow_at`` of its deadline rows and the earliest ``at``
  of its anomaly rows (NULL when none), indexed, so that a sweep finds every case that must have a due row
  even when the rows themselves were deleted;
- ``index_rows``: for each of its deadline and anomaly rows, in key order, the row's moment and the SHA-256
  of the row exactly as stored (:func:`rows_digest`);
- ``index_seal``: a digest over the case row's index columns (process, unit, status, steps, trail head, clock
  facts, summary, the counts and moments above) and ``index_rows`` (:func:`seal`): HMAC-SHA256 with the host's
  key when one is given (``hmac-sha256:…``), plain SHA-256 otherwise (``sha256:…``).

A reader recomputes both from the rows it reads (:func:`tie`); any difference is an
:class:`~approvalflow.store.base.IndexProblem`. A sweep reads only the rows due at its moment: the case row says
which rows (ordinals) those must be and what each must hash to, so a deleted, added, moved or changed row is
found without reading the others. Without a key the digests detect rows deleted, added or changed
by anyone who did not also recompute the digests (a careless edit, a partial restore, a tool that deletes
"old" rows); with a key nobody without the key can change a case row or its index rows unnoticed. Neither
detects a whole case removed or replaced by an older copy of itself (rows and seal together).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

__all__ = [
    "SEAL_DOMAIN",
    "check_seal",
    "row_digest",
    "rows_digest",
    "seal",
    "tie",
]

#: What a seal is of (domain separation: a digest of something else never passes for a seal).
SEAL_DOMAIN = "approvalflow.store.index/2"
_PLAIN, _KEYED = "sha256:", "hmac-sha256:"


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _canonical(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


#: Digests of rows already computed (a case's deadline rows are the same from save to save), by table, row and the
#: type of each value (``1``, ``1.0`` and ``True`` are equal keys but not the same JSON); started afresh past 65,536.
_ROW_DIGESTS: dict[tuple[str, tuple[Any, ...], tuple[type, ...]], str] = {}


def row_digest(table: str, row: Sequence[Any]) -> str:
    """SHA-256 over one index row as stored (its table named: a row never passes for another table's)."""
    values = tuple(row)
    key = (table, values, tuple(map(type, values)))
    try:
        found = _ROW_DIGESTS.get(key)
    except TypeError:  # a value that cannot be a key (a damaged row read back): computed, not kept
        return hashlib.sha256(_canonical([SEAL_DOMAIN, table, list(row)])).hexdigest()
    if found is None:
        if len(_ROW_DIGESTS) >= 65536:
            _ROW_DIGESTS.clear()
        found = _ROW_DIGESTS[key] = hashlib.sha256(_canonical([SEAL_DOMAIN, table, list(row)])).hexdigest()
    return found


def rows_digest(
    deadlines: Sequence[Sequence[Any]],
    anomalies: Sequence[Sequence[Any]],
    deadline_digests: Sequence[str] | None = None,
) -> str:
    """The ``index_rows`` column: each row's moment and digest, in key order, deadlines then anomalies.

    ``<yellow_at>=<sha256>;…|<at>=<sha256>;…``: a reader that reads only the rows due at a moment knows from
    it which rows (ordinals) must be there and what each must be, without reading the others.
    ``deadline_digests``: the :func:`row_digest` of each deadline row, when the caller has them.
    """
    if deadline_digests is None:
        deadline_digests = [row_digest("af_deadlines", r) for r in deadlines]
    d = ";".join(f"{r[7]}={h}" for r, h in zip(deadlines, deadline_digests, strict=True))
    a = ";".join(f"{r[3]}={row_digest('af_anomalies', r)}" for r in anomalies)
    return f"{d}|{a}"


def _listed(text: str) -> list[tuple[int, str]]:
    out = [(int(m), h) for m, _, h in (item.partition("=") for item in text.split(";"))] if text else []
    if any(len(h) != 64 or not h.isascii() for _, h in out):
        raise ValueError("not a SHA-256 digest")
    return out


def seal(header: Sequence[Any], rows: str, key: bytes | None) -> str:
    """The seal over a case row's index columns (``header``, as stored) and its ``index_rows``."""
    message = _canonical([SEAL_DOMAIN, list(header), rows])
    if key is None:
        return _PLAIN + hashlib.sha256(message).hexdigest()
    return _KEYED + hmac.new(key, message, hashlib.sha256).hexdigest()


def check_seal(header: Sequence[Any], rows: str, stored: str, key: bytes | None) -> str | None:
    """What is wrong with a stored seal (None when it ties)."""
    if not stored.isascii():
        return "the case row's seal is not a digest (the case row was changed)"
    if key is None and stored.startswith(_KEYED):
        return None  # sealed with a key this reader does not have: only the rows can be checked
    if key is not None and not stored.startswith(_KEYED):
        return "the case row is not sealed with the key (written without it, or its seal was replaced)"
    if not hmac.compare_digest(stored, seal(header, rows, key)):
        return "the case row's index columns do not match its seal (the case row was changed)"
    return None


Problem = tuple[str, "int | None", str]


def _tie_table(
    table: str, listed: list[tuple[int, str]], rows: Sequence[Sequence[Any]], moment: int, until: int | None
) -> list[Problem]:
    """The rows read of one table against what the case row lists (all of them, or those up to ``until``)."""
    found: list[Problem] = []
    expected = [n for n, (m, _) in enumerate(listed) if until is None or m <= until]
    got = [r[1] for r in rows]
    if got != expected:
        extra = sorted(set(got) - set(expected), key=str)
        missing = sorted(set(expected) - set(got))
        for n in missing:
            found.append((table, n, "row missing (the case row lists it)"))
        for n in extra:
            found.append((table, n if isinstance(n, int) else None, "row the case row does not list (added or moved)"))
        if not extra and not missing:
            found.append((table, None, "rows repeated"))
        return found
    for r in rows:
        m, h = listed[r[1]]
        if r[moment] != m or not hmac.compare_digest(h, row_digest(table, r)):
            found.append((table, r[1], "row changed (it does not match the digest the case row keeps)"))
    return found


def tie(
    header: Sequence[Any],
    counts: tuple[int, int],
    moments: tuple[int | None, int | None],
    rows: str,
    stored_seal: str,
    key: bytes | None,
    *,
    deadlines: Sequence[Sequence[Any]] | None = None,
    anomalies: Sequence[Sequence[Any]] | None = None,
    until: int | None = None,
) -> list[Problem]:
    """What does not tie between a case row and the index rows read for it: ``(table, row, message)`` each.

    ``deadlines`` are rows of ``af_deadlines`` (``ordinal`` at 1, ``yellow_at`` at 7), ``anomalies`` rows of
    ``af_anomalies`` (``seq`` at 1, ``at`` at 3), as stored and in key order: every row of the case, or with
    ``until`` those whose moment is at or before it (what a sweep reads). None: that table was not read.
    """
    found: list[Problem] = []
    try:
        d_text, bar, a_text = rows.partition("|")
        listed_d, listed_a = _listed(d_text), _listed(a_text)
        if not bar:
            raise ValueError("no '|'")
    except ValueError:
        return [("af_cases", None, "column index_rows: not a list of row digests")]
    if len(listed_d) != counts[0] or len(listed_a) != counts[1]:
        found.append(("af_cases", None, "the row counts do not match the rows the case row lists"))
    if moments[0] != min((m for m, _ in listed_d), default=None):
        found.append(("af_cases", None, f"next_yellow {moments[0]!r} is not the earliest yellow_at it lists"))
    if moments[1] != min((m for m, _ in listed_a), default=None):
        found.append(("af_cases", None, f"first_anomaly {moments[1]!r} is not the earliest at it lists"))
    if deadlines is not None:
        found += _tie_table("af_deadlines", listed_d, deadlines, 7, until)
    if anomalies is not None:
        found += _tie_table("af_anomalies", listed_a, anomalies, 3, until)
    problem = check_seal(header, rows, stored_seal, key)
    if problem:
        found.append(("af_cases", None, problem))
    return found
