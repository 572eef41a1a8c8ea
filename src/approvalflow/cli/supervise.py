"""Command line of electronic supervision (SPEC section 7): ``supervise``, ``log export``, ``log check``.

This module parses the arguments and prints; what the commands do is in :mod:`approvalflow.supervision.operations`
and :mod:`approvalflow.store.reading` (and :mod:`approvalflow.store.keeping` for ``run --store``).

``supervise`` and ``log export`` open the store READ-ONLY (:func:`~approvalflow.store.reading.open_existing_store`)
and trust no index row they cannot tie to its case row (:mod:`approvalflow.store.integrity`): ``supervise`` lists
such cases as index problems and exits 1; ``log export`` refuses the store (exit 2) and leaves OUT as it was.

``supervise STORE --at T [--json] [--html FILE] [--csv FILE] [--catalog FILE]``: the yellow and red cards of every
open case at T (with the catalog's 责任事项 and 追责情形), the anomalies up to T and the efficiency figures;
``log export STORE OUT`` (``.xes`` or ``.csv``); ``log check LOG BPMN [--org FILE] [--unit UNIT] [--json]``: exit 1
when a trace deviates or breaks a rule.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..bpmn.loader import load_process
from ..errors import ScenarioError
from ..org.organisation import load_organisation
from ..store.base import StoreError, redact
from ..store.reading import open_existing_store
from ..time.clock import parse_moment

# open_existing_store and store_scenario_case live in approvalflow.store; they stay importable from here
__all__ = ["add_key_option", "key_of", "open_existing_store", "register", "store_scenario_case"]


def store_scenario_case(store_url: str, result: Any, *, key: bytes | None = None) -> str:
    """:func:`approvalflow.store.keeping.store_scenario_case`, imported on use (it loads the engine)."""
    from ..store.keeping import store_scenario_case as keep

    return keep(store_url, result, key=key)


def add_key_option(parser: argparse.ArgumentParser) -> None:
    """``--key-file FILE``: the host's secret key the store's index digests are HMACs with."""
    parser.add_argument(
        "--key-file",
        metavar="FILE",
        help="the host's secret key (a file of at least 16 bytes): index digests are HMAC-SHA256 with it",
    )


def key_of(args: argparse.Namespace) -> bytes | None:
    """The key of ``--key-file``, or None; a file that cannot be a key is bad input."""
    from ..engine.trail import read_key

    path = getattr(args, "key_file", None)
    if not path:
        return None
    try:
        return read_key(path)
    except ValueError as exc:
        raise StoreError(f"--key-file: {getattr(exc, 'message', exc)}", file=path) from None


def _cmd_supervise(args: argparse.Namespace) -> int:
    from ..supervision.operations import catalog_responsibility, supervise_store

    try:
        at = parse_moment(args.at)
    except ValueError as exc:
        raise ScenarioError(f"--at: {exc}") from None
    _check_output_folders(args.html, args.csv)
    duty = catalog_responsibility(Path(args.catalog)) if args.catalog else None
    store = open_existing_store(args.store, key=key_of(args))
    try:
        found = supervise_store(store, at, period=args.period, responsibility=duty)
    finally:
        store.close()
    result, ev, problems = found.sweep, found.efficiency, found.problems
    if args.html:
        _write_text(Path(args.html), ev.to_html())
    if args.csv:
        _write_text(Path(args.csv), ev.to_csv())
    if args.json:
        print(json.dumps(found.to_json(), ensure_ascii=False))
        return 1 if problems else 0
    counts = result.counts()
    print(
        f"{redact(args.store)} at {at.isoformat()}: {result.open_cases} open cases, "
        f"{counts['red']} red and {counts['yellow']} yellow cards"
    )
    for c in result.cards:
        who = ", ".join(c.people) or ", ".join(c.posts) or "-"
        print(f"  {c.level:6} {c.case:24} {c.task or 'case ' + c.limit:18} due {c.deadline}  {c.unit}  {who}")
        if c.accountability:
            print(f"         追责情形: {_clip(c.accountability)}")
    for a in result.anomalies:
        print(f"  anomaly {a.kind:20} {a.case_id:24} {a.detail}")
    total = ev.total.to_json()
    print("efficiency: " + ", ".join(f"{k} {v}" for k, v in total.items()))
    if problems:
        print(
            f"INDEX PROBLEMS: {len({p.case_id for p in problems})} cases whose index does not tie to the case "
            "(their cards and anomalies are not shown; run 'approvalflow store check'):"
        )
        for p in problems:
            print(f"  {p}")
    return 1 if problems else 0


def _check_output_folders(*paths: str | None) -> None:
    """Every output's folder exists and no output is a folder: checked before anything is read or written."""
    for path in paths:
        if not path:
            continue
        target = Path(path)
        if target.is_dir():
            raise StoreError("is a folder, not a file to write", file=path)
        if not target.parent.is_dir():
            raise StoreError(f"no such folder {target.parent}", file=path)


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot write ({exc.strerror or exc})", file=path) from None


