"""Replay simulated cases on the real engine: the proof that the simulator only walks paths the engine accepts.

The simulator runs a process in a fast, compiled form of its own. :func:`replay_traces` takes a sample of the
cases it simulated (each a :class:`Trace`: the steps completed in order, and for each exclusive gateway the
sequence flows it took, in order) and drives every one through :func:`approvalflow.start_case` and
:meth:`Case.complete <approvalflow.engine.case.Case.complete>` under the ``enforce`` policy, with a
:class:`~approvalflow.time.clock.FakeClock`:

- **gateway data**: after each step, a small token walk over the BPMN graph (following the trace's decisions,
  entering called processes and embedded sub-processes, waiting at parallel joins, sending a token down each flow
  an inclusive split took and waiting at its inclusive join for exactly those) tells which gateways the
  engine will evaluate before the next step; case data is then searched (small candidate values and the
  constants the conditions compare with) so that each condition picks exactly the flow the trace took (at an
  inclusive split, exactly the set of flows: :func:`~approvalflow.bpmn.steering.steer_set`; at each check of a
  loop task, its ``loopCondition`` holds exactly when the trace does the task again). For a process with
  inclusive gateways or loop tasks, the engine's ready steps are compared after every step with the steps the
  walk's tokens wait at, so that an engine that makes a step ready too early diverges. A
  collective step's ``<step>_passed`` is steered by the votes of its meeting record instead, since the engine
  sets it from the record.
- **actors**: someone whom :func:`~approvalflow.rules.checks.keeps_off` lets do the step (the engine's own
  decision: of the unit doing it, the case's or those it names in ``af:step/@units``, holding one of its posts,
  never a principal on a step of the five domains, 五不直接分管) and who breaks no other rule: the first handler
  again for ``af:sameActorAs``, nobody from an ``af:separateFrom`` step, nobody with a declared conflict (回避);
  the least-used person first. A collective step (三重一大) gets a full meeting of its group in the unit
  (``af:collective/@group``, from the organisation file), the ``lastSpeaker`` post last (末位表态).
- **time**: the trace's own completion moments when it has them; else one minute apart, but never before an
  ``af:minDuration`` has run (征求意见期不少于30日).

Each trace gets a :class:`TraceReplay`: accepted or not, the engine's path, the first divergence (position in the
trace, the step the trace wanted, what the engine had ready, why) and the engine's findings. A trace that names
the findings it expects (``findings``: rule ids) is accepted only when the engine records the same.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..bpmn.inclusive import inclusive_blocks
from ..bpmn.loader import ProcessDefinition
from ..bpmn.model import FlowInfo
from ..bpmn.steering import steer_set
from ..engine.case import Case, Policy, start_case
from ..errors import ApprovalflowError, InvalidTypeError, StepRefused
from ..org.organisation import Organisation, party_key
from ..rules.checks import Finding, keeps_off
from ..time.clock import FakeClock, parse_moment
from ..time.periods import period_deadline
from .compile import StandardLoop, loop_tasks, subprocess_parents
from .replay_signing import outcome, read_signatures, signed_keys, signer_data

__all__ = ["Divergence", "ReplayReport", "Trace", "TraceReplay", "as_trace", "replay_actors", "replay_traces"]

_WAITING_KINDS = frozenset({"userTask", "manualTask", "task"})  # the engine stops there for a person
_DECIDING_KINDS = frozenset({"exclusiveGateway", "inclusiveGateway", "eventBasedGateway"})
Decision = str | tuple[str, ...]
"""What a gateway did on one visit: the flow it took, or the flows an inclusive split took together."""
_MAX_WALK = 10_000
_APPLICANT = "模拟申请人"
_DEFAULT_START = "2026-03-02T09:00:00+08:00"  # a Monday


@dataclass(frozen=True)
class Trace:
    """One simulated case: ``steps`` completed in order; ``gateways``: gateway id -> the flows it took, in order
    (a visit of an inclusive split took a set of flows: a tuple of flow ids; a loop task's id -> each check of its
    loopCondition, ``again`` or ``done``).

    Optional: ``start`` (when the case arrived), ``times`` (when each step was completed: moments, or hours after
    the case start), ``findings`` (the rule ids the simulator expects the engine to record, e.g. ``case-overdue``),
    ``complete`` (False for a case still running when the simulation stopped) and ``case`` (a label).
    """

    steps: tuple[str, ...]
    gateways: Mapping[str, tuple[Decision, ...]] = field(default_factory=dict)
    start: datetime | None = None
    times: tuple[datetime, ...] | None = None
    findings: tuple[str, ...] | None = None
    complete: bool = True
    case: str | None = None
    signatures: Mapping[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    """Per signed multi-instance step (会签...): ``(instance, opinion)`` of each signature, in the order signed."""
    signers: Mapping[str, int] = field(default_factory=dict)
    """Per signed step: its number of signers (the simulation model's, when the BPMN takes it from case data)."""
    timers: Mapping[str, tuple[datetime, ...]] | None = None
    """Per timer event: the moments it fired (None: the trace does not say, and firings are not compared)."""
    end: datetime | None = None
    """When the case ended (timers due by then fire before the replay checks that the case is completed)."""


@dataclass(frozen=True)
class Divergence:
    """Where engine and trace part: at ``position`` of the trace the trace did ``expected`` (None: it had ended)."""

    position: int
    expected: str | None
    ready: tuple[str, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "expected": self.expected, "ready": list(self.ready), "reason": self.reason}


@dataclass(frozen=True)
class TraceReplay:
    """The outcome of one trace on the engine."""

    index: int
    case: str | None
    accepted: bool
    expected: tuple[str, ...]
    path: tuple[str, ...]
    divergence: Divergence | None
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "case": self.case,
            "accepted": self.accepted,
            "expected": list(self.expected),
            "path": list(self.path),
            "divergence": self.divergence.to_dict() if self.divergence else None,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class ReplayReport:
    """Every trace replayed on the engine, with totals."""

    process: str
    results: tuple[TraceReplay, ...]

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.results if r.accepted)

    @property
    def all_accepted(self) -> bool:
        return self.accepted == self.total

    @property
    def rejected(self) -> list[TraceReplay]:
        return [r for r in self.results if not r.accepted]

    def finding_counts(self) -> dict[str, int]:
        """How many findings of each rule the engine recorded over all traces."""
        return dict(sorted(Counter(f.rule for r in self.results for f in r.findings).items()))

    def summary(self) -> str:
        """One line for people, e.g. ``200 of 200 traces of general_licensing accepted by the engine``."""
        text = f"{self.accepted} of {self.total} traces of {self.process} accepted by the engine"
        counts = self.finding_counts()
        if counts:
            text += "; findings: " + ", ".join(f"{rule} {n}" for rule, n in counts.items())
        first = next(iter(self.rejected), None)
        if first is not None and first.divergence is not None:
            d = first.divergence
            text += f"; first rejected: trace {first.index} at step {d.position} ({d.expected or 'end'}): {d.reason}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "total": self.total,
            "accepted": self.accepted,
            "findings": self.finding_counts(),
            "traces": [r.to_dict() for r in self.results],
        }


