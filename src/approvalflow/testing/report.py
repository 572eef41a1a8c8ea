"""Human-readable output for the command line: tables that line up with Chinese text."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .scenario import ScenarioResult

__all__ = ["print_scenario", "table", "width"]


def width(text: str) -> int:
    """Columns a string takes in a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, cols: int) -> str:
    return text + " " * max(0, cols - width(text))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table with a header rule."""
    cols = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(_pad(h, c) for h, c in zip(headers, cols, strict=True)).rstrip(),
        "  ".join("-" * c for c in cols),
    ]
    lines += ["  ".join(_pad(v, c) for v, c in zip(r, cols, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def print_scenario(result: ScenarioResult, out: TextIO | None = None) -> None:
    """Print what a scenario did: the path, refusals, findings, deadlines and alerts."""
    import sys

    out = out or sys.stdout
    doc = result.to_json()
    case = result.case
    print(
        f"case {case.id}: process {case.definition.name_or_id} in {case.unit.name}, policy {case.policy.value}",
        file=out,
    )
    print(
        f"completed: {'yes' if doc['completed'] else 'no'}    path: {' → '.join(doc['path']) or '(none)'}",
        file=out,
    )
    if doc["refused"]:
        print("\nrefused:", file=out)
        print(
            table(
                ["#", "task", "actor", "rules"],
                [[str(r["step"]), r["task"], r["actor"], ", ".join(r["rules"])] for r in doc["refused"]],
            ),
            file=out,
        )
    if case.findings:
        print("\nfindings recorded:", file=out)
        print(
            table(
                ["rule", "task", "actor", "message"],
                [[f.rule, f.step or "", f.actor or "", f.message] for f in case.findings],
            ),
            file=out,
        )
    if doc["deadlines"]:
        d = doc["deadlines"]
        print(
            f"\ndeadlines: promised {d.get('promised') or '-'}, statutory {d.get('statutory') or '-'}",
            file=out,
        )
    if doc["alerts"]:
        print("\nalerts:", file=out)
        print(
            table(
                ["level", "scope", "limit", "task", "deadline"],
                [[a["level"], a["scope"], a["limit"], a["task"] or "", a["deadline"]] for a in doc["alerts"]],
            ),
            file=out,
        )
