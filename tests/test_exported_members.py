"""The public API is one curated list: ``__all__``, the lazy-import table and the type-checking imports agree.

As httpx's ``tests/test_exported_members.py`` does for its namespace, with lazy names (PEP 562): for the package and
for every subpackage that imports lazily, the names of ``__all__``, the keys of ``_LAZY`` and the names imported
under ``if TYPE_CHECKING:`` are the same set, each from the same module. Every name of every ``__all__`` resolves;
the names a user needs first are also in their subpackage; names exported before issue 15 still resolve, with a
DeprecationWarning that says what to import instead.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

import approvalflow

from .conftest import ROOT

SOURCE = ROOT / "src" / "approvalflow"

#: Every subpackage, and the two public modules of layers 0-1; each keeps its own ``__all__``.
SUBPACKAGES = [
    "io", "bpmn", "org", "time", "rules", "engine", "store", "render", "simulation", "supervision", "validation",
    "catalog", "testing", "demo", "cli",
]  # fmt: skip
PUBLIC_MODULES = ["errors", "expressions"]

#: Every name ``approvalflow`` exported before issue 15 (written out here, not read from the code): code written
#: against them must keep working.
EXPORTED_BEFORE = """
RULES Alert ApprovalflowError Attempt AuditTrail BpmnError CalendarError Card Case CaseDeadlines CaseFormatError
CaseRecord CaseStore Catalog CatalogError CatalogFinding CatalogReport Category ChinaCalendar Clock Collective
Completion ConflictError Deadline DefinitionError Domain EngineError Evaluation EventLogError ExpressionEvaluator
ExtensionError FakeCalendar FakeClock Finding InvalidInputError LoopLimitError Meeting MeetingRecordError MemoryStore
MinDuration NotExecutableError OrgUnit Organisation OrganisationError Person Policy Power PowerRow ProcessDefinition
ReadyStep RiskLevel RiskPoint RiskPointRow RunError SafeEvaluator ScenarioError ScenarioResult SimulationError
SimulationModel SimulationModelError SimulationResult SqliteStore StaticFinding StepInfo StepNotReady StepRefused
StepTime StoreError StoredCase Suspension SweepResult SystemClock TimeLimit TimeReport TraceCheck TrailHead
UnknownActorError UnknownReferenceError UnsafeContentError VerifyResult WeekendCalendar WorkingCalendar XmlError
__version__ add_case case_state catalog_from_bpmn check_catalog check_log complete_step dump_case evaluate export_log
has_errors load_case load_case_from load_catalog load_model load_organisation load_process load_process_string
load_scenario open_store organisation_from_dict parse_limit read_jsonl read_log register risk_table run_scenario
save_case save_catalog simulate start_case sweep validate_file validate_paths validate_string verify
""".split()  # noqa: SIM905  (as the old __all__ read, one string is easier to compare)

#: Names renamed so that they say what they are: (module, old name, new name). The old name stays an alias there.
RENAMED = [
    ("approvalflow.engine.trail", "verify", "verify_trail"),
    ("approvalflow.engine.trail", "read_jsonl", "read_trail"),
    ("approvalflow.supervision.sweep", "sweep", "sweep_store"),
    ("approvalflow.supervision.sweep", "Card", "AlertCard"),
    ("approvalflow.supervision.efficiency", "evaluate", "evaluate_efficiency"),
    ("approvalflow.rules.checks", "register", "register_rule"),
    ("approvalflow.rules.checks", "Attempt", "StepAttempt"),
    ("approvalflow.expressions", "evaluate", "evaluate_expression"),
    ("approvalflow.simulation", "load_model", "load_simulation_model"),
    ("approvalflow.catalog.limits", "parse_limit", "parse_time_limit"),
]


def init_file(package: str) -> Path:
    """The source of ``approvalflow`` (``""``), of a subpackage, or of a public module."""
    if not package:
        return SOURCE / "__init__.py"
    folder = SOURCE / package
    return folder / "__init__.py" if folder.is_dir() else SOURCE / f"{package}.py"


def _literal(tree: ast.Module, name: str) -> object:
    """The value of the module-level assignment ``name = <literal>`` (None when there is none)."""
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    return None


def type_checking_imports(tree: ast.Module) -> dict[str, str]:
    """Name -> relative module, for every ``from .module import name`` under a module-level ``if TYPE_CHECKING:``."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.dump(statement)
                for alias in statement.names:
                    assert alias.asname is None, f"{alias.name} imported as {alias.asname}"
                    assert alias.name not in found, f"{alias.name} imported twice"
                    found[alias.name] = "." * statement.level + (statement.module or "")
    return found


def lazy_table(tree: ast.Module) -> dict[str, str]:
    """The ``_LAZY`` table (module -> names, a literal) as name -> module; a name listed twice fails."""
    table = _literal(tree, "_LAZY")
    assert isinstance(table, dict), "_LAZY must be a literal dict"
    homes: dict[str, str] = {}
    for target, names in table.items():
        assert isinstance(target, str) and isinstance(names, str), f"{target!r}: {names!r}"
        for name in names.split():
            assert name not in homes, f"{name} is in the lazy table twice"
            homes[name] = target
    return homes


def lazy_packages() -> list[str]:
    """The package (``""``) and every subpackage whose ``__init__.py`` has a lazy-import table."""
    return [p for p in ["", *SUBPACKAGES] if "_LAZY" in init_file(p).read_text(encoding="utf-8")]


