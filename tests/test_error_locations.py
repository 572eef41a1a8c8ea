"""Every kind of input file, broken on purpose: the error names the file, the line (or row and column) and the
element it is about. The expected line is found in the text the test wrote, never taken from the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from approvalflow.catalog import load_catalog
from approvalflow.catalog.problems import CatalogError
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.errors import (
    ApprovalflowError,
    BpmnError,
    CalendarError,
    CaseFormatError,
    ExtensionError,
    Location,
    OrganisationError,
    ScenarioError,
    UnsafeContentError,
)
from approvalflow.simulation import load_simulation_model
from approvalflow.simulation.model import SimulationModelError
from approvalflow.supervision.eventlog import EventLogError, read_log
from approvalflow.testing.scenario import run_scenario

ROOT = Path(__file__).resolve().parents[1]
ORG = ROOT / "processes" / "org" / "sample_county.yaml"
BPMN = ROOT / "processes" / "licensing" / "general_licensing.bpmn"


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the only line of ``text`` holding ``fragment``."""
    found = [i for i, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(found) == 1, f"{fragment!r} is on lines {found}"
    return found[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- BPMN ---------------------------------------------------------------------------------------------------------
_DEFS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
    '    xmlns:af="https://approvalflow.org/schema/af/1.0" id="d" targetNamespace="urn:t">\n'
    '  <bpmn:process id="p" isExecutable="true">\n'
    '    <bpmn:startEvent id="start"/>\n'
    '    <bpmn:userTask id="review" name="审查"/>\n'
    '    <bpmn:endEvent id="end"/>\n'
    "{body}"
    "  </bpmn:process>\n"
    "</bpmn:definitions>\n"
)

_BPMN_CASES = [
    pytest.param(
        '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>\n'
        '    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="nowhere"/>\n',
        BpmnError,
        'id="f2"',
        "f2",
        id="dangling-flow",
    ),
    pytest.param(
        '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>\n'
        '    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end">\n'
        "      <bpmn:conditionExpression>__import__('os')</bpmn:conditionExpression>\n"
        "    </bpmn:sequenceFlow>\n",
        UnsafeContentError,
        "conditionExpression>",
        "f2",
        id="unsafe-condition",
    ),
]


@pytest.mark.parametrize(("body", "kind", "fragment", "element"), _BPMN_CASES)
def test_bpmn(tmp_path: Path, body: str, kind: type[ApprovalflowError], fragment: str, element: str) -> None:
    from approvalflow.bpmn.loader import load_process

    text = _DEFS.format(body=body)
    path = write(tmp_path / "m.bpmn", text)
    with pytest.raises(kind) as info:
        load_process(path)
    assert info.value.location == Location(str(path), line_of(text, fragment), element)


def test_bpmn_extension(tmp_path: Path) -> None:
    from approvalflow.bpmn.loader import load_process

    text = BPMN.read_text(encoding="utf-8")
    anchor = text.index('id="review"')
    broken = text[:anchor] + 'af:bogus="1" ' + text[anchor:]
    path = write(tmp_path / "licensing.bpmn", broken)
    with pytest.raises(ExtensionError) as info:
        load_process(path)
    assert (info.value.file, info.value.line, info.value.element) == (str(path), line_of(broken, "af:bogus"), "review")


# -- organisation -------------------------------------------------------------------------------------------------
def test_organisation(tmp_path: Path) -> None:
    text = (
        "units:\n"
        "  - id: bureau\n"
        "    principal: zhang\n"
        "people:\n"
        "  zhang: {unit: bureau, posts: [principal]}\n"
        "  li: {unit: nowhere, posts: [deputy]}\n"
    )
    path = write(tmp_path / "org.yaml", text)
    from approvalflow.org.organisation import load_organisation

    with pytest.raises(OrganisationError) as info:
        load_organisation(path)
    assert info.value.file == str(path)
    assert info.value.line == line_of(text, "nowhere")
    assert info.value.element is not None and "li" in info.value.element


# -- calendar supplement ------------------------------------------------------------------------------------------
def test_calendar_supplement(tmp_path: Path) -> None:
    from approvalflow.time.calendar import ChinaCalendar

    text = "year: 2031\nsource: 国务院办公厅通知\nholidays:\n  - 2031-01-01\n  - 2031-02-30\nworkdays: []\n"
    path = write(tmp_path / "2031.yaml", text)
    with pytest.raises(CalendarError) as info:
        ChinaCalendar([path])
    assert info.value.location == Location(str(path), line_of(text, "2031-02-30"), "holidays")


# -- scenario -----------------------------------------------------------------------------------------------------
def test_scenario(tmp_path: Path) -> None:
    text = (
        f"process: {BPMN}\n"
        f"org: {ORG}\n"
        "unit: market-bureau\n"
        "start: 2026-09-28T09:00:00+08:00\n"
        "data: {applicant: 某餐饮有限公司}\n"
        "steps:\n"
        "  - {task: receive, actor: wang, at: 2026-09-28T09:30:00+08:00}\n"
        "  - {task: accept, actor: nobody, at: 2026-09-28T10:00:00+08:00}\n"
    )
    path = write(tmp_path / "s.scenario.yaml", text)
    with pytest.raises(ScenarioError) as info:
        run_scenario(path)
    assert info.value.file == str(path)
    assert info.value.line == line_of(text, "nobody")
    assert info.value.element == "steps[1]"


def test_scenario_step_not_ready(tmp_path: Path) -> None:
    text = (
        f"process: {BPMN}\n"
        f"org: {ORG}\n"
        "unit: market-bureau\n"
        "start: 2026-09-28T09:00:00+08:00\n"
        "data: {applicant: 某餐饮有限公司}\n"
        "steps:\n"
        "  - {task: receive, actor: wang, at: 2026-09-28T09:30:00+08:00, data: {materials_complete: true}}\n"
        "  - {task: deliver, actor: chen, at: 2026-09-28T10:00:00+08:00}\n"
    )
    path = write(tmp_path / "s.scenario.yaml", text)
    with pytest.raises(ScenarioError) as info:
        run_scenario(path)
    assert info.value.location == Location(str(path), line_of(text, "deliver"), "steps[1]")


# -- simulation model ---------------------------------------------------------------------------------------------
def test_simulation_model(tmp_path: Path) -> None:
    example = (ROOT / "examples" / "simulation" / "general_licensing.yaml").read_text(encoding="utf-8")
    text = example.replace("../../processes/", f"{ROOT}/processes/")
    good = "accept: {dist: normal, mean: 15, sd: 5}"
    assert good in text
    text = text.replace(good, "accept: {dist: normal, mean: -15, sd: 5}")
    path = write(tmp_path / "model.yaml", text)
    with pytest.raises(SimulationModelError) as info:
        load_simulation_model(path)
    assert info.value.file == str(path)
    assert info.value.line == line_of(text, "mean: -15")
    assert info.value.element is not None and "accept" in info.value.element


# -- catalog ------------------------------------------------------------------------------------------------------
_HEADER = ["职权编码", "职权名称", "职权类别", "实施依据", "实施主体", "承办机构", "法定办结时限", "承诺办结时限"]
_GOOD = [
    "140521-01-0001",
    "食品经营许可",
    "行政许可",
    "《食品安全法》",
    "县市场监督管理局",
    "审批股",
    "20个工作日",
    "15个工作日",
]
_BAD = [
    "140521-01-0002",
    "食品经营许可变更",
    "行政许可",
    "《食品安全法》",
    "县市场监督管理局",
    "审批股",
    "二十天",
    "15个工作日",
]


def test_catalog_csv(tmp_path: Path) -> None:
    lines = [",".join(_HEADER), ",".join(_GOOD), ",".join(_BAD)]
    path = write(tmp_path / "catalog.csv", "\n".join(lines) + "\n")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    error = info.value
    assert error.file == str(path)
    assert error.row == 1 + lines.index(",".join(_BAD))  # the header is row 1
    assert error.column == "G" and error.element == "法定办结时限"  # the 7th column
    assert error.problems[0].row == error.row


def test_catalog_xlsx(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "权力清单"
    for row in (_HEADER, _GOOD, _GOOD, _BAD):
        sheet.append(row)
    path = tmp_path / "catalog.xlsx"
    book.save(path)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    error = info.value
    assert error.file == str(path)
    assert (error.row, error.column, error.element) == (4, "G", "法定办结时限")  # fourth row appended, 7th column


# -- event log ----------------------------------------------------------------------------------------------------
def test_event_log_csv(tmp_path: Path) -> None:
    lines = [
        "case,activity,start,end",
        "c1,receive,,2026-09-28T09:30:00+08:00",
        "c1,accept,,2026-09-28 10:00 tomorrow",
    ]
    path = write(tmp_path / "log.csv", "\n".join(lines) + "\n")
    with pytest.raises(EventLogError) as info:
        read_log(path)
    assert info.value.file == str(path)
    assert info.value.line == line_of("\n".join(lines), "tomorrow")
    assert info.value.element is not None and "end" in info.value.element and "4" in info.value.element


def test_event_log_xes(tmp_path: Path) -> None:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<log xes.version="1.0">\n'
        '  <trace><string key="concept:name" value="c1"/>\n'
        "    <event>\n"
        '      <string key="concept:name" value="receive"/>\n'
        '      <date key="time:timestamp" value="2026-09-28T09:30:00+08:00"/>\n'
        "    </event>\n"
        '    <event id="bad">\n'
        '      <string key="concept:name" value="accept"/>\n'
        '      <date key="time:timestamp" value="not a moment"/>\n'
        "    </event>\n"
        "  </trace>\n"
        "</log>\n"
    )
    path = write(tmp_path / "log.xes", text)
    with pytest.raises(EventLogError) as info:
        read_log(path)
    assert info.value.file == str(path)
    assert info.value.line == line_of(text, '<event id="bad">')


# -- saved case ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved() -> tuple[str, object, object]:
    from approvalflow import load_organisation, load_process, start_case

    definition = load_process(BPMN)
    org = load_organisation(ORG)
    case = start_case(definition, org, unit="market-bureau", data={"applicant": "某餐饮有限公司"})
    return dump_case(case), definition, org


def test_saved_case_not_json(tmp_path: Path, saved: tuple[str, object, object]) -> None:
    text, definition, org = saved
    pretty = json.dumps(json.loads(text), indent=1, ensure_ascii=False)
    broken = pretty.replace('"unit":', '"unit" =', 1)
    with pytest.raises(CaseFormatError) as info:
        load_case(broken, definition, org, name="saved.json")  # type: ignore[arg-type]
    assert (info.value.file, info.value.line) == ("saved.json", line_of(broken, '"unit" ='))


def test_saved_case_missing_key(saved: tuple[str, object, object]) -> None:
    text, definition, org = saved
    doc = json.loads(text)
    del doc["trail_head"]
    with pytest.raises(CaseFormatError) as info:
        load_case(json.dumps(doc), definition, org, name="saved.json")  # type: ignore[arg-type]
    assert (info.value.file, info.value.element) == ("saved.json", "trail_head")


# -- the other files the package reads ----------------------------------------------------------------------------
def test_trail_file(tmp_path: Path) -> None:
    from approvalflow.engine.trail import read_key, read_trail
    from approvalflow.errors import TrailFileError

    lines = ['{"seq": 1}', '{"seq": 2}', "[3]", '{"seq": 4}']
    path = write(tmp_path / "trail.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(TrailFileError) as info:
        read_trail(path)
    assert (info.value.file, info.value.line) == (str(path), lines.index("[3]") + 1)
    assert isinstance(info.value, ValueError)  # as read_trail always raised
    short = write(tmp_path / "key", "abc\n")
    with pytest.raises(TrailFileError) as key_info:
        read_key(short)
    assert key_info.value.file == str(short)


def test_case_store_file(tmp_path: Path) -> None:
    from approvalflow.store.base import StoreError
    from approvalflow.store.factory import open_store

    path = write(tmp_path / "cases.db", "not a database\n" * 200)
    with pytest.raises(StoreError) as info:
        open_store(str(path))
    assert info.value.file == str(path)
    assert str(info.value).startswith(f"{path}: ")


def test_csv_limits_name_row_and_column() -> None:
    from approvalflow.io.csvsafe import CsvLimitError, read_rows

    text = "a,b,c\n1,2,3\n4,5,123456789\n"
    with pytest.raises(CsvLimitError) as info:
        read_rows(text, max_field=5)
    assert (info.value.row, info.value.column) == (3, 3)  # third record, third field


def test_yaml_positions_give_file_line_and_key_path(tmp_path: Path) -> None:
    from approvalflow.io.yamlio import load_yaml

    text = "units:\n  - id: bureau\n    principal: zhang\npeople:\n  li:\n    unit: nowhere\n"
    path = write(tmp_path / "org.yaml", text)
    _, lines, _ = load_yaml(path, error=OrganisationError)
    error = OrganisationError("unknown unit", at=lines.at(("people", "li", "unit")))
    assert error.location == Location(str(path), line_of(text, "nowhere"), "people.li.unit")
    item = OrganisationError("no principal", at=lines.at(("units", 0, "principal")), element="bureau")
    assert (item.line, item.element) == (line_of(text, "principal"), "bureau")
    assert str(item).startswith(f"{path}:{line_of(text, 'principal')}, element 'bureau': ")
