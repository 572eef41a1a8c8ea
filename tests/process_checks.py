"""Checks shared by the process tests (``tests/test_process_*.py``): a scenario's output in comparable form, and
the exact check of a scenario file's ``expect:`` block (stricter than the plugin's, which lets an expected item
name only some keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from approvalflow.testing.scenario import load_scenario, run_scenario


def refused(out: dict[str, Any]) -> list[tuple[int, list[str]]]:
    """The refused attempts of a scenario's JSON output as (index into steps, rules)."""
    return [(r["step"], r["rules"]) for r in out["refused"]]


def violations(out: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The recorded findings of a scenario's JSON output as (rule, task, actor)."""
    return [(v["rule"], v["task"], v["actor"]) for v in out["violations"]]


def assert_expect_block_holds(path: Path) -> None:
    """The file has an ``expect:`` block and every key of it equals the scenario's output exactly."""
    expect = load_scenario(path)[0].expect
    assert expect, f"{path.name} has no expect: block"
    out = run_scenario(path).to_json()
    for key, value in expect.items():
        if key == "refused":
            assert refused(out) == [(r["step"], r["rules"]) for r in value]
        elif key == "violations":
            assert violations(out) == [(v["rule"], v["task"], v["actor"]) for v in value]
        else:
            assert out[key] == value, key
