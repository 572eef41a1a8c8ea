"""The project's YAML simulation model (SPEC section 10); see docs/simulation.md for every key.

::

    name: 一般行政许可 (current staffing)
    process: ../../processes/licensing/general_licensing.bpmn
    org: ../../processes/org/sample_county.yaml     # staff counted per post in ``unit``
    unit: market-bureau
    start: 2026-03-02
    seed: 1
    calendar: {days: china, hours: ["09:00-12:00", "13:30-17:30"]}
    arrivals: {per_day: 6, weekday: {mon: 1.3, fri: 0.8}}
    staff: {reviewer: 2}                            # overrides the organisation's count
    steps:
      receive: {dist: lognormal, mean: 20, sd: 8}   # minutes unless ``unit`` says otherwise
      notify_correction: {duration: 15, after: {dist: exponential, mean: 3, unit: days}}
      revise: {duration: 30, repeat: 0.25}        # a loop task: its loopCondition holds at a check 25% of the time
    branches:
      gw_materials: {f_gw_accept: 0.8, f_gw_notify: 0.2}   # exclusive: adding up to 1
      gw_consult: {f_housing: 0.6, f_env: 0.3}            # inclusive: each flow by its own probability

Every error names the file, the line and the key.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..bpmn.model import StepInfo
from ..errors import OrganisationError
from ..io.yamlio import Lines, parse_yaml
from ..org.organisation import Organisation, OrgUnit, load_organisation
from ..rules.checks import keeps_off, step_units
from .calendars import DAY, DayRule, Hours
from .compile import GraphNode, ProcessGraph, compile_bpmn
from .distributions import KINDS, Distribution
from .model import Arrivals, Pool, SimulationModel, SimulationModelError, StepSpec
from .signing import bpmn_signers

__all__ = ["load_yaml_model", "step_pool"]

Key = tuple[str | int, ...]
_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": DAY, "workdays": 8 * 3600.0}
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TOP = {
    "name", "process", "process_id", "org", "unit", "start", "seed", "cases", "yellow_days", "calendar", "arrivals",
    "staff", "steps", "branches",
}  # fmt: skip
_DIST_KEYS = {"dist", "unit", "value", "mean", "sd", "min", "max", "mode", "values", "shift"}


class _Doc:
    """A parsed YAML document with the line of every key."""

    def __init__(self, file: Path) -> None:
        self.file = file
        doc = parse_yaml(file, error=SimulationModelError)
        self.data: Any = doc.data
        self.lines: Lines = doc.lines()

    def fail(self, path: Key, message: str) -> SimulationModelError:
        key = ".".join(str(p) for p in path) or None
        return SimulationModelError(message, file=str(self.file), line=self.lines.of(path), element=key)

    def mapping(self, value: Any, path: Key, allowed: set[str] | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, found {type(value).__name__}")
        for k in value:
            if allowed is not None and str(k) not in allowed:
                raise self.fail((*path, str(k)), f"unknown key '{k}' (expected one of {', '.join(sorted(allowed))})")
        return {str(k): v for k, v in value.items()}

    def number(self, value: Any, path: Key, *, minimum: float = 0.0) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(path, f"expected a number, found {value!r}")
        if value < minimum:
            raise self.fail(path, f"expected a number >= {minimum:g}, found {value!r}")
        return float(value)

    def path(self, value: Any, key: Key) -> Path:
        if not isinstance(value, str) or not value:
            raise self.fail(key, "expected a file path (relative to the model file)")
        p = (self.file.parent / value).resolve() if not Path(value).is_absolute() else Path(value)
        if not p.is_file():
            raise self.fail(key, f"no such file: {p}")
        return p


def _clock(doc: _Doc, text: Any, path: Key) -> float:
    if not isinstance(text, str) or text.count(":") != 1:
        raise doc.fail(path, f"expected a time HH:MM, found {text!r}")
    h, m = text.split(":")
    if not (h.isdigit() and m.isdigit() and int(h) <= 24 and int(m) < 60 and int(h) * 60 + int(m) <= 1440):
        raise doc.fail(path, f"expected a time HH:MM, found {text!r}")
    return int(h) * 3600.0 + int(m) * 60.0


def _hours(doc: _Doc, value: Any, path: Key) -> Hours:
    """Office hours: a list of "HH:MM-HH:MM", or "24h"."""
    if value == "24h":
        return Hours.daily(((0.0, DAY),))
    if not isinstance(value, list) or not value:
        raise doc.fail(path, 'expected a list of "HH:MM-HH:MM" intervals, or "24h"')
    spans: list[tuple[float, float]] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or item.count("-") != 1:
            raise doc.fail((*path, i), f'expected "HH:MM-HH:MM", found {item!r}')
        a, b = (_clock(doc, x.strip(), (*path, i)) for x in item.split("-"))
        if b <= a or (spans and a < spans[-1][1]):
            raise doc.fail((*path, i), "intervals must be increasing and not overlap")
        spans.append((a, b))
    return Hours.daily(tuple(spans))


def _distribution(doc: _Doc, value: Any, path: Key) -> Distribution:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Distribution("fixed", value=doc.number(value, path)).scaled(60.0)
    spec = doc.mapping(value, path, _DIST_KEYS)
    kind = spec.get("dist")
    if kind not in KINDS:
        raise doc.fail((*path, "dist"), f"expected one of {', '.join(KINDS)}, found {kind!r}")
    unit = spec.get("unit", "minutes")
    if unit not in _UNITS:
        raise doc.fail((*path, "unit"), f"expected one of {', '.join(_UNITS)}, found {unit!r}")
    need = {
        "fixed": ("value",), "exponential": ("mean",), "uniform": ("min", "max"), "normal": ("mean", "sd"),
        "lognormal": ("mean", "sd"), "gamma": ("mean", "sd"), "triangular": ("min", "mode", "max"),
        "empirical": ("values",),
    }[kind]  # fmt: skip
    for k in need:
        if k not in spec:
            raise doc.fail(path, f"{kind} needs '{k}'")
    nums = {
        k: doc.number(spec[k], (*path, k)) for k in ("value", "mean", "sd", "min", "max", "mode", "shift") if k in spec
    }
    values: tuple[float, ...] = ()
    if kind == "empirical":
        if not isinstance(spec["values"], list) or not spec["values"]:
            raise doc.fail((*path, "values"), "expected a list of durations")
        values = tuple(doc.number(v, (*path, "values", i)) for i, v in enumerate(spec["values"]))
    try:
        dist = Distribution(
            kind, value=nums.get("value", 0.0), mean=nums.get("mean", 0.0), sd=nums.get("sd", 0.0),
            low=nums.get("min"), high=nums.get("max"), mode=nums.get("mode", 0.0), shift=nums.get("shift", 0.0),
            values=values,
        )  # fmt: skip
    except ValueError as exc:
        raise doc.fail(path, str(exc)) from None
    return dist.scaled(_UNITS[unit])


def _org_staff(doc: _Doc, org: Path, unit: str | None, key: Key) -> tuple[dict[str, int], Organisation]:
    """People per post in the organisation file (in ``unit``, or in all units), and the organisation.

    The file is read by :func:`approvalflow.org.organisation.load_organisation`, with every check the engine
    makes (an organisation a case could not run under is refused here too), and its error is given at the
    model's ``org`` key."""
    try:
        organisation = load_organisation(org)
    except OrganisationError as exc:
        raise doc.fail(key, f"cannot read the organisation file {org}: {exc}") from None
    if not organisation.people:
        raise doc.fail(key, f"the organisation file {org} has no people")
    if unit is not None and unit not in organisation.units:
        raise doc.fail(("unit",), f"no unit '{unit}' in {org}")
    counts: dict[str, int] = {}
    for person in organisation.people.values():
        if unit is None or person.unit == unit:
            for post in person.posts:
                counts[post] = counts.get(post, 0) + 1
    return counts, organisation


