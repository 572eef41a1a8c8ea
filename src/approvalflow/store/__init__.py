"""The case store (案件库): cases kept with their index, for hosts and for supervision.

Layer 7: imports the engine and everything below it. :func:`open_store` opens a store from a path or URL
(SQLite, ``memory:``, ``postgresql://``); :func:`add_case`, :func:`save_case`, :func:`load_case_from`,
:func:`complete_step` and :func:`act` are the host's API; :func:`check_store` and :func:`reindex_store` check and
rebuild the index; :func:`update_calendar` applies a year's official holiday arrangement to every open case;
:func:`deploy` keeps processes in the store's registry (:mod:`.registry`) and :func:`migrate_store` moves open cases
between versions; :func:`create_key` makes an API key of the HTTP service, kept hashed (:mod:`.keys`). Names are
imported on first use: the protocol (:mod:`.base`) imports no backend and no SpiffWorkflow.
See ``docs/supervision.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .base import (
        AnomalyEntry,
        CaseRecord,
        CaseStore,
        ConflictError,
        DeadlineEntry,
        IndexProblem,
        StoreError,
        TimerEntry,
    )
    from .cases import StoredCase, act, add_case, complete_step, load_case_from, save_case, start_deployed
    from .check import CheckResult, ReindexResult, check_store, reindex_store
    from .factory import open_store
    from .keys import ApiKey, authenticate, create_key, list_keys, revoke_key
    from .memory import MemoryStore
    from .migrate import MigrationReport, migrate_store
    from .postgres import PostgresStore
    from .recalendar import CalendarUpdate, DeadlineMove, update_calendar
    from .registry import Deployment, definition_of, deploy, deploy_sources, stored_definition, versions
    from .sqlite import SqliteStore
    from .timers import FiredCase, fire_due

__all__ = [
    "AnomalyEntry", "ApiKey", "CalendarUpdate", "CaseRecord", "CaseStore", "CheckResult", "ConflictError",
    "DeadlineEntry", "DeadlineMove", "Deployment", "FiredCase", "IndexProblem", "MemoryStore", "MigrationReport",
    "PostgresStore", "ReindexResult", "SqliteStore", "StoreError", "StoredCase", "TimerEntry", "act", "add_case",
    "authenticate", "check_store", "complete_step", "create_key", "definition_of", "deploy", "deploy_sources",
    "fire_due", "list_keys", "load_case_from", "migrate_store", "open_store", "reindex_store", "revoke_key",
    "save_case", "start_deployed", "stored_definition", "update_calendar", "versions",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".factory": "open_store",
    ".base": "AnomalyEntry CaseRecord CaseStore ConflictError DeadlineEntry IndexProblem StoreError TimerEntry",
    ".cases": "StoredCase act add_case complete_step load_case_from save_case start_deployed",
    ".memory": "MemoryStore",
    ".sqlite": "SqliteStore",
    ".postgres": "PostgresStore",
    ".check": "CheckResult ReindexResult check_store reindex_store",
    ".timers": "FiredCase fire_due",
    ".recalendar": "CalendarUpdate DeadlineMove update_calendar",
    ".registry": "Deployment definition_of deploy deploy_sources stored_definition versions",
    ".keys": "ApiKey authenticate create_key list_keys revoke_key",
    ".migrate": "MigrationReport migrate_store",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
