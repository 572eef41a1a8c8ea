"""Running cases: the case, its audit trail, saving and restoring it, and its deadlines.

Layer 6: imports the rules and everything below them. :func:`start_case` gives a :class:`Case`;
:func:`dump_case` and :func:`load_case` save and restore it; its :class:`AuditTrail` is checked with
:func:`verify_trail`. Names are imported on first use, so that the store's index (which needs
:mod:`.timing` and :mod:`.trail`) does not import SpiffWorkflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .case import Case, Policy, ReadyStep, start_case
    from .handover import Handover, Holding, Notification
    from .materials import Notice, Supplement
    from .migration import CaseMigration, MigrationPlan, check_plan, migrate_case, plan_from, read_plan
    from .opinions import Attachment, Opinion
    from .persistence import CASE_FORMAT, CASE_VERSION, case_state, dump_case, load_case, state_digest
    from .timers import TimerFiring, TimerWait
    from .timing import Alert, CaseDeadlines, StepTime, Suspension, TimeReport
    from .trail import AuditTrail, TrailHead, VerifyResult, read_key, read_trail, verify_trail

__all__ = [
    "CASE_FORMAT", "CASE_VERSION", "Alert", "Attachment", "AuditTrail", "Case", "CaseDeadlines", "CaseMigration",
    "Handover", "Holding", "MigrationPlan", "Notice", "Notification", "Opinion", "Policy", "ReadyStep", "StepTime",
    "Supplement", "Suspension", "TimeReport", "TimerFiring", "TimerWait", "TrailHead", "VerifyResult", "case_state",
    "check_plan", "dump_case", "load_case", "migrate_case", "plan_from", "read_key", "read_plan", "read_trail",
    "start_case", "state_digest", "verify_trail",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".case": "Case Policy ReadyStep start_case",
    ".materials": "Notice Supplement",
    ".opinions": "Attachment Opinion",
    ".handover": "Handover Holding Notification",
    ".migration": "CaseMigration MigrationPlan check_plan migrate_case plan_from read_plan",
    ".persistence": "CASE_FORMAT CASE_VERSION case_state dump_case load_case state_digest",
    ".timers": "TimerFiring TimerWait",
    ".timing": "Alert CaseDeadlines StepTime Suspension TimeReport",
    ".trail": "AuditTrail TrailHead VerifyResult read_key read_trail verify_trail",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
