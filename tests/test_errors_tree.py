"""One error tree: every exception class of the package derives from ApprovalflowError, and the tree drawn in
``approvalflow/errors.py``'s docstring (and in docs/errors.md) is the real class hierarchy, class for class."""

from __future__ import annotations

import ast
import importlib
import inspect
import pickle
import re
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

import approvalflow
from approvalflow import errors
from approvalflow.errors import ApprovalflowError, DefinitionError, Location, RunError, StepNotReady, StepRefused

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
_ENTRY = re.compile(r"^(?P<indent>[ │]*)(?:[├└]── )?(?P<name>[A-Za-z_]\w*)")


def _modules() -> list[ModuleType]:
    """Every module of the package, imported (an import that fails fails the test)."""
    root = Path(approvalflow.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):  # files, not pkgutil: a folder without __init__.py is walked too
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__main__":  # importing it runs the command line
            continue
        names.append(".".join(("approvalflow", *(parts[:-1] if parts[-1] == "__init__" else parts))))
    return [importlib.import_module(name) for name in names]


def _exception_classes() -> dict[str, type[BaseException]]:
    """Each exception class defined in the package, by name (a name defined twice fails the test)."""
    classes: dict[str, type[BaseException]] = {}
    for module in _modules():
        for name, value in vars(module).items():
            if not (inspect.isclass(value) and issubclass(value, BaseException)):
                continue
            if value.__module__ != module.__name__ or value.__qualname__ != name:
                continue  # imported from elsewhere (found in its own module), or an alias
            assert name not in classes or classes[name] is value, f"two exception classes named {name}"
            classes[name] = value
    return classes


def _tree(text: str) -> dict[str, str | None]:
    """Parent of each class drawn in a tree like the docstring's (None for the root)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ApprovalflowError"))
    base = len(lines[start]) - len(lines[start].lstrip())
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in lines[start:]:
        if not line.strip() or line.strip().startswith("```"):
            break
        if "──" not in line and stack:
            continue  # the continuation of a description
        m = _ENTRY.match(line[base:])
        assert m is not None, f"cannot read the tree line {line!r}"
        depth = len(m.group("indent")) // 4 + (1 if "──" in line else 0)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        name = m.group("name")
        assert name not in parents, f"{name} drawn twice"
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def _real_parent(cls: type[BaseException]) -> str | None:
    """The nearest base class that belongs to the package (a second base such as ValueError is not drawn)."""
    if cls is ApprovalflowError:
        return None
    ours = [b for b in cls.__bases__ if b.__module__.startswith("approvalflow")]
    assert len(ours) == 1, f"{cls.__name__} has {len(ours)} bases in the package"
    return ours[0].__name__


def test_every_exception_class_derives_from_the_root() -> None:
    classes = _exception_classes()
    outside = sorted(n for n, c in classes.items() if not issubclass(c, ApprovalflowError))
    assert outside == []
    assert len(classes) > 30  # the walk found the modules (a broken walk would pass vacuously)


def test_the_docstring_tree_is_the_class_hierarchy() -> None:
    assert errors.__doc__ is not None
    drawn = _tree(errors.__doc__)
    real = {name: _real_parent(cls) for name, cls in _exception_classes().items() if not name.startswith("_")}
    assert drawn == real


def test_the_docs_tree_is_the_docstring_tree() -> None:
    assert errors.__doc__ is not None
    assert _tree(DOCS.read_text(encoding="utf-8")) == _tree(errors.__doc__)


def test_the_tree_reader_sees_a_wrong_parent() -> None:
    """The comparison can fail: a tree that hangs ScenarioError under RunError is not the hierarchy."""
    assert errors.__doc__ is not None
    lines = [line for line in errors.__doc__.splitlines() if "── ScenarioError " not in line]
    at = next(i for i, line in enumerate(lines) if "── StepRefused " in line)
    lines.insert(at, "        ├── ScenarioError")
    wrong = "\n".join(lines)
    drawn = _tree(wrong)
    assert drawn["ScenarioError"] == "RunError"
    real = {name: _real_parent(cls) for name, cls in _exception_classes().items() if not name.startswith("_")}
    assert drawn != real


def test_private_exceptions_are_not_exported() -> None:
    for module in _modules():
        exported = set(getattr(module, "__all__", ()))
        private = {n for n, v in vars(module).items() if n.startswith("_") and inspect.isclass(v)}
        assert not exported & private, module.__name__


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
_opt_text = st.none() | _text.filter(bool)
_opt_line = st.none() | st.integers(1, 10**6)


@given(message=_text, file=_opt_text, line=_opt_line, element=_opt_text, row=_opt_line, case=_opt_text)
def test_errors_survive_pickling_with_their_location(
    message: str,
    file: str | None,
    line: int | None,
    element: str | None,
    row: int | None,
    case: str | None,
) -> None:
    """A worker process's error reaches the parent whole (keyword-only constructors would not re-run)."""
    samples: list[ApprovalflowError] = [
        DefinitionError(message, file=file, line=line, element=element, row=row),
        RunError(message, case=case, step=element, file=file),
        StepNotReady(message, case=case or "c", step="s", ready=["a"]),
        StepRefused(case=case or "c", step="s", actor="x", findings=[]),
    ]
    for error in samples:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error)
        assert str(back) == str(error)
        assert back.location == error.location
        assert back.__dict__ == error.__dict__


