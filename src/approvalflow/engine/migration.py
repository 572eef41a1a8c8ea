"""Moving a running case from one version of its process to another (流程迁移): plans, checks, the move itself.

A :class:`MigrationPlan` says which process, from which version to which, and how the steps of the old version map
to those of the new one: a step not named maps to the step with the same id (identity), ``steps`` lists the pairs
whose ids differ. :func:`read_plan` reads it from YAML::

    process: general_licensing
    from: 1
    to: 2
    steps:
      review: technical_review     # the old 'review' is the new 'technical_review'

:func:`check_plan` checks it against both definitions before any case is looked at (each pair names a step of each
version, of the same kind, both multi-instance or neither); errors name the plan's file and line.

:func:`migrate_case` moves one case, or says why it cannot (:class:`CaseMigration`, ``refused`` with the reason),
changing nothing then. Only a case waiting at plain steps of the top-level process moves; refused by name, never
approximated:

* a case waiting inside a sub-process or call activity, or on a running call activity;
* a multi-instance round in progress (会签 with signatures given: the round's state has no place in the new shape);
* a case waiting on a timer, a message or a signal, at an event-based gateway, or at a step with boundary events;
* a parallel join waiting for other branches (the branches already done would have to be rebuilt);
* a waiting step with no counterpart in the new version (neither the same id nor a pair), a pair into a step of
  another kind, into a multi-instance step, into a called process, or two waiting steps into one;
* a completed step with no counterpart (the case's history must name steps of the process it runs on);
* a new step whose ``af:requires`` names a step the case never completed (the rule would not hold).

The move builds a new engine workflow on the new version (:func:`approvalflow._spiff.transplant`): the waiting
steps ready, everything on the way to them done, with the case's data. Each waiting step keeps the moment it became
ready; the case's history and path are renamed through the plan; a suspension of the clock stays open only if the
new step also suspends it (else it ends at the moment of the migration, and one starts then for a new step that
suspends). Deadlines are then those of the new version's limits. The trail gets one entry, action ``migrate``,
outcome ``migrated``, with both digests and versions and the mapping used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from .._spiff import open_tasks, transplant
from ..bpmn.loader import ProcessDefinition
from ..errors import DefinitionError, Location, RunError
from ..io.yamlio import load_yaml
from ..rules.checks import Completion
from ..time.caseclock import Suspension
from .case import Case
from .casedata import plain_name
from .eligibility import person_findings
from .empties import UNSET, map_of

__all__ = ["CaseMigration", "MigrationPlan", "check_plan", "migrate_case", "plan_from", "read_plan"]

MAX_PLAN_PAIRS = 10_000
"""Most step pairs a plan may list."""

_REASONS = {
    "inner": "it waits inside a sub-process or call activity at '{element}'",
    "multi-instance": "a multi-instance round of '{element}' is in progress",
    "call": "call activity or sub-process '{element}' is running",
    "event": "it waits on event '{element}' (timer, message or signal)",
    "boundary": "step '{element}' has boundary events armed (they would not be moved)",
    "other": "'{element}' is {state} (e.g. a parallel join waiting for other branches)",
}


@dataclass(frozen=True)
class MigrationPlan:
    """Which process, from which version to which, and the step pairs whose ids differ (others: identity)."""

    process: str
    source: int
    target: int
    steps: Mapping[str, str] = field(default_factory=dict)
    file: str | None = None
    lines: Mapping[str, int | None] = field(default_factory=dict)
    """The line of each key of the plan (``process``, ``from``, ``to``) and of each pair (by old id)."""

    def new_id(self, step: str) -> str:
        """The new version's id for the old step ``step``."""
        return self.steps.get(step, step)

    def at(self, key: str) -> Location:
        return Location(self.file, self.lines.get(key), key)

    def to_json(self) -> dict[str, Any]:
        return {"process": self.process, "from": self.source, "to": self.target, "steps": dict(self.steps)}


def _error(message: str, file: str | None, line: int | None, element: str | None) -> DefinitionError:
    return DefinitionError(message, file=file, line=line, element=element)


