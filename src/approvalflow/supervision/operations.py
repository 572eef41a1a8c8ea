"""What the supervision commands do, apart from their arguments and printing (``approvalflow supervise``,
``log export``, ``log check``).

* :func:`supervise_store`: the yellow and red cards of every open case at a moment, the anomalies up to it and the
  efficiency figures, trusting no index row that does not tie to its case row (:mod:`approvalflow.store.integrity`):
  nothing of such a case is shown, and :attr:`Supervision.problems` lists it;
* :func:`export_store_log`: the store as an event log, written beside OUT and renamed at the end, so that a refused
  export leaves OUT as it was;
* :func:`log_organisation`: without an organisation file, every resource of a log holds every post of the process.

A record whose contents break a reader becomes a :class:`~approvalflow.store.base.StoreError` naming the case.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..bpmn.loader import ProcessDefinition
from ..catalog import load_catalog
from ..errors import DefinitionError
from ..io.outputfiles import temp_beside
from ..org.organisation import Organisation, organisation_from_dict
from ..store.base import CaseStore, CollectingStore, IndexProblem, StoreError
from ..store.reading import DAMAGE, LastRead, TrackedRecords
from .cardrules import CardRule, is_default
from .efficiency import Evaluation, Period, evaluate_efficiency
from .eventlog import Trace, export_log
from .sweep import Responsibility, SweepResult, sweep_store

__all__ = ["Supervision", "catalog_responsibility", "export_store_log", "log_organisation", "supervise_store"]


@dataclass
class Supervision:
    """What ``supervise`` shows: the sweep (cards and anomalies), the efficiency figures, and the index problems."""

    sweep: SweepResult
    efficiency: Evaluation
    problems: list[IndexProblem]

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``supervise --json``."""
        return {
            **self.sweep.to_json(),
            "efficiency": self.efficiency.to_json(),
            "integrity": [p.to_json() for p in self.problems],
        }


def supervise_store(
    store: CaseStore,
    at: datetime,
    *,
    period: Period = "month",
    responsibility: Responsibility | None = None,
    rules: Sequence[CardRule] | None = None,
    processes: Sequence[ProcessDefinition] = (),
) -> Supervision:
    """Cards, anomalies and efficiency of ``store`` at ``at``; cases whose index does not tie are left out of the
    cards and anomalies and listed in ``problems`` (the store is read, never written, and not closed).

    ``rules``: card rules (default: today's); ``processes``: the definitions the share rules read a step's limit
    from (matched by digest), besides those deployed in the store's registry."""
    checked = CollectingStore(store)
    last = LastRead()
    definitions = None
    if not is_default(rules):
        from ..store.registry import KnownDefinitions

        definitions = KnownDefinitions(store, processes).get
    result = sweep_store(checked, at, responsibility=responsibility, rules=rules, definitions=definitions)
    try:
        ev = evaluate_efficiency(last.track(checked.summaries()), until=at, period=period)
    except DAMAGE as exc:
        raise last.damaged(checked, "summary", exc) from None
    problems = list(dict.fromkeys(checked.problems))
    untied = {p.case_id for p in problems}
    if untied:  # nothing of a case whose index does not tie is shown, not even the rows that do
        result.cards = [c for c in result.cards if c.case not in untied]
        result.anomalies = [a for a in result.anomalies if a.case_id not in untied]
        result.case_cards = [c for c in result.case_cards if c.case not in untied]
    return Supervision(result, ev, problems)


def catalog_responsibility(path: str | Path) -> dict[str, tuple[str, str]]:
    """责任事项 and 追责情形 of each power of a catalog (权力清单), by 职权编码: what a card of that power carries."""
    catalog = load_catalog(path)
    return {p.code: (p.responsibilities or "", p.accountability or "") for p in catalog.powers}


def export_store_log(store: CaseStore, out: str | Path, *, include_open: bool = False) -> int:
    """Export every case of ``store`` to ``out`` (``.xes`` or ``.csv``); the number of cases (``include_open``: see
    :func:`~approvalflow.supervision.eventlog.export_log`).

    Written to a temporary file beside ``out`` and renamed at the end: a refused export (a case whose index does
    not tie, a damaged record, an unknown extension) leaves ``out`` as it was. The store is not closed.
    """
    out = Path(out)
    last = LastRead()
    suffix = "".join(out.suffixes[-2:]) if out.suffix.lower() == ".gz" else out.suffix
    fd, name = temp_beside(out, suffix)
    os.close(fd)
    staged = Path(name)
    try:
        try:
            n = export_log(TrackedRecords(store, last), staged, include_open=include_open)
        except StoreError:
            raise
        except DefinitionError as exc:  # e.g. an unknown extension: name OUT, not the temporary file
            file = str(out) if exc.file == str(staged) else exc.file
            message = exc.message.replace(str(staged), str(out))
            raise DefinitionError(message, file=file, line=exc.line, element=exc.element) from None
        except DAMAGE as exc:
            raise last.damaged(store, "state", exc) from None
        os.replace(staged, out)
    finally:
        staged.unlink(missing_ok=True)
    return n


def log_organisation(traces: Sequence[Trace], definition: ProcessDefinition) -> Organisation:
    """Without ``--org``: every resource of the log holds every post, in one unit ``log`` (only actor rules can
    break)."""
    posts = sorted({p for s in definition.steps.values() for p in s.posts})
    people = sorted({e.resource for t in traces for e in t.events if e.resource})
    return organisation_from_dict(
        {"units": [{"id": "log"}], "people": {p: {"unit": "log", "posts": posts} for p in people}},
        file="<the event log's resources>",
    )
