"""Event logs: export a case store as XES (IEEE 1849) or CSV, and read logs from other systems.

Each completed step is an activity instance: in XES two events, ``lifecycle:transition`` ``start`` (when the
step became ready) and ``complete`` (when it was completed), with ``concept:name`` (the BPMN id of the step),
``time:timestamp``, ``org:resource`` (the person), ``org:role`` (the post) and ``org:group`` (the unit); the
case data given with the completion is kept in ``af:data`` (JSON) so that a replay takes the same branches.
In CSV one row per activity instance: ``case, activity, start, end, resource, unit`` and then ``role`` and
``data``. Trails are verified on export: a broken chain is an error naming the case.

:func:`read_log` reads either format (by extension); in XES only ``complete`` events (or events without a
lifecycle) are activities, a preceding ``start`` of the same activity gives the start time. CSV needs the
columns ``case``, ``activity`` and ``end`` (``start``, ``resource``, ``unit``, ``role``, ``data`` optional).

A log comes from another system: reading one is bounded (file size, events, field size, the digits of an
integer in the data, moments between :data:`EARLIEST` and :data:`LATEST`) and anything past a bound or
malformed is one :class:`EventLogError` naming the file and the line (XES) or row and column (CSV). CSV cells
are written through :func:`approvalflow.io.csvsafe.neutralise` (no cell a spreadsheet runs as a formula) and read
back through :func:`approvalflow.io.csvsafe.restore`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from ..engine.trail import TrailHead, verify_trail
from ..errors import DefinitionError, XmlError
from ..io.csvsafe import CsvLimitError, neutralise_row, read_rows
from ..io.inputfiles import read_regular_file
from ..io.xmlsafe import parse_xml_file
from ..store.base import CaseRecord, CaseStore, StoreError

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_DATA_INT_DIGITS",
    "MAX_LOG_BYTES",
    "MAX_LOG_CELLS",
    "MAX_LOG_EVENTS",
    "MAX_LOG_FIELD",
    "EventLogError",
    "LogEvent",
    "Trace",
    "events_of",
    "export_log",
    "read_log",
    "write_csv",
    "write_xes",
]

MAX_LOG_BYTES = 128 * 2**20
"""Largest event-log file read (CSV or XES, bytes). Raise it with ``read_log(..., max_bytes=)``."""

MAX_LOG_EVENTS = 1_000_000
"""Most events (CSV rows, XES events) of one log. Raise it with ``read_log(..., max_events=)``."""

MAX_LOG_FIELD = 65_536
"""Longest CSV field or XES attribute value read, in characters. Raise it with ``read_log(..., max_field=)``."""

MAX_LOG_CELLS = 10_000_000
"""Most CSV fields of one log, all rows together (10 per event of the largest log)."""

MAX_DATA_INT_DIGITS = 32
"""Most digits of an integer in an event's case data (``data`` / ``af:data``); more is refused, not parsed."""

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
"""The earliest moment a log may hold; earlier moments are refused (their arithmetic could underflow)."""

LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The latest moment a log may hold; later ones (``9999-12-31T23:59:59+14:00``) are refused before any
deadline arithmetic could overflow."""

_XES_NS = "http://www.xes-standard.org/"
_EXTENSIONS = (
    ("Concept", "concept"),
    ("Time", "time"),
    ("Organizational", "org"),
    ("Lifecycle", "lifecycle"),
)
CSV_COLUMNS = ("case", "activity", "start", "end", "resource", "unit", "role", "data")


class EventLogError(DefinitionError):
    """An event log that cannot be read: names the file and the line (XES) or row and column (CSV)."""


@dataclass(frozen=True)
class LogEvent:
    """One activity instance of a trace."""

    activity: str
    end: datetime
    start: datetime | None = None
    resource: str | None = None
    unit: str | None = None
    role: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trace:
    """The activity instances of one case, in order."""

    case: str
    events: list[LogEvent] = field(default_factory=list)


def events_of(record: CaseRecord) -> Trace:
    """The completed steps of a stored case, its trail verified against the store's head."""
    doc = json.loads(record.state)
    entries = doc.get("trail", [])
    result = verify_trail(entries, head=TrailHead(record.trail_head.hash, record.trail_head.count))
    if not result.ok:
        raise StoreError("the audit trail is broken: " + "; ".join(result.problems), case=record.id)
    done = [e for e in entries if e.get("action") == "complete" and e.get("outcome") in ("completed", "recorded")]
    history = doc.get("history", [])
    trace = Trace(record.id)
    for n, e in enumerate(done):
        since = history[n]["since"] if n < len(history) else None
        trace.events.append(
            LogEvent(
                str(e["step"]),
                datetime.fromisoformat(e["at"]),
                datetime.fromisoformat(since) if since else None,
                e.get("actor"),
                e.get("unit"),
                e.get("post"),
                dict(e.get("data") or {}),
            )
        )
    return trace


