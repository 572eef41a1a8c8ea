"""approvalflow's pytest plugin entry point (``pytest11``): declares the options, loads the plugin late.

This module lives outside the ``approvalflow`` package and imports nothing of it at import time. pytest imports
entry-point plugins before any other plugin starts measuring coverage, so a plugin inside the package would
import ``approvalflow`` too early, and ``pytest --cov=approvalflow`` would warn that the module "was previously
imported, but not measured". Here only the options are declared at import time; the plugin itself
(:mod:`approvalflow.pytest_plugin`: fixtures, hooks, scenario files) is registered in :func:`pytest_configure`,
after pytest-cov has started.

``-p approvalflow.pytest_plugin`` (or ``pytest_plugins = ["approvalflow.pytest_plugin"]``) still loads the plugin
directly; this module then steps aside, and ``-p no:approvalflow`` switches the entry point off.
"""

from __future__ import annotations

import pytest

__all__ = ["ENTRY_POINT", "PLUGIN", "add_options"]

#: The name of the ``pytest11`` entry point (``-p no:approvalflow`` blocks it).
ENTRY_POINT = "approvalflow"
#: The module with the plugin's hooks and fixtures, registered late by :func:`pytest_configure`.
PLUGIN = "approvalflow.pytest_plugin"


def add_options(parser: pytest.Parser) -> None:
    """The plugin's command-line options and ini settings (declared once, by whichever module loads first)."""
    group = parser.getgroup("approvalflow", "approvalflow: BPMN process tests")
    group.addoption(
        "--af-coverage",
        action="store_true",
        default=False,
        help="report which BPMN nodes and sequence flows the session's cases exercised",
    )
    group.addoption(
        "--af-coverage-report",
        metavar="DIR",
        default=None,
        help="write the BPMN coverage as DIR/coverage.json and DIR/index.html (implies --af-coverage)",
    )
    parser.addini("af_org", "organisation file for af_org and af_cases (default: the sample county)", default="")
    parser.addini("af_start", "the moment af_clock starts at (ISO 8601, with a timezone)", default="")
    parser.addini("af_scenarios", "collect *.scenario.yaml files as tests (default: true)", type="bool", default=True)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.has_plugin(PLUGIN):  # loaded with -p first: it declared the options
        add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)