def step_pool(step: StepInfo, organisation: Organisation, unit: OrgUnit) -> tuple[str, frozenset[str]]:
    """The pool of a step that names the units doing it (``af:step/@units``, 征求意见 of another bureau) in a case
    of ``unit``: its name, ``<posts>@<units>`` (e.g. ``reviewer@housing-bureau``; a key of ``staff`` overrides its
    count), and the people in it: everyone :func:`~approvalflow.rules.checks.keeps_off` lets do the step, the
    engine's own decision."""
    name = "/".join(step.posts) + "@" + "+".join(step_units(step, unit.id))
    people = frozenset(p.id for p in organisation.people.values() if not keeps_off(step, p, unit, organisation))
    return name, people


def _case_unit(doc: _Doc, organisation: Organisation, unit: str | None, node: GraphNode) -> OrgUnit:
    if unit is not None:
        return organisation.units[unit]
    if len(organisation.units) == 1:
        return next(iter(organisation.units.values()))
    raise doc.fail(
        ("unit",),
        f"step '{node.id}' is done by the units it names (af:step/@units: {' '.join(node.units)}); name the unit "
        "the cases run in with `unit:`, so that its pool can be counted from the organisation file",
    )


def _arrivals(doc: _Doc, value: Any, hours: Hours) -> Arrivals:
    path: Key = ("arrivals",)
    spec = doc.mapping(value, path, {"per_day", "per_hour", "weekday", "hours", "on_days_off", "interarrival"})
    if "interarrival" in spec:
        return Arrivals(interarrival=_distribution(doc, spec["interarrival"], (*path, "interarrival")))
    if ("per_day" in spec) == ("per_hour" in spec):
        raise doc.fail(path, "give one of per_day or per_hour (or interarrival)")
    weekday = [1.0] * 7
    for k, v in doc.mapping(spec.get("weekday"), (*path, "weekday"), set(_WEEKDAYS)).items():
        weekday[_WEEKDAYS.index(k)] = doc.number(v, (*path, "weekday", k))
    if "hours" in spec:
        profile = [0.0] * 24
        for k, v in doc.mapping(spec["hours"], (*path, "hours")).items():
            if not k.isdigit() or int(k) > 23:
                raise doc.fail((*path, "hours", k), f"expected an hour 0..23, found {k!r}")
            profile[int(k)] = doc.number(v, (*path, "hours", k))
    else:  # the share of each hour inside office hours (Monday's)
        profile = [sum(max(0.0, min(b, (h + 1) * 3600.0) - max(a, h * 3600.0)) for a, b in hours.weekly[0]) / 3600.0
                   for h in range(24)]  # fmt: skip
    if sum(profile) <= 0:
        raise doc.fail(path, "the hour profile has no hour with arrivals")
    base = doc.number(spec["per_day"], (*path, "per_day")) / sum(profile) if "per_day" in spec else None
    if base is None:
        base = doc.number(spec["per_hour"], (*path, "per_hour"))
    rates = tuple(tuple(base * weekday[d] * profile[h] for h in range(24)) for d in range(7))
    days_off = spec.get("on_days_off", False)
    if not isinstance(days_off, bool):
        raise doc.fail((*path, "on_days_off"), "expected true or false")
    return Arrivals(per_hour=rates, on_days_off=days_off)


