"""好差评 in a store: record an evaluation and, for a 差评, open its 整改 follow-up case.

:func:`evaluate_stored` records the evaluation on the stored case (:meth:`Case.evaluate
<approvalflow.engine.case.Case.evaluate>`) and, for a 差评 (不满意, 非常不满意), starts a case of the built-in
rectification process (:data:`RECTIFICATION_BPMN`: 整改, then 回访 by another person, within
:data:`RECTIFICATION_DAYS` working days) in the same store and unit. The new case's data names the evaluated case
(``rectifies``), the grade and the applicant's text; its id (:func:`rectification_id`: the evaluated case's id +
``-zg``) is recorded in the evaluation. It is supervised like any case: its deadline is indexed, the sweep raises
its cards, and efficiency counts it in 差评整改率 (:mod:`approvalflow.supervision.efficiency`).

Order, so that nothing half-done is left: the 整改 case is started in memory first (an unknown unit or a bad
definition refuses everything), then the evaluation is saved, then the 整改 case is added. Should that last write
fail, the evaluation names a case the store lacks: :func:`open_rectification` adds it (it does nothing when the
case is there), and the error says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..bpmn.loader import ProcessDefinition, load_process
from ..engine.case import Case, start_case
from ..engine.evaluation import POOR, Evaluation, grade_of
from ..errors import InvalidInputError
from ..store.base import CaseStore, StoreError
from ..store.cases import StoredCase, act, add_case
from ..time.clock import FakeClock

__all__ = [
    "RECTIFICATION_BPMN",
    "RECTIFICATION_DAYS",
    "Rated",
    "evaluate_stored",
    "open_rectification",
    "rectification_id",
    "rectification_process",
]

RECTIFICATION_BPMN = Path(__file__).parent / "processes" / "rectification.bpmn"
#: The 整改 time limit in working days (the process's af:timeLimit; docs/exchange.md gives the source).
RECTIFICATION_DAYS = 15


@dataclass
class Rated:
    """What :func:`evaluate_stored` did: the evaluation, and the 整改 case a 差评 opened (None for a 好评)."""

    evaluation: Evaluation
    rectification: StoredCase | None


@cache
def rectification_process() -> ProcessDefinition:
    """The built-in rectification process (整改 → 回访, 15 working days), loaded once."""
    return load_process(RECTIFICATION_BPMN)


def rectification_id(case_id: str) -> str:
    """The id of the 整改 case of ``case_id``'s 差评 (one evaluation per case, so one 整改 case)."""
    return f"{case_id}-zg"


def _start(case: Case, evaluation: Evaluation, definition: ProcessDefinition, key: bytes | None) -> Case:
    data: dict[str, Any] = {"rectifies": case.id, "grade": evaluation.grade, "complaint": evaluation.text}
    applicant = case.data.get("applicant")
    if isinstance(applicant, str):
        data["applicant"] = applicant
    rect = start_case(definition, case.organisation, unit=case.unit.id, clock=FakeClock(evaluation.at), data=data,
                      case_id=rectification_id(case.id), calendar=case.calendar, yellow_days=case.yellow_days,
                      trail_key=key, policy=case.policy)  # fmt: skip
    rect.clock = case.clock  # started at the evaluation's moment; from now on the host's clock
    return rect


def evaluate_stored(
    store: CaseStore,
    stored: StoredCase,
    actor: str,
    grade: str,
    *,
    text: str | None = None,
    channel: str | None = None,
    at: Any = None,
    definition: ProcessDefinition | None = None,
) -> Rated:
    """Record the evaluation of the stored case and, for a 差评, open its 整改 case (see the module).

    ``definition`` replaces the built-in rectification process (a host whose posts differ). A refused evaluation
    (``case-status``, ``evaluated-once``) is saved in the case's trail and re-raised; no 整改 case is opened."""
    case = stored.case
    chosen = grade_of(grade)
    key = getattr(store, "key", None)
    rect: Case | None = None
    if chosen in POOR:
        moment = case._moment(at, None)
        probe = Evaluation(chosen, actor, moment, text, channel, rectification_id(case.id))
        rect = _start(case, probe, definition or rectification_process(), key)
        at = moment
    evaluation = act(store, stored, lambda c: c.evaluate(actor, chosen, text=text, channel=channel, at=at,
                                                         rectification=rect.id if rect else None))  # fmt: skip
    if rect is None:
        return Rated(evaluation, None)
    try:
        added = add_case(store, rect)
    except StoreError as exc:
        raise StoreError(f"the evaluation of case {case.id} is saved, but its 整改 case {rect.id} could not be added "
                         f"({exc}); open_rectification() adds it", case=case.id) from exc  # fmt: skip
    return Rated(evaluation, added)


def open_rectification(
    store: CaseStore, stored: StoredCase, *, definition: ProcessDefinition | None = None
) -> StoredCase | None:
    """Add the 整改 case that the stored case's 差评 names, if the store lacks it; None for a case without a 差评.
    Returns the 整改 case as stored (the one there already, if any, is read as a record only: None is not returned
    for it; load it with :func:`~approvalflow.store.cases.load_case_from`)."""
    case = stored.case
    evaluation = case.evaluation
    if evaluation is None or evaluation.rectification is None:
        return None
    if evaluation.rectification != rectification_id(case.id):
        raise InvalidInputError(f"case {case.id}: its evaluation names the 整改 case {evaluation.rectification}, not "
                                f"{rectification_id(case.id)}", case=case.id)  # fmt: skip
    if evaluation.rectification in store.ids():
        return None
    rect = _start(case, evaluation, definition or rectification_process(), getattr(store, "key", None))
    return add_case(store, rect)