def plan_from(doc: Any, *, file: str | None = None, lines: Mapping[str, int | None] | None = None) -> MigrationPlan:
    """A plan from a mapping ``{process, from, to, steps}``; a bad one raises DefinitionError naming the key."""
    where = dict(lines or {})
    if not isinstance(doc, dict):
        raise _error("a migration plan is a mapping with process, from, to and steps", file, where.get(""), None)
    unknown = sorted(str(k) for k in doc if k not in ("process", "from", "to", "steps"))
    if unknown:
        raise _error(f"unknown key '{unknown[0][:60]}' (a plan has process, from, to, steps)", file, None, unknown[0])
    process = doc.get("process")
    if not isinstance(process, str) or not process:
        raise _error("'process' must be the id of a deployed process", file, where.get("process"), "process")
    numbers = []
    for key in ("from", "to"):
        value = doc.get(key)
        if type(value) is not int or value < 1:
            raise _error(f"'{key}' must be a version number (1, 2, ...)", file, where.get(key), key)
        numbers.append(value)
    if numbers[0] == numbers[1]:
        raise _error("'from' and 'to' are the same version: nothing to migrate", file, where.get("to"), "to")
    steps = doc.get("steps") or {}
    if not isinstance(steps, dict):
        raise _error("'steps' must map old step ids to new ones", file, where.get("steps"), "steps")
    if len(steps) > MAX_PLAN_PAIRS:
        raise _error(f"{len(steps):,} step pairs; at most {MAX_PLAN_PAIRS:,}", file, where.get("steps"), "steps")
    pairs: dict[str, str] = {}
    for old, new in steps.items():
        if not isinstance(old, str) or not isinstance(new, str) or not old or not new:
            line = where.get(f"steps.{old}", where.get("steps"))
            raise _error(f"steps: {str(old)[:60]!r}: each pair maps a step id to a step id", file, line, str(old))
        pairs[old] = new
    return MigrationPlan(process, numbers[0], numbers[1], pairs, file, where)


def read_plan(path: str | Path) -> MigrationPlan:
    """Read a plan from a YAML file (bounded as every YAML file the package reads); errors name file and line."""
    data, lines, name = load_yaml(path, error=DefinitionError)
    where: dict[str, int | None] = {"": lines.of(())}
    for key in ("process", "from", "to", "steps"):
        where[key] = lines.of((key,))
    if isinstance(data, dict) and isinstance(data.get("steps"), dict):
        for old in data["steps"]:
            where[f"steps.{old}"] = lines.of(("steps", old))
    return plan_from(data, file=name, lines=where)


def check_plan(plan: MigrationPlan, old: ProcessDefinition, new: ProcessDefinition) -> None:
    """Each pair of the plan names a step of each version, of the same kind and multi-instance shape; both versions
    are of the plan's process. Raises DefinitionError naming the plan's file and line (nothing is looked at yet)."""
    for which, definition in (("from", old), ("to", new)):
        if definition.id != plan.process:
            raise _error(
                f"version {getattr(plan, 'source' if which == 'from' else 'target')} is process '{definition.id}', "
                f"not '{plan.process}'",
                plan.file,
                plan.lines.get("process"),
                "process",
            )
    for source, target in plan.steps.items():
        line = plan.lines.get(f"steps.{source}")
        if source not in old.steps:
            raise _error(f"steps: '{source}' is no step of version {plan.source}", plan.file, line, source)
        if target not in new.steps:
            raise _error(f"steps: '{target}' is no step of version {plan.target}", plan.file, line, source)
        problem = _shape_problem(old, source, new, target)
        if problem:
            raise _error(f"steps: '{source}' -> '{target}': {problem}", plan.file, line, source)


def _shape_problem(old: ProcessDefinition, source: str, new: ProcessDefinition, target: str) -> str | None:
    a, b = old.steps[source], new.steps[target]
    if a.node.kind != b.node.kind:
        return f"a {a.node.kind} cannot become a {b.node.kind}"
    if (a.countersign is None) != (b.countersign is None):
        return "one is a multi-instance step and the other is not"
    return None


