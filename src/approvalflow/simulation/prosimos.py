"""Read a Prosimos simulation-parameter JSON (with its BPMN) as a :class:`SimulationModel`.

Prosimos (PyPI ``prosimos``) is a BPMN business-process simulator; reading its
parameter file lets the two simulators run the same model. What is read, with
Prosimos's own conventions (checked against prosimos 2.1.0 and pix-framework;
see bench/PROSIMOS_NOTES.md):

- ``resource_profiles``: each entry of a profile's ``resource_list`` is a pool
  of ``amount`` interchangeable resources with one calendar; a profile with one
  entry is named by the profile's id (the name utilisation is reported under);
- ``resource_calendars`` and ``arrival_time_calendar``: weekly time periods
  (``from``/``to`` weekday, ``beginTime``/``endTime``); an ``endTime`` of
  ``23:59:59`` is read as the end of the day;
- ``arrival_time_distribution``: the gap between arrivals; after each gap the
  arrival is moved to the next moment inside the arrival calendar;
- ``task_resource_distribution``: each task's duration, by resource;
- ``gateway_branching_probabilities``: probabilities of exclusive branches, and
  of the flows of inclusive splits, each drawn independently (none drawn: the
  default flow, or without one a single flow drawn by the probabilities as
  shares, Prosimos's ``Choice.get_multiple_flows``); a default flow of an
  inclusive split may not have a probability > 0 (the engine takes it only
  alone).

Distributions and their ``distribution_params`` (seconds): ``fix`` [value];
``expon`` [mean, min, max] (min + Exp(mean - min)); ``uniform`` [min, max];
``norm`` [mean, std, min, max]; ``lognorm`` and ``gamma`` [mean, variance,
min, max]. Samples outside [min, max] or below 0 are drawn again.

Not read (an error names the key when it is present and not empty): batch
processing, case attributes, prioritisation, event distributions,
multitasking, branch conditions, fuzzy calendars; a task that several
resource types can do.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

from .calendars import DAY, Hours
from .compile import GraphNode, ProcessGraph, compile_bpmn
from .distributions import Distribution
from .model import Arrivals, Pool, SimulationModel, SimulationModelError, StepSpec

__all__ = ["is_prosimos", "load_prosimos"]

_WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_UNSUPPORTED = (
    "batch_processing", "case_attributes", "prioritisation_rules", "event_distribution", "multitask",
    "branch_rules", "global_attributes", "event_attributes",
)  # fmt: skip
_START = date(2025, 4, 1)  # the day bench/prosimos-approval/README.md starts Prosimos on
_START_OFFSET = 9 * 3600.0


def is_prosimos(data: object) -> bool:
    """Whether parsed JSON looks like a Prosimos parameter file."""
    return isinstance(data, dict) and "task_resource_distribution" in data and "resource_profiles" in data


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, message: str) -> SimulationModelError:
        return SimulationModelError(message, file=self.file, element=path)

    def get(self, obj: Any, key: str | int, path: str, kind: type | tuple[type, ...] = object) -> Any:
        where = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)
        try:
            value = obj[key]
        except (KeyError, IndexError, TypeError):
            raise self.fail(where, "missing") from None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in ((int, float), float, int)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(where, f"expected {names}, found {type(value).__name__}")
        return value

    def number(self, obj: Any, key: str | int, path: str) -> float:
        v = float(self.get(obj, key, path, (int, float)))
        if not math.isfinite(v):
            raise self.fail(f"{path}.{key}", "not a finite number")
        return v

    def distribution(self, obj: Any, path: str) -> Distribution:
        name = self.get(obj, "distribution_name", path, str)
        params = self.get(obj, "distribution_params", path, list)
        ppath = f"{path}.distribution_params"
        v = [self.number(self.get(params, i, ppath, dict), "value", f"{ppath}[{i}]") for i in range(len(params))]
        need = {"fix": 1, "expon": 3, "uniform": 2, "norm": 4, "lognorm": 4, "gamma": 4}
        if name not in need:
            raise self.fail(f"{path}.distribution_name", f"distribution {name!r} is not supported ({', '.join(need)})")
        if len(v) < need[name]:
            raise self.fail(ppath, f"{name} needs {need[name]} parameters, found {len(v)}")
        try:
            if name == "fix":
                return Distribution("fixed", value=v[0])
            if name == "uniform":
                return Distribution("uniform", low=v[0], high=v[1])
            if name == "expon":
                mean, lo, hi = v[0], v[1], v[2]
                if mean < lo:  # Prosimos then uses the mean as the scale
                    mean = lo + mean
                return Distribution("exponential", mean=mean, shift=lo, low=lo, high=hi)
            kind = {"norm": "normal", "lognorm": "lognormal", "gamma": "gamma"}[name]
            sd = v[1] if name == "norm" else math.sqrt(max(v[1], 0.0))
            return Distribution(kind, mean=v[0], sd=sd, low=v[2], high=v[3])
        except ValueError as exc:
            raise self.fail(ppath, str(exc)) from None

    def hours(self, periods: Any, path: str) -> Hours:
        days: list[list[tuple[float, float]]] = [[] for _ in range(7)]
        if not isinstance(periods, list):
            raise self.fail(path, "expected a list of time periods")
        for i, item in enumerate(periods):
            ip = f"{path}[{i}]"
            first, last = (self._weekday(self.get(item, k, ip, str), f"{ip}.{k}") for k in ("from", "to"))
            begin = self._time(self.get(item, "beginTime", ip, str), f"{ip}.beginTime")
            end = self._time(self.get(item, "endTime", ip, str), f"{ip}.endTime")
            if end >= DAY - 1:
                end = DAY
            if end <= begin:
                raise self.fail(ip, "endTime must be after beginTime")
            d = first
            while True:
                days[d].append((begin, end))
                if d == last:
                    break
                d = (d + 1) % 7
        merged = []
        for day in days:
            out: list[tuple[float, float]] = []
            for a, b in sorted(day):
                if out and a <= out[-1][1]:
                    out[-1] = (out[-1][0], max(out[-1][1], b))
                else:
                    out.append((a, b))
            merged.append(tuple(out))
        return Hours(tuple(merged))

    def _weekday(self, name: str, path: str) -> int:
        if name.upper() not in _WEEKDAYS:
            raise self.fail(path, f"unknown weekday {name!r}")
        return _WEEKDAYS.index(name.upper())

    def _time(self, text: str, path: str) -> float:
        try:
            parts = [float(x) for x in text.split(":")]
            h, m, s = [*parts, 0.0, 0.0][:3]
        except ValueError:
            raise self.fail(path, f"not a time HH:MM:SS: {text!r}") from None
        if not (0 <= h <= 24 and 0 <= m < 60 and 0 <= s < 60):
            raise self.fail(path, f"not a time HH:MM:SS: {text!r}")
        return h * 3600 + m * 60 + s


def _bpmn_for(json_path: Path, bpmn: str | Path | None) -> Path:
    if bpmn is not None:
        return Path(bpmn)
    found = sorted(json_path.parent.glob("*.bpmn"))
    if len(found) != 1:
        raise SimulationModelError(
            f"give the BPMN file with --bpmn: {len(found)} .bpmn files in {json_path.parent}", file=str(json_path)
        )
    return found[0]


def load_prosimos(path: str | Path, data: dict[str, Any], *, bpmn: str | Path | None = None) -> SimulationModel:
    """The model of a Prosimos parameter file already parsed as ``data``."""
    file = str(path)
    r = _Reader(file)
    for key in _UNSUPPORTED:
        if data.get(key):
            raise r.fail(key, "not supported by approvalflow's simulator")
    if str(data.get("model_type", "CRISP")).upper() == "FUZZY":
        raise r.fail("model_type", "fuzzy calendars are not supported")
    graph = compile_bpmn(_bpmn_for(Path(path), bpmn))
    cals: dict[str, Hours] = {}
    for i, c in enumerate(r.get(data, "resource_calendars", "", list)):
        cp = f"resource_calendars[{i}]"
        cals[r.get(c, "id", cp, str)] = r.hours(r.get(c, "time_periods", cp, list), f"{cp}.time_periods")
    pools: list[Pool] = []
    pool_of: dict[str, str] = {}
    for i, prof in enumerate(r.get(data, "resource_profiles", "", list)):
        pp = f"resource_profiles[{i}]"
        entries = r.get(prof, "resource_list", pp, list)
        for j, res in enumerate(entries):
            rp = f"{pp}.resource_list[{j}]"
            rid = r.get(res, "id", rp, str)
            amount = r.get(res, "amount", rp, (int, float))
            if amount < 1 or amount != int(amount):
                raise r.fail(f"{rp}.amount", "expected a whole number >= 1")
            cal_id = r.get(res, "calendar", rp, str)
            if cal_id not in cals:
                raise r.fail(f"{rp}.calendar", f"no resource calendar '{cal_id}'")
            hours = cals[cal_id]
            name = r.get(prof, "id", pp, str) if len(entries) == 1 else f"{prof.get('id')}/{rid}"
            pools.append(Pool(name, int(amount), None if hours.whole_day else hours))
            pool_of[rid] = name
    steps = _steps(r, data, graph, pool_of)
    arrival = r.distribution(r.get(data, "arrival_time_distribution", "", dict), "arrival_time_distribution")
    periods = data.get("arrival_time_calendar")
    arr_hours = r.hours(periods, "arrival_time_calendar") if periods else None
    arrivals = Arrivals(interarrival=arrival, calendar=None if arr_hours is None or arr_hours.whole_day else arr_hours)
    branches = _branches(r, data, graph)
    for node in graph.loops():
        if node.loop is not None and node.loop.condition is not None:
            raise SimulationModelError(
                f"loop task '{node.id}' has a loopCondition: a Prosimos parameter file gives no probability of "
                "repeating it (use the YAML model's steps.<id>.repeat)",
                file=node.file,
                line=node.line,
                element=node.id,
            )
    return SimulationModel(
        name=Path(path).stem, source=file, graph=graph, steps=steps, pools=tuple(pools), arrivals=arrivals,
        branches=branches, start=_START, days=None, start_offset=_START_OFFSET,
    )  # fmt: skip


def _steps(r: _Reader, data: dict[str, Any], graph: ProcessGraph, pool_of: dict[str, str]) -> dict[str, StepSpec]:
    by_id = {n.id: n.key for n in graph.nodes if n.kind == "task"}
    steps: dict[str, StepSpec] = {}
    for i, t in enumerate(r.get(data, "task_resource_distribution", "", list)):
        tp = f"task_resource_distribution[{i}]"
        tid = r.get(t, "task_id", tp, str)
        if tid not in by_id:
            raise r.fail(f"{tp}.task_id", f"no task '{tid}' in {graph.file}")
        res = r.get(t, "resources", tp, list)
        if len(res) != 1:
            raise r.fail(f"{tp}.resources", "exactly one resource per task is supported")
        rid = r.get(res[0], "resource_id", f"{tp}.resources[0]", str)
        if rid not in pool_of:
            raise r.fail(f"{tp}.resources[0].resource_id", f"no resource '{rid}' in resource_profiles")
        steps[by_id[tid]] = StepSpec(r.distribution(res[0], f"{tp}.resources[0]"), pool_of[rid])
    missing = [n for n in by_id if by_id[n] not in steps]
    if missing:
        raise r.fail("task_resource_distribution", f"no duration for task(s) {', '.join(missing)}")
    return steps


def _inclusive(r: _Reader, gp: str, node: GraphNode, probs: dict[str, float], where: dict[str, str]) -> None:
    """Check the probabilities of inclusive split ``node`` (``where``: flow -> its JSON path)."""
    unknown = [f for f in probs if f not in node.flows]
    if unknown:
        raise r.fail(gp, f"flow(s) {', '.join(unknown)} do not leave gateway '{node.id}'")
    for f, p in probs.items():
        if not 0.0 <= p <= 1.0:
            raise r.fail(f"{where[f]}.value", f"expected a probability in [0, 1], found {p!r}")
    if node.default is not None and probs.get(node.default, 0.0) > 0:
        raise r.fail(
            where[node.default],
            f"flow '{node.default}' is the default flow of inclusive gateway '{node.id}': the engine takes it only "
            "when no other flow is taken, so it cannot be drawn by a probability (give 0, or leave it out)",
        )
    missing = [f for f in node.flows if f != node.default and f not in probs]
    if missing:
        raise r.fail(f"{gp}.probabilities", f"no probability for flow(s) {', '.join(missing)} of inclusive gateway "
                                            f"'{node.id}'")  # fmt: skip
    if node.default is None and not any(probs.values()):
        raise r.fail(f"{gp}.probabilities", f"no flow of inclusive gateway '{node.id}' has a probability > 0")


def _branches(r: _Reader, data: dict[str, Any], graph: ProcessGraph) -> dict[str, dict[str, float]]:
    splits = {n.id: n for n in graph.splits()}
    ors = {n.id: n for n in graph.inclusive_splits()}
    branches: dict[str, dict[str, float]] = {}
    for i, gw in enumerate(data.get("gateway_branching_probabilities") or []):
        gp = f"gateway_branching_probabilities[{i}]"
        gid = r.get(gw, "gateway_id", gp, str)
        probs: dict[str, float] = {}
        where: dict[str, str] = {}
        for j, p in enumerate(r.get(gw, "probabilities", gp, list)):
            pp = f"{gp}.probabilities[{j}]"
            flow = r.get(p, "path_id", pp, str)
            probs[flow], where[flow] = r.number(p, "value", pp), pp
        if gid in ors:
            _inclusive(r, gp, ors[gid], probs, where)
            branches.update((n.key, probs) for n in graph.nodes if n.id == gid and n.kind == "or")
        elif gid in splits:
            unknown = [f for f in probs if f not in splits[gid].flows]
            if unknown:
                raise r.fail(gp, f"flow(s) {', '.join(unknown)} do not leave gateway '{gid}'")
            branches[splits[gid].key] = probs
    for gid in ors:
        if not any(n.id == gid and n.key in branches for n in graph.inclusive_splits()):
            raise r.fail("gateway_branching_probabilities", f"no probabilities for inclusive gateway '{gid}'")
    for node in splits.values():
        if node.key not in branches:  # Prosimos warns and draws uniformly
            branches[node.key] = {f: 1.0 / len(node.flows) for f in node.flows}
    return branches


def parse_json(raw: bytes, path: Path) -> Any:
    """Parse the bytes of a JSON model already read from ``path`` (bounded by the caller); errors name file and line."""
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, RecursionError) as exc:
        raise SimulationModelError(f"not valid JSON: {type(exc).__name__}", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise SimulationModelError(f"not valid JSON: {exc.msg} (column {exc.colno})", file=str(path),
                                   line=exc.lineno) from exc  # fmt: skip
