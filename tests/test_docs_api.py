"""docs/api.md is checked against the code: every name of every ``__all__`` is in its section, every name a table
lists exists there, and every ``approvalflow.…`` name the page cites resolves.

The page has one section (``## `approvalflow.X`: ...``) per public package or module; the first one is the
package itself, whose names come first.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

import pytest

import approvalflow

from .conftest import ROOT

PAGE = ROOT / "docs" / "api.md"
#: A name in backticks: `name`, `name(...)` or `name.attribute` (attributes and arguments are not names).
NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)(?=[`(.])")
#: Every package and module that keeps an ``__all__`` and has a section on the page.
DOCUMENTED = [
    "", "bpmn", "org", "time", "rules", "engine", "store", "supervision", "validation", "render", "simulation",
    "catalog", "testing", "exchange", "io", "errors", "expressions", "demo", "cli",
]  # fmt: skip


def sections(text: str) -> dict[str, str]:
    """The text of each ``## `approvalflow...``` section by its module (``""`` for the package)."""
    found: dict[str, str] = {}
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    for part in parts:
        heading, _, body = part.partition("\n")
        for dotted in re.findall(r"`(approvalflow(?:\.\w+)*)`", heading):
            assert dotted not in found, f"two sections for {dotted}"
            found[dotted.removeprefix("approvalflow").lstrip(".")] = body
    return found


def first_column_names(section: str) -> set[str]:
    """The names listed in the first column of the section's tables (rows after a ``|---|`` line)."""
    names: set[str] = set()
    for row in re.findall(r"^\|([^|\n]*)\|", section, flags=re.M):
        if row.strip() in {"name", "---", "old name"}:
            continue
        names |= set(NAME.findall(row))
    return names


def module(package: str) -> ModuleType:
    return importlib.import_module(f"approvalflow.{package}" if package else "approvalflow")


def resolve(dotted: str) -> object:
    """The object an ``approvalflow.a.b.c`` name stands for: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            value = getattr(value, attribute)
        return value
    raise AssertionError(f"{dotted} is not importable")  # pragma: no cover - "approvalflow" always is


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_every_public_package_has_a_section_and_the_package_comes_first(page: str) -> None:
    found = sections(page)
    assert set(DOCUMENTED) <= set(found), f"no section for {sorted(set(DOCUMENTED) - set(found))}"
    assert next(iter(found)) == "", "the first section is `approvalflow`: the names a user needs first"


@pytest.mark.parametrize("package", DOCUMENTED)
def test_every_name_of_all_is_in_its_section(package: str, page: str) -> None:
    section = sections(page)[package]
    mentioned = set(NAME.findall(section))
    missing = set(module(package).__all__) - mentioned
    assert not missing, f"approvalflow.{package}.__all__ names missing from its section of docs/api.md: {missing}"


@pytest.mark.parametrize("package", DOCUMENTED)
def test_every_name_a_table_lists_exists_there(package: str, page: str) -> None:
    listed = first_column_names(sections(page)[package])
    public = set(module(package).__all__)
    assert listed or not public, f"the section of approvalflow.{package} lists nothing"
    assert listed - public == set(), f"docs/api.md lists names approvalflow.{package}.__all__ does not have"


def test_every_cited_approvalflow_name_resolves(page: str) -> None:
    cited = set(re.findall(r"\bapprovalflow(?:\.[A-Za-z_]\w*)+", page))
    assert len(cited) > 20
    for dotted in sorted(cited):
        if dotted.endswith(".md"):
            continue
        resolve(dotted)


def test_the_old_names_table_says_where_each_renamed_name_went(page: str) -> None:
    old = page[page.index("## Old names") :]
    for row in re.findall(r"^\| (`[^|]+)\| ([^|]+)\|$", old, flags=re.M):
        olds = re.findall(r"`((?:approvalflow\.)?[\w.]+)`", row[0])
        news = re.findall(r"`(approvalflow(?:\.\w+)+)`", row[1])
        assert len(olds) == len(news), row
        for name, new in zip(olds, news, strict=True):
            value = resolve(new)
            if name.startswith("approvalflow."):  # an alias in its module
                assert resolve(name) is value, name
                continue
            assert name in approvalflow._MOVED, f"{name} is not an old name of approvalflow"
            with pytest.deprecated_call():
                assert getattr(approvalflow, name) is value, name
