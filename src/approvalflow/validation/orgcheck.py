"""Organisation checks of ``validate --org``: ``org-five-not-direct`` and ``org-all-five``.

:func:`approvalflow.org.organisation.load_organisation` refuses an organisation that breaks
五不直接分管, as it must before a case runs. ``validate`` reports both problems
as findings with the line, then checks staffing against the organisation with
the offending 分管 entries left out (they do not change who may do a step:
only the principal's exclusion does, and that is fixed by ``principal``).
Any other problem in the file is an :class:`~approvalflow.errors.OrganisationError`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ..bpmn.model import FIVE_DOMAINS
from ..errors import OrganisationError
from ..io.yamlio import Lines, load_yaml
from ..org.organisation import Organisation, organisation_from_dict
from .findings import StaticFinding, finding

__all__ = ["load_org_tolerant"]


def _unit_findings(unit: dict[str, Any], i: int, file: str, lines: Lines) -> tuple[list[StaticFinding], list[str]]:
    found: list[StaticFinding] = []
    drop: list[str] = []
    uid = str(unit.get("id"))
    deputies = unit.get("deputies") or {}
    if not isinstance(deputies, dict):
        return found, drop
    for deputy, domains in deputies.items():
        if not isinstance(domains, list):
            continue
        line = lines.of(("units", i, "deputies", deputy))
        if deputy == unit.get("principal") and domains:
            drop.append(deputy)
            found.append(
                finding(
                    "org-five-not-direct",
                    f"unit '{uid}': the principal '{deputy}' holds "
                    f"{', '.join(sorted(map(str, domains)))}; under 五不直接分管 the principal directly "
                    "handles none of personnel, finance, engineering, procurement, approval: give these "
                    "domains to deputies",
                    file=file,
                    line=line,
                    element=uid,
                )
            )
        elif {str(d) for d in domains} >= {str(d) for d in FIVE_DOMAINS}:
            drop.append(deputy)
            found.append(
                finding(
                    "org-all-five",
                    f"unit '{uid}': deputy '{deputy}' holds all five domains; split "
                    "them among deputies (副职分管、正职监管)",
                    file=file,
                    line=line,
                    element=uid,
                )
            )
    return found, drop


def load_org_tolerant(path: str | Path) -> tuple[Organisation, list[StaticFinding]]:
    """The organisation, and the 五不直接分管 configuration findings instead of an error."""
    data, lines, name = load_yaml(path, error=OrganisationError)
    findings: list[StaticFinding] = []
    if isinstance(data, dict) and isinstance(data.get("units"), list):
        data = copy.deepcopy(data)
        for i, unit in enumerate(data["units"]):
            if not isinstance(unit, dict):
                continue
            found, drop = _unit_findings(unit, i, name, lines)
            findings += found
            for deputy in drop:
                del unit["deputies"][deputy]
    return organisation_from_dict(data, file=name, lines=lines), findings
