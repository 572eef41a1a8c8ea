"""Required materials (申请材料), the 一次告知 notice and 补正 in a running case.

A process and its steps declare the materials an application needs (``af:materials``,
:attr:`approvalflow.bpmn.loader.ProcessDefinition.materials`). :func:`missing_materials` is what is still missing;
:func:`notify_missing` records the one notice (一次告知, 行政许可法 art. 32: 一次告知申请人需要补正的全部内容) that
names every missing material, and :func:`supplement` the materials the applicant supplies (补正), checked against
the open notice. Materials supplied are attachments (name, media type, size, SHA-256) naming the material id they
supply (:mod:`approvalflow.engine.opinions`); the bytes stay with the host.

A notice belongs to a round: the pass through its step (the number of times the step was completed so far), or the
whole case for a notice given at no step. A second notice in one round is the ``once`` finding (the rule id of
``af:once``, 一次告知); a notice that leaves out a missing material is ``notice-incomplete``; both refuse under
``enforce``. A supplement that does not cover the open notice is ``supplement-incomplete``, a warning (the
applicant's materials are received whatever they are; the notice stays open until they cover it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..bpmn.model import Material
from ..errors import InvalidInputError, StepNotReady, StepRefused, UnknownActorError
from ..rules.checks import OPINION_RULES, RUNTIME, Finding
from .casedata import plain_name
from .eligibility import person_findings
from .opinions import Attachment, attachments_of, opinion_text
from .timers import fire_timers

if TYPE_CHECKING:
    from .case import Case

__all__ = [
    "Notice",
    "Supplement",
    "missing_materials",
    "notices_from_state",
    "notify_missing",
    "supplement",
    "supplements_from_state",
]


@dataclass(frozen=True, slots=True)
class Notice:
    """A 一次告知 notice: who gave it, when, at which step (None: the case) and round, and the missing materials."""

    at: datetime
    actor: str
    step: str | None
    round: int
    missing: tuple[str, ...]
    text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The plain mapping kept in the saved case."""
        return {"at": self.at.isoformat(), "actor": self.actor, "step": self.step, "round": self.round,
                "missing": list(self.missing), "text": self.text}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Supplement:
    """Materials supplied (补正): who, when, the attachments, the notice answered (its index in
    :attr:`Case.notices`, None before any) and what of that notice was still missing after it."""

    at: datetime
    actor: str
    materials: tuple[Attachment, ...]
    notice: int | None
    still_missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The plain mapping kept in the saved case."""
        return {"at": self.at.isoformat(), "actor": self.actor, "materials": [m.to_dict() for m in self.materials],
                "notice": self.notice, "still_missing": list(self.still_missing)}  # fmt: skip


def _declared(case: Case, step: str | None) -> list[Material]:
    """The materials of the process and of ``step`` (None: of every step)."""
    return [m for m in case.definition.materials if step is None or m.step is None or m.step == step]


def _supplied_ids(case: Case, since: int = 0) -> set[str]:
    return {a.material for s in case.supplements[since:] for a in s.materials if a.material is not None}


def _ids_of(supplied: Iterable[str | Mapping[str, Any]] | None, known: set[str]) -> set[str]:
    if supplied is None:
        return set()
    if isinstance(supplied, str | bytes | Mapping):
        raise InvalidInputError("'supplied' is a list of material ids or attachments naming a material")
    out: set[str] = set()
    for n, item in enumerate(supplied):
        ident = item if isinstance(item, str) else attachments_of([item], f"supplied[{n}]", material=True)[0].material
        if ident not in known:
            raise InvalidInputError(f"supplied[{n}]: {str(ident)[:60]!r} is no material of this process; its "
                                    f"materials: {', '.join(sorted(known)) or 'none'}")  # fmt: skip
        out.add(str(ident))
    return out


def missing_materials(
    case: Case, supplied: Iterable[str | Mapping[str, Any]] | None, step: str | None
) -> list[Material]:
    """The required materials of the process and ``step`` not supplied so far nor in ``supplied``."""
    if step is not None:
        step = plain_name(step, "step")
        if step not in case.definition.steps:
            raise InvalidInputError(f"'{step}' is not a step of this process", case=case.id, step=step)
    have = _supplied_ids(case) | _ids_of(supplied, {m.id for m in case.definition.materials})
    return [m for m in _declared(case, step) if m.required and m.id not in have]


def _round(case: Case, step: str | None) -> int:
    return case.path.count(step) if step is not None else 0


def open_notice(case: Case) -> int | None:
    """The index of the notice the supplements so far have not covered (the last one), or None."""
    if not case.notices:
        return None
    index = len(case.notices) - 1
    answered = [s for s in case.supplements if s.notice == index]
    if answered and not answered[-1].still_missing:
        return None
    return index


def notify_missing(
    case: Case,
    actor: str,
    missing: Iterable[str] | None,
    step: str | None,
    text: str | None,
    at: datetime | str | None,
) -> list[Finding]:
    """Record the 一次告知 notice (see the module); returns the findings recorded under ``record``."""
    actor = case._known(plain_name(actor, "actor"))
    if step is not None:
        step = plain_name(step, "step")
    moment = case._moment(at, step)
    fire_timers(case, moment)
    text = opinion_text(text, "the notice's text")
    if step is not None and step not in {r.id for r in case.ready_steps()}:
        ready = [r.id for r in case.ready_steps()]
        raise StepNotReady(f"'{step}' is not ready: a notice is given at a ready step; ready now: "
                           f"{', '.join(ready) or 'nothing'}", case=case.id, step=step, ready=ready)  # fmt: skip
    who: list[Finding] = []
    if step is not None:  # given at a step: by someone who may do it (受理 is the window's, not anyone's)
        task = next(t for t in case._scan.ready if t.task_spec.bpmn_id == step)
        person = case.organisation.person(actor)
        assert person is not None  # a known person (case._known above)
        who = person_findings(case, case.definition.steps[step], person, at=moment, since=case._since[str(task.id)],
                              rules=OPINION_RULES)  # fmt: skip
    due = missing_materials(case, None, step)
    known = {m.id for m in case.definition.materials}
    if not known:
        raise InvalidInputError("the process declares no materials (af:materials): there is nothing to notify",
                                case=case.id, step=step)  # fmt: skip
    if missing is None:
        named = [m.id for m in due]
    else:
        if isinstance(missing, str | bytes):
            raise InvalidInputError("'missing' is a list of material ids", case=case.id, step=step)
        named = [plain_name(m, "material id") for m in missing]
        unknown = [m for m in named if m not in known]
        if unknown or len(set(named)) != len(named):
            raise InvalidInputError(f"'missing' names {', '.join(unknown) or 'a material twice'}: it lists the ids "
                                    f"of materials of this process once each ({', '.join(sorted(known))})",
                                    case=case.id, step=step)  # fmt: skip
    if not named:
        raise InvalidInputError("no material is missing: a notice names at least one", case=case.id, step=step)
    round_ = _round(case, step)
    base = {"action": "notify-missing", "at": moment.isoformat(), "step": step, "actor": actor, "post": None,
            "unit": case.unit.id, "data": {"missing": named, "round": round_, "text": text}}  # fmt: skip
    findings: list[Finding] = list(who)
    before = [n for n in case.notices if n.step == step and n.round == round_]
    if before:
        findings.append(
            RUNTIME.finding(
                "once",
                f"一次告知: a notice of missing materials was given in this round "
                f"already ({before[0].at.isoformat()}, by {before[0].actor}); every missing "
                "material is named in one notice",
                element=step,
                actor=actor,
                at=moment,
            )
        )
    left_out = [m.id for m in due if m.id not in named]
    if left_out:
        findings.append(RUNTIME.finding("notice-incomplete", f"一次告知: the notice leaves out {', '.join(left_out)}, "
                                        "missing too; a notice names every missing material", element=step,
                                        actor=actor, at=moment))  # fmt: skip
    if findings and case.policy.value == "enforce":
        case._append(**base, findings=[f.to_dict() for f in findings], outcome="refused")
        raise StepRefused(case=case.id, step=step or "", actor=actor, findings=findings)
    with case._all_or_nothing(base):
        case.notices.append(Notice(moment, actor, step, round_, tuple(named), text))
        case.findings.extend(findings)
        case._append(**base, findings=[f.to_dict() for f in findings], outcome="recorded" if findings else "noted")
    return findings


def supplement(
    case: Case, actor: str, materials: Sequence[Mapping[str, Any] | Attachment], at: datetime | str | None
) -> list[Finding]:
    """Record materials supplied (see the module); returns the ``supplement-incomplete`` warning, if any."""
    actor = plain_name(actor, "actor")
    if case.organisation.person(actor) is None and actor not in case.parties:
        raise UnknownActorError(
            f"'{actor}' is neither a person of the organisation nor a party of the case "
            "(the applicant supplies materials, or an official receives them)",
            case=case.id,
        )
    moment = case._moment(at, None)
    fire_timers(case, moment)
    files = attachments_of(materials, "materials", material=True)
    if not files:
        raise InvalidInputError("a supplement supplies at least one material", case=case.id)
    known = {m.id for m in case.definition.materials}
    unknown = sorted({str(a.material) for a in files if a.material not in known})
    if unknown:
        raise InvalidInputError(f"materials name {', '.join(unknown)}, no material of this process; its materials: "
                                f"{', '.join(sorted(known)) or 'none'}", case=case.id)  # fmt: skip
    index = open_notice(case)
    still: tuple[str, ...] = ()
    findings: list[Finding] = []
    if index is not None:
        first = next((n for n, s in enumerate(case.supplements) if s.notice == index), len(case.supplements))
        have = _supplied_ids(case, first) | {str(a.material) for a in files}
        still = tuple(m for m in case.notices[index].missing if m not in have)
        if still:
            findings.append(RUNTIME.finding("supplement-incomplete", f"补正: {', '.join(still)} of the notice of "
                                            f"{case.notices[index].at.isoformat()} still missing", element=
                                            case.notices[index].step, actor=actor, at=moment))  # fmt: skip
    base = {"action": "supplement", "at": moment.isoformat(), "step": None, "actor": actor, "post": None,
            "unit": case.unit.id, "data": {"notice": index, "still_missing": list(still)},
            "attachments": [a.to_dict() for a in files]}  # fmt: skip
    with case._all_or_nothing(base):
        case.supplements.append(Supplement(moment, actor, files, index, still))
        case.findings.extend(findings)
        case._append(**base, findings=[f.to_dict() for f in findings], outcome="recorded" if findings else "noted")
    return findings


def _moment_of(value: Any, where: str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"{where}: 'at' is not a moment with a time zone")
    return moment


def notices_from_state(value: object, case: Case) -> list[Notice]:
    """The ``notices`` of a saved case, checked (``ValueError`` naming the item)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("'notices' is not a list")
    known = {m.id for m in case.definition.materials}
    out = []
    for n, item in enumerate(value):
        where = f"notices[{n}]"
        if not isinstance(item, dict) or set(item) != {"at", "actor", "step", "round", "missing", "text"}:
            raise ValueError(f"{where}: not a notice record")
        if not isinstance(item["actor"], str) or (
            item["step"] is not None and item["step"] not in case.definition.steps
        ):
            raise ValueError(f"{where}: no actor, or a step the process does not have")
        if type(item["round"]) is not int or item["round"] < 0:
            raise ValueError(f"{where}: 'round' is not a count")
        missing = item["missing"]
        if not isinstance(missing, list) or not missing or not all(isinstance(m, str) and m in known for m in missing):
            raise ValueError(f"{where}: 'missing' is not a list of materials of the process")
        try:
            text = opinion_text(item["text"], f"{where}.text")
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from None
        out.append(Notice(_moment_of(item["at"], where), item["actor"], item["step"], item["round"], tuple(missing),
                          text))  # fmt: skip
    return out


def supplements_from_state(value: object, case: Case, notices: int) -> list[Supplement]:
    """The ``supplements`` of a saved case, checked (``ValueError`` naming the item)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("'supplements' is not a list")
    known = {m.id for m in case.definition.materials}
    out = []
    for n, item in enumerate(value):
        where = f"supplements[{n}]"
        if not isinstance(item, dict) or set(item) != {"at", "actor", "materials", "notice", "still_missing"}:
            raise ValueError(f"{where}: not a supplement record")
        notice = item["notice"]
        if not isinstance(item["actor"], str) or (notice is not None and (type(notice) is not int or
                                                                          not 0 <= notice < notices)):  # fmt: skip
            raise ValueError(f"{where}: no actor, or a notice the case does not have")
        still = item["still_missing"]
        if not isinstance(still, list) or not all(isinstance(m, str) and m in known for m in still):
            raise ValueError(f"{where}: 'still_missing' is not a list of materials of the process")
        try:
            files = attachments_of(item["materials"], f"{where}.materials", material=True)
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from None
        if not files or any(a.material not in known for a in files):
            raise ValueError(f"{where}: materials that are none of the process's")
        out.append(Supplement(_moment_of(item["at"], where), item["actor"], files, notice, tuple(still)))
    return out