@dataclass
class CaseMigration:
    """What a migration does (or would do) to one case: ``outcome`` is ``migrated``, ``would-migrate`` (a dry
    run), ``refused`` (with ``reason``; the case is left as it was) or ``conflict`` (saved by someone else)."""

    case: str
    outcome: str
    reason: str | None = None
    steps: dict[str, str] = field(default_factory=dict)
    """Each waiting step of the old version and the new step it waits at."""
    deadlines: dict[str, list[str | None]] = field(default_factory=dict)
    """``promised``, ``statutory`` and ``step <id>`` (each waiting step's own limit, by its new id): ``[before,
    after]`` (dates), only those that change."""
    cards: list[dict[str, Any]] = field(default_factory=list)
    """The yellow and red cards due at the moment of the migration that the old version did not raise."""

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "outcome": self.outcome,
            "reason": self.reason,
            "steps": self.steps,
            "deadlines": self.deadlines,
            "cards": self.cards,
        }


class _CannotMove(RunError):
    """Why a case cannot migrate (internal: becomes a ``refused`` :class:`CaseMigration`)."""


def migrate_case(
    case: Case,
    plan: MigrationPlan,
    new: ProcessDefinition,
    *,
    at: datetime,
    actor: str | None = None,
    versions: tuple[int, int] | None = None,
) -> CaseMigration:
    """Move ``case`` onto ``new`` as the plan says, or say why not (the case then unchanged); see the module.

    ``at`` is the moment recorded and at which deadlines and cards are compared; ``versions`` (default: the plan's)
    the version numbers written in the trail entry; ``actor`` (a short name, else InvalidInputError) who migrates.
    """
    actor = plain_name(actor, "actor") if actor is not None else None
    try:
        return _migrate(case, plan, new, at, actor, versions or (plan.source, plan.target))
    except _CannotMove as exc:
        return CaseMigration(case.id, "refused", str(exc))


def _migrate(
    case: Case, plan: MigrationPlan, new: ProcessDefinition, at: datetime, actor: str | None, versions: tuple[int, int]
) -> CaseMigration:
    old = case.definition
    waiting, moves, history = _where_it_goes(case, plan, new)
    engine = _engine_for(case, new)
    try:
        workflow, ids = transplant(new._spec, new._subprocess_specs, engine, list(moves.values()), case.data)
    except ValueError as exc:
        raise _CannotMove(str(exc)) from None
    # nothing can refuse the case from here on (reading deadlines may note a provisional year in the trail)
    before = _Before(
        case.deadlines(at),
        {moves[step]: _day(case.step_deadline(step, case._since.get(task, at))) for task, step in waiting.items()},
        {_card_key(_renamed(a.to_json(), plan)) for a in case.alerts(at)},  # a renamed step's card stays
    )
    _apply(case, new, plan, workflow, waiting, moves, ids, history, at)
    case._append(
        action="migrate",
        at=at.isoformat(),
        step=None,
        actor=actor,
        post=None,
        unit=case.unit.id,
        data={
            "process": new.id,
            "from": {"version": versions[0], "digest": old.digest},
            "to": {"version": versions[1], "digest": new.digest},
            "steps": moves,
            "plan": dict(plan.steps),
        },
        findings=[],
        outcome="migrated",
    )
    return _report(case, moves, ids, before, at)


def _rename_operations(
    case: Case, plan: MigrationPlan, waiting: Mapping[str, str], moves: Mapping[str, str], ids: Mapping[str, str]
) -> None:
    """The approval operations' records follow the steps: opinions, notices, handovers, CCs and urges renamed through
    the plan; holdings and steps returned to their doer move to the new engine tasks; the last completion can no
    longer be taken back (撤回 undoes an engine step of the old version)."""
    new_task = {old: ids[moves[step]] for old, step in waiting.items()}

    def renamed(step: str | None) -> str | None:
        return None if step is None else plan.new_id(step)

    # the slots, not the lists (reading a list makes it); empty ones stay the shared empties (engine/empties.py)
    case._opinions = [replace(o, step=plan.new_id(o.step)) for o in case._opinions] or UNSET
    case._notices = [replace(n, step=renamed(n.step)) for n in case._notices] or UNSET
    case._handovers = [replace(h, step=plan.new_id(h.step)) for h in case._handovers] or UNSET
    case._ccs = [replace(n, step=renamed(n.step)) for n in case._ccs] or UNSET
    case._urges = [replace(n, step=renamed(n.step)) for n in case._urges] or UNSET
    case._holdings = map_of(
        (new_task[k], replace(h, step=plan.new_id(h.step))) for k, h in case._holdings.items() if k in new_task
    )
    flow = case._flow.copy()
    flow.last = None
    flow.assigned = map_of((new_task[k], who) for k, who in flow.assigned.items() if k in new_task)
    case._flow = flow


