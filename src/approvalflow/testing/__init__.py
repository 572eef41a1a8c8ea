"""Test support for users' own suites: a movable fake clock, a case factory, assertions, BPMN coverage.

The pytest plugin (``approvalflow.pytest_plugin``) wraps these in fixtures; they work without pytest too::

    from approvalflow.testing import MovableClock, assert_refused, assert_that

Hypothesis strategies are in :mod:`approvalflow.testing.strategies`. See ``docs/testing.md``.
"""

from __future__ import annotations

from .assertions import CaseAssert, assert_refused, assert_that
from .clock import DEFAULT_START, MovableClock
from .coverage import Coverage, ProcessCoverage, exercised
from .factory import CaseFactory

__all__ = [
    "DEFAULT_START",
    "CaseAssert",
    "CaseFactory",
    "Coverage",
    "MovableClock",
    "ProcessCoverage",
    "assert_refused",
    "assert_that",
    "exercised",
]
