"""The approvalflow pytest plugin: fixtures, scenario files as tests, and BPMN coverage.

Registered by the ``pytest11`` entry point ``approvalflow`` (the top-level module :mod:`pytest_approvalflow`,
which declares the options and registers this module in ``pytest_configure``, after pytest-cov has started, so that
``pytest --cov=approvalflow`` measures the whole package); or load it directly with ``-p approvalflow.pytest_plugin``.
This module is light: it imports the library only inside hooks and fixtures, so a test session that does not use it
pays nothing, and coverage is off unless asked for.

Fixtures: ``af_clock`` (a :class:`~approvalflow.testing.MovableClock`), ``af_org`` (the organisation of the
``af_org`` ini option, else the sample county), ``af_sample_org`` (the sample county), ``af_cases`` (a
:class:`~approvalflow.testing.CaseFactory` on ``af_clock``) and ``af_coverage`` (the session's collector).
Options: ``--af-coverage``, ``--af-coverage-report=DIR``; ini: ``af_org``, ``af_start``, ``af_scenarios``.
See ``docs/testing.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .keys import COVERAGE_KEY

if TYPE_CHECKING:
    from ..org.organisation import Organisation
    from ..testing import CaseFactory, Coverage, MovableClock

__all__ = ["COVERAGE_KEY", "SAMPLE_ORG"]

#: The sample organisation, relative to the rootdir or to the project's source tree.
SAMPLE_ORG = Path("processes") / "org" / "sample_county.yaml"


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # the options live in the entry-point module (outside the package, so that coverage can measure it); when
    # that module is registered it has declared them already
    from pytest_approvalflow import ENTRY_POINT, add_options

    if not pluginmanager.has_plugin(ENTRY_POINT):
        add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("af_coverage") or config.getoption("af_coverage_report"):
        from ..testing.coverage import Coverage

        config.stash[COVERAGE_KEY] = Coverage()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not file_path.name.endswith(".scenario.yaml") or not parent.config.getini("af_scenarios"):
        return None
    from .scenario_items import ScenarioFile

    file: pytest.Collector = ScenarioFile.from_parent(parent, path=file_path)
    return file


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    coverage = config.stash.get(COVERAGE_KEY, None)
    if coverage is None:
        return
    terminalreporter.section("approvalflow BPMN coverage")
    for line in coverage.summary_lines():
        terminalreporter.write_line(line)
    folder = config.getoption("af_coverage_report")
    if folder:
        written = coverage.write(Path(folder))
        terminalreporter.write_line("BPMN coverage report: " + ", ".join(str(p) for p in written))


def _sample_org_path(config: pytest.Config) -> Path:
    candidates = [config.rootpath / SAMPLE_ORG, Path(__file__).resolve().parents[3] / SAMPLE_ORG]
    for path in candidates:
        if path.is_file():
            return path
    raise pytest.UsageError(
        f"approvalflow: cannot find the sample organisation {SAMPLE_ORG} under the rootdir; "
        "set the af_org ini option to your organisation file"
    )


@pytest.fixture(scope="session")
def af_sample_org(pytestconfig: pytest.Config) -> Organisation:
    """The sample county organisation (processes/org/sample_county.yaml)."""
    from ..testing.factory import cached_organisation

    return cached_organisation(_sample_org_path(pytestconfig))


@pytest.fixture(scope="session")
def af_org(pytestconfig: pytest.Config) -> Organisation:
    """The organisation named by the ``af_org`` ini option (relative to the rootdir), else the sample county."""
    from ..testing.factory import cached_organisation

    configured = str(pytestconfig.getini("af_org"))
    path = pytestconfig.rootpath / configured if configured else _sample_org_path(pytestconfig)
    return cached_organisation(path)


@pytest.fixture
def af_clock(pytestconfig: pytest.Config) -> MovableClock:
    """A fake clock at the ``af_start`` ini option (default 2026-09-28T09:00:00+08:00), moved by the test."""
    from ..testing.clock import DEFAULT_START, MovableClock

    return MovableClock(str(pytestconfig.getini("af_start")) or DEFAULT_START)


@pytest.fixture(scope="session")
def af_coverage(pytestconfig: pytest.Config) -> Coverage:
    """The session's coverage collector; ``af_coverage.record(case)`` adds a case started without ``af_cases``.

    With coverage off this is a collector that nobody reports, so tests may call it either way.
    """
    from ..testing.coverage import Coverage

    return pytestconfig.stash.get(COVERAGE_KEY, None) or Coverage()


@pytest.fixture
def af_cases(request: pytest.FixtureRequest, af_clock: MovableClock, af_coverage: Coverage) -> Iterator[CaseFactory]:
    """Start cases: ``af_cases("processes/licensing/general_licensing.bpmn", data={...})`` returns a Case.

    Relative paths are looked up beside the test file, then under the rootdir. Cases run on ``af_clock`` in the
    ``af_org`` organisation unless ``org=`` says otherwise; each is added to the coverage when the test ends.
    """
    from ..testing.factory import CaseFactory

    search = (request.path.parent, request.config.rootpath)
    factory = CaseFactory(
        af_clock,
        lambda: request.getfixturevalue("af_org"),
        search=search,
        on_finish=lambda case: af_coverage.record(case, request.node.nodeid),
    )
    yield factory
    factory.finish()