def _attr(parent: etree._Element, kind: str, key: str, value: str) -> None:
    etree.SubElement(parent, kind, key=key, value=value)


def _event(trace: etree._Element, ev: LogEvent, transition: str, moment: datetime) -> None:
    el = etree.SubElement(trace, "event")
    _attr(el, "string", "concept:name", ev.activity)
    _attr(el, "date", "time:timestamp", moment.isoformat(timespec="milliseconds"))
    _attr(el, "string", "lifecycle:transition", transition)
    for key, value in (("org:resource", ev.resource), ("org:role", ev.role), ("org:group", ev.unit)):
        if value:
            _attr(el, "string", key, value)
    if transition == "complete" and ev.data:
        _attr(el, "string", "af:data", json.dumps(ev.data, ensure_ascii=False, sort_keys=True))


def write_xes(traces: Iterable[Trace], path: str | Path) -> int:
    """Write an IEEE 1849 XES log; returns the number of traces."""
    log = etree.Element("log", nsmap={None: _XES_NS})
    log.set("xes.version", "1849-2016")
    log.set("xes.features", "")
    for name, prefix in _EXTENSIONS:
        etree.SubElement(log, "extension", name=name, prefix=prefix, uri=f"{_XES_NS}{prefix}.xesext")
    g = etree.SubElement(log, "global", scope="trace")
    _attr(g, "string", "concept:name", "__INVALID__")
    g = etree.SubElement(log, "global", scope="event")
    _attr(g, "string", "concept:name", "__INVALID__")
    _attr(g, "date", "time:timestamp", "1970-01-01T00:00:00.000+00:00")
    _attr(g, "string", "lifecycle:transition", "complete")
    etree.SubElement(log, "classifier", name="Activity", keys="concept:name")
    n = 0
    for t in traces:
        trace = etree.SubElement(log, "trace")
        _attr(trace, "string", "concept:name", t.case)
        for ev in t.events:
            if ev.start is not None:
                _event(trace, ev, "start", ev.start)
            _event(trace, ev, "complete", ev.end)
        n += 1
    etree.ElementTree(log).write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return n


