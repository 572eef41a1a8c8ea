"""Check a whole case store, and rebuild its index: ``approvalflow store check`` and ``store reindex``.

:func:`check_store` reads every case as stored and reports, case by case, every row whose columns are not what
the schema says, every trail that does not verify against the head kept in the case row, every state that does
not load onto its process, every index row (and index column of the case row) that differs from what the index
computes from the loaded case, every case row whose index does not tie (:mod:`.integrity`) and every index
row without a case. :func:`reindex_store` rewrites the index of every case whose trail verifies and whose state
loads, and refuses (lists) the others.

Loading a case needs its process (matched by the digest the case row keeps) and an organisation that has its
unit; the calendar is China's official one (as :func:`~approvalflow.engine.persistence.load_case` by default).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..bpmn.loader import ProcessDefinition
from ..engine.case import Case
from ..engine.persistence import load_case
from ..engine.trail import verify_trail
from ..errors import ApprovalflowError
from ..org.organisation import Organisation
from .base import CaseRecord, ConflictError, IndexProblem, StoreError
from .index import record_of
from .integrity import tie
from .registry import KnownDefinitions
from .sql import (
    TABLES,
    Damaged,
    SqlStoreBase,
    _anomaly_rows,
    _check_case_row,
    _deadline_rows,
    _header,
    anomaly_from_row,
    case_row,
    deadline_from_row,
    done_from_row,
    done_rows,
    record_from_row,
    timer_rows,
    todo_from_row,
    todo_rows,
)

__all__ = ["CheckResult", "ReindexResult", "check_store", "reindex_store"]

_HEADER_NAMES = [c.strip() for c in TABLES["af_cases"].split(",")]
_HEADER_NAMES = [_HEADER_NAMES[0], *_HEADER_NAMES[2:18]]
_DEADLINE_NAMES = [c.strip() for c in TABLES["af_deadlines"].split(",")]
_ANOMALY_NAMES = [c.strip() for c in TABLES["af_anomalies"].split(",")]
_TIMER_NAMES = [c.strip() for c in TABLES["af_timers"].split(",")]
_TODO_NAMES = [c.strip() for c in TABLES["af_todo"].split(",")]
_DONE_NAMES = [c.strip() for c in TABLES["af_done"].split(",")]


@dataclass
class CheckResult:
    """What ``store check`` found: how many cases it read and every problem."""

    cases: int = 0
    problems: list[IndexProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "cases": self.cases, "problems": [p.to_json() for p in self.problems]}


@dataclass
class ReindexResult:
    """What ``store reindex`` did: the cases reindexed, those refused (with why), index rows without a case removed."""

    reindexed: int = 0
    refused: list[IndexProblem] = field(default_factory=list)
    orphans_removed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "reindexed": self.reindexed,
            "refused": [p.to_json() for p in self.refused],
            "orphans_removed": self.orphans_removed,
        }


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _loaded(
    store: SqlStoreBase,
    record: CaseRecord,
    processes: KnownDefinitions,
    organisations: Sequence[Organisation],
) -> Case | IndexProblem:
    """The case restored from its state (trail verified against the case row's head), or why not."""
    cid = record.id
    try:
        doc = json.loads(record.state)
    except (ValueError, RecursionError) as exc:
        return IndexProblem(cid, "af_cases", f"column state: not JSON ({exc})")
    entries = doc.get("trail") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return IndexProblem(cid, "af_cases", "column state: not a saved case (no list of trail entries)")
    result = verify_trail(entries, head=record.trail_head, key=store.key)
    if not result.ok:
        return IndexProblem(
            cid,
            "af_cases",
            "the audit trail does not verify against the case row's head: " + "; ".join(result.problems),
        )
    try:
        definition = processes.get(record.digest)
    except StoreError as exc:
        return IndexProblem(cid, "af_cases", f"its process cannot be read from the registry: {exc}")
    if definition is None:
        return IndexProblem(
            cid,
            "af_cases",
            f"the case ran on process '{record.process}' with digest {record.digest[:12]}…: no such process was given",
        )
    org = next((o for o in organisations if record.unit in o.units), None)
    if org is None:
        return IndexProblem(cid, "af_cases", f"no organisation given has the case's unit '{record.unit}'")
    try:
        case = load_case(record.state, definition, org, name=f"{store.url} case {cid}", trail_key=store.key)
    except ApprovalflowError as exc:
        return IndexProblem(cid, "af_cases", f"the state does not load: {exc}")
    check = case.trail.verify(record.trail_head)
    if not check.ok:
        return IndexProblem(
            cid, "af_cases", "the audit trail does not match the case row's head: " + "; ".join(check.problems)
        )
    return case


def _differences(
    cid: str, stored: Sequence[Sequence[Any]], computed: Sequence[Sequence[Any]], table: str, names: list[str]
) -> list[IndexProblem]:
    found = []
    for n in range(max(len(stored), len(computed))):
        if n >= len(stored):
            found.append(IndexProblem(cid, table, "row missing (the index computes it from the case)", n))
        elif n >= len(computed):
            found.append(IndexProblem(cid, table, "row the case does not give (added)", n))
        elif list(stored[n]) != list(computed[n]):
            cols = [
                f"{names[i]} {_show(stored[n][i])} (expected {_show(computed[n][i])})"
                for i in range(min(len(names), len(stored[n]), len(computed[n])))
                if stored[n][i] != computed[n][i]
            ]
            found.append(IndexProblem(cid, table, "differs from the case: " + ", ".join(cols), n))
    return found


def _check_case(
    store: SqlStoreBase,
    case_id: Any,
    processes: KnownDefinitions,
    organisations: Sequence[Organisation],
) -> list[IndexProblem]:
    row, deadlines, anomalies = store.raw_case(case_id)
    cid = case_id if isinstance(case_id, str) else repr(case_id)
    if row is None:
        return [IndexProblem(cid, "af_cases", "the case row vanished while checking")]
    problems: list[IndexProblem] = []
    try:
        record = record_from_row(row)
        _check_case_row(row)
    except Damaged as exc:
        return [IndexProblem(cid, "af_cases", f"damaged row: {exc}")]
    readable = True
    for table, rows, parse in (
        ("af_deadlines", deadlines, deadline_from_row),
        ("af_anomalies", anomalies, anomaly_from_row),
    ):
        for r in rows:
            try:
                parse(r)
            except Damaged as exc:
                problems.append(
                    IndexProblem(cid, table, f"damaged row: {exc}", r[1] if isinstance(r[1], int) else None)
                )
                readable = False
    if readable:
        for table, n, message in tie(
            _header(row),
            (row[14], row[15]),
            (row[16], row[17]),
            row[18],
            row[19],
            store.key,
            deadlines=deadlines,
            anomalies=anomalies,
        ):
            problems.append(IndexProblem(cid, table, message, n))
    case = _loaded(store, record, processes, organisations)
    if isinstance(case, IndexProblem):
        return [*problems, case]
    computed = record_of(case, record.state)
    expected = case_row(computed, record.version, store.key)
    header_expected = (expected[0], *expected[2:18])
    problems += _differences(cid, [_header(row)], [header_expected], "af_cases", _HEADER_NAMES)
    problems += _differences(cid, deadlines, _deadline_rows(computed), "af_deadlines", _DEADLINE_NAMES)
    problems += _differences(cid, anomalies, _anomaly_rows(computed), "af_anomalies", _ANOMALY_NAMES)
    stored_timers = [tuple(t) for t in store.raw_timers(case_id)]
    problems += _differences(cid, stored_timers, timer_rows(computed), "af_timers", _TIMER_NAMES)
    problems += _worklist_problems(store, cid, case_id, computed, record.version)
    for p in problems:
        if p.table == "af_cases" and p.row == 0:  # the case row has no row number of its own
            problems[problems.index(p)] = IndexProblem(p.case_id, p.table, p.message)
    return problems


def _worklist_problems(
    store: SqlStoreBase, cid: str, case_id: Any, computed: CaseRecord, version: int
) -> list[IndexProblem]:
    """The case's ``af_todo`` and ``af_done`` rows against those the index computes (at the case row's version)."""
    todo, done = store.raw_worklists(case_id)
    problems: list[IndexProblem] = []
    for table, rows, parse in (("af_todo", todo, todo_from_row), ("af_done", done, done_from_row)):
        for r in rows:
            try:
                parse(r)
            except Damaged as exc:
                n = r[1] if len(r) > 1 and type(r[1]) is int else None
                problems.append(IndexProblem(cid, table, f"damaged row: {exc}", n))
    problems += _differences(cid, [tuple(r) for r in todo], todo_rows(computed, version), "af_todo", _TODO_NAMES)
    problems += _differences(cid, [tuple(r) for r in done], done_rows(computed, version), "af_done", _DONE_NAMES)
    return problems


def check_store(
    store: SqlStoreBase,
    processes: Iterable[ProcessDefinition],
    organisations: Sequence[Organisation],
) -> CheckResult:
    """Every problem of every case of ``store`` (see the module docstring); the store is only read."""
    by_digest = KnownDefinitions(store, processes)
    result = CheckResult()
    for message in store.integrity_check():
        result.problems.append(IndexProblem("-", "(database file)", message))
    for case_id in store.raw_ids():
        result.cases += 1
        result.problems += _check_case(store, case_id, by_digest, organisations)
    for table, case_id, n in store.orphans():
        result.problems.append(
            IndexProblem(
                str(case_id), table, "index row of a case the store does not have", n if isinstance(n, int) else None
            )
        )
    return result


def reindex_store(
    store: SqlStoreBase,
    processes: Iterable[ProcessDefinition],
    organisations: Sequence[Organisation],
) -> ReindexResult:
    """Rebuild the index of every case whose trail verifies and whose state loads; list the others as refused.

    Each case is rewritten in its own transaction at the version it was read at (a case saved meanwhile is
    refused, not overwritten: run again). Index rows of no case are removed.
    """
    by_digest = KnownDefinitions(store, processes)
    result = ReindexResult()
    for case_id in store.raw_ids():
        cid = case_id if isinstance(case_id, str) else repr(case_id)
        row, _, _ = store.raw_case(case_id)
        if row is None:
            continue
        try:
            record = record_from_row(row)
        except Damaged as exc:
            result.refused.append(IndexProblem(cid, "af_cases", f"damaged row: {exc}"))
            continue
        case = _loaded(store, record, by_digest, organisations)
        if isinstance(case, IndexProblem):
            result.refused.append(case)
            continue
        try:
            store.reindex(record_of(case, record.state), expected=record.version)
        except ConflictError:
            result.refused.append(IndexProblem(cid, "af_cases", "saved by someone else while reindexing; run again"))
            continue
        except StoreError as exc:
            result.refused.append(IndexProblem(cid, "af_cases", str(exc)))
            continue
        result.reindexed += 1
    result.orphans_removed = store.delete_orphans()
    return result
