"""The simulator's results for people and spreadsheets: a tidy CSV and a side-by-side comparison of two models.

A result is the dict of ``SimulationResult.to_dict()`` (or the JSON that ``approvalflow simulate --json`` prints):
cycle time (办理时长) in hours and working days, waiting and processing time, utilisation and queue length per
pool or post (岗位), on-time shares against the promised and statutory limits (承诺时限, 法定时限), yellow and red
cards (黄牌, 红牌), per-step figures and a cycle-time histogram.

- :func:`write_csv` writes one long ("tidy") table, ``section,key,metric,value``, UTF-8 with a byte-order mark so
  that Excel as used in China opens it without garbling the Chinese step names.
- :func:`compare` puts two results side by side: for each headline metric A, B, the absolute and the relative
  change; utilisation and queue length per pool; on-time shares.
- :func:`format_compare` prints that comparison as a text table for the terminal, under a one-line headline.
- :func:`check_result` and :func:`read_result` check a result's shape (a result read from a JSON file is
  input, and a malformed one is a :class:`ResultFormatError` that names the file and the key).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import DefinitionError
from ..io.csvsafe import neutralise_row

__all__ = [
    "CSV_COLUMNS",
    "ResultFormatError",
    "check_result",
    "compare",
    "csv_rows",
    "format_compare",
    "read_result",
    "write_csv",
]

#: The columns of :func:`write_csv`.
CSV_COLUMNS = ("section", "key", "metric", "value")
_STATS = ("mean", "p50", "p90", "p99")
_REQUIRED = ("model", "cases", "cycle_time_hours", "waiting_time_hours", "utilization", "histogram")


class ResultFormatError(DefinitionError):
    """A simulation result that is not shaped like ``SimulationResult.to_dict()``; names the file and the key."""


# -- checking ---------------------------------------------------------------------------------------------------
def _fail(message: str, key: str, file: str | Path | None) -> ResultFormatError:
    return ResultFormatError(message, file=file, element=key)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_result(result: Mapping[str, Any], *, file: str | Path | None = None) -> None:
    """Raise :class:`ResultFormatError` when ``result`` lacks a key the outputs need or holds a wrong type."""
    if not isinstance(result, Mapping):
        raise _fail(f"a simulation result must be a JSON object, not {type(result).__name__}", "", file)
    for key in _REQUIRED:
        if key not in result:
            raise _fail(f"the result has no '{key}'; is this the output of 'approvalflow simulate --json'?", key, file)
    for section in ("cycle_time_hours", "cycle_time_working_days"):
        stats = result.get(section)
        if stats is None and section == "cycle_time_working_days":
            continue
        if not isinstance(stats, Mapping):
            raise _fail(f"'{section}' must be an object with {', '.join(_STATS)}", section, file)
        for stat in _STATS:
            if not _number(stats.get(stat)):
                raise _fail(f"'{section}.{stat}' must be a number, not {stats.get(stat)!r}", f"{section}.{stat}", file)
    for pool, share in dict(result["utilization"]).items():
        if not _number(share):
            raise _fail(f"utilisation of '{pool}' must be a number, not {share!r}", f"utilization.{pool}", file)
    _check_histogram(result["histogram"], file)


def _check_histogram(histogram: object, file: str | Path | None) -> None:
    if not isinstance(histogram, Mapping):
        raise _fail("'histogram' must be an object with 'edges' and 'counts'", "histogram", file)
    edges, counts = histogram.get("edges"), histogram.get("counts")
    if not isinstance(edges, list) or not isinstance(counts, list):
        raise _fail("'histogram' needs the lists 'edges' and 'counts'", "histogram", file)
    if len(edges) != len(counts) + 1:
        raise _fail(
            f"'histogram.edges' must have one more item than 'counts' ({len(edges)} edges, {len(counts)} counts)",
            "histogram.edges",
            file,
        )
    if not all(_number(e) for e in edges) or any(b < a for a, b in itertools.pairwise(edges)):
        raise _fail("'histogram.edges' must be numbers in ascending order", "histogram.edges", file)
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
        raise _fail("'histogram.counts' must be whole numbers, zero or more", "histogram.counts", file)


def read_result(path: str | Path) -> dict[str, Any]:
    """Read a result written by ``approvalflow simulate --json`` (or ``json.dump(result.to_dict())``) and check it."""
    from ..io.inputfiles import read_regular_file

    path = Path(path)
    raw = read_regular_file(path, max_bytes=64 * 2**20, error=ResultFormatError, hint="a result is small")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ResultFormatError(f"not JSON: {type(exc).__name__}", file=path) from None
    except json.JSONDecodeError as exc:
        raise ResultFormatError(f"not JSON: {exc.msg}", file=path, line=exc.lineno) from exc
    check_result(data, file=path)
    return dict(data)


# -- CSV --------------------------------------------------------------------------------------------------------
def _cell(value: object) -> str:
    """Numbers in full precision (``repr`` round-trips a float), None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def csv_rows(result: Mapping[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """The rows of :func:`write_csv` (without the header), in a fixed order, before formula neutralisation."""
    for metric in ("model", "cases", "seed", "replications", "wall_seconds"):
        yield ("run", "", metric, _cell(result.get(metric)))
    for section in ("cycle_time_hours", "cycle_time_working_days"):
        stats = result.get(section)
        if isinstance(stats, Mapping):
            for stat in _STATS:
                yield (section, "", stat, _cell(stats.get(stat)))
    for section in ("waiting_time_hours", "processing_time_hours"):
        stats = result.get(section)
        if isinstance(stats, Mapping):
            for stat, value in stats.items():
                yield (section, "", str(stat), _cell(value))
    for pool, share in dict(result.get("utilization") or {}).items():
        yield ("utilization", str(pool), "share", _cell(share))
    for pool, queue in dict(result.get("queue_length") or {}).items():
        for metric in ("mean", "max"):
            yield ("queue_length", str(pool), metric, _cell(queue.get(metric)))
    for section, metrics in (("on_time", ("promised", "statutory")), ("cards", ("yellow", "red"))):
        block = result.get(section)
        if isinstance(block, Mapping):
            for metric in metrics:
                yield (section, "", metric, _cell(block.get(metric)))
    for step, figures in dict(result.get("steps") or {}).items():
        for metric in ("name", "count", "waiting_hours_mean", "processing_hours_mean"):
            yield ("steps", str(step), metric, _cell(figures.get(metric)))
    histogram = result.get("histogram") or {}
    edges, counts = list(histogram.get("edges") or []), list(histogram.get("counts") or [])
    yield ("histogram", "", "unit", _cell(histogram.get("unit", "hours")))
    for i, count in enumerate(counts):
        yield ("histogram", str(i), "from", _cell(edges[i]))
        yield ("histogram", str(i), "to", _cell(edges[i + 1]))
        yield ("histogram", str(i), "count", _cell(count))


def write_csv(result: Mapping[str, Any], path: str | Path) -> None:
    """Write ``result`` as one tidy CSV table: ``section,key,metric,value``, UTF-8 with BOM.

    ``section`` is the key of the result (``cycle_time_hours``, ``utilization``, ``steps``...), ``key`` the pool,
    post, step id or histogram bin (empty for single figures), ``metric`` the figure. Every number of the result
    is a row, written in full precision; a null is an empty cell, and a null section (no working-day calendar,
    no time limits) has no rows; the folder is created if missing. Text a spreadsheet could run as a formula
    (a model, pool or step name starting with ``=``, ``+``, ``-``, ``@``...) gets a ``'`` prefix
    (:func:`approvalflow.io.csvsafe.neutralise`); numbers, negative ones included, are written as they are. A pivot
    table or ``pandas.read_csv(...).pivot_table`` turns it into any wide layout.
    """
    check_result(result)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(neutralise_row(CSV_COLUMNS))
        writer.writerows(map(neutralise_row, csv_rows(result)))


# -- comparison -------------------------------------------------------------------------------------------------
def _change(a: float | None, b: float | None) -> dict[str, float | None]:
    if a is None or b is None:
        return {"a": a, "b": b, "change": None, "relative": None}
    relative: float | None = 0.0 if a == b else (b - a) / a if a else None
    return {"a": a, "b": b, "change": b - a, "relative": relative}


def _get(result: Mapping[str, Any], section: str, metric: str) -> float | None:
    block = result.get(section)
    value = block.get(metric) if isinstance(block, Mapping) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


#: The headline metrics of a comparison: (section, metric, label, unit).
HEADLINES: tuple[tuple[str, str, str, str], ...] = (
    *(("cycle_time_working_days", s, f"cycle time {s}", "working days") for s in _STATS),
    *(("cycle_time_hours", s, f"cycle time {s}", "hours") for s in _STATS),
    ("waiting_time_hours", "mean", "waiting time mean", "hours"),
    ("processing_time_hours", "mean", "processing time mean", "hours"),
    ("on_time", "promised", "on time, promised limit", "share"),
    ("on_time", "statutory", "on time, statutory limit", "share"),
    ("cards", "yellow", "yellow cards", "cards"),
    ("cards", "red", "red cards", "cards"),
)


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Two results side by side (A the baseline, B the alternative).

    Returns ``{"a": {model, cases, seed}, "b": {...}, "headline": str, "metrics": {name: row},
    "utilization": {pool: row}, "queue_length": {pool: row}}``, where a row is ``{"a", "b", "change",
    "relative"}`` (``relative`` = (B - A) / A; None when A is 0 and B is not, or a side lacks the figure) and
    metric names are ``section.metric`` (``cycle_time_working_days.mean``...). Metric rows also carry ``label`` and
    ``unit``. Pools present in only one model get None on the other side.
    """
    check_result(a)
    check_result(b)
    metrics: dict[str, dict[str, Any]] = {}
    for section, metric, label, unit in HEADLINES:
        row = _change(_get(a, section, metric), _get(b, section, metric))
        if row["a"] is None and row["b"] is None:
            continue
        metrics[f"{section}.{metric}"] = {"label": label, "unit": unit, **row}
    pools = list(dict.fromkeys([*a.get("utilization", {}), *b.get("utilization", {})]))
    queues = list(dict.fromkeys([*(a.get("queue_length") or {}), *(b.get("queue_length") or {})]))
    return {
        "a": {k: a.get(k) for k in ("model", "cases", "seed")},
        "b": {k: b.get(k) for k in ("model", "cases", "seed")},
        "headline": _headline(metrics),
        "metrics": metrics,
        "utilization": {p: _change(_get(a, "utilization", p), _get(b, "utilization", p)) for p in pools},
        "queue_length": {q: _change(_queue_mean(a, q), _queue_mean(b, q)) for q in queues},
    }


def _queue_mean(result: Mapping[str, Any], pool: str) -> float | None:
    queue = (result.get("queue_length") or {}).get(pool)
    return float(queue["mean"]) if isinstance(queue, Mapping) and _number(queue.get("mean")) else None


def _headline(metrics: Mapping[str, Mapping[str, Any]]) -> str:
    for name, unit in (("cycle_time_working_days.mean", "working days"), ("cycle_time_hours.mean", "hours")):
        row = metrics.get(name)
        if row is None or row["a"] is None or row["b"] is None:
            continue
        a, b = row["a"], row["b"]
        if round(a, 1) == round(b, 1):
            return f"mean cycle time stayed at {a:.1f} {unit}"
        verb = "fell" if b < a else "rose"
        relative = f" ({_percent(row['relative'], signed=True)})" if row["relative"] is not None else ""
        return f"mean cycle time {verb} from {a:.1f} to {b:.1f} {unit}{relative}"
    return "no cycle time to compare"


# -- the text table ---------------------------------------------------------------------------------------------
def _percent(share: float | None, *, signed: bool = False) -> str:
    if share is None:
        return "–"
    return f"{share * 100:+.1f}%" if signed else f"{share * 100:.1f}%"


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "share":
        return _percent(value)
    if unit == "cards":
        return f"{value:.0f}"
    return f"{value:.1f}"


def _delta(row: Mapping[str, Any], unit: str) -> tuple[str, str]:
    change, relative = row["change"], row["relative"]
    if change is None:
        return "–", "–"
    if unit == "share":
        return f"{_signed(change * 100)} pp", _percent(relative, signed=True)
    if unit == "cards":
        return f"{change:+.0f}", _percent(relative, signed=True)
    return _signed(change), _percent(relative, signed=True)


def _signed(value: float) -> str:
    """One decimal with its sign; a small change that one decimal would show as -0.0 gets two."""
    return f"{value:+.2f}" if 0 < abs(value) < 0.05 else f"{value:+.1f}"


_SECTION_TITLES = {
    "cycle_time_working_days": "办理时长 cycle time (working days 工作日)",
    "cycle_time_hours": "办理时长 cycle time (hours 小时)",
    "waiting_time_hours": "等待与办理 waiting and processing (hours)",
    "processing_time_hours": "等待与办理 waiting and processing (hours)",
    "on_time": "按时办结 on time (share of cases)",
    "cards": "黄牌/红牌 yellow and red cards",
}


def format_compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """A text table of :func:`compare` for the terminal, the headline first."""
    found = compare(a, b)
    name_a, name_b = str(found["a"]["model"]), str(found["b"]["model"])
    rows: list[tuple[str, ...]] = []
    title = None
    for name, row in found["metrics"].items():
        section = name.split(".", 1)[0]
        if _SECTION_TITLES[section] != title:
            title = _SECTION_TITLES[section]
            rows.append((title,))
        unit = row["unit"]
        rows.append(("  " + row["label"], _value(row["a"], unit), _value(row["b"], unit), *_delta(row, unit)))
    for key, title, unit in (
        ("utilization", "岗位利用率 utilisation per pool or post", "share"),
        ("queue_length", "排队 mean queue length per pool or post", "count"),
    ):
        if found[key]:
            rows.append((title,))
        for pool, row in found[key].items():
            rows.append(("  " + pool, _value(row["a"], unit), _value(row["b"], unit), *_delta(row, unit)))
    header = ("", "A", "B", "change", "%")
    widths = [max(_width(r[i]) for r in [header, *rows] if len(r) > 1) for i in range(5)]
    lines = [
        f"{found['headline']}",
        f"A = {name_a} ({found['a']['cases']} cases), B = {name_b} ({found['b']['cases']} cases)",
        "",
        _line(header, widths),
    ]
    lines += [r[0] if len(r) == 1 else _line(r, widths) for r in rows]
    return "\n".join(lines) + "\n"


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    first = _pad(cells[0], widths[0])
    rest = [_pad(c, w, right=True) for c, w in zip(cells[1:], widths[1:], strict=True)]
    return "  ".join([first, *rest]).rstrip()