# -- reading traces ----------------------------------------------------------------------------------------------
def _field(obj: object, *names: str) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def as_trace(obj: object, *, start: datetime | None = None) -> Trace:
    """A :class:`Trace` from a trace, a mapping or an object with ``steps`` (or ``path``) and ``gateways``.

    Numbers in ``start`` and ``times`` are hours after ``start`` (the replay's start) and after the case start.
    """
    if isinstance(obj, Trace):
        return obj
    steps = _field(obj, "steps", "path")
    if steps is None or isinstance(steps, str):
        raise InvalidTypeError(f"a trace needs 'steps', a list of step ids; got {type(obj).__name__}")
    gateways = _field(obj, "gateways", "decisions") or {}
    begin = _moment(_field(obj, "start", "arrival"), start)
    times = _field(obj, "times")
    if times is not None:
        times = tuple(_moment(t, begin) for t in times)
        if len(times) != len(steps):
            raise InvalidTypeError(f"a trace has {len(steps)} steps but {len(times)} times")
    found = _field(obj, "findings")
    signatures, signers = read_signatures(_field(obj, "signatures"), _field(obj, "signers"))
    end = _moment(_field(obj, "end"), begin) if _field(obj, "end") is not None else None
    return Trace(
        tuple(str(s) for s in steps),
        {str(g): tuple(_decision(f) for f in flows) for g, flows in dict(gateways).items()},
        begin,
        times,
        tuple(str(r) for r in found) if found is not None else None,
        _field(obj, "complete", "completed") is not False,
        str(label) if (label := _field(obj, "case", "id")) is not None else None,
        signatures, signers, _firings(_field(obj, "timers"), begin), end,
    )  # fmt: skip


