"""Handing work on in a running case: 签收 / 退签, 转办, 委派, 委托, 抄送 and 催办 (docs/operations.md).

Who holds a ready step is kept per engine task (one instance of a multi-instance step is one task), as a
:class:`Holding`: the ``holder`` alone may complete it (rule ``claimed``, under either policy), having claimed it
(签收) or received it (转办). A holder may delegate the work (委派): while the delegation is ``pending`` the
``delegate`` is the one who acts, and their completion *resolves* the delegation (their data and comment are kept
in the handover log, not merged into the case data) and gives the step back to the holder, who completes it
(Flowable's DelegationState PENDING / RESOLVED). A standing proxy (委托, :class:`approvalflow.org.Proxy`) may act
for the person who holds a step (its holder or pending delegate; not the named signer of an unheld 会签 instance)
within its period, in its own name (``on_behalf_of`` in the trail).

Every receiver (claimant, transferee, delegate) is checked under the rules that depend on who acts
(:data:`PERSON_RULES`), and so is whoever hands on an open step; a completion (a proxy's too) is checked in full
as always: posts, unit, 五不直接分管, recusal, separation of duties, 首办负责 (same-actor: not for
a delegate, who does not decide). Under ``enforce`` a breach refuses the operation (the trail records the refused
attempt, nothing else changes); under ``record`` it goes through with the findings kept.

The state lives on the case (:func:`kept`/:func:`restore` for rollback, :func:`to_state`/:func:`from_state` for
saved cases under the top-level key ``handover``, written only once something was handed on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from .._spiff import countersign_round
from ..bpmn.model import StepInfo
from ..errors import InvalidInputError, StepNotReady, StepRefused
from ..org.organisation import Person
from ..rules.checks import OPINION_RULES, PERSON_RULES, RUNTIME, Finding
from .casedata import plain_data, plain_name
from .eligibility import person_findings
from .empties import NOTHING, UNSET, map_of, put_back, without
from .signing import instance_of

if TYPE_CHECKING:
    from .case import Case

__all__ = [
    "DELEGATE_RULES",
    "PERSON_RULES",
    "Handover",
    "Holding",
    "Notification",
    "cc",
    "claim",
    "delegate",
    "from_state",
    "held_instance",
    "holder_of",
    "kept",
    "may_complete",
    "pending_delegate",
    "prune",
    "resolve",
    "responsible_for",
    "restore",
    "to_state",
    "transfer",
    "unclaim",
    "urge",
]

#: The rules that judge who acts (:data:`~approvalflow.rules.checks.PERSON_RULES`) run on every receiver of a step
#: (and on an actor handing on an unheld step). A delegate gives the opinion the decision rests on but does not
#: decide: 首办负责 (same-actor) binds the holder.
DELEGATE_RULES = OPINION_RULES
_MAX_TEXT = 10_000
_MAX_CC = 200

HoldKind = Literal["claimed", "transferred", "returned"]


@dataclass(frozen=True, slots=True)
class Holding:
    """Who holds one ready step (an engine task): ``holder`` alone completes it; ``delegate`` acts while a 委派 is
    pending."""

    step: str
    instance: int | None
    holder: str
    kind: HoldKind
    since: datetime
    delegate: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "instance": self.instance, "holder": self.holder, "kind": self.kind,
                "since": self.since.isoformat(), "delegate": self.delegate}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Handover:
    """One handing-on of a step, as the handover log keeps it (``claim``, ``unclaim``, ``transfer``, ``delegate``,
    ``resolve``): who did it, to whom, why, on whose behalf (a standing proxy), and a delegate's work."""

    action: str
    step: str
    instance: int | None
    actor: str
    at: datetime
    to: str | None = None
    reason: str | None = None
    on_behalf_of: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "step": self.step, "instance": self.instance, "actor": self.actor,
                "at": self.at.isoformat(), "to": self.to, "reason": self.reason, "on_behalf_of": self.on_behalf_of,
                "data": dict(self.data)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Notification:
    """A 抄送 (``cc``: ``to`` informed, no action needed) or a 催办 (``urge``: ``to`` are the people responsible for
    the open step then, empty when nobody holds it)."""

    kind: Literal["cc", "urge"]
    actor: str
    to: tuple[str, ...]
    step: str | None
    at: datetime
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "actor": self.actor, "to": list(self.to), "step": self.step,
                "at": self.at.isoformat(), "note": self.note}  # fmt: skip


