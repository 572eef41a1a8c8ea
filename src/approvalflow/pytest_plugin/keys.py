"""Keys the plugin keeps in pytest's stash: a module of its own, so that the scenario items can read them
without importing the plugin (which imports the items inside its hooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..testing.coverage import Coverage

__all__ = ["COVERAGE_KEY"]

#: Where the session's coverage collector lives (absent when coverage is off).
COVERAGE_KEY: pytest.StashKey[Coverage] = pytest.StashKey()
