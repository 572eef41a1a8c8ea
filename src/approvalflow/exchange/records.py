"""A case as the 办件 records provincial 政务服务 platforms exchange (docs/exchange.md gives every field's source).

:func:`export_case` builds, from a case (running or ended) and its 办件编号:

- ``办件基本信息``: the application and its acceptance (GB/T 39046—2020 表 5 办事申请, 表 6 事项受理);
- ``过程信息``: one record per completion, per 退回 and per step still open (表 7 事项办理);
- ``特别程序信息``: 延长审批 (the extension), 中止 and the clock-suspending steps (听证, 专家评审 …) (表 7 特别程序);
- ``补正信息``: the 一次告知 notices and the materials supplied (补正) (approvalflow's names, not the standard's);
- ``结果信息``: the end (表 8 事项办结), or null while the case runs;
- ``评价信息``: the 好差评 (表 9 政务服务绩效评价), or null.

Each field is checked as hostile input on the way out: a text longer than the standard's length (e.g. 环节处理意见
``an..1000``) or holding a control character is refused by name (:class:`InvalidInputError` naming the case and
the field), never cut. Moments are written as the standard writes them, ``YYYYMMDDThhmmss`` in Beijing time.
:meth:`ExchangeRecord.to_json` gives the Chinese field names; ``english=True`` the stable English keys of
:data:`ENGLISH`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from ..engine.opinions import RETURN
from ..errors import InvalidInputError
from ..rules.signing import AGREE, DISAGREE
from ..time.caseclock import CASE_SUSPENSION
from ..time.periods import SHANGHAI
from .numbering import check_number

if TYPE_CHECKING:
    from ..engine.case import Case

__all__ = ["ENGLISH", "FORMAT", "ExchangeRecord", "export_case", "stamp"]

FORMAT = "approvalflow.exchange"
VERSION = 1
#: Chinese field name -> the stable English key (``to_json(english=True)``).
ENGLISH: dict[str, str] = {
    "办件基本信息": "case",
    "过程信息": "process",
    "特别程序信息": "special_procedures",
    "补正信息": "supplements",
    "结果信息": "result",
    "评价信息": "evaluation",
    "办件编号": "case_number",
    "实施编码": "implementation_code",
    "事项名称": "item_name",
    "事项类型": "item_category",
    "办件类型": "case_type",
    "办件类型代码": "case_type_code",
    "申请者名称": "applicant",
    "申请者证件类型代码": "applicant_id_type",
    "申请者证件号码": "applicant_id",
    "申请时间": "applied_at",
    "受理单位名称": "accepting_unit",
    "受理单位标识": "accepting_unit_id",
    "受理时间": "accepted_at",
    "承诺办结时间": "promised_by",
    "法定办结时间": "statutory_by",
    "办件状态": "status",
    "业务动作": "action",
    "环节标识": "step_id",
    "环节名称": "step_name",
    "环节处理人": "handler",
    "环节处理人标识": "handler_id",
    "环节处理意见": "opinion",
    "环节开始时间": "started_at",
    "环节结束时间": "ended_at",
    "处理单位名称": "handling_unit",
    "环节办理状态代码": "step_status_code",
    "附件": "attachments",
    "特别程序种类代码": "kind_code",
    "特别程序种类名称": "kind_name",
    "特别程序开始时间": "started_at",
    "特别程序结束时间": "ended_at",
    "特别程序启动理由或依据": "reason",
    "特别程序时限": "days",
    "申请人": "requested_by",
    "特别程序结果": "result",
    "办理人": "handler",
    "记录类型": "kind",
    "时间": "at",
    "经办人": "by",
    "材料": "materials",
    "仍缺材料": "still_missing",
    "告知内容": "text",
    "材料标识": "material_id",
    "材料名称": "material_name",
    "文件名": "file_name",
    "文件摘要": "sha256",
    "办理人姓名": "handler",
    "办结时间": "ended_at",
    "办结结果": "outcome",
    "办结结果标识": "outcome_id",
    "办件结果描述": "description",
    "结果证照名称": "license_name",
    "结果证照编号": "license_number",
    "证照有效期限": "license_validity",
    "发证/盖章单位": "license_issuer",
    "评价人": "evaluator",
    "评价时间": "evaluated_at",
    "评价次数": "times",
    "满意度": "grade",
    "满意度代码": "grade_code",
    "文字评价": "text",
    "评价渠道": "channel",
    "整改办件": "rectification_case",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")  # line breaks and tabs kept
_ID_TYPE = re.compile(r"[0-9]{3}")  # 证件类型代码 n3 (GA/T 2000.156)
_ID_NUMBER = re.compile(r"[0-9A-Za-z]{1,18}")  # 证件号码 an..18
_ACTION = {AGREE: "通过", None: "通过", RETURN: "退回", DISAGREE: "其他"}
_OUTCOMES = {"approved": "准予", "denied": "不予许可", "not-accepted": "不予受理", "withdrawn": "撤回",
             "terminated": "终止", None: "办结"}  # fmt: skip
_STATUS = {"running": "在办", "suspended": "中止", "completed": "办结", "withdrawn": "撤回", "terminated": "终止"}
_LICENSE = {"name": ("结果证照名称", 200), "number": ("结果证照编号", 50), "validity": ("证照有效期限", 30),
            "issuer": ("发证/盖章单位", 100), "description": ("办件结果描述", 1000)}  # fmt: skip


def stamp(moment: datetime | None) -> str | None:
    """A moment as GB/T 39046 writes it (日期时间型 ``YYYYMMDDThhmmss``), in Beijing time."""
    return None if moment is None else moment.astimezone(SHANGHAI).strftime("%Y%m%dT%H%M%S")


@dataclass(frozen=True)
class ExchangeRecord:
    """The exchange records of one case (see the module), with Chinese field names."""

    records: dict[str, Any]

    def to_json(self, *, english: bool = False) -> dict[str, Any]:
        """The records as plain JSON values: Chinese field names, or the English keys of :data:`ENGLISH`."""
        body = _renamed(self.records) if english else self.records
        return {"format": FORMAT, "version": VERSION, **body}

    def to_xml(self) -> str:
        """The records as XML (Chinese element names; lists as repeated ``记录`` elements; null fields left out)."""
        root = ElementTree.Element("办件")
        root.set("format", FORMAT)
        root.set("version", str(VERSION))
        _xml(root, self.records)
        return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


def _renamed(value: Any) -> Any:
    if isinstance(value, dict):
        return {ENGLISH.get(k, k): _renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v) for v in value]
    return value


def _xml(parent: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if item is None:
                continue
            child = ElementTree.SubElement(parent, key.replace("/", "或"))
            _xml(child, item)
    elif isinstance(value, list):
        for item in value:
            _xml(ElementTree.SubElement(parent, "记录"), item)
    else:
        parent.text = str(value)


class _Checker:
    """Checks each field of one case's records (hostile data) and names the case and field when one is refused."""

    def __init__(self, case: Case) -> None:
        self.case = case

    def text(self, value: object, field: str, most: int, *, lines: bool = False, required: bool = False) -> str | None:
        if value is None:
            if required:
                raise InvalidInputError(f"case {self.case.id}: {field} ({ENGLISH.get(field, field)}) is required",
                                        case=self.case.id)  # fmt: skip
            return None
        if not isinstance(value, str):
            raise InvalidInputError(f"case {self.case.id}: {field} is a text, not {type(value).__name__}",
                                    case=self.case.id)  # fmt: skip
        if len(value) > most:
            raise InvalidInputError(f"case {self.case.id}: {field} ({ENGLISH.get(field, field)}) has {len(value):,} "
                                    f"characters; the exchange standard allows at most {most} (nothing is cut)",
                                    case=self.case.id)  # fmt: skip
        if (_CONTROL_TEXT if lines else _CONTROL).search(value):
            raise InvalidInputError(f"case {self.case.id}: {field} ({ENGLISH.get(field, field)}) holds a control "
                                    "character", case=self.case.id)  # fmt: skip
        return value

    def matching(self, value: object, field: str, pattern: re.Pattern[str], what: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise InvalidInputError(f"case {self.case.id}: {field} ({ENGLISH.get(field, field)}) "
                                    f"{str(value)[:40]!r} is not {what}", case=self.case.id)  # fmt: skip
        return value


def _person_name(case: Case, person: str) -> str:
    found = case.organisation.person(person)
    return found.name if found is not None else person


def _handler(case: Case, person: str | None, check: _Checker) -> str | None:
    return check.text(_person_name(case, person), "环节处理人", 30) if person else None


def _basic(case: Case, number: str, code: str, check: _Checker) -> dict[str, Any]:
    data = case.data
    tl = case.definition.time_limit
    deadlines = case.deadlines(case.ended_at) if tl is not None and case.clock_start is not None else None
    power = case.definition.power
    promised = tl is not None and tl.promised is not None
    kind = data.get("case_type")
    kind_code = {"即办件": "1", "承诺件": "2"}.get(kind) if isinstance(kind, str) else None
    if kind is not None and kind_code is None:
        raise InvalidInputError(f"case {case.id}: case data 'case_type' is 即办件 or 承诺件, not {str(kind)[:20]!r}",
                                case=case.id)  # fmt: skip
    if kind_code is None:
        kind, kind_code = ("承诺件", "2") if promised else ("即办件", "1")
    return {
        "办件编号": number,
        "实施编码": check.text(code, "实施编码", 24, required=True),
        "事项名称": check.text(power.name if power else case.definition.name, "事项名称", 200, required=True),
        "事项类型": power.category.value if power else None,
        "办件类型": kind,
        "办件类型代码": kind_code,
        "申请者名称": check.text(data.get("applicant"), "申请者名称", 100),
        "申请者证件类型代码": check.matching(
            data.get("applicant_id_type"), "申请者证件类型代码", _ID_TYPE, "a code of three digits (GA/T 2000.156)"
        ),
        "申请者证件号码": check.matching(
            data.get("applicant_id"), "申请者证件号码", _ID_NUMBER, "1 to 18 letters and digits"
        ),
        "申请时间": stamp(case.started_at),
        "受理单位名称": check.text(case.unit.name, "受理单位名称", 100, required=True),
        "受理单位标识": case.unit.id,
        "受理时间": stamp(case.clock_start or case.started_at),
        "承诺办结时间": deadlines.promised.day.strftime("%Y%m%d") if deadlines and deadlines.promised else None,
        "法定办结时间": deadlines.statutory.day.strftime("%Y%m%d") if deadlines and deadlines.statutory else None,
        "办件状态": _STATUS[case.status],
    }


def _opinion_of(case: Case, step: str, actor: str, at: datetime) -> Any:
    return next((o for o in case.opinions if o.step == step and o.actor == actor and o.at == at), None)


def _process(case: Case, number: str, check: _Checker, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unit = check.text(case.unit.name, "处理单位名称", 100)
    rows: list[tuple[datetime, int, dict[str, Any]]] = []
    for n, done in enumerate(case.history):
        step = case.definition.steps[done.step]
        opinion = _opinion_of(case, done.step, done.actor, done.at)
        kind = opinion.kind if opinion is not None else None
        files = [{"文件名": a.name, "文件摘要": a.sha256} for a in opinion.attachments] if opinion else []
        rows.append((done.at, n, {
            "办件编号": number,
            "业务动作": _ACTION[kind],
            "环节标识": done.step,
            "环节名称": check.text(step.name, "环节名称", 100),
            "环节处理人": check.text(_person_name(case, done.actor), "环节处理人", 30),
            "环节处理人标识": done.actor,
            "环节处理意见": check.text(opinion.text if opinion else None, "环节处理意见", 1000, lines=True),
            "环节开始时间": stamp(done.since),
            "环节结束时间": stamp(done.at),
            "处理单位名称": unit,
            "环节办理状态代码": "2",
            "附件": files,
        }))  # fmt: skip
    for n, entry in enumerate(entries):
        if entry.get("action") != "return" or entry.get("outcome") == "refused" or entry.get("step") is None:
            continue
        returned = case.definition.steps.get(str(entry["step"]))
        at = datetime.fromisoformat(str(entry["at"]))
        reason = (entry.get("data") or {}).get("reason")
        actor = str(entry.get("actor"))
        rows.append((at, len(case.history) + n, {
            "办件编号": number,
            "业务动作": "退回",
            "环节标识": entry["step"],
            "环节名称": check.text(returned.name if returned else str(entry["step"]), "环节名称", 100),
            "环节处理人": check.text(_person_name(case, actor), "环节处理人", 30),
            "环节处理人标识": actor,
            "环节处理意见": check.text(reason if isinstance(reason, str) else None, "环节处理意见", 1000, lines=True),
            "环节开始时间": stamp(at),
            "环节结束时间": stamp(at),  # the standard: 如没有结束时间，则填写开始时间
            "处理单位名称": unit,
            "环节办理状态代码": "2",
            "附件": [],
        }))  # fmt: skip
    rows.sort(key=lambda r: (r[0], r[1]))
    out = [r[2] for r in rows]
    if case.status in ("running", "suspended"):
        for ready in case.ready_steps():
            out.append({
                "办件编号": number,
                "业务动作": "其他",
                "环节标识": ready.id,
                "环节名称": check.text(ready.name, "环节名称", 100),
                "环节处理人": _handler(case, ready.assignee, check),
                "环节处理人标识": ready.assignee,
                "环节处理意见": None,
                "环节开始时间": stamp(ready.since),
                "环节结束时间": stamp(ready.since),  # 如没有结束时间，则填写开始时间
                "处理单位名称": unit,
                "环节办理状态代码": "1",
                "附件": [],
            })  # fmt: skip
    return out


def _trail_actor(entries: list[dict[str, Any]], action: str, at: datetime) -> str | None:
    for entry in entries:
        if entry.get("action") == action and entry.get("outcome") != "refused" and entry.get("at") == at.isoformat():
            return str(entry.get("actor"))
    return None


def _special(case: Case, number: str, check: _Checker, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[tuple[datetime, dict[str, Any]]] = []
    if case.extension_days:
        granted = next((c for c in case.history if case.definition.steps[c.step].extension), None)
        unit = case.definition.time_limit.unit if case.definition.time_limit else "workday"
        said = _opinion_of(case, granted.step, granted.actor, granted.at) if granted else None
        reason = said.text if said is not None and said.text else (
            case.definition.steps[granted.step].name if granted else None)  # fmt: skip
        out.append((granted.at if granted else case.started_at, {
            "办件编号": number,
            "特别程序种类代码": "1",
            "特别程序种类名称": "延长审批",
            "特别程序开始时间": stamp(granted.at) if granted else None,
            "特别程序结束时间": None,
            "特别程序启动理由或依据": check.text(reason, "特别程序启动理由或依据", 1000, lines=True),
            "特别程序时限": f"{case.extension_days} {'工作日' if unit == 'workday' else unit}",
            "申请人": None,
            "特别程序结果": None,
            "办理人": check.text(_person_name(case, granted.actor), "办理人", 30) if granted else None,
        }))  # fmt: skip
    for s in case.suspensions:
        if s.step == CASE_SUSPENSION:
            name, actor, result = "中止", _trail_actor(entries, "suspend", s.start), None
        else:
            info = case.definition.steps.get(s.step)
            name = info.name if info is not None else s.step
            done = next((c for c in case.history if c.step == s.step and s.end is not None and c.at == s.end), None)
            actor = done.actor if done else None
            opinion = _opinion_of(case, done.step, done.actor, done.at) if done else None
            result = opinion.text if opinion else None
        out.append((s.start, {
            "办件编号": number,
            "特别程序种类代码": "2",
            "特别程序种类名称": check.text(name, "特别程序种类名称", 100),
            "特别程序开始时间": stamp(s.start),
            "特别程序结束时间": stamp(s.end),
            "特别程序启动理由或依据": check.text(s.reason, "特别程序启动理由或依据", 1000, lines=True),
            "特别程序时限": None,
            "申请人": None,
            "特别程序结果": check.text(result, "特别程序结果", 1000, lines=True),
            "办理人": check.text(_person_name(case, actor), "办理人", 30) if actor else None,
        }))  # fmt: skip
    out.sort(key=lambda r: r[0])
    return [r[1] for r in out]


def _supplements(case: Case, check: _Checker) -> list[dict[str, Any]]:
    names = {m.id: m.name for m in case.definition.materials}
    out: list[tuple[datetime, dict[str, Any]]] = []
    for notice in case.notices:
        step = case.definition.steps.get(notice.step) if notice.step else None
        out.append((notice.at, {
            "记录类型": "补正告知",
            "时间": stamp(notice.at),
            "经办人": check.text(_person_name(case, notice.actor), "经办人", 30),
            "环节名称": step.name if step else None,
            "材料": [{"材料标识": m, "材料名称": check.text(names.get(m, m), "材料名称", 200)} for m in notice.missing],
            "告知内容": check.text(notice.text, "告知内容", 1000, lines=True),
            "仍缺材料": [],
        }))  # fmt: skip
    for given in case.supplements:
        files = [
            {"材料标识": a.material, "材料名称": check.text(names.get(a.material or "", a.material), "材料名称", 200),
             "文件名": check.text(a.name, "文件名", 255), "文件摘要": a.sha256}
            for a in given.materials
        ]  # fmt: skip
        out.append((given.at, {
            "记录类型": "补正材料",
            "时间": stamp(given.at),
            "经办人": check.text(_person_name(case, given.actor), "经办人", 100),
            "环节名称": None,
            "材料": files,
            "告知内容": None,
            "仍缺材料": list(given.still_missing),
        }))  # fmt: skip
    out.sort(key=lambda r: r[0])
    return [r[1] for r in out]


def _result(case: Case, number: str, check: _Checker, entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    if case.status in ("running", "suspended") or case.ended_at is None:
        return None
    outcome = case.outcome
    last = case.history[-1].actor if case.history else None
    if outcome in ("withdrawn", "terminated"):
        last = _trail_actor(entries, "withdraw" if outcome == "withdrawn" else "terminate", case.ended_at) or last
    license_ = case.data.get("license")
    if license_ is not None and not isinstance(license_, Mapping):
        raise InvalidInputError(f"case {case.id}: case data 'license' is a mapping of {', '.join(_LICENSE)}",
                                case=case.id)  # fmt: skip
    given = dict(license_ or {})
    unknown = sorted(str(k)[:30] for k in given if k not in _LICENSE)
    if unknown:
        raise InvalidInputError(f"case {case.id}: case data 'license' has {', '.join(unknown)}; its keys are "
                                f"{', '.join(_LICENSE)}", case=case.id)  # fmt: skip
    out: dict[str, Any] = {
        "办件编号": number,
        "办理人姓名": check.text(_person_name(case, last), "办理人姓名", 30) if last else None,
        "办结时间": stamp(case.ended_at),
        "办结结果": _OUTCOMES.get(outcome, "办结"),
        "办结结果标识": outcome or "completed",
    }
    for key, (field, most) in _LICENSE.items():
        out[field] = check.text(given.get(key), field, most, lines=key == "description")
    return out


def _evaluation(case: Case, number: str, check: _Checker) -> dict[str, Any] | None:
    e = case.evaluation
    if e is None:
        return None
    return {
        "办件编号": number,
        "评价渠道": check.text(e.channel, "评价渠道", 50),
        "评价人": check.text(_person_name(case, e.actor), "评价人", 30),
        "评价时间": stamp(e.at),
        "评价次数": 1,
        "满意度": e.grade,
        "满意度代码": str(e.code),
        "文字评价": check.text(e.text, "文字评价", 10_000, lines=True),
        "整改办件": e.rectification,
    }


def export_case(case: Case, number: str, *, code: str | None = None) -> ExchangeRecord:
    """The exchange records of ``case`` under the 办件编号 ``number`` (:mod:`approvalflow.exchange.numbering`).

    ``code`` is the 实施编码 (default: the process's ``af:power/@code``; a process without one needs it).
    Refuses (:class:`InvalidInputError` naming the case and field) a field the standard cannot carry: too long,
    a control character, a certificate type or number of the wrong form. Reads the case; changes nothing."""
    number = check_number(number)
    chosen = code if code is not None else (case.definition.power.code if case.definition.power else None)
    if chosen is None:
        raise InvalidInputError(f"case {case.id}: process '{case.definition.id}' declares no power (af:power/@code): "
                                "give the 实施编码 (code)", case=case.id)  # fmt: skip
    check = _Checker(case)
    entries = case.trail.entries  # decoded once
    records = {
        "办件基本信息": _basic(case, number, chosen, check),
        "过程信息": _process(case, number, check, entries),
        "特别程序信息": _special(case, number, check, entries),
        "补正信息": _supplements(case, check),
        "结果信息": _result(case, number, check, entries),
        "评价信息": _evaluation(case, number, check),
    }
    return ExchangeRecord(records)
