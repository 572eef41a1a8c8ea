"""``approvalflow store check``, ``store reindex`` and ``store upgrade``: verify a store, rebuild its index, upgrade it.

``store check STORE --process PATH... --org FILE... [--json] [--key-file FILE]`` opens the store READ-ONLY,
reads every case, verifies its trail against the head in the case row, loads its state onto its process (found
by digest among the BPMN files and folders given) and compares every index row and index column with what the
index computes from the case; it reports each problem with the case id, the table and the row. Exit 0 clean,
1 problems, 2 bad input (a store that cannot be opened, a process or organisation that is not valid).

``store reindex STORE --process PATH... --org FILE... [--key-file FILE]`` rewrites the index of every case
whose trail verifies and whose state loads (keeping each case's version), removes index rows of no case, and
refuses (lists) the cases it cannot verify; exit 1 when any was refused. It upgrades a store of an older schema
first.

``store upgrade STORE --process PATH... --org FILE... [--key-file FILE]`` brings a store written by an older
approvalflow to this version in place: its schema (2 to 3 adds the timer index, empty: a case of a schema-2 store
waits on no timer; 3 to 4 adds the worklist tables, filled by the reindex), then every case's index rebuilt as
``store reindex`` does (the index rows a newer version computes may differ); it says from which schema. A store
written by a newer approvalflow is refused, saying so, and left as it is; a missing store is never created.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..store.base import StoreError, redact
from .supervise import add_key_option, key_of, processes_of

__all__ = ["register"]

#: The processes of the BPMN files and folders given (:func:`approvalflow.cli.supervise.processes_of`).
_processes = processes_of


def _organisations(paths: list[str]) -> list[Any]:
    from ..org.organisation import load_organisation

    return [load_organisation(p) for p in paths]


def _sql_store(url: str, *, readonly: bool, key: bytes | None, upgrade: bool = False) -> Any:
    from ..store.factory import open_store
    from ..store.sql import SqlStoreBase

    local = not url.startswith(("postgresql://", "postgres://")) and url not in ("memory:", ":memory:")
    if local and not readonly:  # reindex rebuilds an existing store; it never makes a new one
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file() or path.stat().st_size == 0:
            raise StoreError(
                "no such case store (or an empty file); store reindex and upgrade never create one", file=url
            )
    store = open_store(url, readonly=readonly, key=key, **({"upgrade": True} if upgrade else {}))
    if not isinstance(store, SqlStoreBase):
        store.close()
        raise StoreError("store check and reindex work on SQLite files and PostgreSQL databases", file=redact(url))
    return store


def _cmd_check(args: argparse.Namespace) -> int:
    from ..store.check import check_store

    store = _sql_store(args.store, readonly=True, key=key_of(args))
    try:
        processes, orgs = _processes(args.process), _organisations(args.org)
        result = check_store(store, processes, orgs)
    finally:
        store.close()
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    elif result.ok:
        print(f"{redact(args.store)}: {result.cases} cases, every trail verifies and every index row ties")
    else:
        cases = len({p.case_id for p in result.problems})
        print(f"{redact(args.store)}: {result.cases} cases, {len(result.problems)} problems in {cases} cases")
        for p in result.problems:
            print(f"  {p}")
    return 0 if result.ok else 1


def _cmd_reindex(args: argparse.Namespace) -> int:
    from ..store.check import reindex_store

    key = key_of(args)
    processes, orgs = _processes(args.process), _organisations(args.org)  # before the store is touched
    store = _sql_store(args.store, readonly=False, key=key, upgrade=True)
    try:
        result = reindex_store(store, processes, orgs)
    finally:
        store.close()
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(
            f"{redact(args.store)}: {result.reindexed} cases reindexed, {len(result.refused)} refused, "
            f"{result.orphans_removed} index rows of no case removed"
        )
        for p in result.refused:
            print(f"  refused {p}")
    return 1 if result.refused else 0


def _cmd_upgrade(args: argparse.Namespace) -> int:
    """``store reindex`` that says what it upgraded: the schema in place, then every case's index rebuilt (the index
    rows a newer version computes may differ from an older one's)."""
    from ..store.check import reindex_store
    from ..store.sql import SCHEMA_VERSION

    key = key_of(args)
    processes, orgs = _processes(args.process), _organisations(args.org)  # before the store is touched
    store = _sql_store(args.store, readonly=False, key=key, upgrade=True)
    try:
        was = getattr(store, "upgraded_from", None)
        result = reindex_store(store, processes, orgs)
    finally:
        store.close()
    name = redact(args.store)
    done = f"upgraded in place from schema {was} to {SCHEMA_VERSION}" if was else f"schema {SCHEMA_VERSION} already"
    print(f"{name}: {done}; {result.reindexed} cases reindexed, {len(result.refused)} refused")
    for p in result.refused:
        print(f"  refused {p}")
    return 1 if result.refused else 0


def register(sub: Any) -> None:
    """Add ``store check`` and ``store reindex`` to the main parser's subcommands."""
    store = sub.add_parser("store", help="case stores: verify every case and index row, rebuild the index")
    store_sub = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    for name, func, text in (
        ("check", _cmd_check, "verify every case, trail and index row of a store (read-only); exit 1 on problems"),
        ("reindex", _cmd_reindex, "rebuild every index row from verified cases; refuses cases whose trail is broken"),
        ("upgrade", _cmd_upgrade, "bring a store written by an older approvalflow to this version, in place"),
    ):
        cmd = store_sub.add_parser(name, help=text)
        cmd.add_argument("store", help="the case store: a SQLite file or a postgresql:// URL")
        cmd.add_argument(
            "--process",
            metavar="PATH",
            nargs="+",
            default=[],
            help="the BPMN files (or folders of them) the cases ran on, matched by digest (besides those deployed in "
            "the store)",
        )
        cmd.add_argument(
            "--org", metavar="FILE", nargs="+", required=True, help="organisation files: the one with a case's unit"
        )
        cmd.add_argument("--json", action="store_true", help="print one JSON object")
        add_key_option(cmd)
        cmd.set_defaults(func=func)
