"""Migrate the open cases of a store from one deployed version of a process to another (``approvalflow migrate``).

``migrate_store(store, plan, organisations)`` loads both versions from the store's registry
(:mod:`approvalflow.store.registry`, never from disk), checks the plan against them
(:func:`~approvalflow.engine.migration.check_plan`: a bad plan is refused before any case is read), then takes every
open case that runs on the ``from`` version, one at a time: loads it (trail verified), moves it
(:func:`~approvalflow.engine.migration.migrate_case`) and, unless ``dry_run``, saves it in its own transaction under
optimistic versioning. Each case gets one :class:`~approvalflow.engine.migration.CaseMigration` in the report: a
case that cannot move, cannot be read, or was saved by someone else meanwhile is reported with the reason and left
as it was; the others go on. A dry run writes nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..engine.casedata import plain_name
from ..engine.migration import CaseMigration, MigrationPlan, check_plan, migrate_case
from ..errors import ApprovalflowError
from ..org.organisation import Organisation
from ..time.calendar import WorkingCalendar
from ..time.clock import FakeClock, SystemClock, parse_moment
from .base import CaseStore, ConflictError
from .cases import load_case_from, save_case
from .registry import stored_definition, versions

__all__ = ["MigrationReport", "migrate_store"]


@dataclass
class MigrationReport:
    """Every open case of the ``from`` version and what happened (or would happen) to it."""

    process: str
    source: int
    target: int
    source_digest: str
    target_digest: str
    dry_run: bool
    at: datetime
    cases: list[CaseMigration] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)

    @property
    def ok(self) -> bool:
        """True when every case moved (or would move)."""
        return all(c.outcome in ("migrated", "would-migrate") for c in self.cases)

    def to_json(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "from": {"version": self.source, "digest": self.source_digest},
            "to": {"version": self.target, "digest": self.target_digest},
            "dry_run": self.dry_run,
            "at": self.at.isoformat(),
            "counts": {o: self.count(o) for o in ("migrated", "would-migrate", "refused", "conflict")},
            "cases": [c.to_json() for c in self.cases],
        }


def migrate_store(
    store: CaseStore,
    plan: MigrationPlan,
    organisations: Sequence[Organisation],
    *,
    dry_run: bool = False,
    at: datetime | str | None = None,
    actor: str | None = None,
    calendar: WorkingCalendar | None = None,
) -> MigrationReport:
    """Migrate (or with ``dry_run`` only check) every open case of ``plan.process`` on version ``plan.source``."""
    moment = parse_moment(at) if at is not None else SystemClock().now()
    actor = plain_name(actor, "actor") if actor is not None else None  # before any case is read
    old = stored_definition(store, plan.process, plan.source)
    new = stored_definition(store, plan.process, plan.target)
    check_plan(plan, old, new)
    report = MigrationReport(plan.process, plan.source, plan.target, old.digest, new.digest, dry_run, moment)
    for case_id in store.ids("open"):
        try:
            record = store.get(case_id)
        except ApprovalflowError as exc:
            report.cases.append(CaseMigration(case_id, "refused", f"cannot be read: {exc}"))
            continue
        if record.digest != old.digest:
            continue
        report.cases.append(_one(store, case_id, plan, old, new, organisations, moment, actor, calendar, dry_run))
    return report


def _one(
    store: CaseStore,
    case_id: str,
    plan: MigrationPlan,
    old: Any,
    new: Any,
    organisations: Sequence[Organisation],
    moment: datetime,
    actor: str | None,
    calendar: WorkingCalendar | None,
    dry_run: bool,
) -> CaseMigration:
    record = store.get(case_id)
    org = next((o for o in organisations if record.unit in o.units), None)
    if org is None:
        return CaseMigration(case_id, "refused", f"its unit '{record.unit}' is in none of the organisations given")
    try:
        stored = load_case_from(store, case_id, old, org, clock=FakeClock(moment), calendar=calendar)
        result = migrate_case(stored.case, plan, new, at=moment, actor=actor)
    except ApprovalflowError as exc:
        return CaseMigration(case_id, "refused", f"cannot be loaded or moved: {exc}")
    if result.outcome != "migrated":
        return result
    if dry_run:
        result.outcome = "would-migrate"
        return result
    try:
        save_case(store, stored)
    except ConflictError:
        return CaseMigration(case_id, "conflict", "saved by someone else meanwhile; it was left as it is: run again")
    except ApprovalflowError as exc:
        return CaseMigration(case_id, "refused", f"cannot be saved: {exc}")
    return result


def latest_versions(store: CaseStore, process: str) -> list[int]:
    """The version numbers of a process in the registry (for messages)."""
    return [d.version for d in versions(store, process)]