def _holders_still_may(
    case: Case,
    plan: MigrationPlan,
    new: ProcessDefinition,
    waiting: Mapping[str, str],
    moves: Mapping[str, str],
    history: list[Completion],
) -> None:
    """Each waiting step held by a person (签收, 转办, 委派, or returned to its doer) moves only if that person may
    still do its new step under the rules (its posts may have changed): else the case cannot move, by name."""
    for key, step in waiting.items():
        holding = case._holdings.get(key)
        people = [p for p in (case._flow.assigned.get(key), holding and holding.holder, holding and holding.delegate)
                  if p]  # fmt: skip
        info = new.steps[moves[step]]
        for who in dict.fromkeys(people):
            person = case.organisation.person(who)
            if person is None:
                raise _CannotMove(f"step '{step}' is held by {who}, who is not a person of the organisation")
            found = person_findings(case, info, person, at=case.clock.now(),
                                    since=case._since.get(key, case.started_at), history=history)  # fmt: skip
            refused = sorted({f.rule for f in found})
            if refused:
                raise _CannotMove(
                    f"step '{step}' is held by {who}, who may not do '{info.id}' in version {plan.target} "
                    f"({', '.join(refused)}): give it back (退签) or transfer it first"
                )


def _where_it_goes(
    case: Case, plan: MigrationPlan, new: ProcessDefinition
) -> tuple[dict[str, str], dict[str, str], list[Completion]]:
    """The waiting steps (engine task id -> step), where each goes, and the renamed history (and so path); or
    :class:`_CannotMove` naming why the case cannot move."""
    old = case.definition
    if case.is_completed or case.ended_at is not None:
        raise _CannotMove("the case has ended")
    if case._timers:
        raise _CannotMove(f"it waits on timer '{sorted(t.element for t in case._timers.values())[0]}'")
    waiting: dict[str, str] = {}  # old engine task id -> old step
    for task in open_tasks(case.engine_workflow):
        if task.kind != "step":
            raise _CannotMove(_REASONS[task.kind].format(element=task.element, state=task.state.lower()))
        waiting[task.id] = task.element
    if not waiting:
        raise _CannotMove("it waits at no step")
    moves = {step: plan.new_id(step) for step in waiting.values()}
    for step, target in moves.items():
        if target not in new.steps:
            raise _CannotMove(
                f"step '{step}' has no counterpart in version {plan.target} (no step '{target}'; add a pair to steps)"
            )
        problem = _shape_problem(old, step, new, target) if step in old.steps else None
        if problem is None and new.steps[target].countersign is not None:
            problem = "it is a multi-instance step in the new version"
        if problem is None and new.nodes[target].process != new.id:
            problem = f"it is inside called process '{new.nodes[target].process}'"
        if problem:
            raise _CannotMove(f"step '{step}' cannot wait at '{target}': {problem}")
    if len(set(moves.values())) != len(moves):
        raise _CannotMove("two waiting steps would wait at the same step of the new version")
    history = [replace(c, step=plan.new_id(c.step)) for c in case.history]
    gone = sorted({c.step for c in history if c.step not in new.steps})
    if gone:
        raise _CannotMove(
            f"completed step '{gone[0]}' has no counterpart in version {plan.target} (add a pair to steps)"
        )
    named: set[str] = {o.step for o in case.opinions} | {h.step for h in case.handovers}
    named |= {n.step for n in case.notices if n.step is not None}
    named |= {n.step for n in [*case.ccs, *case.urges] if n.step is not None}
    gone = sorted(s for s in named if plan.new_id(s) not in new.steps)
    if gone:
        raise _CannotMove(
            f"step '{gone[0]}', named by the case's opinions, notices or handovers, has no counterpart in version "
            f"{plan.target} (add a pair to steps)"
        )
    _holders_still_may(case, plan, new, waiting, moves, history)
    done = {c.step for c in history}
    for target in moves.values():
        missing = [r for r in new.steps[target].requires if r not in done]
        if missing:
            raise _CannotMove(
                f"version {plan.target} requires '{missing[0]}' before '{target}', which this case never did"
            )
    return waiting, moves, history


