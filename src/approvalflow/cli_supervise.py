"""Command line of electronic supervision (SPEC section 7): ``supervise``, ``log export``, ``log check``.

``supervise STORE --at T [--json] [--html FILE] [--csv FILE] [--catalog FILE]``: the yellow and red cards of every
open case at T (with the catalog's 责任事项 and 追责情形), the anomalies up to T and the efficiency figures;
``log export STORE OUT`` (``.xes`` or ``.csv``); ``log check LOG BPMN [--org FILE] [--unit UNIT] [--json]``: exit 1
when a trace deviates or breaks a rule.
:func:`store_scenario_case` is what ``run --store`` calls.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .clock import parse_moment
from .errors import ScenarioError
from .loader import ProcessDefinition, load_process
from .org import Organisation, load_organisation, organisation_from_dict
from .store.base import CaseStore, StoreError, open_store

__all__ = ["open_existing_store", "register", "store_scenario_case"]


def open_existing_store(url: str) -> CaseStore:
    """Open a store that must already exist (a missing SQLite file is an error, never silently created)."""
    if not url.startswith(("postgresql://", "postgres://")) and not Path(url).is_file():
        raise StoreError(f"{url}: no such case store (a SQLite file or a postgresql:// URL)")
    return open_store(url)


def store_scenario_case(store_url: str, result: Any) -> str:
    """Keep the case of a scenario run (``run --store``) in a case store; returns the case id.

    A new case is inserted; a case with the same id already stored is replaced (a scenario re-run).
    """
    from .persistence import dump_case
    from .store.base import ConflictError
    from .store.index import record_of

    store = open_store(store_url)
    try:
        record = record_of(result.case, dump_case(result.case))
        try:
            store.insert(record)
        except ConflictError:
            store.update(record, expected=store.get(record.id).version)
    finally:
        store.close()
    return str(result.case.id)


def _cmd_supervise(args: argparse.Namespace) -> int:
    from .supervision.efficiency import evaluate
    from .supervision.sweep import sweep

    try:
        at = parse_moment(args.at)
    except ValueError as exc:
        raise ScenarioError(f"--at: {exc}") from None
    duty = _responsibility(Path(args.catalog)) if args.catalog else None
    store = open_existing_store(args.store)
    try:
        result = sweep(store, at, responsibility=duty)
        ev = evaluate(store.summaries(), until=at, period=args.period)
    finally:
        store.close()
    if args.html:
        Path(args.html).write_text(ev.to_html(), encoding="utf-8")
    if args.csv:
        Path(args.csv).write_text(ev.to_csv(), encoding="utf-8")
    if args.json:
        print(json.dumps({**result.to_json(), "efficiency": ev.to_json()}, ensure_ascii=False))
        return 0
    counts = result.counts()
    print(
        f"{args.store} at {at.isoformat()}: {result.open_cases} open cases, "
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
    return 0


def _responsibility(path: Path) -> dict[str, tuple[str, str]]:
    """责任事项 and 追责情形 of each power of a catalog (权力清单), by 职权编码: what a card of that power carries."""
    from .catalog import load_catalog

    catalog = load_catalog(path)
    return {p.code: (p.responsibilities or "", p.accountability or "") for p in catalog.powers}


def _clip(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _cmd_log_export(args: argparse.Namespace) -> int:
    from .supervision.eventlog import export_log

    store = open_existing_store(args.store)
    try:
        n = export_log(store, args.out)
    finally:
        store.close()
    print(f"{args.out}: {n} cases")
    return 0


def _log_organisation(traces: list[Any], definition: ProcessDefinition) -> Organisation:
    """Without --org: every resource of the log holds every post, in one unit (only actor rules can break)."""
    posts = sorted({p for s in definition.steps.values() for p in s.posts})
    people = sorted({e.resource for t in traces for e in t.events if e.resource})
    return organisation_from_dict(
        {"units": [{"id": "log"}], "people": {p: {"unit": "log", "posts": posts} for p in people}},
        file="<the event log's resources>",
    )


def _cmd_log_check(args: argparse.Namespace) -> int:
    from .supervision.conformance import check_log
    from .supervision.eventlog import read_log

    traces = read_log(args.log)
    definition = load_process(args.bpmn)
    org = load_organisation(args.org) if args.org else _log_organisation(traces, definition)
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
    sup.set_defaults(func=_cmd_supervise)

    log = sub.add_parser("log", help="event logs: export a store, check a log against a process")
    log_sub = log.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    ex = log_sub.add_parser("export", help="export a case store as XES or CSV (by extension)")
    ex.add_argument("store")
    ex.add_argument("out", help="the log file: .xes or .csv")
    ex.set_defaults(func=_cmd_log_export)
    ck = log_sub.add_parser("check", help="replay an event log through a process: deviations and rules")
    ck.add_argument("log", help="the event log: .xes or .csv")
    ck.add_argument("bpmn", help="the process")
    ck.add_argument("--org", metavar="FILE", help="the organisation file (otherwise the log's resources)")
    ck.add_argument("--unit", help="the unit the cases ran in (default: the events' unit, or the only one)")
    ck.add_argument("--json", action="store_true")
    ck.set_defaults(func=_cmd_log_check)