# -- reading who holds what ----------------------------------------------------------------------------------
def holder_of(case: Case, task: Any) -> Holding | None:
    """The holding of a ready engine task, or None when it is open to anyone authorised.

    A step returned (退回) or taken back (撤回) to the person who did it (首办负责,
    :mod:`approvalflow.engine.flowcontrol`) is held by them (kind ``returned``) until they hand it on: claims by
    others are refused, and a transfer or delegation by them replaces it."""
    key = str(task.id)
    holding: Holding | None = case._holdings.get(key)
    if holding is None:
        who = case._flow.assigned.get(key)
        if who is not None:
            where = instance_of(task)
            holding = Holding(task.task_spec.bpmn_id, where[0] if where else None, who, "returned", case._since[key])
    return holding


def pending_delegate(case: Case, step: str, actor: str, instance: int | None, at: datetime) -> Any:
    """The ready task of ``step`` whose pending delegate is ``actor`` (or whom ``actor`` stands in for), else None:
    such a "completion" is a resolve."""
    if not case._holdings:  # nothing delegated (the common case: no walk of the ready tasks)
        return None
    for task in _tasks(case, step, instance):
        h = holder_of(case, task)
        if h is None or h.delegate is None or actor == h.holder:  # the holder completes it, not resolves
            continue
        if actor == h.delegate or _acts_for(case, h.delegate, actor, at, step) is not None:
            return task
    return None


def held_instance(case: Case, step: str, actor: str, at: datetime) -> int | None:
    """The instance of a multi-instance ``step`` that ``actor`` holds (or stands in for its holder), else None."""
    if not case._holdings and not case._flow.assigned:
        return None
    for task in _tasks(case, step, None):
        h = holder_of(case, task)
        if h is None or h.instance is None:
            continue
        if actor in (h.holder, h.delegate) or _acts_for(case, h.holder, actor, at, step) is not None:
            return h.instance
    return None


def may_complete(case: Case, task: Any, info: StepInfo, actor: str, base: dict[str, Any]) -> None:
    """Refuse (``claimed``, under either policy, recorded in the trail) a completion by anyone but the holder of a
    held step, their pending delegate, or a standing proxy of one of them; a proxy's entry names ``on_behalf_of``."""
    if not case._holdings:  # nobody holds anything (a returned step is flowcontrol's: not-assignee)
        return
    h = holder_of(case, task)
    if h is None or h.kind == "returned":  # a returned step: flowcontrol's not-assignee judges it, by the policy
        return
    moment = datetime.fromisoformat(base["at"])
    for who in (h.holder, h.delegate):
        if who is None:
            continue
        if who == actor:
            return
        if _acts_for(case, who, actor, moment, info.id) is not None:
            base["on_behalf_of"] = who
            return
    how = "claimed by" if h.kind == "claimed" else "transferred to"
    _refuse(
        case,
        info,
        actor,
        base,
        "claimed",
        f"'{info.id}'{_nth(h.instance)} was {how} {h.holder}; only they (or their standing proxy) complete it",
    )


# -- the operations ------------------------------------------------------------------------------------------
def claim(case: Case, step: str, actor: str, at: datetime, instance: int | None) -> list[Finding]:
    """签收: ``actor`` takes an open step (or an instance of one); only they may then complete it."""
    base = _base(case, "claim", step, actor, at, {})
    task, info = _task(case, step, actor, instance, base, for_claim=True)
    h = holder_of(case, task)
    if h is not None:
        mine = h.holder == actor
        text = f"'{step}'{_nth(h.instance)} " + ("is already theirs" if mine else f"is held by {h.holder}: not open")
        _refuse(case, info, actor, base, "claimed", text)
    where = instance_of(task)
    if where is not None and where[1] not in (None, actor):
        _refuse(case, info, actor, base, "not-signer", f"instance {where[0]} of '{step}' is signed by {where[1]}, "
                f"not by {actor}")  # fmt: skip
    _signed_before(case, task, info, actor, base)
    person = _person(case, actor, base)
    findings = _judge(case, task, info, person, at, base, PERSON_RULES)
    holding = Holding(step, _index(task), actor, "claimed", at)
    return _commit(case, task, holding, Handover("claim", step, holding.instance, actor, at), base, findings)


