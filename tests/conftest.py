"""Shared fixtures: the sample licensing process, the sample county organisation, small test models."""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from approvalflow import (
    FakeClock,
    Organisation,
    ProcessDefinition,
    load_organisation,
    load_process,
    organisation_from_dict,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
LICENSING = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
SAMPLE_ORG = ROOT / "processes" / "org" / "sample_county.yaml"
MARKET_ORG = DATA / "market_bureau.yaml"  # the market bureau alone: one unit


# -- the structural guard against code execution (issue 14) ---------------------------------------------------
#: Modules that must never evaluate or compile code: the engine underneath and approvalflow itself.
GUARDED = ("SpiffWorkflow", "approvalflow")


class CodeExecutionAttempt(AssertionError):
    """SpiffWorkflow or approvalflow called eval, exec or compile while a test ran."""


def _caller_module(depth: int = 2) -> str:
    return str(sys._getframe(depth).f_globals.get("__name__", ""))


def _guarded(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    import ast

    def guard(*args: Any, **kwargs: Any) -> Any:
        caller = _caller_module()
        if caller.startswith(GUARDED):
            flags = args[3] if len(args) > 3 else kwargs.get("flags", 0)
            if not (name == "compile" and flags & ast.PyCF_ONLY_AST):  # parsing to a tree runs nothing
                raise CodeExecutionAttempt(f"{caller} called {name}() while a test ran")
        return real(*args, **kwargs)

    return guard


@pytest.fixture(autouse=True)
def no_code_execution(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test runs with eval, exec and compile failing when SpiffWorkflow or approvalflow calls them.

    So a future SpiffWorkflow path (or one of ours) that evaluates code from a BPMN file, a saved case or a store
    fails the suite, whatever test reaches it. ``ast.parse`` (compile with ``PyCF_ONLY_AST``) stays allowed: it
    builds a syntax tree and runs nothing. A test that shows what bare SpiffWorkflow does opts out with
    ``@pytest.mark.allow_code_execution``.
    """
    if request.node.get_closest_marker("allow_code_execution"):
        yield
        return
    saved = {name: getattr(builtins, name) for name in ("eval", "exec", "compile")}
    for name, real in saved.items():
        setattr(builtins, name, _guarded(name, real))
    try:
        yield
    finally:
        for name, real in saved.items():
            setattr(builtins, name, real)


@pytest.fixture(scope="session")
def licensing() -> ProcessDefinition:
    return load_process(LICENSING)


@pytest.fixture(scope="session")
def org() -> Organisation:
    return load_organisation(MARKET_ORG)


@pytest.fixture(scope="session")
def meeting_process() -> ProcessDefinition:
    return load_process(DATA / "meeting.bpmn")


@pytest.fixture(scope="session")
def meeting_org() -> Organisation:
    return organisation_from_dict(
        {
            "units": [
                {
                    "id": "gov",
                    "principal": "boss",
                    "deputies": {"dep1": ["finance"], "dep2": ["approval"]},
                    "groups": {"leadership": {"name": "领导班子", "members": ["boss", "dep1", "dep2"]}},
                }
            ],
            "people": {
                "boss": {"unit": "gov", "posts": ["principal", "leader"]},
                "dep1": {"unit": "gov", "posts": ["deputy", "leader"]},
                "dep2": {"unit": "gov", "posts": ["deputy", "leader"]},
                "dep3": {"unit": "gov", "posts": ["deputy", "leader"]},
                "clerk1": {"unit": "gov", "posts": ["clerk"]},
                "clerk2": {"unit": "gov", "posts": ["clerk"]},
                "lawyer": {"unit": "gov", "posts": ["legal"]},
            },
        }
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock("2026-09-28T09:00:00+08:00")