def _steps(
    doc: _Doc,
    value: Any,
    graph: ProcessGraph,
    staff: dict[str, int],
    *,
    org: tuple[Organisation, str | None] | None = None,
) -> dict[str, StepSpec]:
    given = doc.mapping(value, ("steps",))
    tasks = {n.id: n for n in graph.tasks()}
    for sid in given:
        if sid not in tasks:
            raise doc.fail(("steps", sid), f"no step '{sid}' in {graph.file} (steps: {', '.join(tasks)})")
    steps: dict[str, StepSpec] = {}
    for node in graph.tasks():
        if node.id not in given:
            raise doc.fail(("steps",), f"no duration for step '{node.id}' ({node.file}, line {node.line})")
        path: Key = ("steps", node.id)
        raw = given[node.id]
        if isinstance(raw, dict) and "duration" in raw:
            spec = doc.mapping(raw, path, {"duration", "after", "post", "repeat", "approve", "signers"})
            duration = _distribution(doc, spec["duration"], (*path, "duration"))
            after = _distribution(doc, spec["after"], (*path, "after")) if "after" in spec else None
            post = spec.get("post")
            if post is not None and not isinstance(post, str):
                raise doc.fail((*path, "post"), "expected a post id")
        else:
            duration, after, post = _distribution(doc, raw, path), None, None
        if org is not None and node.units and node.step is not None and not post:
            # the people of the units the step names do it, not the case unit's pool of the same post
            name, people = step_pool(node.step, org[0], _case_unit(doc, org[0], org[1], node))
            staff.setdefault(name, len(people))
            if staff[name] <= 0:
                raise doc.fail(
                    path,
                    f"nobody may do step '{node.id}' (pool {name}: af:step/@units names the units whose people "
                    "holding its posts do it): give staff",
                )
            steps[node.key] = StepSpec(duration, name, after)
            continue
        posts = (post,) if post else node.posts
        pool = next((p for p in posts if staff.get(p, 0) > 0), None)
        if posts and pool is None:
            raise doc.fail(path, f"nobody holds post {' or '.join(posts)} for step '{node.id}': give staff")
        steps[node.key] = StepSpec(duration, pool, after)
    return steps


