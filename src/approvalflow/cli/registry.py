"""``approvalflow deploy``, ``versions`` and ``migrate``: the process registry of a store and migrating its cases.

``deploy STORE FILE... [--json]`` keeps each BPMN file (and the files its call activities use) in the store's
registry with the next version number of its process; a file already deployed is said so and nothing is written
for it. Every file is checked before anything is written; a refused file is named with its line and element and
nothing at all is written. A missing SQLite store is created.

``versions STORE [PROCESS] [--json]`` lists the deployed versions (read-only).

``migrate STORE --plan FILE --org FILE... [--dry-run] [--at T] [--actor ID] [--json]`` moves every open case of the
plan's ``from`` version to its ``to`` version, one transaction per case, and reports each case; ``--dry-run`` only
checks and reports, writing nothing. Exit 0 when every case moved (or would), 1 when some were refused or saved by
someone else meanwhile, 2 on bad input (a bad plan, versions not deployed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..store.base import StoreError, redact
from .store import _organisations
from .supervise import add_key_option, key_of

__all__ = ["register"]


def _existing(url: str, *, readonly: bool, key: bytes | None) -> Any:
    from ..store.factory import open_store

    local = not url.startswith(("postgresql://", "postgres://")) and url not in ("memory:", ":memory:")
    path = Path(url.removeprefix("sqlite:///"))
    if local and (not path.is_file() or path.stat().st_size == 0):
        raise StoreError("no such case store (or an empty file)", file=url)
    return open_store(url, readonly=readonly, key=key)


def _cmd_deploy(args: argparse.Namespace) -> int:
    from ..store.factory import open_store
    from ..store.registry import deploy

    store = open_store(args.store, key=key_of(args))
    try:
        done = deploy(store, args.files)
    finally:
        store.close()
    if args.json:
        print(json.dumps([d.to_json() for d in done], ensure_ascii=False))
        return 0
    for d in done:
        if d.new:
            print(f"{d.process}: version {d.version} deployed (digest {d.digest[:12]}…) from {d.file}")
        else:
            print(f"{d.process}: {d.file} is already deployed as version {d.version} (digest {d.digest[:12]}…); "
                  "nothing written")  # fmt: skip
    return 0


def _cmd_versions(args: argparse.Namespace) -> int:
    from ..store.registry import versions

    store = _existing(args.store, readonly=True, key=key_of(args))
    try:
        found = versions(store, args.process)
    finally:
        store.close()
    if args.json:
        print(
            json.dumps(
                [{k: v for k, v in d.to_json().items() if k not in ("files", "new")} for d in found], ensure_ascii=False
            )
        )
        return 0
    if not found:
        what = f"process '{args.process}'" if args.process else "any process"
        print(f"{redact(args.store)}: no version of {what} is deployed")
        return 0
    for d in found:
        print(f"{d.process}  v{d.version}  {d.digest[:12]}  {d.deployed_at.isoformat()}  {d.file}")
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    from ..engine.migration import read_plan
    from ..store.migrate import migrate_store

    plan = read_plan(args.plan)
    orgs = _organisations(args.org)
    store = _existing(args.store, readonly=False, key=key_of(args))
    try:
        report = migrate_store(store, plan, orgs, dry_run=args.dry_run, at=args.at, actor=args.actor)
    finally:
        store.close()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return 0 if report.ok else 1
    moved = report.count("would-migrate" if report.dry_run else "migrated")
    verb = "would migrate" if report.dry_run else "migrated"
    refused, conflicts = report.count("refused"), report.count("conflict")
    print(
        f"{redact(args.store)}: {plan.process} version {plan.source} -> {plan.target}"
        f"{' (dry run: nothing written)' if report.dry_run else ''}: "
        f"{len(report.cases)} open cases on version {plan.source}, {moved} {verb}, "
        f"{refused} refused, {conflicts} saved by someone else meanwhile"
    )
    for c in report.cases:
        if c.outcome in ("refused", "conflict"):
            print(f"  {c.case}: {c.outcome}: {c.reason}")
            continue
        steps = ", ".join(old if old == new else f"{old} -> {new}" for old, new in c.steps.items())
        parts = [f"waits at {steps}"]
        parts += [f"{k} {b or '-'} -> {a or '-'}" for k, (b, a) in c.deadlines.items()]
        parts += [f"new {card['level']} card ({_card(card)})" for card in c.cards]
        print(f"  {c.case}: {verb}: " + "; ".join(parts))
    return 0 if report.ok else 1


def _card(card: dict[str, Any]) -> str:
    """``case promised`` or ``step review``: what a card is about."""
    return f"step {card.get('task')}" if card.get("scope") == "step" else f"case {card.get('limit')}"


def register(sub: Any) -> None:
    """Add ``deploy``, ``versions`` and ``migrate`` to the main parser's subcommands."""
    cmd = sub.add_parser("deploy", help="keep BPMN files in a store's process registry, each a new version")
    cmd.add_argument("store", help="the case store: a SQLite file or a postgresql:// URL (created if missing)")
    cmd.add_argument("files", nargs="+", metavar="FILE", help="BPMN files (call activities resolve among them)")
    cmd.add_argument("--json", action="store_true", help="print one JSON list")
    add_key_option(cmd)
    cmd.set_defaults(func=_cmd_deploy)

    cmd = sub.add_parser("versions", help="list the versions of the processes deployed in a store")
    cmd.add_argument("store", help="the case store: a SQLite file or a postgresql:// URL")
    cmd.add_argument("process", nargs="?", help="only this process id")
    cmd.add_argument("--json", action="store_true", help="print one JSON list")
    add_key_option(cmd)
    cmd.set_defaults(func=_cmd_versions)

    cmd = sub.add_parser("migrate", help="move the open cases of one version of a process to another")
    cmd.add_argument("store", help="the case store: a SQLite file or a postgresql:// URL")
    cmd.add_argument("--plan", required=True, metavar="FILE", help="the migration plan (YAML)")
    cmd.add_argument("--org", metavar="FILE", nargs="+", required=True, help="organisation files")
    cmd.add_argument("--dry-run", action="store_true", help="check and report what would change; write nothing")
    cmd.add_argument("--at", metavar="T", help="the moment recorded (ISO 8601 with an offset; default: now)")
    cmd.add_argument("--actor", metavar="ID", help="who migrates (recorded in each case's trail)")
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    add_key_option(cmd)
    cmd.set_defaults(func=_cmd_migrate)
