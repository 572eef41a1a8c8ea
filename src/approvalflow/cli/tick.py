"""``approvalflow tick STORE --at T --process PATH... --org FILE... [--json] [--key-file FILE]``.

Fires every timer due by the moment T across the store (SPEC section 11; :func:`approvalflow.store.timers.fire_due`):
only the cases the store's timer index names are read, each fired case is saved back. Prints each case and the
timers that fired (``--json``: a list of ``{"case", "fired": [{"timer", "due", "at", "interrupted"}], "error"}``).
Exit 0 when every named case was handled, 1 when a case could not be (damaged, no process of its digest: it is
tried again at the next tick), 2 on bad input. Several ``tick`` runs (or ``serve --tick`` workers) at once fire each
due case once over PostgreSQL (``SKIP LOCKED``); a case another worker holds or saved meanwhile is not an error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..store.base import StoreError, redact
from .store import _organisations, _processes
from .supervise import add_key_option, key_of

__all__ = ["register"]


def _cmd_tick(args: argparse.Namespace) -> int:
    from ..store.factory import open_store
    from ..store.timers import fire_due
    from ..time.clock import parse_moment

    at = parse_moment(args.at)
    processes, orgs = _processes(args.process), _organisations(args.org)  # before the store is touched
    local = not args.store.startswith(("postgresql://", "postgres://"))
    path = Path(args.store.removeprefix("sqlite:///"))
    if local and (not path.is_file() or path.stat().st_size == 0):
        raise StoreError("no such case store (or an empty file); tick never creates one", file=args.store)
    store = open_store(args.store, key=key_of(args))
    try:
        results = fire_due(store, at, processes, orgs)
    finally:
        store.close()
    if args.json:
        print(json.dumps([r.to_json() for r in results], ensure_ascii=False))
    else:
        fired = sum(len(r.fired) for r in results)
        print(f"{redact(args.store)}: {fired} timers fired in {len(results)} cases due by {at.isoformat()}")
        for r in results:
            if r.error is not None:
                print(f"  {r.case}: not fired: {r.error}")
            for f in r.fired:
                cut = f" (interrupted {', '.join(f.interrupted)})" if f.interrupted else ""
                print(f"  {r.case}: {f.element} fired at {f.at.isoformat()}{cut}")
    return 1 if any(r.error is not None for r in results) else 0


def register(sub: Any) -> None:
    """Add ``tick`` to the main parser's subcommands."""
    cmd = sub.add_parser("tick", help="fire every timer due by a moment across a case store")
    cmd.add_argument("store", help="the case store: a SQLite file or a postgresql:// URL")
    cmd.add_argument("--at", required=True, metavar="T", help="the moment, ISO 8601 with an offset")
    cmd.add_argument(
        "--process",
        metavar="PATH",
        nargs="+",
        default=[],
        help="the BPMN files (or folders) the cases ran on (default: those deployed in the store)",
    )
    cmd.add_argument("--org", metavar="FILE", nargs="+", required=True, help="organisation files")
    cmd.add_argument("--json", action="store_true", help="print one JSON list")
    add_key_option(cmd)
    cmd.set_defaults(func=_cmd_tick)
