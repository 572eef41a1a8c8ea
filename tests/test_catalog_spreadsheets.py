"""Spreadsheets as governments write them: encodings detected without being told, XLSX from Excel-like
writers, title rows, and every bad cell named by the row and column the spreadsheet shows."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from approvalflow.bpmn.model import Category
from approvalflow.catalog import Catalog, CatalogError, PowerRow, load_catalog, save_catalog
from approvalflow.catalog.columns import POWER_COLUMNS, RISK_COLUMNS
from approvalflow.catalog.formats.xlsx_fast import FastWorkbook, UnsupportedWorkbook, scan_sheet
from approvalflow.cli.main import main

HEADER = [c.header for c in POWER_COLUMNS]
RISK_HEADER = [c.header for c in RISK_COLUMNS if c.always]
# 𠀀 (U+20000) and 䶮 (U+4DAE) are not in GBK: GB18030 writes them in four bytes.
OUTSIDE_GBK = "对𠀀䶮行为的行政处罚"


def _row(
    code: str, name: str = "名称", category: str = "行政许可", statutory: str = "", promised: str = ""
) -> list[str]:
    cells = dict.fromkeys(HEADER, "")
    cells.update({"职权编码": code, "职权名称": name, "职权类别": category})
    cells.update({"法定办结时限": statutory, "承诺办结时限": promised})
    return list(cells.values())


def _csv_text(rows: list[list[str]], *, title: str | None = None) -> str:
    lines = ([title] if title else []) + [",".join(HEADER)] + [",".join(r) for r in rows]
    return "\r\n".join(lines) + "\r\n"


# -- encodings ------------------------------------------------------------------------------------------------


def test_gb18030_outside_gbk_is_detected(tmp_path: Path) -> None:
    data = _csv_text([_row("140521-CF-0001", OUTSIDE_GBK, "行政处罚", "90日", "60日")]).encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("gbk")  # a GBK reader would fail on this file
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    (tmp_path / "c.csv").write_bytes(data)
    (power,) = load_catalog(tmp_path / "c.csv").powers
    assert (power.name, power.category) == (OUTSIDE_GBK, Category.PENALTY)
    assert power.statutory_limit is not None and (power.statutory_limit.value, power.statutory_limit.unit) == (
        90,
        "day",
    )


def test_gbk_as_excel_writes_it(tmp_path: Path) -> None:
    # Excel in China saves "CSV (逗号分隔)" in the ANSI code page, 936 (GBK), with CRLF and no BOM
    data = _csv_text([_row("140521-XK-0001", "食品经营许可", "行政许可", "20个工作日", "即办")]).encode("gbk")
    assert not data.startswith(b"\xef\xbb\xbf")
    (tmp_path / "c.csv").write_bytes(data)
    (power,) = load_catalog(tmp_path / "c.csv").powers
    assert power.name == "食品经营许可"
    assert power.promised_limit is not None and power.promised_limit.immediate


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_and_without_bom(tmp_path: Path, bom: bytes) -> None:
    data = bom + _csv_text([_row("A-1", OUTSIDE_GBK)]).encode("utf-8")
    (tmp_path / "c.csv").write_bytes(data)
    catalog = load_catalog(tmp_path / "c.csv")
    # with a BOM the first header is still 职权编码 (the BOM is not part of it), and the row is row 2
    assert [(p.code, p.name, p.row) for p in catalog.powers] == [("A-1", OUTSIDE_GBK, 2)]


def test_gb18030_written_then_read_keeps_characters_outside_gbk(tmp_path: Path) -> None:
    catalog = Catalog(powers=[PowerRow(code="A-1", name=OUTSIDE_GBK, category=Category.PENALTY)])
    save_catalog(catalog, tmp_path / "c.csv", encoding="gb18030")
    assert "𠀀".encode("gb18030") in (tmp_path / "c.csv").read_bytes()
    assert load_catalog(tmp_path / "c.csv") == catalog


def test_gbk_cannot_write_outside_gbk_and_says_so(tmp_path: Path) -> None:
    catalog = Catalog(powers=[PowerRow(code="A-1", name=OUTSIDE_GBK, category=Category.PENALTY)])
    with pytest.raises(CatalogError, match=r"cannot encode.*write gb18030"):
        save_catalog(catalog, tmp_path / "c.csv", encoding="gbk")


# -- many bad rows, all named ---------------------------------------------------------------------------------


def test_many_bad_rows_are_all_reported_csv(tmp_path: Path) -> None:
    """200 bad rows under a title row: each is named by the row the spreadsheet shows (title 1, header 2)."""
    rows = []
    for i in range(300):
        bad = i % 3 == 1  # rows 1, 4, 7 ... of the data are bad: a limit nobody can read
        rows.append(_row(f"A-{i}", statutory="二十天" if bad else "20个工作日"))
    rows[2] = _row("A-2", category="行政审批")  # a bad category too
    text = _csv_text(rows, title="某县权力清单（2026年版）" + "," * (len(HEADER) - 1))
    (tmp_path / "c.csv").write_bytes(text.encode("gb18030"))
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path / "c.csv")
    problems = info.value.problems
    # data row i is spreadsheet row i + 3 (title row 1, header row 2)
    expected = sorted([(i + 3, "G") for i in range(300) if i % 3 == 1] + [(2 + 3, "C")])
    assert [(p.row, p.letter) for p in problems] == expected
    assert len(problems) == 101
    assert {p.column for p in problems} == {"法定办结时限", "职权类别"}
    message = str(info.value)
    assert message.count("法定办结时限") == 49 and "... and 51 more" in message  # the message lists 50


def test_many_bad_rows_are_all_reported_xlsx(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "权力清单"
    sheet.append(["某县权力清单"])
    sheet.append(["说明：依据……"])
    sheet.append(HEADER)
    for i in range(60):
        sheet.append(_row(f"A-{i}", promised="三十日" if i % 2 else "30日"))
    risks = book.create_sheet("廉政风险点")
    risks.append(RISK_HEADER)
    risks.append(["A-0", "受理", "R-1", "违规受理", "很高", "", ""])
    risks.append(["A-0", "", "R-2", "违规审批", "高", "", ""])
    book.save(tmp_path / "c.xlsx")
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path / "c.xlsx")
    problems = info.value.problems
    powers = [(p.row, p.letter) for p in problems if p.sheet == "权力清单"]
    assert powers == [(i + 4, "H") for i in range(60) if i % 2]  # header on row 3, data from row 4
    risk = [(p.row, p.letter, p.column) for p in problems if p.sheet == "廉政风险点"]
    assert risk == [(2, "E", "风险等级"), (3, "B", "环节")]


def test_cli_json_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [_row(f"A-{i}", statutory="一个月") for i in range(70)]
    (tmp_path / "c.csv").write_text(_csv_text(rows), encoding="utf-8")
    assert main(["catalog", "check", str(tmp_path / "c.csv"), "--json"]) == 2
    import json

    out = json.loads(capsys.readouterr().out)
    assert [p["cell"] for p in out["problems"]] == [f"G{i + 2}" for i in range(70)]


# -- XLSX as other programs write it --------------------------------------------------------------------------


def _sheet_rows(path: Path, name: str) -> list[tuple[int, list[object]]]:
    book = FastWorkbook(str(path))
    try:
        return list(book.rows(name))
    finally:
        book.close()


def test_our_xlsx_opens_in_openpyxl(tmp_path: Path) -> None:
    catalog = Catalog(
        powers=[
            PowerRow(
                code="A-1",
                name="=1+1",
                category=Category.LICENSING,
                responsibilities="1.受理阶段责任：…\n2.决定阶段责任：…",
                extra={"备注": " 前后 "},
            )
        ]
    )
    save_catalog(catalog, tmp_path / "c.xlsx")
    book = load_workbook(tmp_path / "c.xlsx")
    assert book.sheetnames == ["权力清单"]  # no risk sheet without risk points
    sheet = book["权力清单"]
    assert [c.value for c in sheet[1]] == [*HEADER, "备注"]
    assert sheet["B2"].value == "=1+1" and sheet["B2"].data_type == "s"
    assert sheet["K2"].value == "1.受理阶段责任：…\n2.决定阶段责任：…"
    assert sheet.freeze_panes == "A2"
    with zipfile.ZipFile(tmp_path / "c.xlsx") as z:
        assert "xl/sharedStrings.xml" in z.namelist()  # texts shared, as Excel writes them


@pytest.mark.parametrize("write_only", [False, True])
def test_openpyxl_workbooks_read_the_same_by_scan_and_by_iterparse(tmp_path: Path, write_only: bool) -> None:
    """Workbooks of openpyxl (inline strings, entities): the scan and lxml read the same values."""
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("权力清单") if write_only else book.active
    if not write_only:
        sheet.title = "权力清单"
    sheet.append(["标题 & <说明>"])
    sheet.append(HEADER)
    sheet.append(
        ["A-1", "a \"b\" & 'c'", "行政许可", None, None, None, "20个工作日", None, None, None, None, None, 12345]
    )
    sheet.append([None])
    sheet.append(["A-2", "𠀀", "行政检查", None, None, None, 15.5, True, None, None, None, None, "0356-1"])
    book.save(tmp_path / "c.xlsx")
    with zipfile.ZipFile(tmp_path / "c.xlsx") as z:
        data = z.read("xl/worksheets/sheet1.xml")
    scanned = scan_sheet(data, _shared(tmp_path / "c.xlsx"))
    fast = FastWorkbook(str(tmp_path / "c.xlsx"))
    try:
        parsed = list(fast._iterparse("权力清单"))
    finally:
        fast.close()
    assert [(n, _trim(v)) for n, v in scanned] == [(n, _trim(v)) for n, v in parsed]
    assert _trim(scanned[2][1]) == ["A-1", "a \"b\" & 'c'", "行政许可", None, None, None, "20个工作日",
                                    None, None, None, None, None, 12345]  # fmt: skip
    assert _trim(scanned[4][1])[:8] == ["A-2", "𠀀", "行政检查", None, None, None, 15.5, True]
    assert b't="inlineStr"' in data  # openpyxl 3.1 writes inline strings in both modes


def _shared(path: Path) -> list[str]:
    book = FastWorkbook(str(path))
    try:
        return book._shared()
    finally:
        book.close()


def _trim(values: list[object]) -> list[object]:
    while values and values[-1] is None:
        values = values[:-1]
    return values


def test_formulas_fall_back_to_iterparse(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "权力清单"
    sheet.append(HEADER)
    sheet.append(["A-1", "名称", "行政许可"])
    sheet["M2"] = '=CONCAT("0356-","1")'  # a formula: the scan must not silently skip the cell
    book.save(tmp_path / "c.xlsx")
    with zipfile.ZipFile(tmp_path / "c.xlsx") as z:
        data = z.read("xl/worksheets/sheet1.xml")
    with pytest.raises(UnsupportedWorkbook):
        scan_sheet(data, _shared(tmp_path / "c.xlsx"))
    (power,) = load_catalog(tmp_path / "c.xlsx").powers  # read by iterparse: no cached value, so blank
    assert (power.code, power.phone) == ("A-1", None)


def test_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "c.xlsx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CatalogError, match="cannot read the workbook"):
        load_catalog(tmp_path / "c.xlsx")
    book = Workbook()
    book.active.title = "Sheet1"
    book.save(tmp_path / "d.xlsx")
    with pytest.raises(CatalogError, match="no sheet named 权力清单"):
        load_catalog(tmp_path / "d.xlsx")


EXCEL_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
    b'<dimension ref="A1:D4"/><sheetData>'
    b'<row r="1" spans="1:4" x14ac:dyDescent="0.25"><c r="A1" s="1" t="s"><v>0</v></c><c r="B1" s="1" t="s"><v>1</v></c>'
    b'<c r="C1" s="3"/><c r="D1" t="s"><v>2</v></c></row>'
    b'<row r="3" spans="1:4"><c r="B3" t="s"><v>3</v></c><c r="D3"><v>3.5</v></c></row>'
    b'<row r="4" spans="1:4"><c r="A4" t="b"><v>1</v></c><c r="B4" t="str"><v>a&amp;b</v></c></row>'
    b"</sheetData><pageMargins/></worksheet>"
)


def test_scan_reads_a_sheet_as_excel_writes_it() -> None:
    """Shared strings, styles, spans, an empty styled cell, a missing row, a number, a boolean, a formula text."""
    strings = ["职权编码", "职权名称", "备注", "食品经营许可"]
    assert scan_sheet(EXCEL_SHEET, strings) == [
        (1, ["职权编码", "职权名称", None, "备注"]),
        (2, []),  # not in the file: an empty row, so that row numbers stay as Excel shows them
        (3, [None, "食品经营许可", None, 3.5]),
        (4, [True, "a&b"]),
    ]


def test_shared_strings_plain_rich_and_escaped() -> None:
    from approvalflow.catalog.formats.xlsx_fast import _scan_shared

    plain = (
        b'<sst xmlns="x" count="3"><si><t>a&amp;b</t></si><si><t xml:space="preserve"> c </t></si><si><t/></si></sst>'
    )
    assert _scan_shared(plain) == ["a&b", " c ", ""]
    rich = b'<sst xmlns="x"><si><r><t>a</t></r><r><t>b</t></r></si></sst>'
    assert _scan_shared(rich) is None  # rich text runs: read by lxml instead


def test_loading_restores_garbage_collection(tmp_path: Path) -> None:
    import gc

    (tmp_path / "bad.csv").write_text(_csv_text([_row("A-1", category="行政审批")]), encoding="utf-8")
    assert gc.isenabled()
    with pytest.raises(CatalogError):
        load_catalog(tmp_path / "bad.csv")
    assert gc.isenabled()  # paused while loading, restored even when the load fails
    gc.disable()
    try:
        save_catalog(Catalog(), tmp_path / "c.csv")
        load_catalog(tmp_path / "c.csv")
        assert not gc.isenabled()  # and left off when the caller had it off
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "body",
    [
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row><c r="A2" t="s"><v>1</v></c></row>',  # a row without r
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c t="s"><v>1</v></c></row>',  # a cell without r
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2"><f>A1</f><v>x</v></c></row>',  # formula
        '<row r="1"><c r="A1" t="s"><v>0</v></c><!-- <c r="B1"/> --></row>',  # a comment
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&#99999999999999999999;</t></is></c></row>',  # no character
    ],
)
def test_scan_refuses_what_it_would_misread(body: str) -> None:
    sheet = f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>'
    with pytest.raises(UnsupportedWorkbook):
        scan_sheet(sheet.encode(), ["职权编码", "职权名称"])
