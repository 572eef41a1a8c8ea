"""好差评: the applicant's evaluation of a case that has ended (办结), recorded without reopening it.

An evaluation gives one of the five grades of 政务服务好差评 (:data:`GRADES`: 非常满意, 满意, 基本满意, 不满意,
非常不满意; codes 1 to 5 as GB/T 39046—2020 A.8 writes 满意度代码), an optional text (文字评价, required for a
差评) and the channel it came through (评价渠道, GB/T 39046 表 9). It is given once, on a ``completed`` case only:
a running or suspended case is not finished, a withdrawn or terminated one was not decided (both refused,
``case-status``); a second evaluation is ``evaluated-once``. Both are refused under either policy.

An evaluation is recorded on an ended case as an action like any other: one trail entry (action ``evaluate``,
outcome ``evaluated``) and :attr:`Case.evaluation`. Nothing else of the case moves: its engine state, status,
``ended_at``, deadlines and cards stay as they were (no step becomes ready, no timer fires), so the case stays
ended and its efficiency figures are unchanged.

A 差评 (:data:`POOR`: 不满意, 非常不满意) opens a 整改 follow-up case: :mod:`approvalflow.exchange.rectification`
starts it in the store and passes its id here (``rectification``), so the evaluation names the case that answers
it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, StepRefused, UnknownActorError
from ..rules.checks import RUNTIME
from .casedata import plain_name
from .opinions import opinion_text

if TYPE_CHECKING:
    from .case import Case

__all__ = ["GOOD", "GRADES", "POOR", "Evaluation", "evaluate", "evaluation_from_state", "grade_of"]

#: The five grades (满意度) and their codes (满意度代码, GB/T 39046—2020 A.8: 1 非常满意 … 5 非常不满意).
GRADES: dict[str, int] = {"非常满意": 1, "满意": 2, "基本满意": 3, "不满意": 4, "非常不满意": 5}
#: English names of the grades (the API and scenario files accept either).
ENGLISH: dict[str, str] = {
    "very-satisfied": "非常满意",
    "satisfied": "满意",
    "basically-satisfied": "基本满意",
    "dissatisfied": "不满意",
    "very-dissatisfied": "非常不满意",
}
#: 差评: the grades that open a 整改 follow-up.
POOR = frozenset({"不满意", "非常不满意"})
#: 好评: the others.
GOOD = frozenset(GRADES) - POOR
MAX_CHANNEL = 50  # 评价渠道 an..50 (GB/T 39046 表 9)
_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,199}")
_FIELDS = frozenset({"grade", "actor", "at", "text", "channel", "rectification"})


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation: its grade (Chinese), who gave it (the applicant, or an official recording it for them), when,
    its text, channel, and the 整改 case a 差评 opened (its id; None for a 好评)."""

    grade: str
    actor: str
    at: datetime
    text: str | None = None
    channel: str | None = None
    rectification: str | None = None

    @property
    def code(self) -> int:
        """满意度代码 (GB/T 39046 A.8): 1 非常满意 … 5 非常不满意."""
        return GRADES[self.grade]

    @property
    def poor(self) -> bool:
        """True for a 差评 (不满意, 非常不满意)."""
        return self.grade in POOR

    def to_dict(self) -> dict[str, Any]:
        """The plain mapping kept in the saved case."""
        return {"grade": self.grade, "actor": self.actor, "at": self.at.isoformat(), "text": self.text,
                "channel": self.channel, "rectification": self.rectification}  # fmt: skip


def grade_of(value: object) -> str:
    """The grade given in Chinese (非常满意 …) or English (``very-satisfied`` …); :class:`InvalidInputError`
    naming the five otherwise."""
    if isinstance(value, str):
        text = value.strip()
        if text in GRADES:
            return text
        if text.lower() in ENGLISH:
            return ENGLISH[text.lower()]
    raise InvalidInputError(f"the grade {str(value)[:40]!r} is none of {', '.join(GRADES)} "
                            f"({', '.join(ENGLISH)})")  # fmt: skip


