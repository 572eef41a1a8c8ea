"""加签 and 减签: adding a signer to, or removing one from, the running round of a multi-instance step.

A round (:mod:`approvalflow.engine.signing`) keeps its assignees, one per instance. :func:`add_signer` adds a
person: in a parallel round (会签, 或签, 票签) a new instance, ready at once, joins the round; in 依次审批 the person
signs right after the current signer (``position="after"``, the default) or before them (``"before"``: the current
signer's instance is cancelled and comes again after the new signer's). :func:`remove_signer` removes a person who
has not signed: in a parallel round their instance is cancelled and marked ``removed`` in the round, in 依次审批
they leave the order (their instance is cancelled if it was the current one). The rule then decides over the
signers left: ``decide(rule, len(assignees) - len(removed), approvals, rejections)``; when the signatures already
given decide the round, the step completes as a signature that decides it would (the engine cancels what is left
and moves on; the last signature's history entry becomes the deciding one).

Checks, made before anything changes: the step is a ready multi-instance step; the actor is a signer of the round
or may do the step (``unauthorized``, ``other-unit``); the person added is a person of the organisation who may
sign it (the registered rules ``unauthorized``, ``other-unit``, ``five-not-direct``, ``separate-actors`` and
``recusal``, judged as for a completion: refused under ``enforce``, recorded under ``record``), not a signer of the
round already (``already-signer``, either policy); the person removed is a signer of the round (``not-signer``) who
has not signed (``signer-signed``) and is not the last one (``no-signer-left``), both under either policy.

Adding never decides a round: the approvals a rule needs grow at most by one with each instance, and the open
instances by exactly one. Removing may: 会签 of three with two approvals passes when the third signer is removed.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._spiff import (
    countersign_add,
    countersign_cancel,
    countersign_finish,
    countersign_restart_at,
    countersign_round,
    countersign_shrink,
    scan,
    set_countersign_round,
)
from ..bpmn.model import StepInfo
from ..errors import EngineError, InvalidInputError, StepNotReady, StepRefused
from ..rules.checks import OPINION_RULES, RUNTIME, Finding
from ..rules.signing import AGREE, DISAGREE, decide
from .casedata import plain_name
from .eligibility import person_findings
from .opinions import opinion_text
from .signing import instance_of, outcome_keys
from .timers import fire_timers

if TYPE_CHECKING:
    from .case import Case

__all__ = ["POSITIONS", "WHO_RULES", "add_signer", "remove_signer"]

#: Where 加签 puts the new signer of 依次审批: after the current signer (the default) or before.
POSITIONS = ("after", "before")
#: The registered rules that judge who may sign (the others judge a completion's moment, data or meeting).
WHO_RULES = OPINION_RULES


def _round_of(case: Case, step: str, base: dict[str, Any]) -> tuple[StepInfo, Any, dict[str, Any]]:
    """The signed step, its ready instance (the current one in 依次审批) and its round; refused when not ready."""
    info = case.definition.steps.get(step)
    if info is None or info.countersign is None:
        raise InvalidInputError(f"'{step}' is not a multi-instance step of this process (会签, 或签, 依次审批, 票签): "
                                "加签 and 减签 change the signers of a round", case=case.id, step=step)  # fmt: skip
    ready = [t for t in case._scan.ready if t.task_spec.bpmn_id == step and instance_of(t) is not None]
    if not ready:
        case._log_failure(base, "not-ready")
        now = [t.task_spec.bpmn_id for t in case._scan.ready]
        raise StepNotReady(f"'{step}' has no round running; ready now: {', '.join(now) or 'nothing'}", case=case.id,
                           step=step, ready=now)  # fmt: skip
    round_ = countersign_round(ready[0])
    assert round_ is not None
    return info, ready[0], round_


def _refuse(case: Case, base: dict[str, Any], findings: list[Finding]) -> None:
    case._append(**base, findings=[f.to_dict() for f in findings], outcome="refused")
    raise StepRefused(case=case.id, step=str(base["step"]), actor=str(base["actor"]), findings=findings)


def _engine_check(case: Case, base: dict[str, Any], rule: str, message: str, moment: datetime) -> None:
    """Refuse under either policy (the round's own bookkeeping cannot hold what is asked)."""
    f = RUNTIME.finding(rule, message, element=base["step"], actor=base["actor"], at=moment)
    _refuse(case, base, [f])


def _who(case: Case, info: StepInfo, person: str, task: Any, moment: datetime, rules: tuple[str, ...]) -> list[Finding]:
    """The person rules among ``rules`` on ``person`` (a known person) doing ``info`` now."""
    who = case.organisation.person(person)
    assert who is not None
    return person_findings(case, info, who, at=moment, since=case._since[str(task.id)], rules=rules)


def _active(round_: dict[str, Any]) -> list[tuple[int, str | None]]:
    removed = set(round_.get("removed") or ())
    return [(n, a) for n, a in enumerate(round_["assignees"]) if n not in removed]


def _start(
    case: Case, action: str, step: str, actor: str, person: str, reason: str, at: datetime | str | None
) -> tuple[datetime, dict[str, Any], StepInfo, Any, dict[str, Any], list[Finding]]:
    """The checked request: its moment, trail entry, step, ready instance, round, and the findings about the actor
    (who must be a signer of the round or may do the step)."""
    step, actor, person = (plain_name(v, w) for v, w in ((step, "step"), (actor, "actor"), (person, "person")))
    case._known(actor)
    case._known(person)
    reason = opinion_text(reason, "the reason") or ""
    if not reason.strip():
        raise InvalidInputError(f"{action} needs a reason (text)", case=case.id, step=step)
    moment = case._moment(at, step)
    fire_timers(case, moment)
    base: dict[str, Any] = {"action": action, "at": moment.isoformat(), "step": step, "actor": actor, "post": None,
                            "unit": case.unit.id, "data": {"person": person, "reason": reason}}  # fmt: skip
    info, task, round_ = _round_of(case, step, base)
    signers = {a for _n, a in _active(round_) if a is not None}
    found: list[Finding] = []
    if actor not in signers:  # not a signer: the actor must be one who may do the step
        found = _who(case, info, actor, task, moment, ("unauthorized", "other-unit"))
    who = case.organisation.person(actor)
    base["post"] = next((p for p in info.posts if who is not None and p in who.posts), None)
    return moment, base, info, task, round_, found


def add_signer(
    case: Case, step: str, actor: str, person: str, position: str | None, reason: str, at: datetime | str | None
) -> list[Finding]:
    """加签 (see the module): returns the findings recorded under ``record``."""
    moment, base, info, task, round_, about_actor = _start(case, "add-signer", step, actor, person, reason, at)
    person = base["data"]["person"]
    rule = info.countersign
    assert rule is not None
    if rule.sequential:
        position = position or "after"
        if position not in POSITIONS:
            raise InvalidInputError(f"position {str(position)[:20]!r} is none of {', '.join(POSITIONS)}", case=case.id,
                                    step=info.id)  # fmt: skip
        base["data"]["position"] = position
    elif position is not None:
        raise InvalidInputError(f"'{info.id}' is signed in parallel ({rule.mode}): a new signer joins the round; "
                                "position (before/after the current signer) is for 依次审批", case=case.id,
                                step=info.id)  # fmt: skip
    active = _active(round_)
    signed = {str(o["signer"]) for o in round_["opinions"]}
    if person in signed or person in {a for _n, a in active}:
        _engine_check(case, base, "already-signer", f"{person} is a signer of this round of '{info.id}' already; "
                      "one person signs one instance of a round", moment)  # fmt: skip
    if len(round_["assignees"]) + 1 > case.max_cardinality:
        raise InvalidInputError(f"'{info.id}' would have more than {case.max_cardinality} instances (max_cardinality)",
                                case=case.id, step=info.id)  # fmt: skip
    findings = about_actor + _who(case, info, person, task, moment, WHO_RULES)
    if findings and case.policy.value == "enforce":
        _refuse(case, base, findings)
    assignees = list(round_["assignees"])
    current = instance_of(task)
    assert current is not None
    index = current[0] + (1 if position == "after" else 0) if rule.sequential else len(assignees)
    base["data"]["instance"] = index
    with case._all_or_nothing(base):
        assignees.insert(index, person)
        set_countersign_round(task, {**round_, "assignees": assignees})
        if rule.sequential and position == "before":
            countersign_restart_at(task, index, len(assignees))
        else:
            countersign_add(task)
        case._scan = scan(case._wf)
        approvals, rejections = _counts(round_)
        if decide(rule, len(assignees) - len(round_.get("removed") or ()), approvals, rejections) is not None:
            raise EngineError(f"加签 decided the round of '{info.id}', which it cannot", case=case.id, step=info.id)
        case._mark_ready(moment)
        case.findings.extend(findings)
        case._append(**base, findings=[f.to_dict() for f in findings], outcome="recorded" if findings else "noted")
    return findings


def _counts(round_: dict[str, Any]) -> tuple[int, int]:
    opinions = round_["opinions"]
    return (sum(1 for o in opinions if o["opinion"] == AGREE), sum(1 for o in opinions if o["opinion"] == DISAGREE))


def remove_signer(
    case: Case, step: str, actor: str, person: str, reason: str, at: datetime | str | None
) -> list[Finding]:
    """减签 (see the module); returns the findings about the actor recorded under ``record``."""
    moment, base, info, task, round_, findings = _start(case, "remove-signer", step, actor, person, reason, at)
    person = base["data"]["person"]
    rule = info.countersign
    assert rule is not None
    signed = {str(o["signer"]) for o in round_["opinions"]}
    if person in signed:
        _engine_check(case, base, "signer-signed", f"{person} has signed this round of '{info.id}' already: a "
                      "signature given is not taken back by 减签", moment)  # fmt: skip
    active = _active(round_)
    mine = [n for n, a in active if a == person]
    if not mine:
        named = ", ".join(str(a) for _n, a in active if a is not None) or "none named (open instances)"
        _engine_check(case, base, "not-signer", f"{person} is not a signer of this round of '{info.id}'; its named "
                      f"signers are {named}", moment)  # fmt: skip
    if len(active) == 1:
        _engine_check(case, base, "no-signer-left", f"{person} is the last signer of this round of '{info.id}': a "
                      "round without signers decides nothing; add a signer first (加签)", moment)  # fmt: skip
    if findings and case.policy.value == "enforce":
        _refuse(case, base, findings)
    index = mine[0]
    current = instance_of(task)
    assert current is not None
    assignees = list(round_["assignees"])
    with case._all_or_nothing(base):
        if rule.sequential:
            del assignees[index]
            new_round = {**round_, "assignees": assignees}
            set_countersign_round(task, new_round)
            if index == current[0]:
                countersign_restart_at(task, index, len(assignees))
            else:  # later in the order: no instance of theirs exists yet
                countersign_shrink(task)
            total = len(assignees)
        else:
            new_round = {**round_, "removed": sorted({*(round_.get("removed") or ()), index})}
            set_countersign_round(task, new_round)
            theirs = [t for t in case._scan.ready if t.task_spec.bpmn_id == info.id and (instance_of(t) or (-1,))[0]
                      == index]  # fmt: skip
            if not theirs:
                raise EngineError(f"instance {index} of '{info.id}' is not ready", case=case.id, step=info.id)
            countersign_cancel(theirs[0])
            total = len(assignees) - len(new_round["removed"])
        approvals, rejections = _counts(round_)
        passed = decide(rule, total, approvals, rejections)
        base["data"]["instance"] = index
        base["data"]["decided"] = passed
        if passed is None:
            case._scan = scan(case._wf)
            if not any(t.task_spec.bpmn_id == info.id for t in case._scan.ready):  # never: a stalled round
                raise EngineError(f"减签 left the round of '{info.id}' open with no instance to sign", case=case.id,
                                  step=info.id)  # fmt: skip
            case._mark_ready(moment)
            case.findings.extend(findings)
            case._append(**base, findings=[f.to_dict() for f in findings], outcome="recorded" if findings else "noted")
        else:
            findings = _finish(case, info, task, new_round, passed, base, moment, findings)
    return findings


def _finish(
    case: Case,
    info: StepInfo,
    task: Any,
    round_: dict[str, Any],
    passed: bool,
    base: dict[str, Any],
    moment: datetime,
    findings: list[Finding],
) -> list[Finding]:
    """The round decided by a removal: the step completes as the deciding signature would have completed it; returns
    the findings recorded (those given, and ``case-overdue`` when the case ends late)."""
    set_countersign_round(task, {**round_, "passed": passed})
    keys = outcome_keys(info.id, list(round_["opinions"]), passed)
    case.data.update(keys)
    countersign_finish(task, copy.deepcopy(case.data))
    try:
        case._wf.do_engine_steps()
    finally:
        case._scan = scan(case._wf)
    ended = case.is_completed
    before = case._deadlines_before(moment) if ended else None
    case._take_thrown(base, info.id)
    case._after_completion(info, "", moment, {})
    findings = list(findings)
    if ended:
        case.ended_at = moment
        findings += case._case_overdue(before, info.id, str(base["actor"]), moment)
    case.findings.extend(findings)
    case._mark_ready(moment)
    case._append(**base, findings=[f.to_dict() for f in findings], outcome="recorded" if findings else "completed")
    last = max((n for n, c in enumerate(case.history) if c.step == info.id), default=None)
    if last is not None and not case.history[last].decided:
        # the round's last signature is now the one after which the step was done (the rules' ``finished``); done
        # last, after everything that may fail (the rollback puts the history back by its length only)
        case.history[last] = replace(case.history[last], decided=True)
    return findings