def write_csv(traces: Iterable[Trace], path: str | Path) -> int:
    """Write one row per activity instance (cells neutralised against formula injection); returns the traces."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(neutralise_row(CSV_COLUMNS))
        for t in traces:
            n += 1
            for ev in t.events:
                data = json.dumps(ev.data, ensure_ascii=False, sort_keys=True) if ev.data else ""
                start = ev.start.isoformat() if ev.start else ""
                writer.writerow(
                    neutralise_row(
                        [
                            t.case,
                            ev.activity,
                            start,
                            ev.end.isoformat(),
                            ev.resource or "",
                            ev.unit or "",
                            ev.role or "",
                            data,
                        ]
                    )
                )
    return n


def export_log(store: CaseStore, out: str | Path) -> int:
    """Export every case of the store to ``out`` (``.xes`` or ``.csv``); returns the number of traces."""
    suffix = Path(out).suffix.lower()
    traces: Iterator[Trace] = (events_of(r) for r in store.records())
    if suffix == ".xes":
        return write_xes(traces, out)
    if suffix == ".csv":
        return write_csv(traces, out)
    raise EventLogError(f"unknown event-log format '{suffix}': use .xes or .csv", file=str(out))


# -- reading ------------------------------------------------------------------------------------------------
def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def _moment(text: str, where: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(text) if len(text) <= 64 else None
    except ValueError:
        moment = None
    if moment is None:
        raise EventLogError(f"'{_shown(text)}' is not an ISO 8601 moment", **where) from None
    if moment.tzinfo is None:
        raise EventLogError(f"the moment '{text}' has no timezone", **where)
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        span = f"{EARLIEST.date()} to {LATEST.date()} (UTC)"
        raise EventLogError(f"the moment '{text}' is outside the range a log may hold, {span}", **where)
    return moment


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DATA_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits.lstrip('-')):,} digits, more than {MAX_DATA_INT_DIGITS}")
    return int(digits)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {_shown(text)} is too large")
    return value


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _data(text: str, where: dict[str, Any]) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_finite, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise EventLogError(f"the data is not a JSON object: {exc.msg}", **where) from None
    except ValueError as exc:
        raise EventLogError(f"the data is refused: {exc}", **where) from None
    except RecursionError:
        raise EventLogError("the data is nested too deeply", **where) from None
    if not isinstance(value, dict):
        raise EventLogError("the data is not a JSON object", **where)
    return value


def _field(value: str, name: str, where: dict[str, Any], max_field: int) -> str:
    if len(value) > max_field:
        msg = f"{name} holds {len(value):,} characters, more than {max_field:,}; raise it with read_log(max_field=)"
        raise EventLogError(msg, **where)
    return value


def _attrs(el: etree._Element) -> dict[str, str]:
    return {str(c.get("key")): str(c.get("value")) for c in el if isinstance(c.tag, str) and c.get("key")}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _read_xes(path: Path, max_bytes: int, max_events: int, max_field: int) -> list[Trace]:
    try:
        root = parse_xml_file(path, max_bytes=max_bytes).getroot()
    except XmlError as exc:  # an event log's error, whatever the XML layer says
        message = exc.message.replace("max_bytes= (approvalflow.io.xmlsafe)", "read_log(..., max_bytes=)")
        raise EventLogError(message, file=exc.file, line=exc.line, element=exc.element) from exc
    traces: list[Trace] = []
    events = 0
    for t in (c for c in root if _local(c) == "trace"):
        attrs = _attrs(t)
        for key, value in attrs.items():
            _field(value, key, {"file": str(path), "line": t.sourceline}, max_field)
        trace = Trace(attrs.get("concept:name", f"trace-{len(traces) + 1}"))
        starts: dict[str, datetime] = {}
        for e in (c for c in t if _local(c) == "event"):
            a = _attrs(e)
            where = {"file": str(path), "line": e.sourceline}
            events += 1
            if events > max_events:
                raise EventLogError(f"more than {max_events:,} events; raise it with read_log(max_events=)", **where)
            for key, value in a.items():
                _field(value, key, where, max_field)
            if "concept:name" not in a or "time:timestamp" not in a:
                raise EventLogError("an event needs concept:name and time:timestamp", **where)
            moment = _moment(a["time:timestamp"], where)
            transition = a.get("lifecycle:transition", "complete").lower()
            if transition == "start":
                starts[a["concept:name"]] = moment
            elif transition == "complete":
                trace.events.append(
                    LogEvent(
                        a["concept:name"],
                        moment,
                        starts.pop(a["concept:name"], None),
                        a.get("org:resource"),
                        a.get("org:group"),
                        a.get("org:role"),
                        _data(a.get("af:data", ""), where),
                    )
                )
        traces.append(trace)
    return traces


def _csv_rows(path: Path, max_bytes: int, max_events: int, max_field: int) -> list[list[str]]:
    hint = "raise it with read_log(..., max_bytes=)"
    data = read_regular_file(path, max_bytes=max_bytes, error=EventLogError, hint=hint)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EventLogError(f"not UTF-8 (byte {exc.start + 1}); save the log as CSV UTF-8", file=str(path)) from None
    try:
        rows = read_rows(text, max_field=max_field, max_rows=max_events + 1, max_cells=MAX_LOG_CELLS)
    except CsvLimitError as exc:
        element = None if exc.column is None else f"column {exc.column}"
        option = {"max_rows": "max_events", "max_cells": "max_events"}.get(exc.option or "", exc.option)
        hint = f"; raise it with read_log(..., {option}=)" if option else ""
        raise EventLogError(exc.message + hint, file=str(path), line=exc.row, element=element) from None
    return [cells for _, cells in rows]


def _read_csv(path: Path, max_bytes: int, max_events: int, max_field: int) -> list[Trace]:
    rows = _csv_rows(path, max_bytes, max_events, max_field)
    if not rows:
        raise EventLogError("the event log is empty", file=str(path), line=1)
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("case", "activity", "end") if c not in header]
    if missing:
        raise EventLogError(f"the header lacks the column(s) {', '.join(missing)}", file=str(path), line=1)
    col = {name: i for i, name in enumerate(header)}
    traces: dict[str, Trace] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        def where(name: str, number: int = number) -> dict[str, Any]:
            return {"file": str(path), "line": number, "element": f"column {col.get(name, 0) + 1} ({name})"}

        start = cell("start")
        traces.setdefault(cell("case"), Trace(cell("case"))).events.append(
            LogEvent(
                cell("activity"),
                _moment(cell("end"), where("end")),
                _moment(start, where("start")) if start else None,
                cell("resource") or None,
                cell("unit") or None,
                cell("role") or None,
                _data(cell("data"), where("data")),
            )
        )
    return list(traces.values())


def read_log(
    path: str | Path,
    *,
    max_bytes: int = MAX_LOG_BYTES,
    max_events: int = MAX_LOG_EVENTS,
    max_field: int = MAX_LOG_FIELD,
) -> list[Trace]:
    """Read an XES or CSV event log (by extension); events keep their order within a trace.

    Bounded by ``max_bytes`` (the file), ``max_events`` and ``max_field`` (characters of a CSV field or XES
    attribute); past a bound, or malformed, an :class:`EventLogError` names the file and line or row.
    """
    p = Path(path)
    if p.suffix.lower() == ".xes":
        return _read_xes(p, max_bytes, max_events, max_field)
    if p.suffix.lower() == ".csv":
        return _read_csv(p, max_bytes, max_events, max_field)
    raise EventLogError(f"unknown event-log format '{p.suffix}': use .xes or .csv", file=str(p))
