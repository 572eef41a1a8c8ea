"""The ``approvalflow`` command line (SPEC section 7).

Exit status: 0 fine, 1 findings of error severity (``validate``) or a broken
trail (``audit verify``), 2 bad input or usage. Errors are one line on stderr
naming the file, line and element; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import ApprovalflowError
from ..io.outputfiles import temp_beside

__all__ = ["main"]


def _cmd_run(args: argparse.Namespace) -> int:
    from ..testing.scenario import run_scenario
    from .supervise import key_of

    key = key_of(args)
    _check_run_outputs(args.trail, args.store)
    result = run_scenario(args.scenario, trail_key=key)
    # every output is checked before anything is written; the trail is written beside its place first and
    # renamed only once the store has the case, so that a refused store leaves no trail and the reverse
    staged = _stage(Path(args.trail), result.case.trail.to_jsonl()) if args.trail else None
    try:
        if args.store:
            from ..store.keeping import store_scenario_case

            store_scenario_case(args.store, result, key=key)
        if staged is not None:
            try:
                os.replace(staged, args.trail)
            except OSError as exc:
                from ..store.base import StoreError

                stored = " (the case is in the store)" if args.store else ""
                raise StoreError(f"--trail: cannot write ({exc.strerror or exc}){stored}", file=args.trail) from None
    finally:
        if staged is not None:
            staged.unlink(missing_ok=True)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
        return 0
    from ..testing.report import print_scenario

    print_scenario(result)
    return 0


def _check_run_outputs(trail: str | None, store: str | None) -> None:
    """``run``'s outputs can all be written: checked before the scenario runs and before anything is written."""
    from ..store.base import StoreError

    local_store = store if store and not store.startswith(("postgresql://", "postgres://", "memory:")) else None
    if local_store and local_store.startswith("sqlite:///"):
        local_store = local_store.removeprefix("sqlite:///")
    for option, path in (("--trail", trail), ("--store", local_store)):
        if path is None:
            continue
        target = Path(path)
        if target.is_dir():
            raise StoreError(f"{option}: is a folder, not a file", file=path)
        if not target.parent.is_dir():
            raise StoreError(f"{option}: no such folder {target.parent}; nothing was written", file=path)
        if not os.access(target.parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
            raise StoreError(f"{option}: not writable; nothing was written", file=path)
    if trail and local_store and Path(trail).resolve() == Path(local_store).resolve():
        raise StoreError("--trail and --store are the same file; nothing was written", file=trail)


def _stage(target: Path, text: str) -> Path:
    """``text`` in a new temporary file beside ``target`` (renamed onto it when everything else succeeded)."""
    from ..store.base import StoreError

    try:
        fd, name = temp_beside(target, ".part")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise StoreError(f"--trail: cannot write ({exc.strerror or exc}); nothing was written", file=target) from None
    return Path(name)


def _cmd_demo(args: argparse.Namespace) -> int:
    from ..demo.licensing import run_demo

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
    run.add_argument(
        "--key-file",
        metavar="FILE",
        help="the host's secret key (approvalflow audit key): signs the trail, and seals the store's index",
    )
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser("demo", help="run sample cases of every process, check the sample power list, sweep a store")
    demo.add_argument("--processes", metavar="DIR", help="the processes/ folder (default: the project's)")
    demo.add_argument(
        "--out", metavar="DIR", help="folder for the supervision case store and report (default: a temp folder)"
    )
    demo.set_defaults(func=_cmd_demo)

    for name in _modules_for(argv):
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return parser


# Command modules: each exposes ``register(sub)``, adding its subcommands with ``set_defaults(func=...)``.
_COMMAND_MODULES = (
    "audit", "catalog", "validate", "render", "simulate", "supervise", "store", "tick", "calendar", "worklists",
    "registry", "exchange", "serve",
)  # fmt: skip
# The module of each subcommand: running one command imports only its module (``simulate`` must start fast:
# it never imports SpiffWorkflow or pydantic); usage errors and ``--help`` import them all.
_MODULE_OF = {
    "audit": "audit",
    "catalog": "catalog",
    "validate": "validate",
    "render": "render",
    "layout": "render",
    "simulate": "simulate",
    "supervise": "supervise",
    "log": "supervise",
    "store": "store",
    "tick": "tick",
    "calendar": "calendar",
    "todo": "worklists",
    "done": "worklists",
    "deploy": "registry",
    "versions": "registry",
    "migrate": "registry",
    "exchange": "exchange",
    "serve": "serve",
    "keys": "serve",
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
        from ..store.base import redact

        print(f"approvalflow: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
