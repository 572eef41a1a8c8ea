"""House habits (issue 15, item 7): every test file tests something, no test is empty, no function is too long.

The checks read source text with :mod:`ast`; nothing is imported or run. Each check is a function of a parsed
module, so the last tests show, on small sources written here, that it catches what it is meant to catch.
(Formatting and types are CI's: ``ruff format --check`` and ``mypy``, strict on ``src`` and ``tests``.)
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from .conftest import ROOT

TESTS = ROOT / "tests"
SRC = ROOT / "src"
MAX_LINES = 80  # a function this long or longer (from its ``def`` line to its last line) is split
Function = ast.FunctionDef | ast.AsyncFunctionDef


@cache
def parse(path: Path) -> ast.Module:

    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def collected_tests(module: ast.Module) -> list[Function]:
    """The functions pytest collects as tests: ``test*`` at the top level and in ``Test*`` classes."""
    found = [n for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for cls in module.body:
        if isinstance(cls, ast.ClassDef) and cls.name.startswith("Test"):
            found += [n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return [n for n in found if n.name.startswith("test")]


def is_empty(function: Function) -> bool:
    """Whether the body is nothing but ``pass``, ``...`` and strings (docstrings)."""
    return all(
        isinstance(s, ast.Pass)
        or (
            isinstance(s, ast.Expr)
            and isinstance(s.value, ast.Constant)
            and (s.value.value is Ellipsis or isinstance(s.value.value, str))
        )
        for s in function.body
    )


def long_functions(module: ast.Module, limit: int = MAX_LINES) -> list[tuple[str, int, int]]:
    """(qualified name, line of ``def``, lines) of every function, nested ones included, ``limit`` lines or longer."""
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    assert child.end_lineno is not None
                    length = child.end_lineno - child.lineno + 1
                    if length >= limit:
                        found.append((name, child.lineno, length))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(module, "")
    return found


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# -- the house -----------------------------------------------------------------------------------------------------
def test_every_test_file_defines_a_test() -> None:
    files = sorted(TESTS.rglob("test_*.py"))
    assert len(files) > 50  # the suite is where we think it is
    without = [relative(p) for p in files if not collected_tests(parse(p))]
    assert without == [], "test files without a test (shared helpers go in a module not named test_*.py)"


def test_no_test_is_empty() -> None:
    empty = [
        f"{relative(p)}::{t.name}"
        for p in sorted(TESTS.rglob("test_*.py"))
        for t in collected_tests(parse(p))
        if is_empty(t)
    ]
    assert empty == [], "tests whose body is only pass, ... or a docstring check nothing"


def test_no_function_in_src_is_80_lines_or_longer() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 50
    long = [f"{relative(p)}:{line} {name} ({n} lines)" for p in files for name, line, n in long_functions(parse(p))]
    assert long == [], f"functions of {MAX_LINES} lines or more: split them into well-named functions"


# -- the checks catch what they are for --------------------------------------------------------------------------
def test_a_module_of_helpers_and_fixtures_has_no_test() -> None:
    source = (
        "import pytest\n"
        "def helper() -> int:\n    return 1\n"
        "@pytest.fixture\ndef store() -> int:\n    return 2\n"
        "class Helper:\n    def test_not_collected(self) -> None:\n        assert True\n"
        "def nested() -> None:\n    def test_inner() -> None:\n        assert True\n"
    )
    assert collected_tests(ast.parse(source)) == []
    found = collected_tests(
        ast.parse("def test_a() -> None:\n    assert 1\nclass TestB:\n    def test_c(self) -> None: ...\n")
    )
    assert [t.name for t in found] == ["test_a", "test_c"]


def test_empty_bodies_are_found_and_real_ones_are_not() -> None:
    empty = [
        "def test_a() -> None:\n    pass\n",
        "def test_b() -> None:\n    ...\n",
        'def test_c() -> None:\n    """Checks the thing."""\n',
        'def test_d() -> None:\n    """Checks the thing."""\n    pass\n',
        'async def test_e() -> None:\n    "TODO"\n    ...\n',
    ]
    real = [
        "def test_f() -> None:\n    assert compute() == 2\n",
        'def test_g() -> None:\n    """Doc."""\n    check()\n',
        "def test_h() -> None:\n    with pytest.raises(ValueError):\n        pass\n",
        "def test_i() -> None:\n    return\n",
    ]
    assert [is_empty(collected_tests(ast.parse(s))[0]) for s in empty] == [True] * len(empty)
    assert [is_empty(collected_tests(ast.parse(s))[0]) for s in real] == [False] * len(real)


def function_of(lines: int, *, indent: str = "", name: str = "f") -> str:
    """A function of exactly ``lines`` lines, from its ``def`` to its last statement."""
    return f"{indent}def {name}() -> int:\n" + f"{indent}    x = 0\n" * (lines - 2) + f"{indent}    return 1\n"


@given(st.integers(min_value=2, max_value=200))
def test_a_function_is_long_from_80_lines_counted_from_def_to_its_last_line(lines: int) -> None:
    source = "@decorator\n" + function_of(lines) + "\n\nX = 1\n"
    found = long_functions(ast.parse(source))
    assert found == ([("f", 2, lines)] if lines >= 80 else [])


def test_methods_and_nested_functions_are_measured_too() -> None:
    source = "class Run:\n" + function_of(79, indent="    ", name="short") + function_of(80, indent="    ", name="loop")
    source += "def outer() -> None:\n" + function_of(90, indent="    ", name="inner") + "    return None\n"
    found = long_functions(ast.parse(source))
    assert [(name, n) for name, _, n in found] == [("Run.loop", 80), ("outer", 92), ("outer.inner", 90)]
