"""Event logs: export a case store as XES (IEEE 1849) or CSV, and read logs from other systems.

Each completed step is an activity instance: in XES two events, ``lifecycle:transition`` ``start`` (when the
step became ready) and ``complete`` (when it was completed), with ``concept:name`` (the BPMN id of the step),
``time:timestamp``, ``org:resource`` (the person), ``org:role`` (the post) and ``org:group`` (the unit); the
case data given with the completion is kept in ``af:data`` (JSON) so that a replay takes the same branches.
In CSV one row per activity instance: ``case, activity, start, end, resource, unit`` and then ``role`` and
``data``. Trails are verified on export: a broken chain is an error naming the case.

:func:`read_log` reads XES, gzip-compressed XES (``.xes.gz``) or CSV (by extension); :func:`read_event_log` also
says what it assumed (:class:`EventLog`). In XES only ``complete`` events (or events without a lifecycle) are
activities, a preceding ``start`` of the same activity gives the start time, other transitions are left out and
counted. CSV needs a case, an activity and a timestamp column: this package's names (``case``, ``activity``,
``end``; ``start``, ``resource``, ``unit``, ``role``, ``data`` optional), PM4Py's (:data:`CSV_ALIASES`), or any
others through ``columns=``. A moment without a zone is read in ``timezone`` (:data:`DEFAULT_TIMEZONE`,
Asia/Shanghai) and counted.

A log comes from another system: reading one is bounded (file size, for ``.xes.gz`` the decompressed size too,
events, field size, the digits of an integer in the data, moments between :data:`EARLIEST` and :data:`LATEST`)
and anything past a bound or malformed is one :class:`EventLogError` naming the file and the line (XES) or row
and column (CSV). CSV cells are written through :func:`approvalflow.io.csvsafe.neutralise` (no cell a spreadsheet
runs as a formula) and read back through :func:`approvalflow.io.csvsafe.restore`.
"""

from __future__ import annotations

import csv
import json
import math
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from ..engine.trail import TrailHead, verify_trail
from ..errors import DefinitionError, XmlError
from ..io.csvsafe import CsvLimitError, neutralise_row, read_rows
from ..io.inputfiles import read_regular_file
from ..io.xmlsafe import parse_xml_string
from ..store.base import CaseRecord, CaseStore, StoreError