def _firings(value: object, begin: datetime | None) -> dict[str, tuple[datetime, ...]] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(v, list | tuple) for v in value.values()):
        raise InvalidTypeError("a trace's timers map each timer event to the moments it fired")
    return {str(k): tuple(_moment(t, begin) for t in v) for k, v in value.items()}


def _decision(value: object) -> Decision:
    """One visit's decision: a flow id, or (an inclusive split) the flow ids taken together."""
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(str(f) for f in value)
    return str(value)


def _flows_of(decision: Decision) -> tuple[str, ...]:
    return (decision,) if isinstance(decision, str) else decision


def _show(decision: Decision) -> str:
    return decision if isinstance(decision, str) else "{" + ", ".join(decision) + "}"


def _moment(value: object, base: datetime | None) -> Any:
    if value is None:
        return base
    if isinstance(value, int | float) and not isinstance(value, bool):
        if base is None:
            raise InvalidTypeError("a time given in hours needs a start moment")
        return base + timedelta(hours=float(value))
    if isinstance(value, str | datetime):
        return parse_moment(value)
    raise InvalidTypeError(f"a moment is a datetime, an ISO 8601 string or hours after the start; got {value!r}")


# -- which gateways the engine evaluates next -------------------------------------------------------------------
class _Stop(ApprovalflowError):
    """The trace cannot be followed on the model (a decision missing or impossible)."""