def _repeats(doc: _Doc, value: Any, graph: ProcessGraph) -> dict[str, dict[str, float]]:
    """``steps.<id>.repeat`` of each loop task with a loopCondition: the probability that the condition holds at
    each check (the task is done again), as ``{"again": p}`` under its ``rep`` node's key."""
    given = doc.mapping(value, ("steps",))
    loops = {n.id: n for n in graph.loops()}
    out: dict[str, dict[str, float]] = {}
    for sid, raw in given.items():
        if not isinstance(raw, dict) or "repeat" not in raw:
            continue
        path: Key = ("steps", sid, "repeat")
        node = loops.get(sid)
        if node is None or node.loop is None or node.loop.condition is None:
            why = "has no loopCondition: it is done loopMaximum times" if node is not None else "is no loop task"
            raise doc.fail(path, f"step '{sid}' {why}, so it takes no probability of repeating")
        p = doc.number(raw["repeat"], path)
        if p > 1 or (p == 1 and node.loop.maximum is None):
            raise doc.fail(path, f"expected a probability in [0, 1) (1 only with a loopMaximum), found {p!r}")
        out.update((n.key, {"again": p}) for n in graph.loops() if n.id == sid)
    for sid, node in loops.items():
        if node.loop is not None and node.loop.condition is not None and node.key not in out:
            raise doc.fail(("steps", sid), f"loop task '{sid}' ({node.file}, line {node.line}) needs `repeat`: the "
                                           "probability that its loopCondition holds at each check")  # fmt: skip
    return out


def _inclusive(doc: _Doc, value: Any, node: GraphNode) -> dict[str, float]:
    """The probability of each non-default flow of inclusive split ``node``, each in [0, 1], taken independently."""
    path: Key = ("branches", node.id)
    if isinstance(value, dict) and node.default is not None and node.default in value:
        raise doc.fail(
            (*path, node.default),
            f"flow '{node.default}' is the default flow of inclusive gateway '{node.id}': it is taken when no "
            "other flow is, and has no probability of its own",
        )
    allowed = [f for f in node.flows if f != node.default]
    probs = doc.mapping(value, path, set(allowed))
    values = {f: doc.number(p, (*path, f)) for f, p in probs.items()}
    for f, p in values.items():
        if p > 1:
            raise doc.fail((*path, f), f"expected a probability in [0, 1], found {p!r}")
    missing = [f for f in allowed if f not in values]
    if missing:
        raise doc.fail(path, f"no probability for flow(s) {', '.join(missing)} of inclusive gateway '{node.id}' "
                             "(each flow is taken by its own probability)")  # fmt: skip
    if node.default is None and not any(values.values()):
        raise doc.fail(path, f"no flow of inclusive gateway '{node.id}' has a probability > 0, and it has no "
                             "default flow")  # fmt: skip
    return values


def _signing(doc: _Doc, value: Any, graph: ProcessGraph, steps: dict[str, StepSpec]) -> dict[str, StepSpec]:
    """``approve`` and ``signers`` of the signed multi-instance steps (会签...), refused on any other step."""
    given = doc.mapping(value, ("steps",))
    for node in graph.tasks():
        raw = given.get(node.id)
        spec = raw if isinstance(raw, dict) else {}
        path: Key = ("steps", node.id)
        rule = node.step.countersign if node.kind == "sign" and node.step is not None else None
        if rule is None:
            for k in ("approve", "signers"):
                if k in spec:
                    raise doc.fail((*path, k), f"'{k}' is for a signed multi-instance step; '{node.id}' is not one")
            continue
        approve = doc.number(spec.get("approve", 1.0), (*path, "approve"))
        if approve > 1:
            raise doc.fail((*path, "approve"), f"expected a probability from 0 to 1, found {approve:g}")
        fixed, count = bpmn_signers(rule), spec.get("signers")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000):
            raise doc.fail((*path, "signers"), f"expected a whole number of signers from 1 to 1000, found {count!r}")
        if count is not None and fixed is not None:
            raise doc.fail((*path, "signers"), f"the BPMN fixes the signers of '{node.id}' ({fixed}); remove this key")
        if count is None and fixed is None:
            source = f"loopCardinality {rule.cardinality!r}"
            source = f"signersFrom '{rule.signers_from}'" if rule.signers_from else source
            raise doc.fail(
                path, f"the signers of '{node.id}' come from case data ({source}, {node.file}, line {node.line}): "
                f"give their number as steps.{node.id}.signers",
            )  # fmt: skip
        steps[node.key] = replace(steps[node.key], approve=approve, signers=count or fixed)
    return steps