def _clip(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _cmd_log_export(args: argparse.Namespace) -> int:
    from ..supervision.operations import export_store_log

    _check_output_folders(args.out)
    store = open_existing_store(args.store, key=key_of(args))
    try:
        n = export_store_log(store, args.out)
    finally:
        store.close()
    print(f"{args.out}: {n} cases")
    return 0


def _cmd_log_check(args: argparse.Namespace) -> int:
    from ..supervision.conformance import check_log
    from ..supervision.eventlog import read_log
    from ..supervision.operations import log_organisation

    traces = read_log(args.log)
    definition = load_process(args.bpmn)
    org = load_organisation(args.org) if args.org else log_organisation(traces, definition)
    unit = args.unit if args.org else "log"
    checks = check_log(traces, definition, org, unit=unit)
    bad = [c for c in checks if not c.conforms or c.findings]
    if args.json:
        print(
            json.dumps(
                {
                    "traces": len(checks),
                    "conforming": sum(c.conforms for c in checks),
                    "cases": [c.to_json() for c in checks],
                },
                ensure_ascii=False,
            )
        )
    else:
        print(f"{args.log}: {len(checks)} traces, {sum(c.conforms for c in checks)} conform to {definition.id}")
        for c in bad:
            print(f"  {c.case}:")
            for d in c.deviations:
                print(f"    {d.kind:16} {d.message}")
            for f in c.findings:
                print(f"    rule {f.rule:11} {f.step} by {f.actor}")
    return 1 if bad else 0


def register(sub: Any) -> None:
    """Add ``supervise`` and ``log`` to the main parser's subcommands."""
    sup = sub.add_parser("supervise", help="yellow and red cards of every open case at a moment, and efficiency")
    sup.add_argument("store", help="the case store: a SQLite file or a postgresql:// URL")
    sup.add_argument("--at", required=True, help="the moment, e.g. 2026-10-30T09:00:00+08:00")
    sup.add_argument("--json", action="store_true", help="print one JSON object")
    sup.add_argument("--period", choices=("month", "quarter"), default="month", help="efficiency periods")
    sup.add_argument("--html", metavar="FILE", help="write the efficiency report as HTML")
    sup.add_argument("--csv", metavar="FILE", help="write the efficiency figures as CSV")
    sup.add_argument(
        "--catalog",
        metavar="FILE",
        help="a power list (权力清单, any catalog format): cards of a power it lists carry its 责任事项 and 追责情形",
    )
    add_key_option(sup)
    sup.set_defaults(func=_cmd_supervise)

    log = sub.add_parser("log", help="event logs: export a store, check a log against a process")
    log_sub = log.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    ex = log_sub.add_parser("export", help="export a case store as XES or CSV (by extension)")
    ex.add_argument("store")
    ex.add_argument("out", help="the log file: .xes or .csv")
    add_key_option(ex)
    ex.set_defaults(func=_cmd_log_export)
    ck = log_sub.add_parser("check", help="replay an event log through a process: deviations and rules")
    ck.add_argument("log", help="the event log: .xes or .csv")
    ck.add_argument("bpmn", help="the process")
    ck.add_argument("--org", metavar="FILE", help="the organisation file (otherwise the log's resources)")
    ck.add_argument("--unit", help="the unit the cases ran in (default: the events' unit, or the only one)")
    ck.add_argument("--json", action="store_true")
    ck.set_defaults(func=_cmd_log_check)