__all__ = [
    "CSV_ALIASES",
    "DEFAULT_TIMEZONE",
    "EARLIEST",
    "LATEST",
    "MAX_DATA_INT_DIGITS",
    "MAX_LOG_BYTES",
    "MAX_LOG_CELLS",
    "MAX_LOG_EVENTS",
    "MAX_LOG_FIELD",
    "EventLog",
    "EventLogError",
    "LogEvent",
    "Trace",
    "events_of",
    "export_log",
    "read_event_log",
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
#: The extension of this package's own attribute (``af:data``, a step's data as JSON), declared in every XES it
#: writes like the standard ones (IEEE 1849 asks each prefix used to be declared).
AF_EXTENSION = ("approvalflow", "af", "urn:approvalflow:xes:1")
CSV_COLUMNS = ("case", "activity", "lifecycle", "scheduled", "start", "end", "resource", "unit", "role", "data")

DEFAULT_TIMEZONE = "Asia/Shanghai"
"""The zone a moment without one is read in (``read_log(..., timezone=)``, ``log check --timezone``)."""

CSV_ALIASES: dict[str, tuple[str, ...]] = {
    "case": ("case", "case:concept:name", "case_id", "case id", "caseid"),
    "activity": ("activity", "concept:name", "activity_name", "activity name"),
    "end": ("end", "time:timestamp", "timestamp", "complete_timestamp", "end_timestamp"),
    "start": ("start", "start_timestamp"),
    "resource": ("resource", "org:resource"),
    "unit": ("unit", "org:group"),
    "role": ("role", "org:role"),
    "data": ("data", "af:data"),
    "lifecycle": ("lifecycle", "lifecycle:transition"),
    "scheduled": ("scheduled", "schedule_timestamp"),
}
"""The CSV columns recognised without a mapping: this package's own names, then PM4Py's (``case:concept:name``,
``concept:name``, ``time:timestamp``, ``org:resource``, ``start_timestamp``, ``lifecycle:transition``); header
names compare without case and surrounding spaces. A mapping (``read_log(..., columns=)``) names others."""


class EventLogError(DefinitionError):
    """An event log that cannot be read: names the file and the line (XES) or row and column (CSV)."""


@dataclass(frozen=True)
class LogEvent:
    """One activity instance of a trace."""

    activity: str
    end: datetime
    start: datetime | None = None  # when work on it started, where the log says so
    resource: str | None = None
    unit: str | None = None
    role: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    scheduled: datetime | None = None  # when it became ready (XES ``schedule``)


@dataclass
class Trace:
    """The activity instances of one case, in order."""

    case: str
    events: list[LogEvent] = field(default_factory=list)
    open: list[tuple[str, datetime]] = field(default_factory=list)  # steps ready and not done: (activity, since)


@dataclass
class EventLog:
    """A log as read: its traces, the zone moments without one were read in, and how many there were."""

    traces: list[Trace]
    timezone: str = DEFAULT_TIMEZONE
    naive: int = 0  # moments without a zone, read in ``timezone``
    skipped: int = 0  # XES events of another lifecycle transition than start or complete (not steps)

    @property
    def notes(self) -> list[str]:
        """What the reader assumed, for the output of ``log check``."""
        out = []
        if self.naive:
            out.append(f"{self.naive:,} moments without a time zone were read in {self.timezone}")
        if self.skipped:
            out.append(f"{self.skipped:,} events of other lifecycle transitions than start and complete were left out")
        return out


def events_of(record: CaseRecord, *, include_open: bool = False) -> Trace:
    """The completed steps of a stored case, its trail verified against the store's head; with ``include_open``,
    also the steps of an open case that are ready and not done (:attr:`Trace.open`)."""
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
                None,  # when work started is not recorded (only when the step became ready)
                e.get("actor"),
                e.get("unit"),
                e.get("post"),
                dict(e.get("data") or {}),
                datetime.fromisoformat(since) if since else None,
            )
        )
    if include_open and record.status in ("open", "suspended"):  # a suspended case keeps its open steps
        trace.open = _open_steps(doc)
    return trace


def _open_steps(doc: dict[str, Any]) -> list[tuple[str, datetime]]:
    """(step, since) of each step ready in a saved case: its ready moments by engine task, named by the task's spec."""
    workflow = doc.get("workflow") or {}
    specs = {k: t.get("task_spec") for k, t in (workflow.get("tasks") or {}).items()}
    for sub in (workflow.get("subprocesses") or {}).values():
        specs.update((k, t.get("task_spec")) for k, t in (sub.get("tasks") or {}).items())
    found = [(str(specs.get(k)), datetime.fromisoformat(v)) for k, v in (doc.get("ready_since") or {}).items()]
    return sorted(found, key=lambda item: (item[1], item[0]))


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
    etree.SubElement(log, "extension", name=AF_EXTENSION[0], prefix=AF_EXTENSION[1], uri=AF_EXTENSION[2])
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
            if ev.scheduled is not None:
                _event(trace, ev, "schedule", ev.scheduled)
            if ev.start is not None:
                _event(trace, ev, "start", ev.start)
            _event(trace, ev, "complete", ev.end)
        for activity, since in t.open:  # ready, not done: scheduled only
            _event(trace, LogEvent(activity, since), "schedule", since)
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
                row = [t.case, ev.activity, "complete", _iso_or_empty(ev.scheduled), _iso_or_empty(ev.start),
                       ev.end.isoformat(), ev.resource or "", ev.unit or "", ev.role or "", data]  # fmt: skip
                writer.writerow(neutralise_row(row))
            for activity, since in t.open:  # ready, not done: a schedule row without an end
                writer.writerow(neutralise_row([t.case, activity, "schedule", since.isoformat(), *[""] * 6]))
    return n