def module(package: str) -> ModuleType:
    return importlib.import_module(f"approvalflow.{package}" if package else "approvalflow")


# -- the package ----------------------------------------------------------------------------------------------


def test_the_top_level_is_a_short_sorted_list_without_repeats() -> None:
    names = approvalflow.__all__
    assert len(names) == len(set(names))
    assert 30 <= len(names) <= 45, f"{len(names)} names: the top level is for the names a user needs first"
    assert names == sorted(names)


@pytest.mark.parametrize("package", lazy_packages())
def test_all_the_lazy_table_and_the_type_checking_imports_agree(package: str) -> None:
    tree = ast.parse(init_file(package).read_text(encoding="utf-8"))
    names = _literal(tree, "__all__")
    assert isinstance(names, list), "__all__ must be a literal list"
    table = lazy_table(tree)
    imported = type_checking_imports(tree)
    eager = {"__version__"} if not package else set()
    assert set(names) - eager == set(table) == set(imported)
    assert table == imported, "a name's lazy module and its TYPE_CHECKING module differ"


@pytest.mark.parametrize("package", lazy_packages())
def test_a_lazy_table_names_only_modules_of_its_own_package(package: str) -> None:
    """The lazy imports are invisible to the import graph (tests/test_architecture.py): keep them inside."""
    table = lazy_table(ast.parse(init_file(package).read_text(encoding="utf-8")))
    base = SOURCE / package if package else SOURCE
    for name, target in table.items():
        assert re.fullmatch(r"\.[a-z_]+(\.[a-z_]+)*", target), f"{name}: {target} is not a module of the package"
        path = base.joinpath(*target[1:].split("."))
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), f"{name}: no module {target}"


@pytest.mark.parametrize("package", ["", *SUBPACKAGES, *PUBLIC_MODULES])
def test_every_name_of_every_all_resolves(package: str) -> None:
    mod = module(package)
    names = mod.__all__
    assert len(names) == len(set(names)), f"approvalflow.{package}.__all__ repeats a name"
    for name in names:
        assert getattr(mod, name) is not None or name == "__version__", f"{mod.__name__}.{name}"
        assert name in dir(mod), f"{name} is not in dir({mod.__name__})"


def test_the_first_names_are_also_in_their_subpackage() -> None:
    table = lazy_table(ast.parse(init_file("").read_text(encoding="utf-8")))
    for name, target in table.items():
        home = target.split(".")[1]
        sub = module(home)
        assert name in sub.__all__, f"{name} is in approvalflow but not in approvalflow.{home}.__all__"
        assert getattr(sub, name) is getattr(approvalflow, name)


def test_every_name_exported_before_still_resolves_with_a_warning_naming_its_home() -> None:
    assert len(EXPORTED_BEFORE) == len(set(EXPORTED_BEFORE)) == 119  # 118 names and __version__
    for name in EXPORTED_BEFORE:
        if name in approvalflow.__all__:
            getattr(approvalflow, name)  # no warning: filterwarnings = error would raise
            continue
        with pytest.warns(DeprecationWarning, match=rf"approvalflow\.{name} is deprecated") as caught:
            value = getattr(approvalflow, name)
        [warning] = caught
        found = re.search(r"`from ([\w.]+) import (\w+)`", str(warning.message))
        assert found, str(warning.message)
        home, new = found.groups()
        assert new in module(home.removeprefix("approvalflow").lstrip(".")).__all__, str(warning.message)
        assert getattr(importlib.import_module(home), new) is value
        assert name not in dir(approvalflow)


def test_the_warning_points_at_the_line_that_used_the_old_name() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from approvalflow import verify  # noqa: F401  (the old name, on purpose)
    # ``from package import name`` looks the name up twice (importlib's fromlist check, then the import): both
    # warnings point at this line, which the default filters show once
    assert caught and all(w.category is DeprecationWarning and w.filename == __file__ for w in caught)
    assert all("use `from approvalflow import verify_trail`" in str(w.message) for w in caught)


@pytest.mark.parametrize(("where", "old", "new"), RENAMED)
def test_a_renamed_name_keeps_its_old_name_as_an_alias(where: str, old: str, new: str) -> None:
    mod = importlib.import_module(where)
    assert getattr(mod, old) is getattr(mod, new)
    assert new in mod.__all__ and old not in mod.__all__


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,30}", fullmatch=True))
def test_any_other_name_is_an_attribute_error_naming_the_module(name: str) -> None:
    known = set(vars(approvalflow)) | set(approvalflow.__all__) | set(EXPORTED_BEFORE) | set(SUBPACKAGES)
    known |= set(PUBLIC_MODULES) | {"pytest_plugin", "_lazy", "_spiff"}
    if name in known or name.startswith("__"):
        return
    with pytest.raises(AttributeError, match=f"module 'approvalflow' has no attribute '{name}'"):
        getattr(approvalflow, name)


def test_importing_the_package_and_its_lazy_subpackages_imports_nothing_heavy() -> None:
    packages = ", ".join(f"approvalflow.{p}" if p else "approvalflow" for p in lazy_packages())
    code = (
        f"import sys; import {packages}; "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'SpiffWorkflow', 'lxml', 'pydantic', 'yaml'}); "
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
