"""Scenario files (``*.scenario.yaml``, SPEC section 6) as pytest test items.

Each file is one item. It runs the scenario; a file without an ``expect:`` block passes when the scenario runs
(an invalid scenario fails, naming file, line and element). With ``expect:``, each key given is checked against
the JSON that ``approvalflow run --json`` prints: ``completed``, ``path``, ``refused`` (items ``{step, rules}``,
optionally ``task`` and ``actor``), ``violations`` (``{rule, task, actor}``), ``alerts`` (``{level, scope, limit,
task, deadline}``) and ``deadlines`` (``{promised, statutory}``). In lists of mappings, an expected item names only
the keys it cares about; rule lists compare in any order. Failures list every difference, with the step index.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import pytest

from ..errors import ApprovalflowError, DefinitionError
from ..testing.scenario import Scenario, ScenarioResult, load_scenario, run_scenario

__all__ = ["EXPECT_KEYS", "ScenarioFile", "ScenarioItem", "ScenarioMismatch", "compare"]

EXPECT_KEYS = ("completed", "path", "refused", "violations", "alerts", "deadlines")


class ScenarioMismatch(ApprovalflowError, AssertionError):
    """The scenario ran, but not as its ``expect:`` block says."""


def _step_label(scenario: Scenario, index: object) -> str:
    if isinstance(index, int) and 0 <= index < len(scenario.steps):
        s = scenario.steps[index]
        return f"steps[{index}] ({s.task} by {s.actor} at {s.at.isoformat()})"
    return f"steps[{index}] (no such step)"


def _norm(value: Any) -> Any:
    """YAML reads an unquoted 2026-10-16 as a date; the JSON output writes it as text."""
    return value.isoformat() if isinstance(value, date) else value


def _matches(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    for key, value in expected.items():
        got = actual.get(key)
        if key == "rules" and isinstance(value, list) and isinstance(got, list):
            if sorted(map(str, value)) != sorted(map(str, got)):
                return False
        elif _norm(got) != _norm(value):
            return False
    return True


def _pair(expected: Sequence[Any], actual: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[Mapping[str, Any]]]:
    """Expected items with no matching actual item, and actual items matched by no expected item."""
    left = list(actual)
    missing = []
    for item in expected:
        hit = next((a for a in left if isinstance(item, Mapping) and _matches(item, a)), None)
        if hit is None:
            missing.append(item)
        else:
            left.remove(hit)
    return missing, left


def _path_problem(expected: Any, actual: list[str]) -> list[str]:
    if list(expected) == actual:
        return []
    at = next((i for i, (e, a) in enumerate(zip(expected, actual, strict=False)) if e != a), None)
    where = f"at position {at}" if at is not None else f"in length ({len(expected)} expected, {len(actual)} taken)"
    return [
        f"path differs {where}:\n"
        f"      expected: {', '.join(map(str, expected)) or '(nothing)'}\n"
        f"      actual:   {', '.join(actual) or '(nothing)'}"
    ]


def _refused_problems(scenario: Scenario, expected: Sequence[Any], actual: list[dict[str, Any]]) -> list[str]:
    problems = []
    for item in expected:
        index = item.get("step") if isinstance(item, Mapping) else None
        same_step = [a for a in actual if a["step"] == index]
        if not same_step:
            problems.append(f"{_step_label(scenario, index)}: expected a refusal ({_rules(item)}); it was not refused")
        elif not _matches(item, same_step[0]):
            problems.append(
                f"{_step_label(scenario, index)}: expected a refusal for {_rules(item)}; "
                f"refused for {', '.join(same_step[0]['rules'])}"
            )
    listed = {item.get("step") for item in expected if isinstance(item, Mapping)}
    for a in actual:
        if a["step"] not in listed:
            problems.append(
                f"{_step_label(scenario, a['step'])} was refused ({', '.join(a['rules'])}), "
                "but expect.refused does not list it"
            )
    return problems


def _rules(item: Any) -> str:
    rules = item.get("rules") if isinstance(item, Mapping) else None
    return ", ".join(map(str, rules)) if isinstance(rules, list) else "any rule"


def _show(item: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in item.items() if k not in ("message", "at", "severity")) + "}"


def _list_problems(key: str, expected: Sequence[Any], actual: Sequence[Mapping[str, Any]]) -> list[str]:
    missing, unexpected = _pair(expected, actual)
    problems = [f"{key}: expected {_show(m) if isinstance(m, Mapping) else repr(m)}, not found" for m in missing]
    problems += [f"{key}: unexpected {_show(u)}" for u in unexpected]
    if missing and not unexpected:
        problems.append(f"{key} were: {', '.join(_show(a) for a in actual) or '(none)'}")
    return problems


def _deadline_problems(expected: Any, actual: Mapping[str, Any] | None) -> list[str]:
    if expected is None or actual is None:
        return [] if expected == actual else [f"deadlines: expected {expected}, got {actual}"]
    wrong = [k for k in expected if _norm(expected[k]) != _norm(actual.get(k))]
    return [f"deadlines: {k} expected {expected[k]}, got {actual.get(k)}" for k in wrong]


def compare(scenario: Scenario, expect: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Every way ``actual`` (the ``run --json`` output) differs from ``expect``; empty when it matches."""
    known = ", ".join(EXPECT_KEYS)
    problems = [f"unknown key in expect: {k!r} (known: {known})" for k in expect if k not in EXPECT_KEYS]
    if "completed" in expect and bool(expect["completed"]) != actual["completed"]:
        state = "completed" if actual["completed"] else "not completed"
        problems.append(f"completed: expected {expect['completed']}, the case is {state}")
    if "path" in expect:
        problems += _path_problem(expect["path"] or [], actual["path"])
    if "refused" in expect:
        problems += _refused_problems(scenario, expect["refused"] or [], actual["refused"])
    for key in ("violations", "alerts"):
        if key in expect:
            problems += _list_problems(key, expect[key] or [], actual[key])
    if "deadlines" in expect:
        problems += _deadline_problems(expect["deadlines"], actual["deadlines"])
    return problems


class ScenarioItem(pytest.Item):
    """One scenario file run as a test."""

    def runtest(self) -> None:
        __tracebackhide__ = True
        scenario = load_scenario(self.path)[0]
        result = run_scenario(self.path)
        self._record(result)
        if scenario.expect is None:
            return
        problems = compare(scenario, scenario.expect, result.to_json())
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            raise ScenarioMismatch(f"{self.path}: the run does not meet its expect: block\n{lines}")

    def _record(self, result: ScenarioResult) -> None:
        from .keys import COVERAGE_KEY

        coverage = self.config.stash.get(COVERAGE_KEY, None)
        if coverage is not None:
            coverage.record(result.case, self.nodeid)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioMismatch):
            return str(excinfo.value)
        if isinstance(excinfo.value, DefinitionError):
            return f"{self.path}: the scenario is not valid: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"scenario {self.name}"


class ScenarioFile(pytest.File):
    """A ``*.scenario.yaml`` file: it yields one :class:`ScenarioItem`."""

    def collect(self) -> Iterator[ScenarioItem]:
        yield ScenarioItem.from_parent(self, name=self.path.name.removesuffix(".scenario.yaml"))
