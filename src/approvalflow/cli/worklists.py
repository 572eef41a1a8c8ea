"""``approvalflow todo STORE --person ID`` and ``approvalflow done STORE --person ID``: a person's 待办 and 已办.

``todo STORE --person ID [--json] [--at T] [--limit N] [--offset N]`` prints every ready step of every open case
of the store that the person may do now (from the store's worklist index: one indexed query, never a scan of the
cases), earliest deadline first, with the card each has at the moment T (default: now). ``--json`` prints a list;
each item has ``case``, ``task``, ``instance``, ``name``, ``ready_since``, ``deadline`` (the day), ``limit`` (which
deadline: ``step``, ``promised`` or ``statutory``), ``due`` (the moment it turns red), ``yellow_from``, ``level``
(``yellow``, ``red`` or null), ``unit``, ``power``, ``process`` and ``on_behalf_of`` (the person a standing proxy,
委托, stands in for; null for one's own items). The table marks a proxy's items ``代 <principal>``.

``done STORE --person ID [--json] [--limit N] [--offset N]`` prints the steps the person completed, most recent
first, each with its case's status now (``--json``: ``case``, ``task``, ``name``, ``at``, ``ready_since``,
``status``, ``unit``, ``power``, ``process``).

The store is opened read-only. Exit 0; 1 when index rows that do not tie to their case row were left out (listed
on stderr: run ``approvalflow store check``); 2 on bad input (no such store, a bad moment or number).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..errors import ApprovalflowError, InvalidInputError
from ..store.base import IndexProblem, redact

__all__ = ["register"]


def _open(args: argparse.Namespace) -> Any:
    from ..store.factory import open_store

    if not args.person.strip() or args.person != args.person.strip():
        raise InvalidInputError(f"--person: {args.person!r} is not a person id")
    return open_store(args.store, readonly=True)


def _problems(problems: list[IndexProblem]) -> int:
    for p in problems:
        print(f"approvalflow: left out (the index does not tie; run 'approvalflow store check'): {p}", file=sys.stderr)
    return 1 if problems else 0


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def _cmd_todo(args: argparse.Namespace) -> int:
    from ..time.clock import parse_moment
    from ..time.periods import SHANGHAI

    try:
        at = parse_moment(args.at) if args.at is not None else None
    except ApprovalflowError as exc:
        raise InvalidInputError(f"--at: {exc}") from None
    store = _open(args)
    problems: list[IndexProblem] = []
    try:
        items = store.todo(args.person, at=at, limit=args.limit, offset=args.offset, problems=problems)
    finally:
        store.close()
    if args.json:
        print(json.dumps([t.to_json() for t in items], ensure_ascii=False))
        return _problems(problems)
    moment = (at or datetime.now(SHANGHAI)).isoformat(timespec="minutes")
    print(f"{redact(args.store)}: 待办 of {args.person} at {moment}: {len(items)} items")
    if items:
        rows = [
            (
                t.level or "-",
                t.deadline.isoformat() if t.deadline else "-",
                t.limit or "-",
                t.case_id,
                t.task + (f"[{t.instance}]" if t.instance is not None else ""),
                t.name + (f" (代 {t.on_behalf_of})" if t.on_behalf_of else ""),
                t.ready_since.isoformat(timespec="minutes"),
            )
            for t in items
        ]
        _table(("card", "deadline", "limit", "case", "step", "name", "ready since"), rows)
    return _problems(problems)


def _cmd_done(args: argparse.Namespace) -> int:
    store = _open(args)
    problems: list[IndexProblem] = []
    try:
        items = store.done(args.person, limit=args.limit, offset=args.offset, problems=problems)
    finally:
        store.close()
    if args.json:
        print(json.dumps([d.to_json() for d in items], ensure_ascii=False))
        return _problems(problems)
    print(f"{redact(args.store)}: 已办 of {args.person}: {len(items)} items")
    if items:
        rows = [(d.at.isoformat(timespec="minutes"), d.case_id, d.task, d.name, d.status or "-") for d in items]
        _table(("completed at", "case", "step", "name", "case status"), rows)
    return _problems(problems)


def _count(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{value} is less than {least}")
    return value


def register(sub: Any) -> None:
    """Add ``todo`` and ``done`` to the main parser's subcommands."""
    for name, func, text in (
        ("todo", _cmd_todo, "a person's 待办: every ready step of the store's open cases they may do now"),
        ("done", _cmd_done, "a person's 已办: the steps they completed, most recent first"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("store", help="the case store: a SQLite file or a postgresql:// URL (opened read-only)")
        cmd.add_argument("--person", required=True, metavar="ID", help="the person's id in the organisation")
        cmd.add_argument("--json", action="store_true", help="print a JSON list")
        if name == "todo":
            cmd.add_argument("--at", metavar="T", help="the moment the cards are given at (ISO 8601; default now)")
        cmd.add_argument("--limit", metavar="N", type=lambda t: _count(t, 1), help="at most N items")
        cmd.add_argument("--offset", metavar="N", type=lambda t: _count(t, 0), default=0, help="skip the first N")
        cmd.set_defaults(func=func)
