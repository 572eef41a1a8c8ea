"""The architecture holds (issue 15): imports go down the layers, no import cycles, SpiffWorkflow in one module.

The layer table is written once here and once in ``docs/architecture.md``; a test holds the two equal. The import
graph is read with :mod:`ast` from the source, so an import inside a function counts as much as one at the top of a
module; only imports under ``if TYPE_CHECKING:`` (never run) are left out. Each check is a function of the source
tree, tried first on tiny synthetic packages that break it, so that a check that can no longer fail is noticed.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import ROOT

PACKAGE = "approvalflow"
SOURCE = ROOT / "src" / PACKAGE

#: Each top-level module or package of ``src/approvalflow`` and its layer: it may import its own package and the
#: layers below it, nothing else. ``docs/architecture.md`` shows the same table (checked below).
LAYERS: dict[str, int] = {
    "errors.py": 0,
    "_lazy.py": 0,
    "io/": 1,
    "expressions.py": 1,
    "_spiff.py": 2,
    "bpmn/": 3,
    "org/": 4,
    "time/": 4,
    "rules/": 5,
    "engine/": 6,
    "validation/": 7,
    "catalog/": 7,
    "render/": 7,
    "store/": 7,
    "simulation/": 8,
    "supervision/": 8,
    "testing/": 9,
    "exchange/": 9,
    "demo/": 10,
    "service/": 10,
    "cli/": 11,
    "pytest_plugin/": 11,
    "__init__.py": 12,
    "__main__.py": 12,
}

#: The one module that imports SpiffWorkflow (the adapter).
SPIFF_ADAPTER = "_spiff.py"

#: Modules that import by name at run time (``importlib.import_module``), which the graph cannot see; each one may
#: import anything its layer allows, and says what it imports so.
DYNAMIC_IMPORTERS = {
    "__init__.py": "the public API's lazy names",
    "_lazy.py": "the lazy names of the package and its subpackages, each from its own modules (test_exported_members)",
    "cli/main.py": "its own command modules",
}


# -- the checker ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One import statement's target, as the module of the package it loads (or the external dotted name)."""

    source: str
    target: str
    file: Path
    line: int

    def where(self, root: Path) -> str:
        return f"{self.file.relative_to(root.parent).as_posix()}:{self.line}"


