"""办件 exchange (issue 19 item 5): a case as the records 政务服务 platforms exchange, and the 办件编号 scheme.

The expected values below are worked out from the scenario (the 2026 calendar: 国庆 1-7 October, 10 October a
working Saturday; no holiday from 12 October to the end of November), not copied from the export.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.bpmn.loader import ProcessDefinition, load_process_string
from approvalflow.engine.case import Case, start_case
from approvalflow.engine.state import case_state
from approvalflow.errors import InvalidInputError
from approvalflow.exchange import ENGLISH, case_number, check_template, export_case, number_of, sequence_in_store
from approvalflow.org.organisation import Organisation, organisation_from_dict
from approvalflow.store.cases import add_case
from approvalflow.store.memory import MemoryStore
from approvalflow.time.clock import FakeClock

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"
    id="defs" targetNamespace="urn:test">
  <bpmn:process id="exlicence" name="测试许可流程" isExecutable="true">
    <bpmn:extensionElements>
      <af:power code="140500-XK-0009" name="测试行政许可" category="licensing"/>
      <af:timeLimit statutory="20" promised="15" extension="10" unit="workday" startsAfter="accept"/>
      <af:materials>
        <af:material id="application_form" name="申请书"/>
        <af:material id="license_copy" name="营业执照复印件"/>
      </af:materials>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="accept" name="受理">
      <bpmn:extensionElements><af:step posts="clerk"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="review" name="审查">
      <bpmn:extensionElements><af:step posts="reviewer"/></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="expert" name="专家评审">
      <bpmn:extensionElements><af:step posts="expert"/><af:suspendsClock reason="专家评审"/></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="extend" name="延期审批">
      <bpmn:extensionElements><af:step posts="leader"/><af:extension/></bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="decide" name="决定">
      <bpmn:extensionElements><af:step posts="leader"/></bpmn:extensionElements>
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept"/>
    <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="expert"/>
    <bpmn:sequenceFlow id="f4" sourceRef="expert" targetRef="extend"/>
    <bpmn:sequenceFlow id="f5" sourceRef="extend" targetRef="decide"/>
    <bpmn:sequenceFlow id="f6" sourceRef="decide" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

ORG: dict[str, Any] = {
    "units": [
        {"id": "bureau", "name": "县市场监督管理局", "principal": "zhang", "deputies": {"li": ["approval"], "zhao": []}}
    ],
    "people": {
        "zhang": {"name": "张局长", "unit": "bureau", "posts": ["principal", "leader"]},
        "li": {"name": "李副局长", "unit": "bureau", "posts": ["deputy", "leader"]},
        "zhao": {"name": "赵副局长", "unit": "bureau", "posts": ["deputy", "leader"]},
        "wang": {"name": "王窗口", "unit": "bureau", "posts": ["clerk"]},
        "liu": {"name": "刘审查员", "unit": "bureau", "posts": ["reviewer"]},
        "zhou": {"name": "周专家", "unit": "bureau", "posts": ["expert"]},
    },
}
APPLICANT = "某某科技有限公司"
LICENSE = {"name": "测试许可证", "number": "XK-2026-0001", "validity": "2031-10-20", "issuer": "县市场监督管理局"}
PDF = {"media_type": "application/pdf", "size": 2048, "sha256": "cd" * 32}


def definition() -> ProcessDefinition:
    return load_process_string(BPMN, filename="exlicence.bpmn")


def organisation() -> Organisation:
    return organisation_from_dict(ORG)


def new_case(case_id: str = "c1", start: str = "2026-10-12T09:00:00+08:00", **data: Any) -> Case:
    base = {"applicant": APPLICANT, "applicant_id_type": "111", "applicant_id": "91140500MA0000000X"}
    return start_case(definition(), organisation(), clock=FakeClock(start), case_id=case_id, data={**base, **data})


def run_full() -> Case:
    """A case with every record kind: 一次告知 and 补正, a 退回, a clock-suspending 专家评审, an extension (延期),
    a 中止 and 恢复, opinions, the outcome, a licence, and a 差评."""
    case = new_case()
    case.notify_missing("wang", step="accept", text="请补正申请书和营业执照复印件", at="2026-10-12T09:30:00+08:00")
    case.supplement(APPLICANT, materials=[{**PDF, "name": "申请书.pdf", "material": "application_form"},
                                          {**PDF, "name": "营业执照.pdf", "material": "license_copy"}],
                    at="2026-10-13T10:00:00+08:00")  # fmt: skip
    case.complete("accept", "wang", opinion="agree", comment="材料齐全，予以受理", at="2026-10-13T11:00:00+08:00")
    case.return_to("review", "liu", to="accept", reason="营业执照复印件不清晰", at="2026-10-14T09:00:00+08:00")
    case.complete("accept", "wang", opinion="agree", comment="已重新核对", at="2026-10-14T10:00:00+08:00")
    case.complete("review", "liu", opinion="agree", comment="审查通过", at="2026-10-14T15:00:00+08:00")
    case.complete("expert", "zhou", comment="专家评审：符合条件", at="2026-10-16T16:00:00+08:00")
    case.complete("extend", "li", data={"extension_days": 5}, comment="需进一步核查，延长5个工作日",
                  at="2026-10-19T09:00:00+08:00")  # fmt: skip
    case.suspend("zhang", reason="申请人申请中止", at="2026-10-19T10:00:00+08:00")
    case.resume("zhang", at="2026-10-20T10:00:00+08:00")
    case.complete("decide", "zhao", opinion="agree", comment="准予许可", data={"license": LICENSE},
                  at="2026-10-21T09:00:00+08:00")  # fmt: skip
    case.record_outcome("zhao", "approved", at="2026-10-21T09:05:00+08:00")
    case.evaluate(APPLICANT, "不满意", text="等待时间过长", channel="政务大厅平板电脑", rectification="c1-zg",
                  at="2026-10-22T10:00:00+08:00")  # fmt: skip
    return case


def step_row(number: str, action: str, step: str, name: str, who: str, who_id: str, opinion: str | None,
             start: str, end: str) -> dict[str, Any]:  # fmt: skip
    return {"办件编号": number, "业务动作": action, "环节标识": step, "环节名称": name, "环节处理人": who,
            "环节处理人标识": who_id, "环节处理意见": opinion, "环节开始时间": start, "环节结束时间": end,
            "处理单位名称": "县市场监督管理局", "环节办理状态代码": "2", "附件": []}  # fmt: skip


def test_a_full_case_is_exported_record_by_record() -> None:
    case = run_full()
    number = "140500-XK-000920261012000001"  # the default template: the code, the start day, the 1st of the day
    out = export_case(case, number).to_json()
    assert out["format"] == "approvalflow.exchange"
    basic = out["办件基本信息"]
    assert basic["办件编号"] == number and basic["实施编码"] == "140500-XK-0009" and basic["事项名称"] == "测试行政许可"
    assert basic["申请者名称"] == APPLICANT
    assert (basic["申请者证件类型代码"], basic["申请者证件号码"]) == ("111", "91140500MA0000000X")
    assert basic["申请时间"] == "20261012T090000"
    # The case clock starts when 受理 (af:timeLimit/@startsAfter) is completed: 10-13 11:00. The 退回 to 受理 and its
    # redo on 10-14 do not restart it (no restartOnReturn).
    assert basic["受理时间"] == "20261013T110000"
    assert (basic["受理单位名称"], basic["办件类型"], basic["办件类型代码"]) == ("县市场监督管理局", "承诺件", "2")
    # Promised: 15 working days after 10-13 = 11-03 (14,15,16,19,20,21,22,23,26,27,28,29,30 Oct, 2,3 Nov); plus the
    # suspended working days: 专家评审 10-14 15:00 to 10-16 16:00 (15 and 16 Oct: 2) and 中止 10-19 to 10-20 (20 Oct:
    # 1), and the extension of 5: 8 more working days, 4,5,6,9,10,11,12,13 Nov -> 2026-11-13.
    assert basic["承诺办结时间"] == "20261113"
    # Statutory: 20 working days after 10-13 = 11-10; + 3 suspended + 5 extension = 11-20 (11,12,13,16,17,18,19,20).
    assert basic["法定办结时间"] == "20261120"
    assert basic["办件状态"] == "办结"

    rows = out["过程信息"]
    assert rows == [
        step_row(number, "通过", "accept", "受理", "王窗口", "wang", "材料齐全，予以受理", "20261012T090000",
                 "20261013T110000"),
        step_row(number, "退回", "review", "审查", "刘审查员", "liu", "营业执照复印件不清晰", "20261014T090000",
                 "20261014T090000"),
        step_row(number, "通过", "accept", "受理", "王窗口", "wang", "已重新核对", "20261014T090000",
                 "20261014T100000"),
        step_row(number, "通过", "review", "审查", "刘审查员", "liu", "审查通过", "20261014T100000",
                 "20261014T150000"),
        step_row(number, "通过", "expert", "专家评审", "周专家", "zhou", "专家评审：符合条件", "20261014T150000",
                 "20261016T160000"),
        step_row(number, "通过", "extend", "延期审批", "李副局长", "li", "需进一步核查，延长5个工作日",
                 "20261016T160000", "20261019T090000"),
        step_row(number, "通过", "decide", "决定", "赵副局长", "zhao", "准予许可", "20261019T090000",
                 "20261021T090000"),
    ]  # fmt: skip

    special = out["特别程序信息"]
    assert [(s["特别程序种类代码"], s["特别程序种类名称"]) for s in special] == [
        ("2", "专家评审"), ("1", "延长审批"), ("2", "中止")
    ]  # fmt: skip
    expert, extension, pause = special
    assert (expert["特别程序开始时间"], expert["特别程序结束时间"]) == ("20261014T150000", "20261016T160000")
    assert (expert["特别程序结果"], expert["办理人"]) == ("专家评审：符合条件", "周专家")
    assert (extension["特别程序开始时间"], extension["特别程序时限"], extension["办理人"]) == (
        "20261019T090000", "5 工作日", "李副局长")  # fmt: skip
    assert extension["特别程序启动理由或依据"] == "需进一步核查，延长5个工作日"
    assert (pause["特别程序开始时间"], pause["特别程序结束时间"]) == ("20261019T100000", "20261020T100000")
    assert pause["特别程序启动理由或依据"] == "中止: 申请人申请中止" and pause["办理人"] == "张局长"

    notice, supplied = out["补正信息"]
    assert (notice["记录类型"], notice["时间"], notice["经办人"], notice["环节名称"]) == (
        "补正告知", "20261012T093000", "王窗口", "受理")  # fmt: skip
    assert notice["材料"] == [{"材料标识": "application_form", "材料名称": "申请书"},
                            {"材料标识": "license_copy", "材料名称": "营业执照复印件"}]  # fmt: skip
    assert notice["告知内容"] == "请补正申请书和营业执照复印件"
    assert (supplied["记录类型"], supplied["时间"], supplied["经办人"]) == ("补正材料", "20261013T100000", APPLICANT)
    assert supplied["材料"] == [
        {"材料标识": "application_form", "材料名称": "申请书", "文件名": "申请书.pdf", "文件摘要": "cd" * 32},
        {"材料标识": "license_copy", "材料名称": "营业执照复印件", "文件名": "营业执照.pdf", "文件摘要": "cd" * 32},
    ]
    assert supplied["仍缺材料"] == []

    result = out["结果信息"]
    assert (result["办理人姓名"], result["办结时间"], result["办结结果"]) == ("赵副局长", "20261021T090000", "准予")
    assert (result["结果证照名称"], result["结果证照编号"], result["证照有效期限"], result["发证/盖章单位"]) == (
        "测试许可证", "XK-2026-0001", "2031-10-20", "县市场监督管理局")  # fmt: skip

    rated = out["评价信息"]
    assert (rated["评价人"], rated["评价时间"], rated["满意度"], rated["满意度代码"]) == (
        APPLICANT, "20261022T100000", "不满意", "4")  # fmt: skip
    assert (rated["文字评价"], rated["评价渠道"], rated["整改办件"]) == ("等待时间过长", "政务大厅平板电脑", "c1-zg")


def test_english_keys_and_xml() -> None:
    case = run_full()
    record = export_case(case, "N1")
    english = record.to_json(english=True)
    assert english["case"]["case_number"] == "N1" and english["case"]["applicant_id"] == "91140500MA0000000X"
    assert english["process"][0]["opinion"] == "材料齐全，予以受理"
    assert english["result"]["license_number"] == "XK-2026-0001"
    assert len(set(ENGLISH.values())) < len(ENGLISH)  # shared names (办理人...) map to one key, by design
    assert not any(any("\u4e00" <= ch <= "\u9fff" for ch in key) for key in _keys(english))
    root = ElementTree.fromstring(record.to_xml())
    assert root.tag == "办件" and root.findtext("办件基本信息/办件编号") == "N1"
    assert [r.findtext("环节名称") for r in root.findall("过程信息/记录")][:2] == ["受理", "审查"]
    assert root.findtext("结果信息/发证或盖章单位") == "县市场监督管理局"


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in _keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def test_a_running_case_has_open_steps_and_no_result() -> None:
    case = new_case()
    case.complete("accept", "wang", at="2026-10-13T11:00:00+08:00")
    out = export_case(case, "N2").to_json()
    assert out["结果信息"] is None and out["评价信息"] is None
    assert out["办件基本信息"]["办件状态"] == "在办"
    done, open_ = out["过程信息"]
    assert done["环节办理状态代码"] == "2" and done["业务动作"] == "通过" and done["环节处理意见"] is None
    # an open step: status 1 (待办); no end, so the start again, as the standard asks
    assert (open_["环节标识"], open_["环节办理状态代码"]) == ("review", "1")
    assert open_["环节开始时间"] == open_["环节结束时间"] == "20261013T110000"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"applicant": "某" * 101}, "申请者名称"),
        ({"applicant": "某公司\x07"}, "control character"),
        ({"applicant_id_type": "ID"}, "申请者证件类型代码"),
        ({"applicant_id": "1234567890123456789"}, "申请者证件号码"),
        ({"applicant_id": "12345\n"}, "申请者证件号码"),
        ({"case_type": "加急件"}, "case_type"),
        ({"license": "a licence"}, "license"),
        ({"license": {"name": "证", "colour": "red"}}, "colour"),
        ({"license": {"name": "证", "number": "N" * 51}}, "结果证照编号"),
        ({"license": {"name": "证\x1b[31m"}}, "control character"),
    ],
)
def test_hostile_data_is_refused_by_name(data: dict[str, Any], says: str) -> None:
    case = new_case(**data)
    for step, actor in (
        ("accept", "wang"),
        ("review", "liu"),
        ("expert", "zhou"),
        ("extend", "li"),
        ("decide", "zhao"),
    ):
        case.complete(step, actor, at="2026-10-13T11:00:00+08:00")
    before = case_state(case)
    with pytest.raises(InvalidInputError) as exc:
        export_case(case, "N3")
    assert says in str(exc.value) and "c1" in str(exc.value)
    assert case_state(case) == before  # reading changes nothing


def test_an_opinion_longer_than_the_standard_allows_is_refused_not_cut() -> None:
    case = new_case()
    case.complete("accept", "wang", comment="意" * 1001, at="2026-10-13T11:00:00+08:00")  # the engine keeps 10,000
    with pytest.raises(InvalidInputError, match=r"环节处理意见.*1,001 characters.*at most 1000"):
        export_case(case, "N4")


@pytest.mark.parametrize("number", ["", "a b", "办件1", "N" * 51, "-N", None, 12])
def test_bad_case_numbers_are_refused(number: Any) -> None:
    with pytest.raises(InvalidInputError):
        export_case(new_case(), number)


# -- the 办件编号 scheme ------------------------------------------------------------------------------------------
def test_case_number_by_template() -> None:
    day = date(2026, 10, 12)
    assert case_number("{code}{date:%Y%m%d}{seq:06d}", "140500-XK-0009", day, 7) == "140500-XK-000920261012000007"
    assert case_number("SX-{date:%y%j}-{seq:04d}", "ignored", day, 12) == "SX-26285-0012"  # 12 Oct = day 285
    assert case_number("{seq}", "c", day, 3) == "3"


@pytest.mark.parametrize(
    "template",
    ["{code}{date:%Y%m%d}", "{code.upper}{seq}", "{seq!r}", "{unit}{seq}", "{seq:>6}", "{code:>3}{seq}",
     "{date:%H%M}{seq}", "{seq:06d} {code}", "{seq", "", "x" * 201, 5],
)  # fmt: skip
def test_bad_templates_are_refused(template: Any) -> None:
    with pytest.raises(InvalidInputError):
        check_template(template)


def test_a_number_too_long_for_the_standard_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="not a 办件编号"):
        case_number("{code}{code}{code}{date:%Y%m%d}{seq:06d}", "140500-XK-0009", date(2026, 10, 12), 1)


def test_the_sequence_counts_the_cases_of_the_day_and_code_in_the_store() -> None:
    store = MemoryStore()
    # three cases on 12 October (one at 23:30 Beijing time: still the 12th), one on the 13th; ids in another order
    for case_id, start in (("b", "2026-10-12T09:00:00+08:00"), ("a", "2026-10-12T10:00:00+08:00"),
                           ("c", "2026-10-12T15:30:00+00:00"), ("d", "2026-10-13T08:00:00+08:00")):  # fmt: skip
        add_case(store, new_case(case_id, start))
    late = new_case("z", "2026-10-12T23:59:00+08:00")  # not stored: counted after every stored case of its day
    assert [
        sequence_in_store(store, new_case(i, s))
        for i, s in (("b", "2026-10-12T09:00:00+08:00"), ("a", "2026-10-12T10:00:00+08:00"))
    ] == [1, 2]
    # 15:30 UTC is 23:30 in Beijing, the 12th: third of the day
    assert sequence_in_store(store, new_case("c", "2026-10-12T15:30:00+00:00")) == 3
    assert sequence_in_store(store, late) == 4
    assert sequence_in_store(store, new_case("d", "2026-10-13T08:00:00+08:00")) == 1
    assert number_of(late, store=store) == "140500-XK-000920261012000004"
    assert number_of(new_case("p", case_number="SX2026101200001")) == "SX2026101200001"  # the platform's own
    with pytest.raises(InvalidInputError, match="case_number"):
        number_of(new_case("q", case_number="编号 1"))
    with pytest.raises(InvalidInputError, match="sequence or the store"):
        number_of(late)


def test_the_export_is_plain_json() -> None:
    text = json.dumps(export_case(run_full(), "N5").to_json(), ensure_ascii=False)
    assert json.loads(text)["办件基本信息"]["办件编号"] == "N5"


def test_a_withdrawn_case_says_who_recorded_it() -> None:
    case = new_case()
    case.complete("accept", "wang", at="2026-10-13T11:00:00+08:00")
    case.withdraw("wang", reason="申请人撤回申请", at="2026-10-14T09:00:00+08:00")
    out = export_case(case, "N6").to_json()
    result = out["结果信息"]
    assert (result["办结结果"], result["办结结果标识"], result["办理人姓名"]) == ("撤回", "withdrawn", "王窗口")
    assert result["办结时间"] == "20261014T090000" and out["办件基本信息"]["办件状态"] == "撤回"
    # the open step was cancelled: no 待办 record
    assert [r["环节办理状态代码"] for r in out["过程信息"]] == ["2"]


@settings(max_examples=40, deadline=None)
@given(applicant=st.text(min_size=1, max_size=120), comment=st.one_of(st.none(), st.text(max_size=1100)))
def test_an_export_either_carries_the_text_exactly_or_is_refused(applicant: str, comment: str | None) -> None:
    try:
        case = new_case(applicant=applicant)
        case.complete("accept", "wang", comment=comment, at="2026-10-13T11:00:00+08:00")
    except InvalidInputError:
        return  # the engine refused it first
    before = case_state(case)
    try:
        out = export_case(case, "N7").to_json()
    except InvalidInputError as exc:
        assert "c1" in str(exc)
    else:
        assert out["办件基本信息"]["申请者名称"] == applicant  # never cut, never changed
        assert out["过程信息"][0]["环节处理意见"] == comment
        assert len(applicant) <= 100 and (comment is None or len(comment) <= 1000)
        ElementTree.fromstring(export_case(case, "N7").to_xml())  # and it is well-formed XML
    assert case_state(case) == before
