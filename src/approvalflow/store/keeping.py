"""Keeping a new case in a store, never replacing one: what ``run --store`` does with its scenario's case."""

from __future__ import annotations

from typing import Protocol

from ..engine.case import Case
from ..engine.persistence import dump_case
from .base import ConflictError, StoreError
from .factory import open_store
from .index import record_of

__all__ = ["keep_new_case", "store_scenario_case"]


class _HasCase(Protocol):
    @property
    def case(self) -> Case: ...


def keep_new_case(store_url: str, case: Case, *, key: bytes | None = None) -> str:
    """Insert ``case`` into the store at ``store_url`` (created if missing); returns the case id.

    A stored case is never replaced: when the store already has a case with this id (another run, or another
    host's case), a :class:`~approvalflow.store.base.StoreError` says so and nothing is written.
    """
    store = open_store(store_url, key=key)
    try:
        record = record_of(case, dump_case(case))
        try:
            store.insert(record)
        except ConflictError:
            raise StoreError(
                f"{store.url} already has a case with this id (another run or another host's case); run --store "
                "never replaces a stored case: give the scenario another case_id or use another store; nothing "
                "was written",
                case=record.id,
            ) from None
    finally:
        store.close()
    return str(case.id)


def store_scenario_case(store_url: str, result: _HasCase, *, key: bytes | None = None) -> str:
    """Keep the case of a scenario run (``run --store``) in a case store; returns the case id.

    A new case is inserted. A stored case is never replaced: when the store already has a case with this id
    (another run, or another host's case), the run is refused with a StoreError and nothing is written. A
    scenario run again is a new case: give it another ``case_id`` or keep it in another store.
    """
    return keep_new_case(store_url, result.case, key=key)
