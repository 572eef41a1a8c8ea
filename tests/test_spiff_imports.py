"""SpiffWorkflow sits behind one module (issue 15, items 1 and 3).

Only ``approvalflow/_spiff.py`` imports SpiffWorkflow, at the top of the module or inside a function; and the
engine's case and persistence modules do not import each other in a circle (the case's state lives in
``engine/state.py``, below both).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "approvalflow"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (absolute names; relative ones resolved from the file)."""
    package = list(path.relative_to(SRC.parent).with_suffix("").parts)[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
                found.add(stem)
                found.update(f"{stem}.{alias.name}" for alias in node.names)
            elif node.module:
                found.add(node.module)
    return found


def test_only_the_adapter_imports_spiffworkflow() -> None:
    offenders = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "_spiff.py" or path.parent != SRC
        if any(m == "SpiffWorkflow" or m.startswith("SpiffWorkflow.") for m in imported_modules(path))
    )
    assert offenders == []


def test_the_adapter_does_import_it() -> None:
    """The scan above would pass vacuously if it could not see an import: it sees the adapter's."""
    assert any(m.startswith("SpiffWorkflow") for m in imported_modules(SRC / "_spiff.py"))


def test_case_and_persistence_are_not_a_cycle() -> None:
    case = imported_modules(SRC / "engine" / "case.py")
    state = imported_modules(SRC / "engine" / "state.py")
    assert not any(m.startswith("approvalflow.engine.persistence") for m in case | state)
    assert "approvalflow.engine.state" in case
    assert "approvalflow.engine.case" in imported_modules(SRC / "engine" / "persistence.py")
