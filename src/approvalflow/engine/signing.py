"""Signed multi-instance steps in a running case (会签, 或签, 依次审批, 票签).

A round starts when the engine reaches the step: :func:`signers_hook` gives the engine the assignee of each
instance (a named signer, or None for an instance open to any authorised person), checked here (a list of known
people, no one twice, at most ``max_cardinality``). A signature picks the signer's own instance
(:func:`pick_instance`), refusing an outsider (``not-signer``) and a second signature of one person in the round
(``signed-twice``) under either policy; the registered rules then judge the signer as any completion. Recording
it (:func:`sign`) keeps the opinion, comment and data of each instance in the round and applies the declared rule
(:func:`approvalflow.rules.signing.decide`); once the rule has decided, the engine completes the step and cancels the
instances still open. The case data after each signature holds ``<step>_opinions``, ``<step>_approvals``,
``<step>_rejections`` and ``<step>_passed`` for the conditions after the step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._spiff import (
    ROUND_KEY,
    SignersHook,
    countersign_instance,
    countersign_round,
    set_countersign_round,
)
from ..bpmn.loader import ProcessDefinition
from ..bpmn.model import StepInfo
from ..errors import InvalidInputError, StepNotReady, StepRefused
from ..expressions import EvaluationError
from ..org.organisation import Organisation
from ..rules.checks import RUNTIME
from ..rules.signing import AGREE, DISAGREE, decide, opinion_of

if TYPE_CHECKING:
    from .case import Case

__all__ = [
    "check_round",
    "fresh_rounds",
    "instance_of",
    "outcome_keys",
    "pick_instance",
    "sign",
    "signers_hook",
    "signing_input",
]

_MAX_COMMENT = 10_000


def signers_hook(definition: ProcessDefinition, organisation: Organisation, max_cardinality: int) -> SignersHook:
    """The engine's hook that starts a round of a signed step: the assignee of each of its instances."""

    def assignees(step: str, names: Mapping[str, Any], evaluate: Callable[[str], Any]) -> list[str | None]:
        info = definition.steps.get(step)
        rule = info.countersign if info is not None else None
        if rule is None:
            raise EvaluationError(f"'{step}' is no signed multi-instance step of this process")
        if rule.signers:
            return _people(step, list(rule.signers), "af:countersign/@signers", organisation, max_cardinality)
        if rule.signers_from is not None:
            return _people(step, names.get(rule.signers_from), f"the case data '{rule.signers_from}'", organisation,
                           max_cardinality, missing=rule.signers_from not in names)  # fmt: skip
        count = evaluate(rule.cardinality or "0")
        if type(count) is not int or not 1 <= count <= max_cardinality:
            raise EvaluationError(
                f"the loop cardinality of '{step}' is {str(count)[:40]}; it must be a whole number of signers from "
                f"1 to {max_cardinality}"
            )
        return [None] * count

    return assignees


def _people(
    step: str, value: Any, where: str, organisation: Organisation, bound: int, *, missing: bool = False
) -> list[str | None]:
    """A signer list: a non-empty list of distinct ids of people of the organisation, at most ``bound`` long."""
    if missing:
        raise EvaluationError(f"the signers of '{step}' are {where}, which the case does not have")
    if not isinstance(value, list):
        raise EvaluationError(f"the signers of '{step}' ({where}) must be a list of people ids, not "
                              f"{type(value).__name__}")  # fmt: skip
    if not value or len(value) > bound:
        raise EvaluationError(f"'{step}' has {len(value)} signers ({where}); it needs 1 to {bound} (max_cardinality)")
    if not all(isinstance(p, str) for p in value):
        raise EvaluationError(f"the signers of '{step}' ({where}) must be people ids (text)")
    twice = sorted({p for p in value if value.count(p) > 1})[:5]
    if twice:
        raise EvaluationError(f"the signers of '{step}' ({where}) name {', '.join(twice)} twice; nobody signs twice")
    unknown = [p for p in value if organisation.person(p) is None][:5]
    if unknown:
        raise EvaluationError(f"the signers of '{step}' ({where}) name {', '.join(unknown)}, who is no person of "
                              "the organisation")  # fmt: skip
    return list(value)


def instance_of(task: Any) -> tuple[int, str | None] | None:
    """``(index, assignee)`` of a ready instance of a signed step, or None for any other task."""
    where = countersign_instance(task)
    round_ = countersign_round(task)
    if where is None or round_ is None:
        return None
    assignees = round_.get("assignees") or []
    index = where[1]
    return index, assignees[index] if 0 <= index < len(assignees) else None