def package_modules(root: Path) -> dict[str, Path]:
    """Every module of the package at ``root`` by dotted name (a package by its own name, from ``__init__.py``)."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node that can run: the whole tree except the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _run_time_nodes(other)
            continue
        yield child
        yield from _run_time_nodes(child)


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: Mapping[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        name = ".".join(base + ([node.module] if node.module else []))
    else:
        name = node.module or ""
    return [f"{name}.{alias.name}" if f"{name}.{alias.name}" in known else name for alias in node.names]


def _owner(name: str, known: Mapping[str, Path]) -> str | None:
    """The module of the package that an import of ``name`` loads (its longest known prefix), or None."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def read_imports(root: Path) -> list[Import]:
    """Every import that can run in the package at ``root``: internal targets as modules, external ones as written."""
    known = package_modules(root)
    found: list[Import] = []
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _run_time_nodes(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(module, path.name == "__init__.py", node, known):
                internal = _owner(target, known) if target.split(".")[0] == root.name else None
                found.append(Import(module, internal or target, path, node.lineno))
    return found


def internal_graph(root: Path, imports: list[Import]) -> dict[str, dict[str, Import]]:
    """Module -> imported module of the same package -> the first import statement that makes the edge."""
    known = package_modules(root)
    graph: dict[str, dict[str, Import]] = {m: {} for m in known}
    for imp in imports:
        if imp.target in known and imp.target != imp.source:
            graph[imp.source].setdefault(imp.target, imp)
    return graph


def find_cycles(graph: Mapping[str, Mapping[str, object]]) -> list[list[str]]:
    """One cycle (a list of modules, the first repeated at the end) per strongly connected component with a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, {})):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph.get(node, {}):
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_a_cycle(graph, component) for component in sorted(components)]


def _a_cycle(graph: Mapping[str, Mapping[str, object]], component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, found breadth first inside the component."""
    members, start = set(component), component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in sorted(graph.get(node, {})):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if nxt in members and nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - a component always has one


def cycle_problems(root: Path, imports: list[Import]) -> list[str]:
    """Each import cycle, naming every module on it and the line of each import that closes it."""
    graph = internal_graph(root, imports)
    problems = []
    for cycle in find_cycles(graph):
        steps = [graph[a][b].where(root) for a, b in itertools.pairwise(cycle)]
        problems.append(f"import cycle {' -> '.join(cycle)} (imports at {', '.join(steps)})")
    return problems


def unit_of(root: Path, path: Path) -> str:
    """The layer-table key of a module's file: ``name.py`` at the top, ``name/`` for anything inside a package."""
    relative = path.relative_to(root)
    return relative.parts[0] + "/" if len(relative.parts) > 1 else relative.name


def layer_problems(root: Path, imports: list[Import], layers: Mapping[str, int]) -> list[str]:
    """Imports that go sideways or up the layers, and modules that no layer holds."""
    known = package_modules(root)
    problems = [
        f"{unit_of(root, path)} ({path.relative_to(root.parent).as_posix()}) has no layer: add it to LAYERS "
        "and to docs/architecture.md"
        for path in known.values()
        if unit_of(root, path) not in layers
    ]
    for imp in imports:
        if imp.target not in known:
            continue
        here, there = unit_of(root, known[imp.source]), unit_of(root, known[imp.target])
        if here == there or here not in layers or there not in layers:
            continue
        if layers[there] >= layers[here]:
            problems.append(
                f"{imp.where(root)}: {imp.source} (layer {layers[here]}, {here}) imports {imp.target} "
                f"(layer {layers[there]}, {there}): imports go down the layers only"
            )
    return problems


def spiff_problems(root: Path, imports: list[Import], adapter: str) -> list[str]:
    """SpiffWorkflow imports outside the adapter module."""
    return [
        f"{imp.where(root)}: {imp.source} imports {imp.target}: only {root.name}/{adapter} imports SpiffWorkflow"
        for imp in imports
        if imp.target.split(".")[0] == "SpiffWorkflow" and imp.file.relative_to(root).as_posix() != adapter
    ]


def dynamic_import_problems(root: Path, allowed: Mapping[str, str]) -> list[str]:
    """Calls of ``import_module`` or ``__import__`` (imports the graph cannot see) outside the allowed modules."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).as_posix() in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                if name in ("import_module", "__import__"):
                    problems.append(
                        f"{path.relative_to(root.parent).as_posix()}:{node.lineno}: {name}(...) imports by name, "
                        "which the import graph cannot check: import statically"
                    )
    return problems


# -- the package ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return read_imports(SOURCE)


def test_the_package_has_no_import_cycle(imports: list[Import]) -> None:
    problems = cycle_problems(SOURCE, imports)
    assert not problems, "\n".join(problems)


def test_every_import_goes_to_the_same_package_or_a_lower_layer(imports: list[Import]) -> None:
    problems = layer_problems(SOURCE, imports, LAYERS)
    assert not problems, "\n".join(problems)


def test_only_the_adapter_imports_spiffworkflow(imports: list[Import]) -> None:
    problems = spiff_problems(SOURCE, imports, SPIFF_ADAPTER)
    assert not problems, "\n".join(problems)
    assert any(i.target.startswith("SpiffWorkflow") for i in imports), "the adapter no longer imports SpiffWorkflow?"


def test_only_the_listed_modules_import_by_name() -> None:
    problems = dynamic_import_problems(SOURCE, DYNAMIC_IMPORTERS)
    assert not problems, "\n".join(problems)
    for allowed in DYNAMIC_IMPORTERS:
        assert (SOURCE / allowed).is_file(), f"DYNAMIC_IMPORTERS names {allowed}, which is gone"


def test_the_layer_table_names_exactly_what_is_in_the_package() -> None:
    present = {p.name + "/" if p.is_dir() else p.name for p in SOURCE.iterdir() if p.suffix == ".py" or p.is_dir()}
    present -= {"__pycache__/"}
    assert present == set(LAYERS), f"in the package, not in LAYERS: {sorted(present - set(LAYERS))}; " + (
        f"in LAYERS, not in the package: {sorted(set(LAYERS) - present)}"
    )


def documented_layers(text: str) -> dict[str, int]:
    """The layer table of docs/architecture.md: rows ``| N | `name/` · `other.py` | ... |``."""
    table: dict[str, int] = {}
    for number, names in re.findall(r"^\|\s*(\d+)\s*\|([^|]*)\|", text, re.M):
        for name in re.findall(r"`([^`]+)`", names):
            assert name not in table, f"docs/architecture.md lists {name} twice"
            table[name] = int(number)
    return table


def test_the_architecture_page_shows_the_same_layers() -> None:
    documented = documented_layers((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    assert documented == LAYERS


def test_the_pytest_entry_point_imports_nothing_of_the_package_when_loaded() -> None:
    # pytest imports entry points before pytest-cov starts; see tests/test_papercuts.py for the run with --cov
    entry = ROOT / "src" / "pytest_approvalflow.py"
    tree = ast.parse(entry.read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert names and not [n for n in names if n.split(".")[0] == PACKAGE], names


# -- the checker can fail -------------------------------------------------------------------------------------


def make_package(root: Path, files: Mapping[str, str]) -> Path:
    """A package ``pkg`` under ``root`` with the given files (relative path -> source)."""
    package = root / "pkg"
    for relative, text in {"__init__.py": "", **files}.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


def test_a_cycle_through_a_lazy_import_is_named_with_its_lines(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        {
            "a.py": "from .b import thing\n",
            "b.py": "thing = 1\n\n\ndef later():\n    from .a import something\n    return something\n",
        },
    )
    [problem] = cycle_problems(package, read_imports(package))
    assert "pkg.a -> pkg.b -> pkg.a" in problem
    assert "pkg/a.py:1" in problem and "pkg/b.py:5" in problem


def test_a_module_importing_its_own_package_closes_a_cycle(tmp_path: Path) -> None:
    # the shape prosimos had: the package imports the module, the module reads a constant from the package
    package = make_package(
        tmp_path, {"__init__.py": "from .sub import f\nLIMIT = 1\n", "sub.py": "from . import LIMIT\n"}
    )
    [problem] = cycle_problems(package, read_imports(package))
    assert "pkg -> pkg.sub -> pkg" in problem


def test_imports_for_type_checkers_only_are_not_cycles(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        {
            "a.py": "from .b import thing\n",
            "b.py": "from typing import TYPE_CHECKING\nthing = 1\nif TYPE_CHECKING:\n    from .a import x\n"
            "else:\n    import json\n",
        },
    )
    imports = read_imports(package)
    assert cycle_problems(package, imports) == []
    assert {i.target for i in imports if i.source == "pkg.b"} == {"typing", "json"}  # the else branch runs


def test_relative_imports_resolve_to_modules(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/base.py": "X = 1\n",
            "low/deep/__init__.py": "from .. import base\nfrom ..base import X\nfrom ... import top\n",
            "top.py": "import pkg.low.base\nfrom pkg.low import deep\n",
        },
    )
    edges = {(i.source, i.target) for i in read_imports(package)}
    assert ("pkg.low.deep", "pkg.low.base") in edges and ("pkg.low.deep", "pkg.top") in edges
    assert ("pkg.top", "pkg.low.base") in edges and ("pkg.top", "pkg.low.deep") in edges


def test_an_import_up_or_sideways_is_named_with_its_layers(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/a.py": "from ..high.b import y\nfrom .c import z\n",
            "low/c.py": "z = 1\n",
            "high/__init__.py": "",
            "high/b.py": "from ..low.a import y\n",
            "side.py": "from .high import b\n",
            "stray.py": "",
        },
    )
    layers = {"__init__.py": 9, "low/": 1, "high/": 2, "side.py": 2}
    problems = layer_problems(package, read_imports(package), layers)
    assert len(problems) == 3, problems
    up = next(p for p in problems if p.startswith("pkg/low/a.py:1:"))
    assert "pkg.low.a (layer 1, low/) imports pkg.high.b (layer 2, high/)" in up
    assert any(p.startswith("pkg/side.py:1:") and "(layer 2, side.py)" in p for p in problems)
    assert any(p.startswith("stray.py (pkg/stray.py) has no layer") for p in problems)


def test_a_spiffworkflow_import_outside_the_adapter_is_named(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        {
            "_spiff.py": "from SpiffWorkflow.bpmn import BpmnWorkflow\n",
            "engine.py": "def run():\n    import SpiffWorkflow.util.task\n",
        },
    )
    assert spiff_problems(package, read_imports(package), "_spiff.py") == [
        "pkg/engine.py:2: pkg.engine imports SpiffWorkflow.util.task: only pkg/_spiff.py imports SpiffWorkflow"
    ]


def test_an_import_by_name_outside_the_listed_modules_is_named(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        {
            "ok.py": "import importlib\nimportlib.import_module('json')\n",
            "bad.py": "from importlib import import_module\n\n\ndef f():\n    return import_module('pkg.ok')\n",
        },
    )
    problems = dynamic_import_problems(package, {"ok.py": "allowed"})
    assert len(problems) == 1 and problems[0].startswith("pkg/bad.py:5: import_module(...)")


def test_the_documented_table_is_read_row_by_row() -> None:
    text = "| layer | package |\n|---|---|\n| 0 | `errors.py` | x |\n| 4 | `org/` · `time/` | y |\n"
    assert documented_layers(text) == {"errors.py": 0, "org/": 4, "time/": 4}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20))
def test_cycles_are_found_exactly_when_the_graph_has_one(edges: list[tuple[int, int]]) -> None:
    graph: dict[str, dict[str, object]] = {f"m{i}": {} for i in range(8)}
    for a, b in edges:
        if a != b:
            graph[f"m{a}"][f"m{b}"] = None
    cycles = find_cycles(graph)
    reference = nx.DiGraph([(a, b) for a, targets in graph.items() for b in targets])
    reference.add_nodes_from(graph)
    assert (cycles == []) == nx.is_directed_acyclic_graph(reference)
    components = [c for c in nx.strongly_connected_components(reference) if len(c) > 1]
    assert len(cycles) == len(components)
    for cycle in cycles:  # each is a real cycle: consecutive modules are edges, the first repeated at the end
        assert cycle[0] == cycle[-1] and len(set(cycle[:-1])) == len(cycle) - 1
        assert all(b in graph[a] for a, b in itertools.pairwise(cycle))