def unclaim(case: Case, step: str, actor: str, at: datetime, instance: int | None) -> list[Finding]:
    """退签: the holder (or their proxy) gives a held step back to everyone authorised."""
    base = _base(case, "unclaim", step, actor, at, {})
    task, info, h = _held(case, step, actor, instance, base)
    if h.delegate is not None:
        _refuse(case, info, actor, base, "delegated", f"'{step}' is delegated to {h.delegate}, who has not resolved "
                "it yet; it cannot be given back while the delegation is pending")  # fmt: skip
    return _commit(case, task, None, _event("unclaim", task, actor, at, base), base, [])


def transfer(
    case: Case, step: str, actor: str, to: str, reason: str, at: datetime, instance: int | None
) -> list[Finding]:
    """转办: hand a step on to ``to``, who becomes its holder; refused when ``to`` could not do it under the rules."""
    to = plain_name(to, "receiver")
    base = _base(case, "transfer", step, actor, at, {"to": to, "reason": _text(reason, "a transfer", case, step)})
    task, info, h, prior = _holder_or_open(case, step, actor, instance, base)
    if h is not None and h.delegate is not None:
        _refuse(case, info, actor, base, "delegated", f"'{step}' is delegated to {h.delegate}, who has not resolved "
                "it yet; it cannot be transferred while the delegation is pending")  # fmt: skip
    where = instance_of(task)
    if where is not None and where[1] is not None:
        case._log_failure(base, "invalid")
        raise InvalidInputError(
            f"instance {where[0]} of '{step}' is signed by {where[1]}, whom the process names: 转办 would change who "
            "signs; change the signers with 加签 / 减签 instead, or delegate (委派) the work",
            case=case.id,
            step=step,
        )
    receiver = _receiver(case, to, actor, h, info, base)
    _signed_before(case, task, info, to, base)
    findings = _judge(case, task, info, receiver, at, base, PERSON_RULES, prior)
    holding = Holding(step, _index(task), to, "transferred", at)
    event = _event("transfer", task, actor, at, base, to=to, reason=base["data"]["reason"])
    return _commit(case, task, holding, event, base, findings)


def delegate(
    case: Case, step: str, actor: str, to: str, reason: str, at: datetime, instance: int | None
) -> list[Finding]:
    """委派: the holder asks ``to`` to do the work; ``to``'s completion resolves it and the step comes back to the
    holder. An open step is claimed by the delegation (the actor, checked under the rules, becomes its holder)."""
    to = plain_name(to, "delegate")
    base = _base(case, "delegate", step, actor, at, {"to": to, "reason": _text(reason, "a delegation", case, step)})
    task, info, h, prior = _holder_or_open(case, step, actor, instance, base)
    receiver = _receiver(case, to, actor, h, info, base)
    _signed_before(case, task, info, to, base)
    findings = _judge(case, task, info, receiver, at, base, DELEGATE_RULES, prior)
    holder = h.holder if h is not None else actor
    # a step returned (or taken back) to its doer becomes theirs as claimed once they delegate it: the holding is
    # kept in the case (only claimed and transferred holdings are), and the claimed check applies to it
    kind: HoldKind = "claimed" if h is None or h.kind == "returned" else h.kind
    holding = replace(h, delegate=to, kind=kind) if h is not None else Holding(step, _index(task), holder, kind, at, to)
    event = _event("delegate", task, actor, at, base, to=to, reason=base["data"]["reason"])
    return _commit(case, task, holding, event, base, findings)


def resolve(
    case: Case,
    task: Any,
    actor: str,
    at: datetime,
    data: Mapping[str, Any] | None,
    opinion: str | None,
    comment: str | None,
) -> list[Finding]:
    """The pending delegate gives the step back (委派 resolved) with their work: ``data`` and ``comment`` are kept
    in the handover log and the trail, never merged into the case data (the holder decides what goes there)."""
    step = str(task.task_spec.bpmn_id)
    work = plain_data(data or {}, f"data of step '{step}'")
    if opinion is not None:
        work = {**work, "opinion": _text(opinion, "an opinion", case, step)}
    if comment is not None:
        work = {**work, "comment": _text(comment, "a comment", case, step)}
    base = _base(case, "resolve", step, actor, at, work)
    h = holder_of(case, task)
    assert h is not None and h.delegate is not None
    info = case.definition.steps[step]
    may_complete(case, task, info, actor, base)
    event = Handover("resolve", step, h.instance, actor, at, to=h.holder, on_behalf_of=base.get("on_behalf_of"),
                     data=work)  # fmt: skip
    return _commit(case, task, replace(h, delegate=None), event, base, [])


