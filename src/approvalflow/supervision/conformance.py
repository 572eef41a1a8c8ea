"""``log check``: the conformance of an event log from another system with a process, and the rules on it.

Each trace is aligned with the model's behaviour (:mod:`approvalflow.supervision.alignment`: an optimal
alignment on BPMN's token semantics, :mod:`approvalflow.supervision.procnet`; a synchronous move costs 0, a
log move or a visible model move 1, a silent move 0). Identical activity sequences (variants) are aligned once.
A trace *conforms* when its alignment costs 0: it is a complete run of the model. Its *fitness* is PM4Py's,
``1 - cost / (len(trace) + the fewest visible steps of a complete run)``. Deviations (stable ``kind`` names,
read off the alignment; the human output adds the reform's words):

- ``skipped`` (跳过环节): a step the run needs and the trace lacks (a model move);
- ``unexpected`` (多余环节): an event the run cannot place (a log move);
- ``out-of-order`` (顺序颠倒): a step the trace has, but not where the run needs it (a log move and a model
  move of the same step, reported once at the event);
- ``unknown-activity`` (流程外事项): an event naming no step of the process (by BPMN id or by name);
- ``early-end`` (提前结束): the trace ends while steps are still due (``expected``: the steps of the shortest
  way to the end);
- ``undecided`` (未能判定): the search hit its bound (:data:`~approvalflow.supervision.alignment.MAX_STATES`,
  :data:`~approvalflow.supervision.alignment.TIME_LIMIT`); ``conforms`` is then ``None``, never a guess.

Rule findings (segregation, recusal, 五不直接分管, precedence, backdating, time limits on the working-day
calendar) come from :mod:`approvalflow.supervision.pathrules` on the aligned path; missing and unknown
resources are data-quality findings there (``quality``) and never change the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..bpmn.loader import ProcessDefinition
from ..errors import InvalidInputError, RunError
from ..org.organisation import Organisation, OrgUnit, organisation_from_dict
from ..rules.checks import Finding
from ..time.calendar import ChinaCalendar, WorkingCalendar
from .alignment import MAX_STATES, TIME_LIMIT, Alignment, Move, Net, align, shortest_run
from .eventlog import Trace
from .pathrules import Quality, path_findings
from .procnet import ProcessNet, load_model

__all__ = ["KIND_LABELS", "Deviation", "TraceCheck", "check_log", "check_trace", "log_organisation", "model_of"]

#: The reform's words for each deviation and data-quality kind, shown beside the kind in the human output.
KIND_LABELS = {
    "skipped": "跳过环节",
    "unexpected": "多余环节",
    "out-of-order": "顺序颠倒",
    "unknown-activity": "流程外事项",
    "early-end": "提前结束",
    "undecided": "未能判定",
    "missing-resource": "缺少经办人",
    "unknown-resource": "经办人不在组织中",
    "time-not-checked": "时限未能核对",
}


@dataclass(frozen=True)
class Deviation:
    """Where a trace leaves the process: the kind, the event (0-based index), and what the model expected."""

    kind: str
    index: int | None
    activity: str | None
    expected: tuple[str, ...] = ()
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "event": self.index,
            "activity": self.activity,
            "expected": list(self.expected),
            "message": self.message,
        }


@dataclass
class TraceCheck:
    """The verdict on one trace: its alignment's cost and fitness, deviations, rule and data-quality findings."""

    case: str
    deviations: list[Deviation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    completed: bool = False
    cost: int | None = None
    fitness: float | None = None
    quality: list[Quality] = field(default_factory=list)
    moves: tuple[Move, ...] = ()

    @property
    def conforms(self) -> bool | None:
        """True when the trace is a complete run of the model (cost 0); None when undecided."""
        return None if self.cost is None else self.cost == 0

    @property
    def verdict(self) -> str:
        return {None: "undecided", True: "fit"}.get(self.conforms, "deviates")

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "conforms": self.conforms,
            "verdict": self.verdict,
            "cost": self.cost,
            "fitness": None if self.fitness is None else round(self.fitness, 6),
            "completed": self.completed,
            "path": self.path,
            "deviations": [d.to_json() for d in self.deviations],
            "findings": [
                {"rule": f.rule, "task": f.step, "actor": f.actor, "at": f.at.isoformat() if f.at else None}
                for f in self.findings
            ],
            "quality": [q.to_json() for q in self.quality],
        }