@given(message=_text, file=_opt_text, line=_opt_line, element=_opt_text)
def test_str_names_the_location_then_the_message(
    message: str, file: str | None, line: int | None, element: str | None
) -> None:
    error = DefinitionError(message, file=file, line=line, element=element)
    assert error.location == Location(file, line, element)
    text = str(error)
    assert text.endswith(message)
    if file:
        assert text.startswith(file if line is None else f"{file}:{line}")
    if element:
        assert f"element '{element}'" in text
    if not (file or line or element):
        assert text == message


def test_given_values_win_over_the_node_and_the_position() -> None:
    pytest.importorskip("lxml")
    from lxml import etree

    root = etree.fromstring(b"<a id='top'>\n\n<b/></a>", base_url="doc.bpmn")
    error = DefinitionError("m", node=root[0], line=99, element="given")
    assert (error.file, error.line, error.element) == ("doc.bpmn", 99, "given")
    derived = DefinitionError("m", node=root[0])
    assert (derived.file, derived.line, derived.element) == ("doc.bpmn", 3, "top")  # no id: the nearest one's
    at = Location("org.yaml", 7, "units[0]")
    both = DefinitionError("m", node=root[0], at=at)
    assert (both.file, both.line, both.element) == ("org.yaml", 7, "units[0]")  # at= before node=


# -- no raise site forgets the location ---------------------------------------------------------------------------
_LOCATION_KEYWORDS = {"node", "at", "file", "line", "element", "row", "column"}
# Raised by a reader that is not told the file; its caller re-raises with the file, row and column.
_REWRAPPED = {"SpreadsheetLimitError", "UnsupportedWorkbook", "CsvLimitError", "FlowchartPathError"}
# Definition errors about no file at all, each for its reason (a count per module and class).
# Counted per package folder, so that code moving between the modules of a folder does not matter.
_ABOUT_NO_FILE = {
    ("cli", "ScenarioError"): 2,  # the --at option of supervise and of calendar update
    ("simulation", "CalendarError"): 3,  # the simulator's working-time calendar, built in memory
    ("time", "CalendarError"): 2,  # a date the calendar does not cover (a year, not a file)
    ("validation", "DefinitionError"): 1,  # a ProcessDefinition that was not loaded from a file
}


def _raises_without_location() -> dict[tuple[str, str], int]:
    definition = {n for n, c in _exception_classes().items() if issubclass(c, DefinitionError)} - _REWRAPPED
    root = Path(approvalflow.__file__).parent
    found: dict[tuple[str, str], int] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name not in definition or name == "CatalogError":  # a CatalogError's problems carry file and row
                continue
            keywords = {k.arg for k in node.exc.keywords}
            if None in keywords or keywords & _LOCATION_KEYWORDS:  # **where passes them on
                continue
            key = (path.relative_to(root).parts[0].removesuffix(".py"), name)
            found[key] = found.get(key, 0) + 1
    return found


def test_definition_errors_are_raised_with_their_location() -> None:
    """A new ``raise XError("...")`` of a definition error without node=, at=, file= ... fails here."""
    found = _raises_without_location()
    unexpected = {k: n for k, n in found.items() if n > _ABOUT_NO_FILE.get(k, 0)}
    assert unexpected == {}
    assert found  # the scan sees raise sites (a broken scan would pass vacuously)