def cc(case: Case, actor: str, to: list[str], step: str | None, note: str | None, at: datetime) -> Notification:
    """抄送: inform ``to`` of the case (and of ``step``); recorded, nothing to do for them."""
    if not isinstance(to, list | tuple) or not to or len(to) > _MAX_CC:
        raise InvalidInputError(f"抄送 names 1 to {_MAX_CC} people (a list of ids)", case=case.id, step=step)
    people = [plain_name(p, "person copied") for p in to]
    unknown = [p for p in people if case.organisation.person(p) is None][:5]
    if unknown:
        raise InvalidInputError(f"{', '.join(unknown)}: not a person of the organisation", case=case.id, step=step)
    if step is not None and step not in case.definition.steps:
        raise InvalidInputError(f"'{step}' is not a step of process '{case.definition.id}'", case=case.id, step=step)
    text = _text(note, "a note", case, step) if note is not None else None
    notice = Notification("cc", actor, tuple(dict.fromkeys(people)), step, at, text)
    _notify(case, notice, case.ccs)
    return notice


def urge(case: Case, actor: str, step: str, note: str | None, at: datetime) -> Notification:
    """催办: press the people responsible for the ready ``step`` (its holders; nobody when it is open)."""
    text = _text(note, "a note", case, step) if note is not None else None
    base = _base(case, "urge", step, actor, at, {})
    tasks = _tasks(case, step, None)
    if not tasks:
        _not_ready(case, step, base)
    responsible = tuple(dict.fromkeys(r for r in (responsible_for(case, t) for t in tasks) if r is not None))
    notice = Notification("urge", actor, responsible, step, at, text)
    _notify(case, notice, case.urges)
    return notice


def responsible_for(case: Case, task: Any) -> str | None:
    """Who answers for a ready task's delay (延时追责): its holder, else the named signer of its instance, else
    nobody (an open step: the people of its posts)."""
    h = holder_of(case, task)
    if h is not None:
        return h.holder
    where = instance_of(task)
    return where[1] if where is not None else None


# -- state: rollback and saved cases -------------------------------------------------------------------------
def kept(case: Case) -> tuple[Any, ...]:
    """What a handing-on may change, to put back with :func:`restore`: the holdings (a map replaced, never changed
    in place) and each lazy list's slot with its length (engine/empties.py; the slots: reading the lists makes them)."""
    lists = tuple((x, len(x)) for x in (case._handovers, case._ccs, case._urges))
    return case._holdings, *lists


def restore(case: Case, saved: tuple[Any, ...]) -> None:
    holdings, (handovers, n_handovers), (ccs, n_ccs), (urges, n_urges) = saved
    case._holdings = holdings
    case._handovers = put_back(handovers, n_handovers, case._handovers)
    case._ccs = put_back(ccs, n_ccs, case._ccs)
    case._urges = put_back(urges, n_urges, case._urges)


def prune(case: Case, ready: Mapping[str, str]) -> None:
    """Drop the holdings of tasks that are no longer ready (completed, cancelled, returned past)."""
    if any(k not in ready for k in case._holdings):
        case._holdings = map_of((k, v) for k, v in case._holdings.items() if k in ready)


def to_state(case: Case) -> dict[str, Any] | None:
    """The ``handover`` key of a saved case, None while nothing was handed on (older states stay as they were)."""
    if not (case._holdings or case._handovers or case._ccs or case._urges):  # the slots: reading makes lists
        return None
    ready = {str(t.id) for t in case._scan.ready}  # a holding lives while its task is ready (pruned as it leaves)
    return {
        "holdings": {k: h.to_dict() for k, h in sorted(case._holdings.items()) if k in ready},
        "log": [e.to_dict() for e in case._handovers],
        "ccs": [n.to_dict() for n in case._ccs],
        "urges": [n.to_dict() for n in case._urges],
    }