def model_of(process: ProcessNet | ProcessDefinition | str) -> ProcessNet:
    """The token net of a process: a :class:`ProcessNet` as it is, a loaded definition read again from its file."""
    if isinstance(process, ProcessNet):
        return process
    if isinstance(process, ProcessDefinition):
        if process.file is None:
            raise InvalidInputError("this process was loaded from text: give load_model(text) to check a log")
        return load_model(process.file, process_id=process.id)
    return load_model(process)


def log_organisation(traces: Sequence[Trace], net: ProcessNet) -> Organisation:
    """Without an organisation: every resource of the log holds every post, in one unit ``log``."""
    posts = sorted({p for s in net.steps.values() for p in s.posts})
    people = sorted({e.resource for t in traces for e in t.events if e.resource})
    return organisation_from_dict(
        {"units": [{"id": "log"}], "people": {p: {"unit": "log", "posts": posts} for p in people}},
        file="<the event log's resources>",
    )


def _pairs(body: Sequence[Move]) -> dict[int, int]:
    """Log moves and model moves of the same step, paired in order (both ways): one ``out-of-order`` each."""
    paired: dict[int, int] = {}
    for k, m in enumerate(body):
        if m.kind != "log" or m.step is None:
            continue
        twin = next((j for j, x in enumerate(body) if x.kind == "model" and x.step == m.step and j not in paired), None)
        if twin is not None:
            paired[k], paired[twin] = twin, k
    return paired


def _deviations(trace: Trace, moves: Sequence[Move]) -> list[Deviation]:
    """The auditor's deviations read off an alignment (see the module docstring)."""
    last_event = max((k for k, m in enumerate(moves) if m.event is not None), default=-1)
    paired = _pairs(moves)
    tail = [m.step or "" for j, m in enumerate(moves) if j > last_event and m.kind == "model" and j not in paired]
    body = list(moves[: last_event + 1])
    out: list[Deviation] = []
    next_event = 0
    for k, m in enumerate(body):
        if m.event is not None:
            next_event = m.event + 1
        if m.kind == "log" and m.step is None:
            activity = trace.events[m.event or 0].activity
            msg = f"'{activity}' is not a step of the process"
            out.append(Deviation("unknown-activity", m.event, activity, (), msg))
        elif m.kind == "log" and k in paired:
            msg = f"'{m.step}' is in the trace, but not where the process has it"
            out.append(Deviation("out-of-order", m.event, m.step, (m.step or "",), msg))
        elif m.kind == "log":
            msg = f"'{m.step}' cannot happen where the case stands"
            out.append(Deviation("unexpected", m.event, m.step, (), msg))
        elif m.kind == "model" and k not in paired:
            out.append(Deviation("skipped", next_event, m.step, (m.step or "",), f"'{m.step}' was skipped"))
    if tail:
        msg = f"the trace ends while {', '.join(tail)} are due"
        out.append(Deviation("early-end", None, None, tuple(tail), msg))
    return out


def _aligned(net: Net, steps: tuple[str | None, ...], max_states: int, time_limit: float) -> Alignment:
    """The alignment of a variant: events naming no step are log moves, the rest aligned by search."""
    known = [s for s in steps if s is not None]
    found = align(net, known, max_states=max_states, time_limit=time_limit)
    if found.moves is None or found.cost is None:
        return found
    index = [k for k, s in enumerate(steps) if s is not None]
    moves: list[Move] = []
    pending = [k for k, s in enumerate(steps) if s is None]
    for m in found.moves:
        if m.event is not None:
            at = index[m.event]
            while pending and pending[0] < at:
                moves.append(Move("log", pending.pop(0), None))
            m = Move(m.kind, at, m.step, m.transition)
        moves.append(m)
    moves.extend(Move("log", k, None) for k in pending)
    return Alignment(tuple(moves), found.cost + len(steps) - len(known), found.states)


