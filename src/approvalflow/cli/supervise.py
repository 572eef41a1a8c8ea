"""Command line of electronic supervision (SPEC section 7): ``supervise``, ``log export``, ``log check``.

``supervise`` and ``log export`` open the store READ-ONLY (:func:`open_existing_store`) and trust no index row
they cannot tie to its case row (:mod:`approvalflow.store.integrity`): ``supervise`` lists such cases as index
problems and exits 1; ``log export`` refuses the store (exit 2) and leaves OUT as it was.

``supervise STORE --at T [--json] [--html FILE] [--csv FILE] [--catalog FILE]``: the yellow and red cards of every
open case at T (with the catalog's 责任事项 and 追责情形), the anomalies up to T and the efficiency figures;
``log export STORE OUT`` (``.xes`` or ``.csv``); ``log check LOG BPMN [--org FILE] [--unit UNIT] [--json]``: exit 1
when a trace deviates or breaks a rule.
:func:`store_scenario_case` is what ``run --store`` calls.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..bpmn.loader import ProcessDefinition, load_process
from ..errors import DefinitionError, ScenarioError
from ..io.outputfiles import temp_beside
from ..org.organisation import Organisation, load_organisation, organisation_from_dict
from ..store.base import CaseRecord, CaseStore, CollectingStore, IndexProblem, StoreError, open_store, redact
from ..time.clock import parse_moment

__all__ = ["add_key_option", "key_of", "open_existing_store", "register", "store_scenario_case"]

#: What a damaged record's contents raise inside code that trusts them (summaries, saved states); turned into a
#: StoreError naming the case.
_DAMAGE = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError)


def open_existing_store(url: str, *, key: bytes | None = None) -> CaseStore:
    """Open an existing store READ-ONLY: a missing or empty file is an error, never a new store; nothing is written."""
    return open_store(url, readonly=True, key=key)


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
        raise StoreError(f"--key-file: {exc}") from None


def store_scenario_case(store_url: str, result: Any, *, key: bytes | None = None) -> str:
    """Keep the case of a scenario run (``run --store``) in a case store; returns the case id.

    A new case is inserted. A stored case is never replaced: when the store already has a case with this id
    (another run, or another host's case), the run is refused with a StoreError and nothing is written. A
    scenario run again is a new case: give it another ``case_id`` or keep it in another store.
    """
    from ..engine.persistence import dump_case
    from ..store.base import ConflictError
    from ..store.index import record_of

    store = open_store(store_url, key=key)
    try:
        record = record_of(result.case, dump_case(result.case))
        try:
            store.insert(record)
        except ConflictError:
            raise StoreError(
                f"{store.url} already has a case with this id (another run or another host's case); run --store "
                "never replaces a stored case: give the scenario another case_id or use another store; nothing "
                "was written",
                case=record.id,
            ) from None
    finally:
        store.close()
    return str(result.case.id)


def _tracking(records: Iterator[CaseRecord], seen: list[str]) -> Iterator[CaseRecord]:
    """The records, remembering the id of the last one handed out (to name a case whose contents break a reader)."""
    for record in records:
        seen[:] = [record.id]
        yield record


def _damaged(store: CaseStore, seen: list[str], what: str, exc: BaseException) -> StoreError:
    case = seen[0] if seen else None
    return StoreError(f"{store.url}: table af_cases, column {what}: damaged ({type(exc).__name__}: {exc})", case=case)


def _cmd_supervise(args: argparse.Namespace) -> int:
    from ..supervision.efficiency import evaluate
    from ..supervision.sweep import sweep

    try:
        at = parse_moment(args.at)
    except ValueError as exc:
        raise ScenarioError(f"--at: {exc}") from None
    _check_output_folders(args.html, args.csv)
    duty = _responsibility(Path(args.catalog)) if args.catalog else None
    checked = CollectingStore(open_existing_store(args.store, key=key_of(args)))
    seen: list[str] = []
    try:
        result = sweep(checked, at, responsibility=duty)
        try:
            ev = evaluate(_tracking(checked.summaries(), seen), until=at, period=args.period)
        except _DAMAGE as exc:
            raise _damaged(checked, seen, "summary", exc) from None
    finally:
        checked.close()
    problems = _unique(checked.problems)
    untied = {p.case_id for p in problems}
    if untied:  # nothing of a case whose index does not tie is shown, not even the rows that do
        result.cards = [c for c in result.cards if c.case not in untied]
        result.anomalies = [a for a in result.anomalies if a.case_id not in untied]
    if args.html:
        _write_text(Path(args.html), ev.to_html())
    if args.csv:
        _write_text(Path(args.csv), ev.to_csv())
    if args.json:
        doc = {**result.to_json(), "efficiency": ev.to_json(), "integrity": [p.to_json() for p in problems]}
        print(json.dumps(doc, ensure_ascii=False))
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


def _unique(problems: list[IndexProblem]) -> list[IndexProblem]:
    return list(dict.fromkeys(problems))


def _check_output_folders(*paths: str | None) -> None:
    """Every output's folder exists and no output is a folder: checked before anything is read or written."""
    for path in paths:
        if not path:
            continue
        target = Path(path)
        if target.is_dir():
            raise StoreError(f"{path}: is a folder, not a file to write")
        if not target.parent.is_dir():
            raise StoreError(f"{path}: no such folder {target.parent}")


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _responsibility(path: Path) -> dict[str, tuple[str, str]]:
    """责任事项 and 追责情形 of each power of a catalog (权力清单), by 职权编码: what a card of that power carries."""
    from ..catalog import load_catalog

    catalog = load_catalog(path)
    return {p.code: (p.responsibilities or "", p.accountability or "") for p in catalog.powers}


def _clip(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _cmd_log_export(args: argparse.Namespace) -> int:
    from ..supervision.eventlog import export_log

    out = Path(args.out)
    _check_output_folders(args.out)
    store = open_existing_store(args.store, key=key_of(args))
    seen: list[str] = []
    # written to a temporary file beside OUT and renamed at the end: a refused export leaves OUT as it was
    suffix = "".join(out.suffixes[-2:]) if out.suffix.lower() == ".gz" else out.suffix
    fd, name = temp_beside(out, suffix)
    os.close(fd)
    staged = Path(name)
    try:
        try:
            n = export_log(_Records(store, seen), staged)
        except StoreError:
            raise
        except DefinitionError as exc:  # e.g. an unknown extension: name OUT, not the temporary file
            raise DefinitionError(str(exc).replace(str(staged), str(out))) from None
        except _DAMAGE as exc:
            raise _damaged(store, seen, "state", exc) from None
        os.replace(staged, out)
    finally:
        store.close()
        staged.unlink(missing_ok=True)
    print(f"{args.out}: {n} cases")
    return 0


class _Records(CollectingStore):
    """The store as ``export_log`` reads it: records whose case row ties, the last one handed out remembered."""

    def __init__(self, store: CaseStore, seen: list[str]) -> None:
        super().__init__(store)
        self._seen = seen

    def records(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        return _tracking(self.store.records(problems=problems), self._seen)


def _log_organisation(traces: list[Any], definition: ProcessDefinition) -> Organisation:
    """Without --org: every resource of the log holds every post, in one unit (only actor rules can break)."""
    posts = sorted({p for s in definition.steps.values() for p in s.posts})
    people = sorted({e.resource for t in traces for e in t.events if e.resource})
    return organisation_from_dict(
        {"units": [{"id": "log"}], "people": {p: {"unit": "log", "posts": posts} for p in people}},
        file="<the event log's resources>",
    )


def _cmd_log_check(args: argparse.Namespace) -> int:
    from ..supervision.conformance import check_log
    from ..supervision.eventlog import read_log

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
