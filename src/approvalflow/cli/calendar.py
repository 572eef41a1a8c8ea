"""``approvalflow calendar update STORE FILE``: apply a year's official holiday arrangement to every open case.

``calendar update STORE FILE --process PATH... --org FILE... [--supplement FILE...] [--at T] [--json]
[--key-file FILE]``: FILE is the arrangement as a supplement file (docs/time.md); ``--supplement`` the ones the cases
ran with until now. Prints each case whose deadlines moved (old -> new); every case whose deadlines moved or that
had counted on that year provisionally gets a ``calendar-update`` entry in its trail
(:func:`approvalflow.store.recalendar.update_calendar`). Exit 0, 1 when a case was refused (saved by someone else
meanwhile, or not loadable: run again), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from ..store.base import StoreError, redact
from .store import _organisations, _processes
from .supervise import add_key_option, key_of

__all__ = ["register"]


def _cmd_update(args: argparse.Namespace) -> int:
    from ..store.recalendar import update_calendar
    from ..time.calendar import ChinaCalendar
    from ..time.clock import parse_moment

    try:
        at = parse_moment(args.at) if args.at else None
    except ValueError as exc:
        raise ScenarioError(f"--at: {exc}") from None
    ChinaCalendar([*args.supplement, args.file])  # the files are read and checked before the store is touched
    processes, orgs = _processes(args.process), _organisations(args.org)
    store = _existing_store(args.store, key_of(args))
    try:
        result = update_calendar(store, args.file, processes, orgs, supplements=args.supplement, at=at)
    finally:
        store.close()
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(
            f"{redact(args.store)}: the {result.year} arrangement ({result.source}) applied to {result.cases} open "
            f"cases: deadlines moved in {len(result.moved)}, {len(result.noted)} noted in their trail, "
            f"{len(result.refused)} refused"
        )
        for case, moves in result.moved.items():
            print(f"  {case}: " + "; ".join(str(m) for m in moves))
        for problem in result.refused:
            print(f"  refused {problem}")
    return 1 if result.refused else 0


def _existing_store(url: str, key: bytes | None) -> Any:
    """The store at ``url`` opened for writing; a local file that does not exist is bad input, never created."""
    from ..store.factory import open_store

    local = not url.startswith(("postgresql://", "postgres://")) and url not in ("memory:", ":memory:")
    path = Path(url.removeprefix("sqlite:///"))
    if local and (not path.is_file() or path.stat().st_size == 0):
        raise StoreError("no such case store (or an empty file); calendar update never creates one", file=url)
    return open_store(url, key=key)


def register(sub: Any) -> None:
    """Add ``calendar update`` to the main parser's subcommands."""
    calendar = sub.add_parser("calendar", help="the working-day calendar of a case store")
    calendar_sub = calendar.add_subparsers(dest="calendar_command", required=True, metavar="ACTION")
    cmd = calendar_sub.add_parser(
        "update", help="apply a year's official holiday arrangement to every open case; print the deadlines moved"
    )
    cmd.add_argument("store", help="the case store: a SQLite file or a postgresql:// URL")
    cmd.add_argument("file", help="the arrangement: a calendar supplement YAML file (docs/time.md)")
    cmd.add_argument(
        "--process",
        metavar="PATH",
        nargs="+",
        default=[],
        help="the BPMN files (or folders) the cases ran on (default: those deployed in the store)",
    )
    cmd.add_argument(
        "--org", metavar="FILE", nargs="+", required=True, help="organisation files: the one with a case's unit"
    )
    cmd.add_argument(
        "--supplement", metavar="FILE", nargs="*", default=[], help="the supplements the cases ran with until now"
    )
    cmd.add_argument("--at", metavar="T", help="the moment of the trail entries (default: now)")
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    add_key_option(cmd)
    cmd.set_defaults(func=_cmd_update)