def _iso_or_empty(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def export_log(store: CaseStore, out: str | Path, *, include_open: bool = False) -> int:
    """Export every case of the store to ``out`` (``.xes`` or ``.csv``); returns the number of traces. Each completed
    step is a ``complete`` event, with a ``schedule`` event when it became ready (never a ``start``: when work began
    is not recorded, and a start at the ready moment would make other tools count waiting as work); with
    ``include_open``, the steps of open cases that are ready and not done are ``schedule`` events without a
    ``complete``."""
    suffix = Path(out).suffix.lower()
    traces: Iterator[Trace] = (events_of(r, include_open=include_open) for r in store.records())
    if suffix == ".xes":
        return write_xes(traces, out)
    if suffix == ".csv":
        return write_csv(traces, out)
    raise EventLogError(f"unknown event-log format '{suffix}': use .xes or .csv", file=str(out))


# -- reading ------------------------------------------------------------------------------------------------
def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def _zone(name: str, path: Path) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        message = (
            f"unknown time zone '{_shown(name)}' (for moments without one): use an IANA name such as Asia/Shanghai"
        )
        raise EventLogError(message, file=str(path)) from None


class _Reading:
    """The bounds and the zone of one read, and what it counted."""

    def __init__(self, path: Path, max_bytes: int, max_events: int, max_field: int, timezone: str) -> None:
        self.path, self.max_bytes, self.max_events, self.max_field = path, max_bytes, max_events, max_field
        self.zone_name, self.zone = timezone, _zone(timezone, path)
        self.naive = self.skipped = 0

    def result(self, traces: list[Trace]) -> EventLog:
        return EventLog(traces, self.zone_name, self.naive, self.skipped)

    def moment(self, text: str, where: dict[str, Any]) -> datetime:
        try:
            moment = datetime.fromisoformat(text) if len(text) <= 64 else None
        except ValueError:
            moment = None
        if moment is None:
            raise EventLogError(f"'{_shown(text)}' is not an ISO 8601 moment", **where) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
            self.naive += 1
        try:
            utc = moment.astimezone(UTC)
        except (OverflowError, ValueError):
            utc = None
        if utc is None or not EARLIEST <= utc <= LATEST:
            span = f"{EARLIEST.date()} to {LATEST.date()} (UTC)"
            raise EventLogError(f"the moment '{text}' is outside the range a log may hold, {span}", **where)
        return moment

    def field(self, value: str, name: str, where: dict[str, Any]) -> str:
        if len(value) > self.max_field:
            msg = (
                f"{name} holds {len(value):,} characters, more than {self.max_field:,}; "
                "raise it with read_log(max_field=)"
            )
            raise EventLogError(msg, **where)
        return value

    def count(self, events: int, where: dict[str, Any]) -> None:
        if events > self.max_events:
            raise EventLogError(f"more than {self.max_events:,} events; raise it with read_log(max_events=)", **where)


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


def _attrs(el: etree._Element) -> dict[str, str]:
    return {str(c.get("key")): str(c.get("value")) for c in el if isinstance(c.tag, str) and c.get("key")}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _gunzip(data: bytes, r: _Reading) -> bytes:
    """The decompressed bytes of a gzip file, never more than ``max_bytes`` of them (a gzip bomb is refused)."""
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest:
            d = zlib.decompressobj(wbits=31)
            chunk = d.decompress(rest, r.max_bytes + 1 - size)
            while True:
                out.append(chunk)
                size += len(chunk)
                if size > r.max_bytes:
                    raise EventLogError(
                        f"decompresses to more than {r.max_bytes:,} bytes (the bound of a log; a gzip bomb?); "
                        "raise it with read_log(..., max_bytes=)",
                        file=str(r.path),
                    )
                if d.eof or not d.unconsumed_tail:
                    break
                chunk = d.decompress(d.unconsumed_tail, r.max_bytes + 1 - size)
            if not d.eof:
                raise EventLogError("the gzip stream is cut short", file=str(r.path))
            rest = d.unused_data.lstrip(b"\0")  # several members follow each other; padding may end the file
    except zlib.error as exc:
        raise EventLogError(f"not a gzip file, or a damaged one ({exc})", file=str(r.path)) from None
    return b"".join(out)


def _xes_root(r: _Reading, gz: bool) -> etree._Element:
    hint = "raise it with read_log(..., max_bytes=)"
    data = read_regular_file(r.path, max_bytes=r.max_bytes, error=EventLogError, hint=hint)
    if gz:
        data = _gunzip(data, r)
    try:
        return parse_xml_string(data, filename=str(r.path), max_bytes=r.max_bytes).getroot()
    except XmlError as exc:  # an event log's error, whatever the XML layer says
        message = exc.message.replace("max_bytes= (approvalflow.io.xmlsafe)", "read_log(..., max_bytes=)")
        raise EventLogError(message, file=exc.file, line=exc.line, element=exc.element) from exc


def _xes_trace(t: etree._Element, number: int, r: _Reading, events: int) -> tuple[Trace, int]:
    attrs = _attrs(t)
    for key, value in attrs.items():
        r.field(value, key, {"file": str(r.path), "line": t.sourceline})
    trace = Trace(attrs.get("concept:name", f"trace-{number}"))
    starts: dict[str, datetime] = {}
    for e in (c for c in t if _local(c) == "event"):
        a = _attrs(e)
        where = {"file": str(r.path), "line": e.sourceline}
        events += 1
        r.count(events, where)
        for key, value in a.items():
            r.field(value, key, where)
        if "concept:name" not in a or "time:timestamp" not in a:
            raise EventLogError("an event needs concept:name and time:timestamp", **where)
        moment = r.moment(a["time:timestamp"], where)
        transition = a.get("lifecycle:transition", "complete").strip().lower()
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
        else:
            r.skipped += 1
    return trace, events


def _read_xes(r: _Reading, gz: bool) -> list[Trace]:
    root = _xes_root(r, gz)
    if _local(root) != "log":
        raise EventLogError(f"the root element is <{_local(root)}>, not an XES <log>", file=str(r.path), line=1)
    traces: list[Trace] = []
    events = 0
    for t in (c for c in root if _local(c) == "trace"):
        trace, events = _xes_trace(t, len(traces) + 1, r, events)
        traces.append(trace)
    return traces


def _csv_rows(r: _Reading) -> list[list[str]]:
    hint = "raise it with read_log(..., max_bytes=)"
    data = read_regular_file(r.path, max_bytes=r.max_bytes, error=EventLogError, hint=hint)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EventLogError(f"not UTF-8 (byte {exc.start + 1}); save the log as CSV UTF-8", file=str(r.path)) from None
    try:
        rows = read_rows(text, max_field=r.max_field, max_rows=r.max_events + 1, max_cells=MAX_LOG_CELLS)
    except CsvLimitError as exc:
        element = None if exc.column is None else f"column {exc.column}"
        option = {"max_rows": "max_events", "max_cells": "max_events"}.get(exc.option or "", exc.option)
        hint = f"; raise it with read_log(..., {option}=)" if option else ""
        raise EventLogError(exc.message + hint, file=str(r.path), line=exc.row, element=element) from None
    return [cells for _, cells in rows]


def _csv_columns(header: list[str], columns: Mapping[str, str] | None, path: Path) -> dict[str, int]:
    """Our field -> the index of its column: the mapping's names first, else :data:`CSV_ALIASES`."""
    names = [h.strip().lower() for h in header]
    given = dict(columns or {})
    unknown = sorted(set(given) - set(CSV_ALIASES))
    if unknown:
        message = f"no such field to map: {', '.join(unknown)}; fields: {', '.join(CSV_ALIASES)}"
        raise EventLogError(message, file=str(path))
    col: dict[str, int] = {}
    for name, aliases in CSV_ALIASES.items():
        if name in given:
            wanted = given[name].strip().lower()
            if wanted not in names:
                shown = ", ".join(h.strip() for h in header)
                raise EventLogError(
                    f"no column '{given[name]}' (mapped to {name}); the header: {shown}", file=str(path), line=1
                )
            col[name] = names.index(wanted)
            continue
        found = next((names.index(a) for a in aliases if a in names), None)
        if found is not None:
            col[name] = found
    missing = [c for c in ("case", "activity", "end") if c not in col]
    if missing:
        shown = ", ".join(f"{m} (one of {', '.join(CSV_ALIASES[m])})" for m in missing)
        raise EventLogError(
            f"the header lacks the column(s) {shown}; name yours with a mapping (--case, --activity, --timestamp)",
            file=str(path),
            line=1,
        )
    return col


def _read_csv(r: _Reading, columns: Mapping[str, str] | None) -> list[Trace]:
    rows = _csv_rows(r)
    if not rows:
        raise EventLogError("the event log is empty", file=str(r.path), line=1)
    col = _csv_columns(rows[0], columns, r.path)
    traces: dict[str, Trace] = {}
    starts: dict[tuple[str, str], datetime] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        def where(name: str, number: int = number) -> dict[str, Any]:
            return {"file": str(r.path), "line": number, "element": f"column {col.get(name, 0) + 1} ({name})"}

        case, activity = cell("case"), cell("activity")
        transition = cell("lifecycle").lower() or "complete"
        if transition not in ("start", "complete"):  # schedule, assign, ...: not a step done (an open step, say)
            r.skipped += 1
            continue
        end = r.moment(cell("end"), where("end"))
        if transition == "start":
            starts[(case, activity)] = end
            continue
        start = cell("start")
        traces.setdefault(case, Trace(case)).events.append(
            LogEvent(
                activity,
                end,
                r.moment(start, where("start")) if start else starts.pop((case, activity), None),
                cell("resource") or None,
                cell("unit") or None,
                cell("role") or None,
                _data(cell("data"), where("data")),
            )
        )
    return list(traces.values())


def _format(p: Path) -> str:
    name = p.name.lower()
    for suffix in (".xes.gz", ".xes", ".csv"):
        if name.endswith(suffix):
            return suffix
    raise EventLogError(f"unknown event-log format '{p.suffix}': use .xes, .xes.gz or .csv", file=str(p))


def read_event_log(
    path: str | Path,
    *,
    max_bytes: int = MAX_LOG_BYTES,
    max_events: int = MAX_LOG_EVENTS,
    max_field: int = MAX_LOG_FIELD,
    timezone: str = DEFAULT_TIMEZONE,
    columns: Mapping[str, str] | None = None,
) -> EventLog:
    """Read an XES, gzip-compressed XES (``.xes.gz``) or CSV event log (by extension), with what was assumed.

    Bounded by ``max_bytes`` (the file, and for ``.xes.gz`` the decompressed bytes too), ``max_events`` and
    ``max_field`` (characters of a CSV field or XES attribute); past a bound, or malformed, an
    :class:`EventLogError` names the file and line or row. A moment without a zone is read in ``timezone``
    (counted in :attr:`EventLog.naive`). ``columns`` maps the fields ``case``, ``activity``, ``end`` (the
    timestamp), ``start``, ``resource``, ``unit``, ``role``, ``data``, ``lifecycle`` to a CSV's own header
    names; unmapped fields are found by :data:`CSV_ALIASES`.
    """
    p = Path(path)
    kind = _format(p)
    r = _Reading(p, max_bytes, max_events, max_field, timezone)
    if kind == ".csv":
        return r.result(_read_csv(r, columns))
    return r.result(_read_xes(r, kind == ".xes.gz"))


def read_log(
    path: str | Path,
    *,
    max_bytes: int = MAX_LOG_BYTES,
    max_events: int = MAX_LOG_EVENTS,
    max_field: int = MAX_LOG_FIELD,
    timezone: str = DEFAULT_TIMEZONE,
    columns: Mapping[str, str] | None = None,
) -> list[Trace]:
    """The traces of :func:`read_event_log`; events keep their order within a trace."""
    log = read_event_log(
        path, max_bytes=max_bytes, max_events=max_events, max_field=max_field, timezone=timezone, columns=columns
    )
    return log.traces
