"""What the card rules (:mod:`approvalflow.supervision.cardrules`) count of a case, as the store's summary keeps it.

The summary of a case (:func:`approvalflow.store.index.summary_of`) carries ``card_facts`` only when there is
something to count: the moments of its 一次告知 补正 notices (:attr:`Case.notices`) and of its 催办
(:attr:`Case.urges`), and a refusal outcome (不予受理, 不予许可) with its moment and reason. The summary of a case
without any of them is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine.case import Case

__all__ = ["REFUSALS", "CaseFacts", "facts_json", "facts_of"]

#: The outcomes that refuse the applicant (:data:`approvalflow.engine.flowcontrol.OUTCOMES`).
REFUSALS = ("denied", "not-accepted")


@dataclass(frozen=True)
class CaseFacts:
    """What the count rules read of a case: its 补正 notices and 催办 moments, and a refusal's outcome and reason."""

    notices: tuple[datetime, ...] = ()
    urges: tuple[datetime, ...] = ()
    outcome: str | None = None
    outcome_at: datetime | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any] | None:
        """The summary's ``card_facts`` (None when there is nothing to say: the key is then not written)."""
        out: dict[str, Any] = {}
        if self.notices:
            out["notices"] = [m.isoformat() for m in self.notices]
        if self.urges:
            out["urges"] = [m.isoformat() for m in self.urges]
        if self.outcome in REFUSALS and self.outcome_at is not None:
            out["refusal"] = {"outcome": self.outcome, "at": self.outcome_at.isoformat(), "reason": self.reason}
        return out or None

    @classmethod
    def from_json(cls, doc: Any) -> CaseFacts:
        """The facts of a summary's ``card_facts`` (``ValueError`` naming what is wrong)."""
        if doc is None:
            return cls()
        if not isinstance(doc, dict) or set(doc) - {"notices", "urges", "refusal"}:
            raise ValueError("'card_facts' is not a mapping of notices, urges and refusal")
        notices = tuple(_moment(m, "card_facts.notices") for m in _list(doc.get("notices", []), "card_facts.notices"))
        urges = tuple(_moment(m, "card_facts.urges") for m in _list(doc.get("urges", []), "card_facts.urges"))
        refusal = doc.get("refusal")
        if refusal is None:
            return cls(notices, urges)
        if not isinstance(refusal, dict) or set(refusal) != {"outcome", "at", "reason"}:
            raise ValueError("'card_facts.refusal' is not a mapping of outcome, at and reason")
        if refusal["outcome"] not in REFUSALS or not (refusal["reason"] is None or isinstance(refusal["reason"], str)):
            raise ValueError("'card_facts.refusal': outcome is denied or not-accepted, reason text or null")
        at = _moment(refusal["at"], "card_facts.refusal.at")
        return cls(notices, urges, refusal["outcome"], at, refusal["reason"])


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"'{where}' is not a list")
    return value


def _moment(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"'{where}': a moment is ISO 8601 text")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"'{where}': moment {value[:40]!r} has no time zone")
    return moment


def facts_of(case: Case) -> CaseFacts:
    """The count rules' facts of a case (what the store's summary keeps as ``card_facts``)."""
    outcome = case._flow.outcome  # the recorded decision (flowcontrol.record_outcome), or None
    refusal = outcome if outcome is not None and outcome.get("outcome") in REFUSALS else None
    return CaseFacts(
        tuple(n.at for n in case._notices),  # the slots (engine/empties.py): reading the lists would make them
        tuple(u.at for u in case._urges),
        refusal["outcome"] if refusal else None,
        datetime.fromisoformat(refusal["at"]) if refusal else None,
        refusal.get("reason") if refusal else None,
    )


def facts_json(case: Case) -> dict[str, Any] | None:
    """``facts_of(case).to_json()``, without building the facts of a case that has none to give (no notice, no urge,
    no recorded outcome: every case that was only completed), as the summary of every save asks."""
    if not case._notices and not case._urges and case._flow.outcome is None:
        return None
    return facts_of(case).to_json()
