"""``approvalflow simulate MODEL [--cases N] [--seed S] [--json] ...`` (SPEC sections 7 and 10).

MODEL is the project's YAML simulation model or a Prosimos simulation-parameter
JSON (with ``--bpmn``, or the only ``.bpmn`` file next to it). Human output is
a short table; ``--json`` prints the result's JSON (docs/simulation.md).
Exit status 0, or 2 for a model that is not valid (one line on stderr naming
file, line and key). This module imports neither SpiffWorkflow nor pydantic.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

__all__ = ["ProgressBar", "format_result", "register"]

DEFAULT_CASES = 1000
_LONG_RUN = 200_000  # cases; from here on a progress bar is shown on a terminal


def register(sub: Any) -> None:
    """Add the ``simulate`` subcommand to the main parser's subparsers."""
    p = sub.add_parser("simulate", help="Monte Carlo simulation of a process model (capacity studies)")
    p.add_argument("model", metavar="MODEL", help="YAML simulation model, or a Prosimos simulation-parameter JSON")
    p.add_argument(
        "--cases", type=int, metavar="N", help=f"cases per replication (default: the model's, else {DEFAULT_CASES})"
    )
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default: the model's, else fresh)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--bpmn", metavar="FILE", help="the BPMN file (for a Prosimos JSON; overrides a YAML's process)")
    p.add_argument("--replications", type=int, default=1, metavar="R", help="independent replications (default 1)")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="worker processes (default 1)")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: on a terminal, for long runs)",
    )
    p.add_argument("--csv", metavar="FILE", help="also write the result as CSV")
    p.add_argument("--charts", metavar="DIR", help="also write SVG charts (cycle-time histogram, utilisation)")
    p.add_argument("--compare", metavar="MODEL2", help="simulate a second model the same way and compare")
    p.set_defaults(func=_cmd_simulate)


class ProgressBar:
    """A one-line progress bar on a stream: ``ProgressBar(sys.stderr)(done, total)``."""

    def __init__(self, stream: TextIO, label: str = "simulating", width: int = 30) -> None:
        self.stream, self.label, self.width = stream, label, width
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        step = int(share * 100)
        if step == self._shown:
            return
        self._shown = step
        bar = "#" * int(share * self.width)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{self.label} [{bar:<{self.width}}] {step:3d}% {done:,}/{total:,} cases{end}")
        self.stream.flush()


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def format_result(d: dict[str, Any]) -> str:
    """The result as a short table for people."""
    reps = d["replications"]
    lines = [
        f"{d['model']}: {d['cases']:,} cases, seed {d['seed']}, {reps} replication{'s' if reps > 1 else ''} "
        f"({d['wall_seconds']:.2f} s)",
        f"  {'cycle time':<16}{'mean':>9}{'p50':>9}{'p90':>9}{'p99':>9}",
    ]
    for label, key in (("hours", "cycle_time_hours"), ("working days", "cycle_time_working_days")):
        s = d.get(key)
        if s:
            lines.append(f"    {label:<14}" + "".join(f"{s[k]:>9.1f}" for k in ("mean", "p50", "p90", "p99")))
    lines.append(
        f"  per case: waiting {d['waiting_time_hours']['mean']:.1f} h, processing "
        f"{d['processing_time_hours']['mean']:.1f} h (means)"
    )
    if d.get("on_time"):
        o, c = d["on_time"], d.get("cards") or {}
        lines.append(
            f"  on time: promised {_pct(o.get('promised'))}, statutory {_pct(o.get('statutory'))}; "
            f"cards: {c.get('yellow', 0)} yellow (黄牌), {c.get('red', 0)} red (红牌)"
        )
    lines.append(f"  {'post / pool':<20}{'utilisation':>12}{'queue mean':>12}{'queue max':>11}")
    for name, u in d["utilization"].items():
        q = d["queue_length"][name]
        lines.append(f"    {name:<18}{_pct(u):>12}{q['mean']:>12.2f}{q['max']:>11}")
    return "\n".join(lines)


def _run(path: str, args: argparse.Namespace) -> dict[str, Any]:
    from ..simulation import load_simulation_model, simulate

    model = load_simulation_model(path, bpmn=args.bpmn)
    cases = args.cases or model.cases or DEFAULT_CASES
    show = args.progress
    if show is None:
        show = sys.stderr.isatty() and cases * args.replications >= _LONG_RUN
    progress: Callable[[int, int], None] | None = ProgressBar(sys.stderr, model.name) if show else None
    result = simulate(
        model, cases=cases, seed=args.seed, replications=args.replications, jobs=args.jobs, progress=progress
    )
    return result.to_dict()


def _cmd_simulate(args: argparse.Namespace) -> int:
    if (args.cases is not None and args.cases < 1) or args.replications < 1 or args.jobs < 1:
        print("approvalflow: error: --cases, --replications and --jobs must be at least 1", file=sys.stderr)
        return 2
    a = _run(args.model, args)
    b = _run(args.compare, args) if args.compare else None
    if args.csv:
        from ..simulation.outputs import write_csv

        write_csv(a, args.csv)
    if args.charts:
        from ..simulation.charts import write_charts, write_compare_chart

        write_charts(a, args.charts)
        if b is not None:
            write_compare_chart(a, b, Path(args.charts) / "compare.svg")
    if b is not None:
        from ..simulation.outputs import compare, format_compare

        if args.json:
            print(json.dumps(compare(a, b), ensure_ascii=False))
        else:
            print(format_compare(a, b))
        return 0
    if args.json:
        print(json.dumps(a, ensure_ascii=False))
    else:
        print(format_result(a))
    return 0