@dataclass(frozen=True)
class _Before:
    """The case's deadlines, its waiting steps' deadlines (by new id) and its cards before the move."""

    deadlines: Any
    steps: dict[str, str | None]
    cards: set[tuple[Any, ...]]


def _report(case: Case, moves: dict[str, str], ids: Mapping[str, str], before: _Before, at: datetime) -> CaseMigration:
    """What changed for the moved case: its deadlines and each waiting step's, and the cards due now."""
    after = case.deadlines(at)
    changed: dict[str, list[str | None]] = {}
    for key in ("promised", "statutory"):
        b = before.deadlines.to_json()[key] if before.deadlines else None
        a = after.to_json()[key] if after else None
        if a != b:
            changed[key] = [b, a]
    for target, was in before.steps.items():
        now = _day(case.step_deadline(target, case._since.get(ids[target], at)))
        if now != was:
            changed[f"step {target}"] = [was, now]
    cards = [c.to_json() for c in case.alerts(at) if _card_key(c.to_json()) not in before.cards]
    return CaseMigration(case.id, "migrated", None, moves, changed, cards)


def _day(deadline: Any) -> str | None:
    return deadline.day.isoformat() if deadline is not None else None


def _renamed(card: dict[str, Any], plan: MigrationPlan) -> dict[str, Any]:
    task = card.get("task")
    return card | {"task": plan.new_id(task)} if isinstance(task, str) else card


def _card_key(card: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, str(v)) for k, v in card.items()))


def _engine_for(case: Case, new: ProcessDefinition) -> Any:
    """The script engine a case on ``new`` runs with (the case's own, built for the new definition)."""
    old = case.definition
    case.definition = new
    try:
        return case._script_engine()
    finally:
        case.definition = old


def _apply(
    case: Case,
    new: ProcessDefinition,
    plan: MigrationPlan,
    workflow: Any,
    waiting: Mapping[str, str],
    moves: Mapping[str, str],
    ids: Mapping[str, str],
    history: list[Completion],
    at: datetime,
) -> None:
    """Put the migrated state in place (nothing here can fail half way: plain assignments)."""
    since: dict[str, datetime] = {}
    suspensions = list(case.suspensions)
    open_suspensions: dict[str, int] = {}
    for old_task, step in waiting.items():
        target = moves[step]
        new_task = ids[target]
        since[new_task] = case._since.get(old_task, at)
        index = case._open_suspensions.get(old_task)
        reason = new.steps[target].suspends_clock
        if index is not None and reason is not None:
            open_suspensions[new_task] = index
        elif index is not None:
            s = suspensions[index]
            suspensions[index] = Suspension(s.step, s.reason, s.start, at)
        elif reason is not None:
            open_suspensions[new_task] = len(suspensions)
            suspensions.append(Suspension(target, reason, at))
    case.definition = new
    case._set_workflow(workflow)
    case._since = since
    _rename_operations(case, plan, waiting, moves, ids)
    case.suspensions = suspensions
    case._open_suspensions = map_of(open_suspensions)
    case.history = history
    case._deadlines_memo = None
    case._step_deadlines = None
    limit = new.time_limit
    if case.clock_start is None and limit is not None:
        if limit.starts_after is None:
            case.clock_start = case.started_at
        else:
            moments = [c.at for c in history if c.step == limit.starts_after]
            case.clock_start = moments[-1] if moments else None
    case._state_changed()
