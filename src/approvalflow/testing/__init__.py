"""Test support for users' own suites: scenarios, a movable fake clock, a case factory, assertions, BPMN coverage.

Layer 9. The pytest plugin (``approvalflow.pytest_plugin``) wraps these in fixtures; they work without pytest too::

    from approvalflow.testing import MovableClock, assert_refused, assert_that

:func:`run_scenario` runs a scenario file (SPEC section 6). Hypothesis strategies are in
:mod:`approvalflow.testing.strategies`. Names are imported on first use, so that the plugin's ``af_clock`` does not
import the engine. See ``docs/testing.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .assertions import CaseAssert, assert_refused, assert_that
    from .clock import DEFAULT_START, MovableClock
    from .coverage import Coverage, ProcessCoverage, exercised
    from .factory import CaseFactory
    from .scenario import Scenario, ScenarioResult, load_scenario, run_scenario

__all__ = [
    "DEFAULT_START", "CaseAssert", "CaseFactory", "Coverage", "MovableClock", "ProcessCoverage", "Scenario",
    "ScenarioResult", "assert_refused", "assert_that", "exercised", "load_scenario", "run_scenario",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".scenario": "Scenario ScenarioResult load_scenario run_scenario",
    ".assertions": "CaseAssert assert_refused assert_that",
    ".clock": "DEFAULT_START MovableClock",
    ".coverage": "Coverage ProcessCoverage exercised",
    ".factory": "CaseFactory",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
