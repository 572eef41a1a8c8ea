"""The organisation: units, posts, people, roles, groups and meeting records.

Layer 4: imports :mod:`approvalflow.bpmn` (for the model of a step) and :mod:`approvalflow.io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .meetings import Meeting, meeting_from
    from .organisation import (
        Group,
        Organisation,
        OrgUnit,
        Person,
        Proxy,
        load_organisation,
        organisation_from_dict,
        party_key,
    )

__all__ = [
    "Group", "Meeting", "OrgUnit", "Organisation", "Person", "Proxy", "load_organisation", "meeting_from",
    "organisation_from_dict", "party_key",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".organisation": "Group OrgUnit Organisation Person Proxy load_organisation organisation_from_dict party_key",
    ".meetings": "Meeting meeting_from",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