def signing_input(
    info: StepInfo, opinion: str | None, comment: str | None, instance: int | None
) -> dict[str, Any] | None:
    """The signature's opinion, comment and instance, checked (None for a step that is not signed)."""
    if info.countersign is None:
        if instance is not None:  # an opinion and a comment are any completion's (approvalflow.engine.opinions)
            raise InvalidInputError(f"'{info.id}' is not a multi-instance step: it takes no instance")
        return None
    value = opinion_of(opinion if opinion is not None else AGREE)
    if value is None:
        raise InvalidInputError(f"the opinion {str(opinion)[:40]!r} is none of agree, 同意, disagree, 不同意 (a "
                                "signature decides its round; 退回 is an operation, not a signature)")  # fmt: skip
    if comment is not None and (not isinstance(comment, str) or len(comment) > _MAX_COMMENT):
        raise InvalidInputError(f"a comment is a text of at most {_MAX_COMMENT:,} characters")
    if instance is not None and (type(instance) is not int or instance < 0):
        raise InvalidInputError(f"an instance is an index (a whole number from 0), not {str(instance)[:20]!r}")
    return {"opinion": value, "comment": comment, "instance": instance}


def pick_instance(case: Case, info: StepInfo, actor: str, wanted: int | None, base: dict[str, Any]) -> Any:
    """The ready instance of ``info`` the actor signs: the one given, else their own, else an open one.

    Refused (``StepRefused``, recorded in the trail, under either policy) for an outsider of the round
    (``not-signer``) or a person who already signed it (``signed-twice``); ``StepNotReady`` when the instance
    asked for (or, in 依次审批, the actor's turn) is not ready.
    """
    ready = [(t, instance_of(t)) for t in case._scan.ready if t.task_spec.bpmn_id == info.id]
    facts = [(t, f) for t, f in ready if f is not None]
    if not facts:
        return ready[0][0]  # not a started round (cannot happen for a signed step): the engine's own task
    round_ = countersign_round(facts[0][0]) or {}
    removed = set(round_.get("removed") or ())  # 减签 (engine/addsign.py): no longer signers of the round
    assignees = [a for n, a in enumerate(round_.get("assignees") or []) if n not in removed]
    signed = {str(o.get("signer")) for o in round_.get("opinions") or []}
    if actor in signed:
        _refuse(case, info, actor, base, "signed-twice", f"{actor} already signed '{info.id}' in this round; "
                "one person signs one instance of a round")  # fmt: skip
    own = [(t, f) for t, f in facts if f[1] == actor]
    open_ = [(t, f) for t, f in facts if f[1] is None]
    if wanted is not None:
        chosen = [(t, f) for t, f in facts if f[0] == wanted]
        if not chosen:
            _not_ready(case, info, base, f"instance {wanted} of '{info.id}' is not ready", facts)
        if chosen[0][1][1] not in (None, actor):
            _refuse(case, info, actor, base, "not-signer", f"instance {wanted} of '{info.id}' is signed by "
                    f"{chosen[0][1][1]}, not by {actor}")  # fmt: skip
        return chosen[0][0]
    if own or open_:
        return (own or open_)[0][0]
    if actor in assignees:
        _not_ready(case, info, base, f"{actor} signs '{info.id}' later, in the order given (依次审批)", facts)
    named = ", ".join(str(a) for a in assignees if a is not None)
    _refuse(case, info, actor, base, "not-signer", f"{actor} is not a signer of '{info.id}'; its signers are {named}")


def _refuse(case: Case, info: StepInfo, actor: str, base: dict[str, Any], rule: str, message: str) -> None:
    finding = RUNTIME.finding(rule, message, element=info.id, actor=actor, at=datetime.fromisoformat(base["at"]))
    case._append(**base, findings=[finding.to_dict()], outcome="refused")
    raise StepRefused(case=case.id, step=info.id, actor=actor, findings=[finding])


def _not_ready(case: Case, info: StepInfo, base: dict[str, Any], message: str, facts: list[Any]) -> None:
    case._log_failure(base, "not-ready")
    shown = ", ".join(f"{info.id}[{f[0]}]" + (f" ({f[1]})" if f[1] else "") for _t, f in facts)
    raise StepNotReady(f"{message}; ready now: {shown}", case=case.id, step=info.id, ready=[info.id])