def _channel(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_CHANNEL or "\n" in value:
        raise InvalidInputError(f"the channel (评价渠道) is a one-line text of 1 to {MAX_CHANNEL} characters")
    opinion_text(value, "the channel")
    return value


def _rectification(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _CASE_ID.fullmatch(value):
        raise InvalidInputError(f"the rectification case id {str(value)[:60]!r} is not a case id")
    return value


def evaluate(
    case: Case,
    actor: str,
    grade: str,
    text: str | None,
    channel: str | None,
    rectification: str | None,
    at: datetime | str | None,
) -> Evaluation:
    """Record the evaluation (see the module) and return it; refused (``case-status``, ``evaluated-once``) or
    :class:`InvalidInputError` / :class:`UnknownActorError` without changing anything."""
    actor = plain_name(actor, "actor")
    if case.organisation.person(actor) is None and actor not in case.parties:
        raise UnknownActorError(
            f"'{actor}' is neither a party of the case (the applicant evaluates) nor a person of the organisation "
            "(recording an evaluation given on paper or by telephone)",
            case=case.id,
        )
    moment = case._moment(at, None)
    chosen = grade_of(grade)
    words = opinion_text(text, "the evaluation's text (文字评价)")
    if chosen in POOR and (words is None or not words.strip()):
        raise InvalidInputError(f"a 差评 ({chosen}) says what was wrong: give its text (文字评价); the 整改 answers it",
                                case=case.id)  # fmt: skip
    way = _channel(channel)
    rect = _rectification(rectification)
    if rect is not None and chosen not in POOR:
        raise InvalidInputError("only a 差评 opens a 整改 case (rectification)", case=case.id)
    data = {"grade": chosen, "code": GRADES[chosen], "text": words, "channel": way, "rectification": rect}
    base = {"action": "evaluate", "at": moment.isoformat(), "step": None, "actor": actor, "post": None,
            "unit": case.unit.id, "data": {k: v for k, v in data.items() if v is not None}}  # fmt: skip
    status = case.status
    rule, message = None, ""
    if status != "completed":
        rule = "case-status"
        message = f"好差评 is given on a completed case (办结); this case is {status}"
    elif case.evaluation is not None:
        rule = "evaluated-once"
        message = (f"the case was evaluated already ({case.evaluation.grade} at {case.evaluation.at.isoformat()}); an "
                   "evaluation is given once")  # fmt: skip
    elif case.ended_at is not None and moment < case.ended_at:
        rule = "case-status"
        message = f"an evaluation at {moment.isoformat()} comes before the case ended ({case.ended_at.isoformat()})"
    if rule is not None:
        finding = RUNTIME.finding(rule, message, element=None, actor=actor, at=moment)
        case._append(**base, findings=[finding.to_dict()], outcome="refused")
        raise StepRefused(case=case.id, step="(case)", actor=actor, findings=[finding])
    result = Evaluation(chosen, actor, moment, words, way, rect)
    with case._all_or_nothing(base):
        case.evaluation = result
        case._append(**base, findings=[], outcome="evaluated")
    return result


def evaluation_from_state(value: object, case: Case, data: Mapping[str, Any]) -> Evaluation | None:
    """The ``evaluation`` of a saved case whose data is ``data``, checked (``ValueError`` naming what is wrong): a
    known grade, an actor who is a person of the organisation or a party of the case; None when absent."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != _FIELDS:
        raise ValueError("'evaluation' is not an evaluation record")
    grade, actor = value["grade"], value["actor"]
    if grade not in GRADES or not isinstance(actor, str) or not actor:
        raise ValueError("'evaluation': unknown grade, or no actor")
    extra = data.get("parties")
    parties = [data.get("applicant"), *(extra if isinstance(extra, list) else [extra])]
    if case.organisation.person(actor) is None and actor not in parties:
        raise ValueError("'evaluation': its actor is neither a person of the organisation nor a party of the case")
    at = datetime.fromisoformat(value["at"]) if isinstance(value["at"], str) else None
    if at is None or at.tzinfo is None:
        raise ValueError("'evaluation': 'at' is not a moment with a time zone")
    try:
        text = opinion_text(value["text"], "'evaluation'.text")
        channel = _channel(value["channel"])
        rect = _rectification(value["rectification"])
    except InvalidInputError as exc:
        raise ValueError(f"'evaluation': {exc}") from None
    if rect is not None and grade not in POOR:
        raise ValueError("'evaluation': a 好评 names a rectification case")
    return Evaluation(grade, actor, at, text, channel, rect)
