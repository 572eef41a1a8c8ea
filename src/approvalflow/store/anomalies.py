"""Anomalies (异常) read from a case's audit trail, for the supervision sweep.

Kinds (stable names, in JSON as ``kind``):

- ``late-completion``: a step or the case completed after its limit (the ``step-overdue`` and ``case-overdue``
  findings recorded with the completion);
- ``refused``: an attempt the engine refused under ``enforce``, with the person and the rules broken;
- ``rule-finding``: a rule broken and recorded under the ``record`` policy;
- ``repeated-suspension``: a ``suspendsClock`` step (e.g. 补正) attempted again in the same case (一次告知);
- ``extension``: the case's extension (延期) used.

Trail entries are plain dicts (see :mod:`approvalflow.engine.trail`); nothing here needs the engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .base import AnomalyEntry

if TYPE_CHECKING:
    from ..engine.case import Case

__all__ = ["TIME_RULES", "anomalies_of", "refusals_by_person", "trail_anomalies"]

TIME_RULES = frozenset({"step-overdue", "case-overdue"})
_ATTEMPTS = frozenset({"completed", "recorded", "refused"})


def _rules(entry: Mapping[str, Any]) -> list[str]:
    return [str(f.get("rule")) for f in entry.get("findings") or [] if isinstance(f, Mapping)]


def _entry_anomalies(
    entry: Mapping[str, Any], where: tuple[str, str, str | None], seen: Counter[str], suspending: Mapping[str, str]
) -> list[AnomalyEntry]:
    case_id, unit, power = where
    at = datetime.fromisoformat(str(entry["at"]))
    step, actor, outcome = entry.get("step"), entry.get("actor"), entry.get("outcome")
    rules = _rules(entry)

    def one(kind: str, found: Sequence[str], detail: str) -> AnomalyEntry:
        return AnomalyEntry(case_id, kind, at, step, actor, tuple(found), unit, power, detail)

    out: list[AnomalyEntry] = []
    if outcome == "refused":
        out.append(one("refused", rules, f"{actor} refused at '{step}': {', '.join(rules)}"))
    elif outcome == "recorded":
        late = [r for r in rules if r in TIME_RULES]
        other = [r for r in rules if r not in TIME_RULES]
        if late:
            out.append(one("late-completion", late, f"'{step}' completed late by {actor}"))
        if other:
            out.append(one("rule-finding", other, f"'{step}' by {actor} broke {', '.join(other)} (recorded)"))
    if step in suspending and outcome in _ATTEMPTS:
        seen[str(step)] += 1
        if seen[str(step)] > 1:
            reason = suspending[str(step)]
            out.append(one("repeated-suspension", (), f"{reason} ('{step}') attempted {seen[str(step)]} times"))
    return out


def trail_anomalies(
    entries: Iterable[Mapping[str, Any]],
    *,
    case_id: str,
    unit: str,
    power: str | None,
    suspending: Mapping[str, str],
    extension_steps: Iterable[str] = (),
    seen: Counter[str] | None = None,
) -> list[AnomalyEntry]:
    """The anomalies in one case's trail, in trail order.

    ``seen`` counts the attempts of each ``suspendsClock`` step in the entries before these (updated in place): with
    it, the anomalies of a trail's later entries are those of the whole trail after the earlier entries' anomalies.
    """
    extensions = set(extension_steps)
    if seen is None:
        seen = Counter()
    out: list[AnomalyEntry] = []
    for entry in entries:
        if entry.get("action") != "complete" or "at" not in entry:
            continue
        out += _entry_anomalies(entry, (case_id, unit, power), seen, suspending)
        if entry.get("step") in extensions and entry.get("outcome") in ("completed", "recorded"):
            days = (entry.get("data") or {}).get("extension_days")
            detail = f"extension granted at '{entry.get('step')}'" + (f" ({days} days)" if days else "")
            at = datetime.fromisoformat(str(entry["at"]))
            out.append(
                AnomalyEntry(case_id, "extension", at, entry.get("step"), entry.get("actor"), (), unit, power, detail)
            )
    return out


def anomalies_of(
    case: Case, *, entries: Sequence[Mapping[str, Any]] | None = None, seen: Counter[str] | None = None
) -> list[AnomalyEntry]:
    """The anomalies in a running case's trail (``entries``: its entries, when the caller has them decoded; with
    ``seen``, entries that follow those counted in it, as :func:`trail_anomalies`)."""
    definition = case.definition
    suspending = {s.id: s.suspends_clock for s in definition.steps.values() if s.suspends_clock is not None}
    return trail_anomalies(
        case.trail.entries if entries is None else entries,
        case_id=case.id,
        unit=case.unit.id,
        power=definition.power.code if definition.power else None,
        suspending=suspending,
        extension_steps=[s.id for s in definition.steps.values() if s.extension],
        seen=seen,
    )


def refusals_by_person(anomalies: Iterable[AnomalyEntry]) -> dict[str, dict[str, int]]:
    """Refused attempts counted by person and rule: ``{actor: {rule: n}}``."""
    counts: dict[str, Counter[str]] = {}
    for a in anomalies:
        if a.kind == "refused":
            counts.setdefault(a.actor or "?", Counter()).update(a.rules)
    return {actor: dict(sorted(c.items())) for actor, c in sorted(counts.items())}
