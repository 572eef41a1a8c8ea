"""Command-line subcommands ``render`` and ``layout`` (SPEC sections 7 and 8)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import ApprovalflowError

__all__ = ["register"]


def _cmd_render(args: argparse.Namespace) -> int:
    from ..render.output import bpmn_files, write_svgs

    files = bpmn_files(args.paths)
    if not files:
        print("approvalflow: error: no .bpmn file found", file=sys.stderr)
        return 2
    out = Path(args.out)
    failed = 0
    for bpmn in files:
        try:
            for path in write_svgs(bpmn, out, args.view):
                print(path)
        except ApprovalflowError as exc:
            print(f"approvalflow: error: {exc}", file=sys.stderr)
            failed += 1
    return 2 if failed else 0


def _cmd_layout(args: argparse.Namespace) -> int:
    from ..render.di_write import missing_di, write_layout

    if args.check:
        missing = missing_di(args.bpmn)
        if missing:
            print(f"{args.bpmn}: no layout for {len(missing)} elements: {', '.join(missing[:10])}")
            return 1
        print(f"{args.bpmn}: laid out")
        return 0
    planes = write_layout(args.bpmn, force=args.force)
    if planes == 0:
        print(f"{args.bpmn}: already laid out (use --force to replace its layout)")
    else:
        print(f"{args.bpmn}: wrote the layout of {planes} process{'es' if planes != 1 else ''}")
    return 0


def register(sub: Any) -> None:
    """Add ``render`` and ``layout`` to the subparsers ``sub`` of the main parser."""
    render = sub.add_parser("render", help="draw flowcharts (flow) or risk-prevention maps (risk) as SVG")
    render.add_argument("paths", nargs="+", metavar="PATH", help="BPMN files or folders (searched recursively)")
    render.add_argument("--view", choices=("flow", "risk"), default="flow", help="运行流程图 or 廉政风险防控图")
    render.add_argument("-o", "--out", default=".", help="output folder (default: the current folder)")
    render.set_defaults(func=_cmd_render)
    layout = sub.add_parser(
        "layout", help="lay out a BPMN file with Graphviz and write the layout into it as DI (diagram interchange)"
    )
    layout.add_argument("bpmn", metavar="BPMN", help="the BPMN file to lay out (rewritten in place)")
    layout.add_argument("--force", action="store_true", help="replace the layout the file already has")
    layout.add_argument("--check", action="store_true", help="only report whether every element has DI (exit 1 if not)")
    layout.set_defaults(func=_cmd_layout)
