"""``approvalflow validate PATH... [--org FILE] [--unit UNIT] [--json]`` (SPEC section 7).

Exit status: 0 when no finding has severity ``error``, 1 when one has, 2 for
bad usage, a path that does not exist or an organisation file that cannot be
read (one line on stderr, printed by :func:`approvalflow.cli.main.main`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..validation import StaticFinding

__all__ = ["register"]

PARALLEL_FROM = 100  # files; below this, starting worker processes costs more than it saves


def register(sub: Any) -> None:
    """Add the ``validate`` subcommand to the main parser's subparsers."""
    p = sub.add_parser("validate", help="check processes for soundness and compliance before any case runs")
    p.add_argument("paths", nargs="+", metavar="PATH", help="BPMN files, or folders searched for .bpmn files")
    p.add_argument("--org", metavar="FILE", help="organisation file: also check staffing and 五不直接分管")
    p.add_argument("--unit", metavar="UNIT", help="check staffing in this unit only (default: see docs/validate.md)")
    p.add_argument("--json", action="store_true", help="print one JSON list of findings")
    p.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help=f"worker processes (default: one per CPU from {PARALLEL_FROM} files on, else 1)",
    )
    p.set_defaults(func=_cmd_validate)


def _print_human(files: Sequence[str], findings: Sequence[StaticFinding]) -> None:
    by_file: dict[str, list[StaticFinding]] = {}
    for f in findings:
        by_file.setdefault(f.file or "", []).append(f)
    for name in dict.fromkeys([*by_file, *files]):
        group = by_file.get(name, [])
        print(f"{name}: {'ok' if not group else f'{len(group)} finding' + ('s' if len(group) > 1 else '')}")
        for f in group:
            where = f"line {f.line}" if f.line else "-"
            print(f"  {where:>10}  {f.severity:<7}  {f.rule:<24} {f.element or '-'}: {f.message}")
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    print(f"{len(files)} files: {counts['error']} errors, {counts['warning']} warnings, {counts['info']} info")


def _cmd_validate(args: argparse.Namespace) -> int:
    from ..validation import bpmn_files, default_jobs, has_errors, validate_paths

    files = [str(p) for p in bpmn_files(args.paths)]
    jobs = args.jobs if args.jobs > 0 else (default_jobs() if len(files) >= PARALLEL_FROM else 1)
    findings = validate_paths(args.paths, org=args.org, unit=args.unit, jobs=jobs)
    if args.json:
        print(json.dumps([f.to_json() for f in findings], ensure_ascii=False))
    else:
        _print_human(files, findings)
    return 1 if has_errors(findings) else 0
