"""The ``approvalflow`` command line (SPEC section 7).

Exit status: 0 fine, 1 findings of error severity (``validate``) or a broken
trail (``audit verify``), 2 bad input or usage. Errors are one line on stderr
naming the file, line and element; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import ApprovalflowError
from .trail import read_jsonl, verify

__all__ = ["main"]


def _cmd_run(args: argparse.Namespace) -> int:
    from .scenario import run_scenario

    result = run_scenario(args.scenario)
    if args.store:
        from .cli_supervise import store_scenario_case

        store_scenario_case(args.store, result)
    if args.trail:
        result.case.trail.write(args.trail)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
        return 0
    from .report import print_scenario

    print_scenario(result)
    return 0


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    try:
        entries = read_jsonl(args.trail)
    except (OSError, ValueError) as exc:
        print(f"approvalflow: cannot read the trail: {exc}", file=sys.stderr)
        return 2
    result = verify(entries)
    if args.json:
        print(
            json.dumps(
                {"ok": result.ok, "entries": len(entries), "problems": list(result.problems)},
                ensure_ascii=False,
            )
        )
    elif result.ok:
        print(f"{args.trail}: intact ({len(entries)} entries)")
    else:
        print(f"{args.trail}: BROKEN")
        for problem in result.problems:
            print(f"  {problem}")
    return 0 if result.ok else 1


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.processes) if args.processes else None, Path(args.out) if args.out else None)


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="approvalflow",
        description="Run administrative approval processes (BPMN) under the rules of the 六权治本 reform.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario file (SPEC section 6)")
    run.add_argument("scenario", help="the scenario YAML file")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument("--trail", metavar="FILE", help="write the audit trail as JSON Lines")
    run.add_argument(
        "--store", metavar="STORE", help="keep the case in a case store (SQLite file or postgresql:// URL)"
    )
    run.set_defaults(func=_cmd_run)

    audit = sub.add_parser("audit", help="audit trails")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    av = audit_sub.add_parser("verify", help="check that a trail's hash chain is intact")
    av.add_argument("trail", help="the JSON Lines trail")
    av.add_argument("--json", action="store_true")
    av.set_defaults(func=_cmd_audit_verify)

    demo = sub.add_parser("demo", help="run sample cases of every process, check the sample power list, sweep a store")
    demo.add_argument("--processes", metavar="DIR", help="the processes/ folder (default: the project's)")
    demo.add_argument(
        "--out", metavar="DIR", help="folder for the supervision case store and report (default: a temp folder)"
    )
    demo.set_defaults(func=_cmd_demo)

    for name in _modules_for(argv):
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:  # a command module still being written
            if exc.name != f"{__package__}.{name}":
                raise
            continue
        module.register(sub)
    return parser


# Command modules: each exposes ``register(sub)``, adding its subcommands with ``set_defaults(func=...)``.
_COMMAND_MODULES = ("cli_catalog", "cli_validate", "cli_render", "cli_simulate", "cli_supervise")
# The module of each subcommand: running one command imports only its module (``simulate`` must start fast:
# it never imports SpiffWorkflow or pydantic); usage errors and ``--help`` import them all.
_MODULE_OF = {
    "catalog": "cli_catalog",
    "validate": "cli_validate",
    "render": "cli_render",
    "layout": "cli_render",
    "simulate": "cli_simulate",
    "supervise": "cli_supervise",
    "log": "cli_supervise",
}


def _modules_for(argv: Sequence[str] | None) -> tuple[str, ...]:
    args = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args if not a.startswith("-")), None)
    if command is None or args.index(command) > 0:  # options before the command: let argparse see everything
        return _COMMAND_MODULES
    return (_MODULE_OF[command],) if command in _MODULE_OF else _COMMAND_MODULES


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser(argv)
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except ApprovalflowError as exc:
        print(f"approvalflow: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