def from_state(case: Case, doc: Any, ready: Mapping[str, str]) -> None:
    """Set the handover state of a restored case from its saved ``handover`` (absent: nothing handed on), checked:
    known people and steps, holdings only of ready tasks of their step, moments with a timezone."""
    if doc is None:  # nothing handed on: the shared empties (engine/empties.py)
        case._holdings, case._handovers, case._ccs, case._urges = NOTHING, UNSET, UNSET, UNSET
        return
    if not isinstance(doc, dict) or set(doc) != {"holdings", "log", "ccs", "urges"}:
        raise ValueError("'handover' is not the mapping of holdings, log, ccs and urges this version writes")
    holdings: dict[str, Holding] = {}
    if not isinstance(doc["holdings"], dict):
        raise ValueError("'handover.holdings' is not a mapping")
    for key, raw in doc["holdings"].items():
        h = _holding(case, raw)
        if ready.get(str(key)) != h.step:
            raise ValueError(f"'handover.holdings': task {str(key)[:40]} is no ready task of step '{h.step}'")
        holdings[str(key)] = h
    log = [_handover(case, e) for e in _list(doc["log"], "log")]
    ccs = [_notice(case, n, "cc") for n in _list(doc["ccs"], "ccs")]
    urges = [_notice(case, n, "urge") for n in _list(doc["urges"], "urges")]
    case._holdings, case._handovers = map_of(holdings), log or UNSET
    case._ccs, case._urges = ccs or UNSET, urges or UNSET


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"'handover.{name}' is not a list")
    return value


def _who(case: Case, value: Any, where: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str) or case.organisation.person(value) is None:
        raise ValueError(f"{where}: {str(value)[:40]!r} is not a person of the organisation")
    return value


def _when(value: Any, where: str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    if moment is None or moment.utcoffset() is None:
        raise ValueError(f"{where}: not a moment with a timezone")
    return moment


def _step(case: Case, value: Any, where: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str) or value not in case.definition.steps:
        raise ValueError(f"{where}: {str(value)[:40]!r} is not a step of the process")
    return value


def _instance(value: Any, where: str) -> int | None:
    if value is not None and (type(value) is not int or value < 0):
        raise ValueError(f"{where}: a malformed instance")
    return value


def _note(value: Any, where: str) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > _MAX_TEXT):
        raise ValueError(f"{where}: a malformed text")
    return value


def _holding(case: Case, raw: Any) -> Holding:
    where = "'handover.holdings'"
    keys = {"step", "instance", "holder", "kind", "since", "delegate"}
    if not isinstance(raw, dict) or set(raw) != keys or raw["kind"] not in ("claimed", "transferred"):
        raise ValueError(f"{where}: a malformed holding")
    step, instance, holder = _step(case, raw["step"], where), _instance(raw["instance"], where), raw["holder"]
    return Holding(step, instance, _who(case, holder, where), raw["kind"], _when(raw["since"], where),
                   _who(case, raw["delegate"], where, optional=True))  # fmt: skip


def _handover(case: Case, raw: Any) -> Handover:
    where = "'handover.log'"
    keys = {"action", "step", "instance", "actor", "at", "to", "reason", "on_behalf_of", "data"}
    actions = ("claim", "unclaim", "transfer", "delegate", "resolve")
    if (
        not isinstance(raw, dict)
        or set(raw) != keys
        or raw["action"] not in actions
        or not isinstance(raw["data"], dict)
    ):
        raise ValueError(f"{where}: a malformed entry")
    data = plain_data(raw["data"], where)
    return Handover(raw["action"], _step(case, raw["step"], where), _instance(raw["instance"], where),
                    _who(case, raw["actor"], where), _when(raw["at"], where), _who(case, raw["to"], where,
                    optional=True), _note(raw["reason"], where), _who(case, raw["on_behalf_of"], where,
                    optional=True), data)  # fmt: skip


def _notice(case: Case, raw: Any, kind: Literal["cc", "urge"]) -> Notification:
    where = f"'handover.{kind}s'"
    keys = {"kind", "actor", "to", "step", "at", "note"}
    if not isinstance(raw, dict) or set(raw) != keys or raw["kind"] != kind or not isinstance(raw["to"], list):
        raise ValueError(f"{where}: a malformed entry")
    return Notification(kind, _who(case, raw["actor"], where), tuple(_who(case, p, where) for p in raw["to"]),
                  _step(case, raw["step"], where, optional=True), _when(raw["at"], where),
                  _note(raw["note"], where))  # fmt: skip


# -- helpers ---------------------------------------------------------------------------------------------------
def _base(case: Case, action: str, step: str, actor: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"action": action, "at": at.isoformat(), "step": step, "actor": actor, "post": None,
            "unit": case.unit.id, "data": data}  # fmt: skip