def _unit(trace: Trace, org: Organisation, unit: str | None) -> OrgUnit:
    chosen = unit or next((e.unit for e in trace.events if e.unit in org.units), None)
    try:
        return org.unit(chosen)
    except (KeyError, ValueError) as exc:
        message = f"unknown unit {chosen!r}; units: {', '.join(org.units)}" if chosen else str(exc)
        raise RunError(message, case=trace.case) from exc


class _Checker:
    """Checks the traces of one log against one model, aligning each variant once."""

    def __init__(self, net: ProcessNet, org: Organisation, unit: str | None, cal: WorkingCalendar | None) -> None:
        self.net, self.search, self.org, self.unit = net, Net(net), org, unit
        self.cal = cal if cal is not None else ChinaCalendar()
        self.variants: dict[tuple[str | None, ...], Alignment] = {}
        self.max_states, self.time_limit = MAX_STATES, TIME_LIMIT

    def check(self, trace: Trace) -> TraceCheck:
        result = TraceCheck(trace.case)
        steps = tuple(self.net.step_of(e.activity) for e in trace.events)
        found = self.variants.get(steps)
        if found is None:
            found = self.variants[steps] = _aligned(self.search, steps, self.max_states, self.time_limit)
        if found.moves is None:
            msg = f"no optimal alignment found within the bounds ({found.undecided}); {found.states:,} states"
            result.deviations.append(Deviation("undecided", None, None, (), msg))
            return result
        result.moves, result.cost = found.moves, found.cost
        worst = shortest_run(self.search, max_states=self.max_states, time_limit=self.time_limit)
        if trace.events and worst is not None:
            result.fitness = 1 - (found.cost or 0) / (len(trace.events) + worst)
        result.deviations = _deviations(trace, found.moves)
        result.path = [m.step or "" for m in found.moves if m.kind in ("sync", "model")]
        result.completed = not any(d.kind == "early-end" for d in result.deviations) and bool(trace.events)
        if trace.events:
            facts = path_findings(
                self.net, trace, found.moves, self.org, _unit(trace, self.org, self.unit), self.cal,
                complete=result.completed,
            )  # fmt: skip
            result.findings, result.quality = facts.findings, facts.quality
        return result


def check_trace(
    trace: Trace,
    process: ProcessNet | ProcessDefinition | str,
    organisation: Organisation | None = None,
    *,
    unit: str | None = None,
    calendar: WorkingCalendar | None = None,
) -> TraceCheck:
    """Check one trace; see the module docstring for what is reported."""
    return check_log([trace], process, organisation, unit=unit, calendar=calendar)[0]


def check_log(
    traces: Sequence[Trace],
    process: ProcessNet | ProcessDefinition | str,
    organisation: Organisation | None = None,
    *,
    unit: str | None = None,
    calendar: WorkingCalendar | None = None,
    max_states: int = MAX_STATES,
    time_limit: float = TIME_LIMIT,
) -> list[TraceCheck]:
    """Check every trace of a log against ``process`` (a :class:`ProcessNet`, a loaded definition, a BPMN path).

    Without ``organisation`` every resource of the log holds every post in one unit (only the actor and time
    rules can break). ``max_states`` and ``time_limit`` bound the search of each variant.
    """
    net = model_of(process)
    org = organisation if organisation is not None else log_organisation(traces, net)
    checker = _Checker(net, org, unit if organisation is not None else "log", calendar)
    checker.max_states, checker.time_limit = max_states, time_limit
    return [checker.check(t) for t in traces]