def sign(
    task: Any, info: StepInfo, actor: str, signing: Mapping[str, Any], data: Mapping[str, Any], moment: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Record the signature on its round: the case-data keys to set, and the trail's account of the signature.

    When the rule decides with instances still unsigned, those are cancelled by the engine as it completes the
    step (their indexes are in the account, ``cancelled``).
    """
    rule = info.countersign
    assert rule is not None
    where = instance_of(task)
    round_ = countersign_round(task)
    assert where is not None and round_ is not None
    index = where[0]
    record = {"index": index, "signer": actor, "opinion": signing["opinion"], "comment": signing["comment"],
              "at": moment.isoformat(), "data": dict(data)}  # fmt: skip
    opinions = [*round_.get("opinions", []), record]
    removed = set(round_.get("removed") or ())  # instances 减签 took out of the round (engine/addsign.py)
    total = len(round_.get("assignees") or []) - len(removed)
    approvals = sum(1 for o in opinions if o["opinion"] == AGREE)
    rejections = sum(1 for o in opinions if o["opinion"] == DISAGREE)
    passed = decide(rule, total, approvals, rejections)
    set_countersign_round(task, {**round_, "opinions": opinions, "passed": passed})
    signed = {o["index"] for o in opinions}
    cancelled = sorted(set(range(len(round_.get("assignees") or []))) - signed - removed) if passed is not None else []
    account = {"instance": index, "opinion": signing["opinion"], "comment": signing["comment"], "mode": rule.mode,
               "decided": passed, "cancelled": cancelled}  # fmt: skip
    return outcome_keys(info.id, opinions, passed), account


def fresh_rounds(case: Case) -> None:
    """A round that has just started (a first round, or a new one after 退回) shows no opinions of an earlier one:
    its step's keys in the case data are reset (no opinions, ``<step>_passed`` None)."""
    for task in case._scan.ready:
        info = case.definition.steps.get(task.task_spec.bpmn_id)
        round_ = countersign_round(task) if info is not None and info.countersign is not None else None
        if round_ is not None and not round_.get("opinions"):
            case.data.update(outcome_keys(task.task_spec.bpmn_id, [], None))


def outcome_keys(step: str, opinions: list[dict[str, Any]], passed: bool | None) -> dict[str, Any]:
    """The case-data keys a signed step keeps for the conditions after it."""
    return {
        f"{step}_opinions": opinions,
        f"{step}_approvals": sum(1 for o in opinions if o["opinion"] == AGREE),
        f"{step}_rejections": sum(1 for o in opinions if o["opinion"] == DISAGREE),
        f"{step}_passed": passed,
    }


def check_round(internal: Mapping[str, Any], where: str) -> None:
    """Refuse (``ValueError``) a saved round that is not what :func:`sign` writes."""
    round_ = internal.get(ROUND_KEY)
    if round_ is None:
        return
    if not isinstance(round_, dict) or set(round_) - {"removed"} != {"assignees", "opinions", "passed"}:
        raise ValueError(f"{where}: a malformed countersign round")
    assignees, opinions = round_["assignees"], round_["opinions"]
    if not isinstance(assignees, list) or not all(a is None or isinstance(a, str) for a in assignees):
        raise ValueError(f"{where}: countersign assignees must be people ids or null")
    if round_["passed"] not in (None, True, False) or not isinstance(opinions, list):
        raise ValueError(f"{where}: a malformed countersign round")
    keys = {"index", "signer", "opinion", "comment", "at", "data"}
    seen: set[Any] = set()
    for o in opinions:
        if not isinstance(o, dict) or set(o) != keys or o["opinion"] not in (AGREE, DISAGREE):
            raise ValueError(f"{where}: a malformed countersign opinion")
        if type(o["index"]) is not int or not 0 <= o["index"] < len(assignees) or not isinstance(o["signer"], str):
            raise ValueError(f"{where}: a countersign opinion of no instance")
        if o["signer"] in seen or o["index"] in seen or assignees[o["index"]] not in (None, o["signer"]):
            raise ValueError(f"{where}: a countersign round signed twice by one person, or by another than its signer")
        seen.update((o["signer"], o["index"]))
    removed = round_.get("removed", [])
    if "removed" in round_ and (
        not isinstance(removed, list)
        or not removed
        or any(type(r) is not int or not 0 <= r < len(assignees) or r in seen for r in removed)
    ):
        raise ValueError(f"{where}: countersign 'removed' is not a list of unsigned instances of the round")
    if len(set(removed)) != len(removed) or len(removed) >= max(len(assignees), 1):
        raise ValueError(f"{where}: countersign 'removed' names an instance twice, or every instance")
    count, current = internal.get("cardinality", len(assignees)), internal.get("current", 0)
    if count != len(assignees) or type(current) is not int or not 0 <= current <= len(assignees):
        # a sequential round makes its next instance from these: one more than it has signers would be open to anyone
        raise ValueError(f"{where}: a sequential countersign round counts other instances than it has signers")
