"""Who may do a step now: the person rules (:data:`~approvalflow.rules.checks.PERSON_RULES`) on one person.

One function for every operation that judges a person before any completion: 签收, 转办 and 委派
(:mod:`.handover`), 加签 and the 一次告知 notice (:mod:`.addsign`, :mod:`.materials`), and the holders a migration
carries over (:mod:`.migration`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ..rules.checks import PERSON_RULES, Completion, Finding, StepAttempt, check

if TYPE_CHECKING:
    from ..bpmn.model import StepInfo
    from ..org.organisation import Person
    from .case import Case

__all__ = ["person_findings"]


def person_findings(
    case: Case,
    info: StepInfo,
    person: Person,
    *,
    at: datetime,
    since: datetime,
    rules: Iterable[str] = PERSON_RULES,
    history: Sequence[Completion] | None = None,
) -> list[Finding]:
    """The findings of the case's registered rules among ``rules`` on ``person`` doing ``info`` at ``at`` (the step
    ready since ``since``), in registration order; ``history`` instead of the case's own (a migration's, renamed)."""
    wanted = set(rules)
    chosen = {k: v for k, v in case.rules.items() if k in wanted}
    if not chosen:
        return []
    done = tuple(case.history if history is None else history)
    attempt = StepAttempt(info, person, case.unit, case.organisation, done, case.parties, at, None, {},
                          dict(case.data), since, case.calendar)  # fmt: skip
    return check(attempt, chosen)