def _branches(doc: _Doc, value: Any, graph: ProcessGraph) -> dict[str, dict[str, float]]:
    given = doc.mapping(value, ("branches",))
    splits = {n.id: n for n in graph.splits()}
    ors = {n.id: n for n in graph.inclusive_splits()}
    for gid in given:
        if gid not in splits and gid not in ors:
            raise doc.fail(("branches", gid), f"no exclusive or inclusive split '{gid}' in {graph.file}")
    out: dict[str, dict[str, float]] = {}
    for gid, node in ors.items():
        if gid not in given:
            raise doc.fail(
                ("branches",), f"no branch probabilities for inclusive gateway '{gid}' ({node.file}, line {node.line})"
            )
        values = _inclusive(doc, given[gid], node)
        out.update((nd.key, values) for nd in graph.nodes if nd.id == gid and nd.kind == "or")
    for gid, node in splits.items():
        if gid not in given:
            raise doc.fail(
                ("branches",), f"no branch probabilities for gateway '{gid}' ({node.file}, line {node.line})"
            )
        probs = doc.mapping(given[gid], ("branches", gid), set(node.flows))
        values = {f: doc.number(p, ("branches", gid, f)) for f, p in probs.items()}
        if abs(sum(values.values()) - 1.0) > 1e-6:
            raise doc.fail(("branches", gid), f"probabilities add up to {sum(values.values()):g}, not 1")
        for nd in graph.nodes:
            if nd.id == gid and nd.kind == "xor":
                out[nd.key] = values
    return out


def load_yaml_model(file: Path, *, bpmn: str | Path | None = None) -> SimulationModel:
    """Read the project's YAML model (``bpmn`` overrides its ``process``)."""
    doc = _Doc(file)
    top = doc.mapping(doc.data, (), _TOP)
    if not top:
        raise doc.fail((), "the model is empty")
    process = Path(bpmn) if bpmn is not None else doc.path(top.get("process"), ("process",))
    pid = top.get("process_id")
    graph = compile_bpmn(process, process_id=str(pid) if pid else None)
    cal = doc.mapping(top.get("calendar"), ("calendar",), {"days", "hours", "fallback", "supplements"})
    kind = cal.get("days", "china")
    if kind not in ("china", "weekdays", "every-day"):
        raise doc.fail(("calendar", "days"), f"expected china, weekdays or every-day, found {kind!r}")
    sup = cal.get("supplements") or []
    if not isinstance(sup, list):
        raise doc.fail(("calendar", "supplements"), "expected a list of files")
    supplements = tuple(str(doc.path(s, ("calendar", "supplements", i))) for i, s in enumerate(sup))
    days = DayRule(kind, supplements, bool(cal.get("fallback", False)))
    hours = _hours(doc, cal.get("hours", ["09:00-12:00", "13:30-17:30"]), ("calendar", "hours"))
    unit = top.get("unit")
    staff: dict[str, int] = {}
    org: tuple[Organisation, str | None] | None = None
    if top.get("org") is not None:
        staff, organisation = _org_staff(doc, doc.path(top["org"], ("org",)), str(unit) if unit else None, ("org",))
        org = (organisation, str(unit) if unit else None)
    pool_hours: dict[str, Hours] = {}
    for post, v in doc.mapping(top.get("staff"), ("staff",)).items():
        key: Key = ("staff", post)
        if isinstance(v, dict):
            spec = doc.mapping(v, key, {"count", "hours"})
            v = spec.get("count")
            if "hours" in spec:
                pool_hours[post] = _hours(doc, spec["hours"], (*key, "hours"))
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise doc.fail(key, f"expected a number of people >= 0, found {v!r}")
        staff[post] = v
    steps = _signing(doc, top.get("steps"), graph, _steps(doc, top.get("steps"), graph, staff, org=org))
    used = sorted({s.pool for s in steps.values() if s.pool is not None})
    pools = tuple(Pool(p, staff[p], pool_hours.get(p, hours)) for p in used)
    start = top.get("start", date(2026, 3, 2))
    if isinstance(start, str):
        with contextlib.suppress(ValueError):
            start = date.fromisoformat(start)
    if isinstance(start, datetime):
        start = start.date()
    if not isinstance(start, date):
        raise doc.fail(("start",), f"expected a date YYYY-MM-DD, found {start!r}")
    ints = {}
    for k, lo in (("seed", 0), ("cases", 1), ("yellow_days", 0)):
        v = top.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < lo):
            raise doc.fail((k,), f"expected a whole number >= {lo}, found {v!r}")
        ints[k] = v
    return SimulationModel(
        name=str(top.get("name") or file.stem), source=str(file), graph=graph, steps=steps, pools=pools,
        arrivals=_arrivals(doc, top.get("arrivals"), hours),
        branches=_branches(doc, top.get("branches"), graph) | _repeats(doc, top.get("steps"), graph),
        start=start, days=days, seed=ints["seed"], cases=ints["cases"],
        yellow_days=ints["yellow_days"] if ints["yellow_days"] is not None else 1,
    )  # fmt: skip
