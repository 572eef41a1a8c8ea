"""Command line of electronic supervision (SPEC section 7): ``supervise``, ``log export``, ``log check``.

This module parses the arguments and prints; what the commands do is in :mod:`approvalflow.supervision.operations`
and :mod:`approvalflow.store.reading` (and :mod:`approvalflow.store.keeping` for ``run --store``).

``supervise`` and ``log export`` open the store READ-ONLY (:func:`~approvalflow.store.reading.open_existing_store`)
and trust no index row they cannot tie to its case row (:mod:`approvalflow.store.integrity`): ``supervise`` lists
such cases as index problems and exits 1; ``log export`` refuses the store (exit 2) and leaves OUT as it was.

``supervise STORE --at T [--json] [--html FILE] [--csv FILE] [--catalog FILE] [--rules FILE] [--process PATH...]``:
the yellow and red cards of every open case at T (with the catalog's 责任事项 and 追责情形; under the card rules of
``--rules``, :mod:`approvalflow.supervision.cardrules`), the anomalies up to T and the efficiency figures;
``log export STORE OUT [--open]`` (``.xes`` or ``.csv``); ``log check LOG BPMN [--org FILE] [--unit UNIT]
[--timezone TZ] [--columns FILE] [--case COL] [--activity COL] [--timestamp COL] [--start COL] [--resource COL]
[--json]``: exit 1 when a trace deviates, is undecided or breaks a rule (data-quality findings alone do not).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import DefinitionError, ScenarioError
from ..org.organisation import load_organisation
from ..store.base import StoreError, redact
from ..store.reading import open_existing_store
from ..time.clock import parse_moment

# open_existing_store and store_scenario_case live in approvalflow.store; they stay importable from here
__all__ = [
    "add_key_option", "key_of", "open_existing_store", "processes_of", "register", "store_scenario_case",
]  # fmt: skip


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


def processes_of(paths: list[str]) -> list[Any]:
    """The processes of the BPMN files given, and of the ``.bpmn`` files in the folders given.

    A file named on the command line must load (else bad input); a file found in a folder that does not load
    is skipped with a note on stderr (a case that ran on it is then reported as a problem).
    """
    from ..bpmn.loader import load_process

    found: list[Any] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*.bpmn") if p.is_file()):
                try:
                    found.append(load_process(file))
                except DefinitionError as exc:
                    print(f"approvalflow: note: skipped {file}: {exc}", file=sys.stderr)
        elif path.is_file():
            found.append(load_process(path))
        else:
            raise DefinitionError("no such file or folder", file=text)
    return found


def _cmd_supervise(args: argparse.Namespace) -> int:
    from ..supervision.operations import catalog_responsibility, supervise_store
    from ..supervision.rulesweep import CaseCard

    try:
        at = parse_moment(args.at)
    except ValueError as exc:
        raise ScenarioError(f"--at: {exc}") from None
    _check_output_folders(args.html, args.csv)
    duty = catalog_responsibility(Path(args.catalog)) if args.catalog else None
    rules = _card_rules(args.rules) if args.rules else None
    processes = processes_of(args.process) if args.process else []  # before the store is touched
    store = open_existing_store(args.store, key=key_of(args))
    try:
        found = supervise_store(store, at, period=args.period, responsibility=duty, rules=rules, processes=processes)
    finally:
        store.close()
    result, ev, problems = found.sweep, found.efficiency, found.problems
    if args.html:
        _write_text(Path(args.html), ev.to_html())
    if args.csv:
        _write_text(Path(args.csv), ev.to_csv())
    bad = bool(problems or result.notes)
    if args.json:
        print(json.dumps(found.to_json(), ensure_ascii=False))
        return 1 if bad else 0
    counts = result.counts()
    print(
        f"{redact(args.store)} at {at.isoformat()}: {result.open_cases} open cases, "
        f"{counts['red']} red and {counts['yellow']} yellow cards"
    )
    for c in result.all_cards():
        who = ", ".join(c.people) or ", ".join(c.posts) or "-"
        rule = "" if c.card_rule == "deadline" else f"  [{c.card_rule}]"
        if isinstance(c, CaseCard):
            print(f"  {c.level:6} {c.case:24} {c.kind + ' ' + str(c.count):18} {c.unit}  {who}{rule}")
        else:
            print(f"  {c.level:6} {c.case:24} {c.task or 'case ' + c.limit:18} due {c.deadline}  {c.unit}  {who}{rule}")
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
    if result.notes:
        print(f"NOT JUDGED: {len(result.notes)} cards the rules could not decide:")
        for note in result.notes:
            print(f"  {note}")
    return 1 if bad else 0


def _card_rules(path: str) -> Any:
    from ..supervision.cardrules import load_card_rules

    return load_card_rules(path)


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
        n = export_store_log(store, args.out, include_open=args.open)
    finally:
        store.close()
    print(f"{args.out}: {n} cases")
    return 0


def _columns(args: argparse.Namespace) -> dict[str, str]:
    """The CSV column mapping: a mapping file (YAML or JSON: field -> column), then the options one by one."""
    from ..io.yamlio import load_yaml
    from ..supervision.eventlog import EventLogError

    mapping: dict[str, str] = {}
    if args.columns:
        data, _, name = load_yaml(args.columns, error=EventLogError)
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise EventLogError("a column mapping is a mapping of fields to column names (text)", file=name)
        mapping.update(data)
    for name in ("case", "activity", "timestamp", "start", "resource"):
        value = getattr(args, f"col_{name}")
        if value:
            mapping["end" if name == "timestamp" else name] = value
    return mapping


def _print_checks(args: argparse.Namespace, checks: list[Any], name: str, notes: list[str], variants: int) -> None:
    from ..supervision.conformance import KIND_LABELS

    fit = sum(c.conforms is True for c in checks)
    undecided = sum(c.conforms is None for c in checks)
    print(f"{args.log}: {len(checks)} traces ({variants} variants), {fit} conform to {name}, {undecided} undecided")
    for note in notes:
        print(f"  note: {note}")
    for c in checks:
        if c.conforms is True and not c.findings and not c.quality:
            continue
        fitness = "-" if c.fitness is None else f"{c.fitness:.3f}"
        print(f"  {c.case}: {c.verdict}, cost {c.cost if c.cost is not None else '-'}, fitness {fitness}")
        for d in c.deviations:
            print(f"    {d.kind:16} {KIND_LABELS.get(d.kind, ''):6} {d.message}")
        for f in c.findings:
            print(f"    rule {f.rule:11} {f.step} by {f.actor}")
        for q in c.quality:
            print(f"    data {q.kind:16} {KIND_LABELS.get(q.kind, ''):6} event {q.index}: {q.message}")


def _cmd_log_check(args: argparse.Namespace) -> int:
    from ..supervision.conformance import check_log
    from ..supervision.eventlog import read_event_log
    from ..supervision.procnet import load_model

    log = read_event_log(args.log, timezone=args.timezone, columns=_columns(args))
    net = load_model(Path(args.bpmn), process_id=args.process)
    org = load_organisation(args.org) if args.org else None
    checks = check_log(
        log.traces, net, org, unit=args.unit if args.org else None, max_states=args.max_states,
        time_limit=args.time_limit,
    )  # fmt: skip
    variants = len({tuple(e.activity for e in t.events) for t in log.traces})
    bad = [c for c in checks if c.conforms is not True or c.findings]
    if args.json:
        print(
            json.dumps(
                {
                    "traces": len(checks),
                    "variants": variants,
                    "conforming": sum(c.conforms is True for c in checks),
                    "undecided": sum(c.conforms is None for c in checks),
                    "notes": log.notes,
                    "cases": [c.to_json() for c in checks],
                },
                ensure_ascii=False,
            )
        )
    else:
        _print_checks(args, checks, net.name_or_id, log.notes, variants)
    return 1 if bad else 0


def _add_check(log_sub: Any) -> None:
    from ..supervision.alignment import MAX_STATES, TIME_LIMIT
    from ..supervision.eventlog import DEFAULT_TIMEZONE

    ck = log_sub.add_parser("check", help="check an event log against a process: alignments, deviations, rules")
    ck.add_argument("log", help="the event log: .xes, .xes.gz or .csv")
    ck.add_argument("bpmn", help="the process (executable or not)")
    ck.add_argument("--org", metavar="FILE", help="the organisation file (otherwise the log's resources)")
    ck.add_argument("--unit", help="the unit the cases ran in (default: the events' unit, or the only one)")
    ck.add_argument("--process", metavar="ID", help="the process of the file to check against (if several)")
    ck.add_argument(
        "--timezone", default=DEFAULT_TIMEZONE, metavar="TZ", help=f"zone of moments without one ({DEFAULT_TIMEZONE})"
    )
    ck.add_argument("--columns", metavar="FILE", help="CSV column mapping (YAML or JSON: field -> column)")
    for name, what in (
        ("case", "the case id"),
        ("activity", "the activity"),
        ("timestamp", "the moment the activity completed"),
        ("start", "the moment it started"),
        ("resource", "who did it"),
    ):
        ck.add_argument(f"--{name}", dest=f"col_{name}", metavar="COLUMN", help=f"the CSV column of {what}")
    ck.add_argument("--max-states", type=int, default=MAX_STATES, help="search bound per variant (states)")
    ck.add_argument("--time-limit", type=float, default=TIME_LIMIT, help="search bound per variant (seconds)")
    ck.add_argument("--json", action="store_true")
    ck.set_defaults(func=_cmd_log_check)


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
    sup.add_argument(
        "--rules",
        metavar="FILE",
        help="card rules (YAML): which yellow and red cards to give (default: one-day yellow, red once overdue)",
    )
    sup.add_argument(
        "--process",
        metavar="PATH",
        nargs="+",
        default=[],
        help="BPMN files (or folders) the cases ran on, for share-of-period rules on steps (besides those deployed "
        "in the store)",
    )
    add_key_option(sup)
    sup.set_defaults(func=_cmd_supervise)

    log = sub.add_parser("log", help="event logs: export a store, check a log against a process")
    log_sub = log.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    ex = log_sub.add_parser("export", help="export a case store as XES or CSV (by extension)")
    ex.add_argument("store")
    ex.add_argument("out", help="the log file: .xes or .csv")
    ex.add_argument("--open", action="store_true", help="also the steps of open cases that are ready and not done")
    add_key_option(ex)
    ex.set_defaults(func=_cmd_log_export)
    _add_check(log_sub)
