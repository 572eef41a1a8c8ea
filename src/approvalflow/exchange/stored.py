"""Export stored cases: read each from the store (trail verified), number it and build its exchange records."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from ..bpmn.loader import ProcessDefinition
from ..engine.persistence import load_case
from ..errors import CaseFormatError
from ..org.organisation import Organisation
from ..store.base import CaseStore
from ..store.registry import KnownDefinitions
from .numbering import DEFAULT_TEMPLATE, day_of, number_of
from .records import ExchangeRecord, export_case
from .rectification import rectification_process

__all__ = ["export_stored"]


def export_stored(
    store: CaseStore,
    case_ids: Iterable[str],
    processes: Iterable[ProcessDefinition],
    organisations: Sequence[Organisation],
    *,
    template: str = DEFAULT_TEMPLATE,
    code: str | None = None,
) -> list[ExchangeRecord]:
    """The exchange records of the stored cases ``case_ids``, in that order.

    Each case loads on the given definition of its digest, else the store's deployed one, else the built-in
    rectification process (整改 cases), in the organisation that has its unit; its trail is verified against the
    store's head. Its 办件编号 is its data's ``case_number``, else made by ``template`` with the sequence counted in
    the store as :func:`~approvalflow.exchange.numbering.sequence_in_store` counts it (one pass over the store's
    summaries for all the cases). Any case that cannot be read or
    exported stops the export with an error naming it (nothing is written by the caller then)."""
    known = KnownDefinitions(store, [*processes, rectification_process()])
    key = getattr(store, "key", None)
    days: dict[tuple[str | None, date], list[tuple[datetime, str]]] = {}  # one pass: the sequences of every day
    for summary in store.summaries():
        days.setdefault((summary.power, day_of(summary.started_at)), []).append((summary.started_at, summary.id))
    for started in days.values():
        started.sort()
    out = []
    for case_id in case_ids:
        record = store.get(case_id)
        name = f"{store.url} case {record.id}"
        definition = known.get(record.digest)
        if definition is None:
            raise CaseFormatError(f"the case ran on process '{record.process[:80]}' with digest {record.digest[:12]}…: "
                                  "no such process was given nor deployed", file=name)  # fmt: skip
        org = next((o for o in organisations if record.unit in o.units), None)
        if org is None:
            raise CaseFormatError(f"no organisation given has the case's unit '{record.unit[:80]}'", file=name)
        case = load_case(record.state, definition, org, name=name, trail_key=key)
        check = case.trail.verify(record.trail_head)
        if not check.ok:
            raise CaseFormatError("the audit trail does not match the head the store keeps: "
                                  + "; ".join(check.problems), file=name)  # fmt: skip
        same_day = days.get((record.power, day_of(case.started_at)), [])
        seq = bisect_left(same_day, (case.started_at, case.id)) + 1  # as sequence_in_store counts it
        number = number_of(case, template=template, seq=seq, code=code)
        out.append(export_case(case, number, code=code))
    return out