def _nth(instance: int | None) -> str:
    return f" (instance {instance})" if instance is not None else ""


def _index(task: Any) -> int | None:
    where = instance_of(task)
    return where[0] if where is not None else None


def _tasks(case: Case, step: str, instance: int | None) -> list[Any]:
    return [t for t in case._scan.ready if t.task_spec.bpmn_id == step and (instance is None or _index(t) == instance)]


def _acts_for(case: Case, principal: str, actor: str, at: datetime, step: str) -> str | None:
    """``principal`` when ``actor`` stands in for them by a standing proxy at ``at`` on ``step``, else None."""
    info = case.definition.steps.get(step)
    posts = info.posts if info is not None else ()
    found = case.organisation.proxy_for(principal, actor, at, posts, case.definition.id)
    return principal if found is not None else None


def _text(value: Any, what: str, case: Case, step: str | None) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        raise InvalidInputError(f"{what} needs a text of 1 to {_MAX_TEXT:,} characters", case=case.id, step=step)
    checked: str = plain_data({"text": value}, what)["text"]
    return checked


def _person(case: Case, who: str, base: dict[str, Any]) -> Person:
    return case._person(who, base)


def _not_ready(case: Case, step: str, base: dict[str, Any], detail: str = "") -> None:
    ready = sorted({t.task_spec.bpmn_id for t in case._scan.ready})
    case._log_failure(base, "not-ready")
    known = "is not a step of this process" if step not in case.definition.steps else "is not ready"
    raise StepNotReady(f"'{step}'{detail} {known}; ready now: {', '.join(ready) or 'nothing'}", case=case.id,
                       step=step, ready=ready)  # fmt: skip


def _task(
    case: Case, step: str, actor: str, instance: int | None, base: dict[str, Any], *, for_claim: bool = False
) -> tuple[Any, StepInfo]:
    """The ready task of ``step`` the operation is about: the instance asked for; else, on a multi-instance step, the
    one the actor holds or is the named signer of, else (claim) an open one nobody holds."""
    if instance is not None and (type(instance) is not int or instance < 0):
        raise InvalidInputError(f"an instance is an index (a whole number from 0), not {str(instance)[:20]!r}",
                                case=case.id, step=step)  # fmt: skip
    tasks = _tasks(case, step, instance)
    if not tasks:
        _not_ready(case, step, base, _nth(instance))
    info = case.definition.steps[step]
    base["instance"] = instance
    if len(tasks) == 1:
        base["instance"] = _index(tasks[0])
        return tasks[0], info
    at = datetime.fromisoformat(base["at"])

    def rank(t: Any) -> int:
        h, where = holder_of(case, t), instance_of(t)
        if h is not None and (actor in (h.holder, h.delegate) or _acts_for(case, h.holder, actor, at, step)):
            return 0
        if h is None and where is not None and where[1] == actor:
            return 1
        if h is None and (where is None or where[1] is None):
            return 2 if for_claim else 3
        return 4

    chosen = min(tasks, key=rank)
    base["instance"] = _index(chosen)
    return chosen, info


def _held(case: Case, step: str, actor: str, instance: int | None, base: dict[str, Any]) -> tuple[Any, StepInfo, Any]:
    """The task, the step and the holding the actor holds (or stands in for); refused ``claimed`` otherwise."""
    task, info = _task(case, step, actor, instance, base)
    h = holder_of(case, task)
    if h is None:
        _refuse(case, info, actor, base, "claimed", f"nobody holds '{step}'{_nth(_index(task))}: it is open to "
                "everyone authorised, and only its holder hands it on or gives it back")  # fmt: skip
    assert h is not None
    if h.holder != actor:
        proxy = _acts_for(case, h.holder, actor, datetime.fromisoformat(base["at"]), step)
        if proxy is None:
            _refuse(case, info, actor, base, "claimed", f"'{step}'{_nth(h.instance)} is held by {h.holder}; only "
                    "they (or their standing proxy) hand it on or give it back")  # fmt: skip
        base["on_behalf_of"] = proxy
    return task, info, h