class _Tokens:
    """A token walk over the BPMN graph that follows the trace's gateway decisions."""

    def __init__(
        self,
        definition: ProcessDefinition,
        decisions: Mapping[str, Sequence[Decision]],
        inside: Mapping[str, str],
        loops: Mapping[str, StandardLoop] | None = None,
    ) -> None:
        self.d = definition
        self.loops = loops or {}  # loop tasks (standardLoopCharacteristics) by id
        self.inside = inside  # flow node -> the embedded sub-process it is directly in
        self.sub_starts: dict[str, list[str]] = {}
        for node, sub in inside.items():
            if (info := definition.nodes.get(node)) is not None and info.kind == "startEvent":
                self.sub_starts.setdefault(sub, []).append(node)
        self.out: dict[str, list[FlowInfo]] = {}
        self.inflow: Counter[str] = Counter()
        for flow in definition.flows.values():
            self.out.setdefault(flow.source, []).append(flow)
            self.inflow[flow.target] += 1
        self.decisions = {g: list(flows) for g, flows in decisions.items()}
        self.used: Counter[str] = Counter()
        self.arrived: Counter[str] = Counter()
        self.called = {a: p for info in definition.processes.values() for a, p in info.called.items()}
        self.calls: dict[str, list[str]] = {}
        self.or_join, self.or_problem = _inclusive_joins(definition, self.out)
        self.or_need: dict[str, int] = {}  # inclusive join -> the tokens its split sent
        self.waiting: Counter[str] = Counter()  # steps with a token waiting
        # with inclusive gateways or loop tasks, the engine's ready steps are checked against the tokens after each step
        self.strict = bool(self.loops) or "inclusiveGateway" in {n.kind for n in definition.nodes.values()}

    def start(self) -> list[tuple[str, tuple[str, ...]]]:
        starts = [
            n.id
            for n in self.d.nodes.values()
            if n.kind == "startEvent" and n.process == self.d.id and n.id not in self.inside
        ]
        return self.after(starts)

    def after(self, nodes: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
        """The (gateway, flows) decisions taken from ``nodes`` on until every token waits at a step or a join."""
        taken: list[tuple[str, tuple[str, ...]]] = []
        todo = [f for n in nodes for f in self.out.get(n, [])]
        for _ in range(_MAX_WALK):
            if not todo:
                return taken
            todo += self._enter(todo.pop(0), taken)
        raise _Stop("the model loops without reaching a step")

    def _enter(self, flow: FlowInfo, taken: list[tuple[str, tuple[str, ...]]]) -> list[FlowInfo]:
        node = self.d.nodes[flow.target]
        outgoing = self.out.get(node.id, [])
        if node.kind in _WAITING_KINDS:
            loop = self.loops.get(node.id)
            if loop is not None and loop.test_before and self._loop_check(node.id, taken) == "done":
                return list(outgoing)  # its loopCondition does not hold before the first time: skipped
            self.waiting[node.id] += 1
            return []
        if node.kind == "subProcess" and node.id in self.sub_starts:  # an embedded sub-process: its start
            return [f for s in self.sub_starts[node.id] for f in self.out.get(s, [])]
        if not outgoing and node.id in self.inside:  # the end of an embedded sub-process: on after it
            return list(self.out.get(self.inside[node.id], []))
        if node.kind == "callActivity" and node.id in self.called:
            self.calls.setdefault(self.called[node.id], []).append(node.id)
            starts = [
                n.id for n in self.d.nodes.values() if n.kind == "startEvent" and n.process == self.called[node.id]
            ]
            return [f for s in starts for f in self.out.get(s, [])]
        if node.kind == "endEvent" and self.calls.get(node.process):
            return list(self.out.get(self.calls[node.process].pop(), []))
        if node.kind == "parallelGateway" and self.inflow[node.id] > 1:
            self.arrived[node.id] += 1
            if self.arrived[node.id] < self.inflow[node.id]:
                return []
            self.arrived[node.id] = 0
        if node.kind == "inclusiveGateway" and (len(outgoing) > 1 or self.inflow[node.id] > 1):
            return self._inclusive(node.id, outgoing, taken)
        if node.kind in _DECIDING_KINDS and len(outgoing) > 1:
            return self._decide(node.id, outgoing, taken, inclusive=False)
        return list(outgoing)

    def finished(self, step: str) -> list[tuple[str, tuple[str, ...]]]:
        """``step`` was done: its token moves on (:meth:`after`), unless it is a loop task the trace does again."""
        self.waiting[step] -= 1
        if step not in self.loops:
            return self.after([step])
        taken: list[tuple[str, tuple[str, ...]]] = []
        if self._loop_check(step, taken) == "again":
            self.waiting[step] += 1
            return taken
        return taken + self.after([step])

    def _loop_check(self, step: str, taken: list[tuple[str, tuple[str, ...]]]) -> str:
        """The trace's next check of loop task ``step``: ``again`` or ``done``; its loopCondition is steered."""
        queue = self.decisions.get(step, [])
        n = self.used[step]
        if n >= len(queue):
            raise _Stop(f"the trace has {len(queue)} loop decision(s) for loop task '{step}', the case needs more")
        wanted = queue[n]
        if wanted not in ("again", "done"):
            raise _Stop(f"the trace's loop decision for loop task '{step}' is {_show(wanted)}, not again or done")
        self.used[step] += 1
        if self.loops[step].condition is not None:
            taken.append((step, (wanted,)))
        return wanted

    def flows(self, gateway: str) -> list[FlowInfo]:
        """The flows whose conditions steering looks at: a gateway's outgoing flows, or for a loop task its
        loopCondition as a flow ``again`` (and ``done``, the default, when the condition does not hold)."""
        loop = self.loops.get(gateway)
        if loop is None:
            return self.out[gateway]
        node = self.d.nodes[gateway]
        again = FlowInfo("again", gateway, gateway, node.process, node.line, condition=loop.condition)
        return [again, FlowInfo("done", gateway, gateway, node.process, node.line, default=True)]

    def _inclusive(
        self, gateway: str, outgoing: list[FlowInfo], taken: list[tuple[str, tuple[str, ...]]]
    ) -> list[FlowInfo]:
        """An inclusive split sends a token down each flow the trace took; its join waits for exactly those."""
        if self.or_problem is not None:
            raise _Stop(f"replay cannot follow the inclusive gateways of this process: {self.or_problem}")
        if len(outgoing) > 1:
            flows = self._decide(gateway, outgoing, taken, inclusive=True)
            self.or_need[self.or_join[gateway]] = len(flows)
            return flows
        need = self.or_need.get(gateway)
        if need is None:
            raise _Stop(f"a token reaches inclusive join '{gateway}' that its split did not send")
        self.arrived[gateway] += 1
        if self.arrived[gateway] < need:
            return []
        self.arrived[gateway] = 0
        del self.or_need[gateway]
        return list(outgoing)

    def _decide(
        self, gateway: str, outgoing: list[FlowInfo], taken: list[tuple[str, tuple[str, ...]]], *, inclusive: bool
    ) -> list[FlowInfo]:
        queue = self.decisions.get(gateway, [])
        n = self.used[gateway]
        if n >= len(queue):
            raise _Stop(
                f"the case reaches gateway '{gateway}' for the {_nth(n + 1)} time, "
                f"but the trace has {len(queue)} decision(s) for it"
            )
        wanted = _flows_of(queue[n])
        flows = [f for f in outgoing if f.id in wanted]
        ids = ", ".join(f.id for f in outgoing)
        what = f"flow '{queue[n]}'" if isinstance(queue[n], str) else f"flows {_show(queue[n])}"
        if len(flows) != len(set(wanted)) or not wanted:
            raise _Stop(f"the trace takes {what} at gateway '{gateway}', which leaves only by {ids}")
        if len(wanted) > 1 and not inclusive:
            raise _Stop(f"the trace takes {what} at gateway '{gateway}', which takes one flow")
        self.used[gateway] += 1
        taken.append((gateway, tuple(f.id for f in flows)))
        return flows

    def unused(self) -> dict[str, list[Decision]]:
        return {g: q[self.used[g] :] for g, q in self.decisions.items() if len(q) > self.used[g]}


def _inclusive_joins(
    definition: ProcessDefinition, out: Mapping[str, list[FlowInfo]]
) -> tuple[dict[str, str], str | None]:
    """Each inclusive split with its join (:func:`~approvalflow.bpmn.inclusive.inclusive_blocks`), and why
    there are none when an inclusive gateway is not used as a block."""
    kinds = {n.id: n.kind for n in definition.nodes.values()}
    if "inclusiveGateway" not in kinds.values():
        return {}, None

    def fail(node: str, why: str) -> _Stop:
        return _Stop(f"'{node}': {why}")

    try:
        return inclusive_blocks(kinds, {n: [f.target for f in fs] for n, fs in out.items()}, fail), None
    except _Stop as stop:
        return {}, str(stop)


def _nth(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")


# -- data that steers the gateways (the search itself is bpmn.steering's) -----------------------------------------
def _steer(
    tokens: _Tokens,
    decisions: Sequence[tuple[str, tuple[str, ...]]],
    base: Mapping[str, object],
    owned: str | None,
    kept: Iterable[str] = (),
) -> dict[str, object]:
    """Case data under which each gateway in ``decisions`` takes its flows; ``owned`` is set by a meeting record,
    ``kept`` by the engine (a signed step's outcome keys), never steered."""
    chosen: dict[str, object] = {}
    for gateway, wanted in decisions:
        found = steer_set(tokens.flows(gateway), wanted, {**base, **chosen}, fixed=[*chosen, *kept], owned=owned)
        if found is None:
            what = f"flow '{wanted[0]}' alone" if len(wanted) == 1 else f"exactly the flows {', '.join(wanted)}"
            raise _Stop(f"no case data makes gateway '{gateway}' take {what}")
        chosen.update(found)
    return chosen


# -- actors and meetings ----------------------------------------------------------------------------------------
def _holds(case: Case, person: str, posts: Iterable[str]) -> bool:
    held = case.organisation.people[person].posts
    return any(p in held or (p == "principal" and case.unit.principal == person) for p in posts)


def replay_actors(case: Case, step: str) -> list[str]:
    """People who may complete ``step`` now without breaking a segregation rule, least used first."""
    info, org = case.definition.steps[step], case.organisation
    people = sorted(p.id for p in org.people.values() if not keeps_off(info, p, case.unit, org))
    done = {s: [c.actor for c in case.history if c.step == s] for s in {*info.separate_from, info.same_actor_as}}
    if info.same_actor_as and done.get(info.same_actor_as):
        people = [p for p in people if p == done[info.same_actor_as][-1]]
    barred = {a for s in info.separate_from for a in done.get(s, [])}
    people = [p for p in people if p not in barred and not case.organisation.conflicted(p, case.parties)]
    load = Counter(c.actor for c in case.history)
    return sorted(people, key=lambda p: (load[p], p))


def _meeting(case: Case, step: str, passed: bool) -> dict[str, Any] | None:
    info = case.definition.steps[step]
    if info.collective is None:
        return None
    group = case.unit.groups.get(info.collective.group)
    members = list(group.members) if group is not None else []  # no group: rule meeting-members refuses
    last = info.collective.last_speaker
    order = sorted(members, key=lambda m: bool(last and _holds(case, m, (last,))))
    vote = "for" if passed else "against"
    return {"members": members, "present": members, "votes": [[m, vote] for m in order]}


# -- replaying --------------------------------------------------------------------------------------------------
@dataclass
class _Run:
    case: Case
    trace: Trace
    tokens: _Tokens
    moment: datetime
    inner: dict[str, set[str]]
    signing: dict[str, list[tuple[int, str]]]  # signatures still to give, per signed step

    def complete(self, position: int, step: str) -> Divergence | None:
        self._advance(self.trace.times[position] if self.trace.times is not None else None)
        if self.case.definition.steps[step].countersign is not None:  # 会签...: one signature (replay_signing)
            return self.sign(position, step)
        ready = [r for r in self.case.ready_steps() if r.id == step]
        if not ready:
            return self._diverge(position, step, f"'{step}' is not ready in the engine")
        at = self._when(position, step, ready[0].since)
        try:
            decisions = self.tokens.finished(step)
            owned = f"{step}_passed" if self.case.definition.steps[step].collective else None
            data = _steer(self.tokens, decisions, self.case.data, owned, signed_keys(self.case.definition))
        except _Stop as stop:
            return self._diverge(position, step, str(stop))
        passed = bool(data.pop(owned, True)) if owned else True
        meeting = _meeting(self.case, step, passed)
        problem = self._by_first_who_may(
            position, step, replay_actors(self.case, step), f"'{step}'", "nobody in the unit may complete it",
            data=data, meeting=meeting, at=at,
        )  # fmt: skip
        if problem is not None:
            return problem
        return self._ready_as_tokens(position, step) if self.tokens.strict else None

    def _by_first_who_may(
        self, position: int, step: str, actors: list[str], what: str, nobody: str, **attempt: Any
    ) -> Divergence | None:
        """Complete ``step`` as the first of ``actors`` the engine accepts (the others refused by a rule)."""
        refused: list[str] = []
        for actor in actors:
            try:
                self.case.complete(step, actor, **attempt)
            except StepRefused as exc:
                refused = list(exc.rules)
                continue
            except ApprovalflowError as exc:
                return self._diverge(position, step, f"the engine failed: {exc}")
            self.moment = attempt["at"]
            return None
        why = f"refused ({', '.join(refused)})" if refused else nobody
        return self._diverge(position, step, f"{what}: {why}")

    def _ready_as_tokens(self, position: int, step: str) -> Divergence | None:
        """After ``step``: the engine's ready steps are those the trace's tokens wait at (an inclusive join that
        fires before the tokens its split sent have arrived makes a step ready too early)."""
        ready = {r.id for r in self.case.ready_steps()}
        tokens = {s for s, k in self.tokens.waiting.items() if k > 0}
        if ready == tokens:
            return None
        early = ", ".join(sorted(ready - tokens)) or "none"
        missing = ", ".join(sorted(tokens - ready)) or "none"
        why = f"after '{step}' the engine has ready steps the trace has not reached ({early}) or lacks some ({missing})"
        return self._diverge(position + 1, None, why)

    def call(self, position: int, activity: str) -> Divergence | None:
        """A call activity in the trace: complete the called process's steps as they become ready."""
        inner = self.inner[activity]
        if not any(r.id in inner for r in self.case.ready_steps()):
            return self._diverge(position, activity, f"call activity '{activity}' is not running in the engine")
        while ready := [r.id for r in self.case.ready_steps() if r.id in inner]:
            problem = self.complete(position, ready[0])
            if problem is not None:
                return problem
        return None

    def sign(self, position: int, step: str) -> Divergence | None:
        """One signature of a signed step: the trace's instance, by a distinct person, with the trace's opinion."""
        queue = self.signing.get(step)
        if not queue:
            return self._diverge(position, step, f"the trace has no signature for the signed step '{step}'")
        index, opinion = queue.pop(0)
        ready = [r for r in self.case.ready_steps() if r.id == step and r.instance == index]
        if not ready:
            return self._diverge(position, step, f"instance {index} of '{step}' is not ready in the engine")
        at = self._when(position, step, ready[0].since)
        keys = outcome(self.case, step, opinion, self.trace.signers.get(step))
        if keys is not None:  # this signature decides: the engine moves on, through the gateways after the step
            try:
                data = _steer(self.tokens, self.tokens.after([step]), {**self.case.data, **keys}, None,
                              signed_keys(self.case.definition))  # fmt: skip
            except _Stop as stop:
                return self._diverge(position, step, str(stop))
            if data:
                return self._diverge(position, step, f"the gateways after '{step}' need case data ({', '.join(data)}) "
                                     "that a signature does not set")  # fmt: skip
        signed = {o.get("signer") for o in self.case.data.get(f"{step}_opinions") or [] if isinstance(o, dict)}
        assignee = ready[0].assignee
        actors = [assignee] if assignee else [p for p in replay_actors(self.case, step) if p not in signed]
        return self._by_first_who_may(
            position, step, actors, f"instance {index} of '{step}'", "nobody left in the unit may sign it",
            opinion=opinion, instance=index, at=at,
        )  # fmt: skip

    def _advance(self, to: datetime | None) -> None:
        """Fire the timers due by ``to`` (the engine would fire them first at an action then anyway)."""
        if to is not None and self.case.timers():
            self.case.advance(to=to)

    def _when(self, position: int, step: str, since: datetime) -> datetime:
        if self.trace.times is not None:
            return self.trace.times[position]
        at = self.moment + timedelta(minutes=1)
        least = self.case.definition.steps[step].min_duration
        if least is not None:
            at = max(at, period_deadline(self.case.calendar, since, least.value, least.unit).end + timedelta(minutes=1))
        return at

    def _diverge(self, position: int, expected: str | None, reason: str) -> Divergence:
        return Divergence(position, expected, tuple(r.id for r in self.case.ready_steps()), reason)


def _inner_steps(definition: ProcessDefinition) -> dict[str, set[str]]:
    """For each call activity, the steps of the processes it runs (directly or through further calls)."""
    called = {a: p for info in definition.processes.values() for a, p in info.called.items()}

    def steps_of(process: str, seen: frozenset[str]) -> set[str]:
        found = {s for s, info in definition.steps.items() if info.node.process == process and s not in called}
        for activity, sub in called.items():
            if definition.nodes[activity].process == process and sub not in seen:
                found |= steps_of(sub, seen | {sub})
        return found

    return {a: steps_of(p, frozenset({p})) for a, p in called.items()}


def _replay_one(
    index: int,
    trace: Trace,
    definition: ProcessDefinition,
    organisation: Organisation,
    unit: str | None,
    inside: Mapping[str, str],
    loops: Mapping[str, StandardLoop],
) -> TraceReplay:
    tokens = _Tokens(definition, trace.gateways, inside, loops)
    begin = trace.start or parse_moment(_DEFAULT_START)
    parties = {party_key(c) for cs in organisation.conflicts.values() for c in cs}
    names = itertools.chain([_APPLICANT], (f"{_APPLICANT}{i}" for i in itertools.count(2)))
    applicant = next(a for a in names if party_key(a) not in parties)
    divergence: Divergence | None = None
    try:
        data = {"applicant": applicant, **signer_data(definition, organisation, unit, trace.signers)}
        data.update(_steer(tokens, tokens.start(), data, None, signed_keys(definition)))
    except _Stop as stop:
        data, divergence = {"applicant": applicant}, Divergence(0, next(iter(trace.steps), None), (), str(stop))
    case = start_case(definition, organisation, unit=unit, clock=FakeClock(begin), data=data, policy=Policy.ENFORCE,
                      case_id=trace.case or f"replay-{index}")  # fmt: skip
    run = _Run(case, trace, tokens, begin, _inner_steps(definition), {s: list(q) for s, q in trace.signatures.items()})
    for position, step in enumerate(trace.steps):
        if divergence is not None:
            break
        divergence = run.call(position, step) if step in run.inner else run.complete(position, step)
    if divergence is None:
        divergence = _at_end(run, len(trace.steps))
    findings = tuple(case.findings)
    if divergence is None and trace.findings is not None:
        got, want = sorted(f.rule for f in findings), sorted(trace.findings)
        if got != want:
            reason = f"findings differ: the engine recorded {got or 'none'}, the trace expects {want or 'none'}"
            divergence = Divergence(len(trace.steps), None, (), reason)
    return TraceReplay(index, trace.case, divergence is None, trace.steps, tuple(case.path), divergence, findings)


def _at_end(run: _Run, position: int) -> Divergence | None:
    left = {s: q for s, q in run.signing.items() if q}
    if left:
        listed = "; ".join(f"{s}: {len(q)}" for s, q in left.items())
        return run._diverge(position, None, f"the trace has signatures the case never asked for ({listed})")
    unused = run.tokens.unused()
    if unused:
        listed = "; ".join(f"{g}: {', '.join(_show(d) for d in flows)}" for g, flows in unused.items())
        return run._diverge(position, None, f"the trace has gateway decisions the case never reached ({listed})")
    run._advance(run.trace.end)
    if run.trace.complete and not run.case.is_completed:
        return run._diverge(position, None, "the trace ends but the case is not completed in the engine")
    if run.trace.timers is not None:
        fired = _timer_firings(run.case)
        if fired != _rounded(run.trace.timers):
            return run._diverge(position, None, f"timers fired differ: the engine fired {fired}, the trace "
                                f"{_rounded(run.trace.timers)}")  # fmt: skip
    return None


def _timer_firings(case: Case) -> dict[str, list[datetime]]:
    """The timer events the engine fired in ``case``, each with its moments (to the second)."""
    fired: dict[str, list[datetime]] = {}
    for entry in case.trail.entries:
        if entry.get("action") == "timer" and entry.get("outcome") == "fired":
            at = datetime.fromisoformat(str(entry["at"]))
            fired.setdefault(str(entry["data"]["timer"]), []).append(_second(at))
    return fired


def _rounded(timers: Mapping[str, Sequence[datetime]]) -> dict[str, list[datetime]]:
    return {k: [_second(t) for t in v] for k, v in timers.items() if v}


def _second(moment: datetime) -> datetime:
    """A moment to the nearest second (a simulated moment and the engine's differ by float rounding only)."""
    return (moment + timedelta(microseconds=500_000)).replace(microsecond=0)


def replay_traces(
    process: ProcessDefinition,
    organisation: Organisation,
    traces: Iterable[object],
    *,
    unit: str | None = None,
    start: datetime | str = _DEFAULT_START,
) -> ReplayReport:
    """Drive each trace through the real engine and report, per trace, whether the engine accepts it.

    ``traces`` are :class:`Trace` objects, mappings or objects with ``steps`` and ``gateways`` (see
    :func:`as_trace`); ``unit`` is the organisation unit the cases run in (the only unit if omitted); ``start`` is
    when a trace without its own start arrives (default: a Monday, 2026-03-02 09:00 in Shanghai).
    """
    begin = parse_moment(start)
    files = {info.file for info in process.processes.values() if info.file is not None}
    inside = subprocess_parents(sorted(files)) if any(n.kind == "subProcess" for n in process.nodes.values()) else {}
    loops = loop_tasks(sorted(files))
    results = []
    for index, raw in enumerate(traces):
        try:
            trace = as_trace(raw, start=begin)
        except TypeError as exc:
            raise InvalidTypeError(f"trace {index}: {exc}") from exc
        if trace.start is None:
            trace = replace(trace, start=begin)
        results.append(_replay_one(index, trace, process, organisation, unit, inside, loops))
    return ReplayReport(process.id, tuple(results))
