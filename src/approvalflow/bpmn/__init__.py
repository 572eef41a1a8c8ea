"""BPMN documents: the schemas, the ``af`` annotations, the process model, call activities and the loader.

Called processes are found, and bad call graphs refused, by :mod:`.calls` (for the loader, ``validate`` and the
simulator alike); data that steers a gateway onto a wanted flow is searched by :mod:`.steering` (for the
simulator's replay and the Hypothesis walks).

Layer 3: imports :mod:`approvalflow.io`, :mod:`approvalflow.expressions` and :mod:`approvalflow._spiff`.
:func:`load_process` gives a :class:`ProcessDefinition`; its steps are :class:`StepInfo` with the annotations of
SPEC section 2 (:class:`Power`, :class:`TimeLimit`, :class:`RiskPoint`, :class:`Collective`, :class:`MinDuration`,
:class:`Countersign`).
Names are imported on first use: the model (:mod:`.model`) does not import SpiffWorkflow, the loader does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .loader import ProcessDefinition, load_process, load_process_string
    from .model import (
        FIVE_DOMAINS,
        Category,
        Collective,
        Countersign,
        Domain,
        FlowInfo,
        MinDuration,
        NodeInfo,
        Power,
        RiskLevel,
        RiskPoint,
        StepInfo,
        TimeLimit,
    )
    from .schema import AF_XSD, validate_schema

__all__ = [
    "AF_XSD", "FIVE_DOMAINS", "Category", "Collective", "Countersign", "Domain", "FlowInfo", "MinDuration", "NodeInfo",
    "Power", "ProcessDefinition", "RiskLevel", "RiskPoint", "StepInfo", "TimeLimit", "load_process",
    "load_process_string", "validate_schema",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".loader": "ProcessDefinition load_process load_process_string",
    ".model": "FIVE_DOMAINS Category Collective Countersign Domain FlowInfo MinDuration NodeInfo Power RiskLevel "
    "RiskPoint StepInfo TimeLimit",
    ".schema": "AF_XSD validate_schema",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