def _holder_or_open(
    case: Case, step: str, actor: str, instance: int | None, base: dict[str, Any]
) -> tuple[Any, StepInfo, Holding | None, list[Finding]]:
    """The task and its holding (the actor being its holder or their proxy); for an open step, the actor must
    be able to do it themselves (checked under the rules as a claim would be), and the holding is None."""
    task, info = _task(case, step, actor, instance, base)
    if holder_of(case, task) is not None:
        held = _held(case, step, actor, instance if instance is not None else _index(task), base)
        return (*held, [])
    where = instance_of(task)
    if where is not None and where[1] not in (None, actor):
        _refuse(case, info, actor, base, "not-signer", f"instance {where[0]} of '{step}' is signed by {where[1]}, not "
                f"by {actor}: only its signer hands it on")  # fmt: skip
    findings = _judge(case, task, info, _person(case, actor, base), datetime.fromisoformat(base["at"]), base,
                      PERSON_RULES)  # fmt: skip
    return task, info, None, findings


def _receiver(case: Case, to: str, actor: str, h: Holding | None, info: StepInfo, base: dict[str, Any]) -> Person:
    person = case.organisation.person(to)
    if person is None:
        case._log_failure(base, "unknown-actor")
        raise InvalidInputError(f"'{to}' is not a person of the organisation", case=case.id, step=info.id)
    holder = h.holder if h is not None else actor
    if to == holder:
        _refuse(case, info, actor, base, "claimed", f"{to} already holds '{info.id}'")
    return person


def _signed_before(case: Case, task: Any, info: StepInfo, to: str, base: dict[str, Any]) -> None:
    """A receiver who already signed this round of a multi-instance step may not sign another instance of it."""
    round_ = countersign_round(task) if info.countersign is not None else None
    if round_ is not None and any(o.get("signer") == to for o in round_.get("opinions") or []):
        _refuse(case, info, str(base["actor"]), base, "signed-twice", f"{to} already signed '{info.id}' in this "
                "round; one person signs one instance of a round")  # fmt: skip


def _judge(
    case: Case,
    task: Any,
    info: StepInfo,
    person: Person,
    at: datetime,
    base: dict[str, Any],
    ids: tuple[str, ...],
    prior: list[Finding] | None = None,
) -> list[Finding]:
    """The findings of the rules in ``ids`` (as the case registers them) on ``person`` doing the step now; under
    ``enforce`` any one refuses the operation (recorded in the trail)."""
    since = case._since.get(str(task.id), at)
    findings = list(prior or []) + person_findings(case, info, person, at=at, since=since, rules=ids)
    if findings and case.policy == "enforce":  # Policy.ENFORCE (a StrEnum, defined with the case)
        case._append(**base, findings=[f.to_dict() for f in findings], outcome="refused")
        raise StepRefused(case=case.id, step=info.id, actor=str(base["actor"]), findings=findings)
    return findings


def _refuse(case: Case, info: StepInfo, actor: str, base: dict[str, Any], rule: str, message: str) -> None:
    finding = RUNTIME.finding(rule, message, element=info.id, actor=actor, at=datetime.fromisoformat(base["at"]))
    case._append(**base, findings=[finding.to_dict()], outcome="refused")
    raise StepRefused(case=case.id, step=info.id, actor=actor, findings=[finding])


def _event(
    action: str, task: Any, actor: str, at: datetime, base: dict[str, Any], *, to: str | None = None,
    reason: str | None = None,
) -> Handover:  # fmt: skip
    step = str(task.task_spec.bpmn_id)
    return Handover(action, step, _index(task), actor, at, to, reason, base.get("on_behalf_of"))


def _commit(
    case: Case, task: Any, holding: Holding | None, event: Handover, base: dict[str, Any], findings: list[Finding]
) -> list[Finding]:
    with case._all_or_nothing(base):
        key = str(task.id)
        holdings = dict(case._holdings)
        if holding is None:
            holdings.pop(key, None)
        else:
            holdings[key] = holding
        case._holdings = map_of(holdings)
        # a returned step handed on (or given back) is no longer its doer's
        case._flow.assigned = without(case._flow.assigned, key)
        case.handovers.append(event)
        if findings:
            case.findings.extend(findings)
        case._append(**base, findings=[f.to_dict() for f in findings], outcome="recorded" if findings else "done")
    return findings


def _notify(case: Case, notice: Notification, kept_in: list[Notification]) -> None:
    data: dict[str, Any] = {"to": list(notice.to)}
    if notice.note is not None:
        data["note"] = notice.note
    base = _base(case, notice.kind, notice.step or "", notice.actor, notice.at, data)
    base["step"] = notice.step
    with case._all_or_nothing(base):
        kept_in.append(notice)
        case._append(**base, findings=[], outcome="noted")
