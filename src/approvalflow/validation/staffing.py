"""``staffing``: can an organisation's people do a process at all? (workflow satisfiability)

Every step done by a person gets one actor whom
:func:`approvalflow.rules.checks.keeps_off` lets do it, the one decision the
engine's rules ``unauthorized``, ``other-unit`` and ``five-not-direct`` make:
someone of the unit doing the step (the case's, or the units the step names in
``af:step/@units``) who holds one of the step's posts, never a unit's principal
for a step with a domain (五不直接分管); different from the actors of its
``af:separateFrom`` steps and the same as the actor of its ``af:sameActorAs``
step. A collective step also needs its group (``af:collective/@group``) in the
unit, and every unit a step names must exist: both are ``staffing`` findings,
because without them no case can complete the step (rule ``meeting-members``,
``other-unit``). The whole process is
staffed at once, as for a case that passes every step; this is stricter than
needed only when two steps linked by a rule lie on exclusive branches.

Each step that nobody may do is a finding of its own, at its element and line.
For the others the search is exact: ``sameActorAs`` groups are merged
(union-find), then groups get people by backtracking, fewest candidates first.
When there is no assignment, steps are dropped one at a time while the rest
stays unstaffable, which leaves a minimal set of steps whose rules cannot be
met together; the finding names those steps, their candidates and the rules
between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from ..bpmn.model import StepInfo
from ..org.organisation import Organisation, OrgUnit
from ..rules.checks import keeps_off, step_units
from .context import Context, check
from .findings import StaticFinding, finding

__all__ = ["Staffing", "core", "explain", "solve", "staffing_problem"]

_NOT_PERSON = frozenset({"callActivity", "subProcess", "transaction", "adHocSubProcess"})


@dataclass(frozen=True)
class Staffing:
    """The satisfiability problem of one process in one unit."""

    unit: OrgUnit
    candidates: Mapping[str, frozenset[str]]  # step -> people who may do it
    separate: frozenset[frozenset[str]]  # pairs of steps needing different actors
    same: frozenset[frozenset[str]]  # pairs of steps needing one actor
    principal_excluded: frozenset[str]  # steps the principal holds a post for but may not do


def staffing_problem(steps: Mapping[str, StepInfo], org: Organisation, unit: OrgUnit) -> Staffing:
    """The candidates of each person step of ``steps`` in ``unit``, and the rules between the steps."""
    cands: dict[str, frozenset[str]] = {}
    excluded: set[str] = set()
    for sid, step in steps.items():
        if step.node.kind in _NOT_PERSON:
            continue
        kept = {p.id: keeps_off(step, p, unit, org) for p in org.people.values()}
        if any(rules == ("five-not-direct",) for rules in kept.values()):
            excluded.add(sid)
        cands[sid] = frozenset(pid for pid, rules in kept.items() if not rules)
    sep = {
        frozenset((s, r)) for s, st in steps.items() for r in st.separate_from if s in cands and r in cands and s != r
    }
    same = {
        frozenset((s, st.same_actor_as))
        for s, st in steps.items()
        if st.same_actor_as in cands and s in cands and s != st.same_actor_as
    }
    return Staffing(unit, cands, frozenset(sep), frozenset(same), frozenset(excluded))


def _groups(problem: Staffing, steps: Iterable[str]) -> dict[str, str]:
    parent = {s: s for s in steps}

    def find(s: str) -> str:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for pair in problem.same:
        a, b = tuple(pair)
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    return {s: find(s) for s in parent}


def solve(problem: Staffing, steps: Iterable[str] | None = None) -> dict[str, str] | None:
    """An actor for each step (of ``steps``, default all) meeting every rule, or ``None``."""
    chosen = list(problem.candidates if steps is None else steps)
    group = _groups(problem, chosen)
    domain: dict[str, set[str]] = {}
    for s in chosen:
        domain.setdefault(group[s], set(problem.candidates[s]))
        domain[group[s]] &= problem.candidates[s]
    apart: dict[str, set[str]] = {g: set() for g in domain}
    for pair in problem.separate:
        a, b = tuple(pair)
        if a in group and b in group:
            if group[a] == group[b]:
                return None
            apart[group[a]].add(group[b])
            apart[group[b]].add(group[a])
    order = sorted(domain, key=lambda g: (len(domain[g]), -len(apart[g]), g))
    assigned: dict[str, str] = {}
    if not _search(order, 0, domain, apart, assigned):
        return None
    return {s: assigned[group[s]] for s in chosen}


def _search(
    order: list[str], i: int, domain: dict[str, set[str]], apart: dict[str, set[str]], assigned: dict[str, str]
) -> bool:
    if i == len(order):
        return True
    g = order[i]
    taken = {assigned[o] for o in apart[g] if o in assigned}
    for person in sorted(domain[g] - taken):
        assigned[g] = person
        if _search(order, i + 1, domain, apart, assigned):
            return True
        del assigned[g]
    return False


def core(problem: Staffing, steps: Iterable[str] | None = None) -> list[str]:
    """A minimal set of steps (of ``steps``, default all) that cannot be staffed together (deletion-based
    shrinking)."""
    kept = list(problem.candidates if steps is None else steps)
    for s in list(kept):
        trial = [k for k in kept if k != s]
        if solve(problem, trial) is None:
            kept = trial
    return kept


def explain(
    problem: Staffing,
    steps: list[str],
    posts: Mapping[str, tuple[str, ...]],
    units: Mapping[str, tuple[str, ...]] | None = None,
) -> str:
    """Say which steps and which rules cannot be met together in the unit (``units``: step -> the units whose
    people do it, :func:`~approvalflow.rules.checks.step_units`)."""
    unit = problem.unit
    parts = []
    for s in steps:
        who = ", ".join(sorted(problem.candidates[s])) or "nobody"
        need = " or ".join(posts.get(s, ())) or "any post"
        parts.append(f"'{s}' ({need}: {who})")
    rules = [
        f"af:separateFrom {' / '.join(sorted(p))}" for p in sorted(problem.separate, key=sorted) if p <= set(steps)
    ]
    rules += [f"af:sameActorAs {' / '.join(sorted(p))}" for p in sorted(problem.same, key=sorted) if p <= set(steps)]
    rules += [
        f"五不直接分管 keeps the principal '{unit.principal}' off '{s}'"
        for s in steps
        if s in problem.principal_excluded
    ]
    if len(steps) == 1 and not problem.candidates[steps[0]]:
        doers = (units or {}).get(steps[0], (unit.id,))
        where = (
            f"in unit '{unit.id}'"
            if doers == (unit.id,)
            else f"of unit {', '.join(repr(u) for u in doers)} (af:step/@units; the case runs in unit '{unit.id}')"
        )
        fix = "give someone the post" if doers == (unit.id,) else "give someone of those units the post"
        return f"nobody {where} can do step {parts[0]}" + (f"; {rules[0]}" if rules else "") + f": {fix}"
    people = set().union(*(problem.candidates[s] for s in steps))
    return (
        f"in unit '{unit.id}' steps {', '.join(parts)} cannot be staffed together: "
        f"{'; '.join(rules) or 'their posts'} need more people than the {len(people)} who hold the posts; "
        "give another person one of these posts, or relax a rule"
    )


def _units(org: Organisation, wanted: str | None, body: str | None) -> tuple[list[OrgUnit], bool]:
    """The units to try, and whether they were named (by ``--unit`` or by af:power/@body)."""
    if wanted is not None:
        return [org.units[wanted]], True
    named = [u for u in org.units.values() if body and body in (u.name, u.id)]
    return (named, True) if named else (list(org.units.values()), False)


def _report(problems: list[Staffing], named: bool) -> Staffing:
    """The unit to explain: the named one, else the one that staffs the most steps."""
    if named:
        return problems[0]
    return max(problems, key=lambda p: sum(1 for c in p.candidates.values() if c))


def _unknown_units(ctx: Context, org: Organisation, steps: Mapping[str, StepInfo]) -> Iterator[StaticFinding]:
    for step in steps.values():
        for uid in step.units:
            if uid not in org.units:
                yield finding(
                    "staffing",
                    f"step '{step.id}' names unit '{uid}' in af:step/@units, which the organisation does not "
                    f"define (units: {', '.join(org.units)}); nobody of it can do the step",
                    file=ctx.file if step.id in ctx.steps() else None,
                    line=step.node.line if step.id in ctx.steps() else None,
                    element=step.id,
                )


def _missing_groups(ctx: Context, steps: Mapping[str, StepInfo], units: list[OrgUnit]) -> Iterator[StaticFinding]:
    """A collective step whose group no candidate unit defines: no meeting record can be accepted."""
    for step in steps.values():
        rule = step.collective
        if rule is None or any(rule.group in u.groups for u in units):
            continue
        where = f"unit '{units[0].id}' does not define" if len(units) == 1 else "no unit of the organisation defines"
        yield finding(
            "staffing",
            f"collective step '{step.id}' meets as group '{rule.group}' (af:collective/@group), which {where}: "
            "add it under units[].groups in the organisation file (rule meeting-members "
            "refuses every meeting record otherwise)",
            file=ctx.file if step.id in ctx.steps() else None,
            line=step.node.line if step.id in ctx.steps() else None,
            element=step.id,
        )


@check("staffing")
def staffing(ctx: Context) -> Iterator[StaticFinding]:
    """With ``--org``: for each root process, some unit (the named one) can staff every step under the rules."""
    if ctx.org is None:
        return
    for pid in ctx.roots():
        info = ctx.processes[pid]
        steps = ctx.reachable_steps(pid)
        units, named = _units(ctx.org, ctx.unit, info.power.body if info.power else None)
        yield from _unknown_units(ctx, ctx.org, steps)
        yield from _missing_groups(ctx, steps, units)
        problems = [staffing_problem(steps, ctx.org, u) for u in units]
        if not any(p.candidates for p in problems) or any(solve(p) is not None for p in problems):
            continue
        yield from _unstaffed(ctx, pid, steps, _report(problems, named), named)


def _unstaffed(
    ctx: Context, pid: str, steps: Mapping[str, StepInfo], problem: Staffing, named: bool
) -> Iterator[StaticFinding]:
    """Each step nobody may do, one finding each at its element; then a minimal set of the other steps that
    cannot be staffed together, if any."""
    posts = {s: steps[s].posts for s in problem.candidates}
    units = {s: step_units(steps[s], problem.unit.id) for s in problem.candidates}
    known = ctx.org.units if ctx.org is not None else {}
    empty = [s for s, c in problem.candidates.items() if not c]
    rest = [s for s in problem.candidates if s not in empty]
    groups = [[s] for s in empty if all(u in known for u in steps[s].units)]  # an unknown unit: _unknown_units
    if solve(problem, rest) is None:
        groups.append(core(problem, rest))
    prefix = "" if named else f"no unit of the organisation can staff '{pid}'; the closest: "
    for group in groups:
        node = steps[group[0]].node if group[0] in ctx.steps() else None
        yield finding(
            "staffing",
            prefix + explain(problem, group, posts, units),
            file=ctx.file,
            line=node.line if node else ctx.processes[pid].line,
            element=node.id if node else pid,
        )
