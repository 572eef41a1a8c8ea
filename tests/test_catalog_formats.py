"""Reading and writing catalogs: YAML, JSON, CSV (UTF-8, BOM, GB18030, GBK), XLSX; bad cells by row and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from approvalflow.bpmn.model import Category, RiskLevel
from approvalflow.catalog import Catalog, CatalogError, PowerRow, RiskPointRow, load_catalog, save_catalog
from approvalflow.catalog.build import fast_row
from approvalflow.catalog.columns import POWER_COLUMNS
from approvalflow.catalog.limits import parse_time_limit
from approvalflow.errors import DefinitionError

DATA = Path(__file__).parent / "data" / "catalog"
SAMPLE = DATA / "sample.yaml"
HEADER = ",".join(c.header for c in POWER_COLUMNS)


@pytest.fixture(scope="module")
def sample() -> Catalog:
    return load_catalog(SAMPLE)


def test_sample_reads_every_field(sample: Catalog) -> None:
    p = sample.powers[0]
    assert (p.code, p.category, p.office, p.fees, p.phone) == (
        "140521-XK-0001",
        Category.LICENSING,
        "行政审批股",
        "不收费",
        "0356-1234567",
    )
    assert p.promised_limit is not None and (p.promised_limit.value, p.promised_limit.text) == (10, "10工作日")
    assert p.extra == {"备注": "全程网办"}
    assert [s.stage for s in p.responsibility_stages] == ["受理", "审查", "决定", "送达"]
    assert sample.risk_points[0].level == RiskLevel.MEDIUM  # written 中
    assert sample.risk_points[1].measures == ("分管副职审批", "电子监察留痕")
    # rows are YAML lines: the first power's item starts on line 3, the first risk point on line 24
    assert [p.row for p in sample.powers] == [3, 17]
    assert sample.risk_points[0].row == 24


@pytest.mark.parametrize(
    "chain",
    [
        ("json", "csv", "xlsx", "yaml"),
        ("xlsx", "json", "yml", "csv"),
        ("csv", "csv", "xlsx", "xlsx"),
    ],
)
def test_chain_of_conversions_loses_nothing(sample: Catalog, tmp_path: Path, chain: tuple[str, ...]) -> None:
    current = sample
    for i, ext in enumerate(chain):
        path = tmp_path / f"step{i}.{ext}"
        save_catalog(current, path)
        current = load_catalog(path)
        assert current == sample, f"changed after {ext}"
    assert current.powers[0].promised_limit == sample.powers[0].promised_limit
    assert current.powers[0].extra == {"备注": "全程网办"}


def test_csv_risk_points_travel_in_a_sibling_file(sample: Catalog, tmp_path: Path) -> None:
    save_catalog(sample, tmp_path / "清单.csv")
    sibling = tmp_path / "清单.廉政风险点.csv"
    assert sibling.exists()
    assert sibling.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    assert sibling.read_text(encoding="utf-8-sig").splitlines()[0].startswith("职权编码,环节,风险点编号")


def _csv(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8", "utf-8-sig"])
def test_csv_encodings_detected(tmp_path: Path, encoding: str) -> None:
    row = "140521-CF-0001,对无证经营行为的行政处罚,行政处罚,《食品安全法》,县市场监督管理局,执法大队,90日,60日,不收费,,,,0356-1"
    path = _csv(tmp_path / "c.csv", f"{HEADER}\r\n{row}\r\n", encoding)
    assert "对无证经营" not in path.read_bytes().decode("latin-1")  # really not plain text
    catalog = load_catalog(path)
    p = catalog.powers[0]
    assert (p.name, p.category, p.body) == ("对无证经营行为的行政处罚", Category.PENALTY, "县市场监督管理局")
    assert p.statutory_limit == parse_time_limit("90日")


def test_csv_written_in_gb18030_reads_back(sample: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    save_catalog(sample, path, encoding="gb18030")
    assert path.read_bytes().startswith("职权编码".encode("gb18030"))
    assert load_catalog(path) == sample


def test_every_bad_cell_is_reported_with_row_and_column(tmp_path: Path) -> None:
    rows = [
        "A-1,好的,行政许可,,,,20个工作日,10个工作日,,,,,",
        "A-2,坏的时限,行政许可,,,,二十天,10日,,,,,",  # row 3: column G
        "A-3,坏的类别,行政审批,,,,20日,,,,,,",  # row 4: column C
        ",没有编码,行政许可,,,,,,,,,,",  # row 5: column A
    ]
    path = _csv(tmp_path / "sample.csv", "\r\n".join([HEADER, *rows]) + "\r\n", "gb18030")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    where = [(p.row, p.letter, p.column) for p in info.value.problems]
    assert where == [(3, "G", "法定办结时限"), (4, "C", "职权类别"), (5, "A", "职权编码")]
    text = str(info.value)
    assert 'sample.csv: 3 problems: 权力清单 row 3, column G (法定办结时限): "二十天" is not a time limit' in text
    assert isinstance(info.value, DefinitionError)


def test_bad_risk_cells_name_the_sibling_file(tmp_path: Path) -> None:
    _csv(tmp_path / "c.csv", f"{HEADER}\r\nA-1,名称,行政许可,,,,,,,,,,\r\n", "utf-8")
    risk = "职权编码,环节,风险点编号,风险点,风险等级,防控措施,责任岗位\r\nA-1,受理,R-1,违规受理,很高,,\r\n"
    _csv(tmp_path / "c.廉政风险点.csv", risk, "utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path / "c.csv")
    (p,) = info.value.problems
    assert (p.file, p.sheet, p.row, p.letter) == (str(tmp_path / "c.廉政风险点.csv"), "廉政风险点", 2, "E")


def test_missing_required_header(tmp_path: Path) -> None:
    _csv(tmp_path / "c.csv", "职权编码,职权名称\r\nA-1,名称\r\n", "utf-8")
    with pytest.raises(CatalogError, match='the header row has no column "职权类别"'):
        load_catalog(tmp_path / "c.csv")


def test_not_a_catalog_encoding(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_bytes(b"\xff\xfe\x00\x81\x30")
    with pytest.raises(CatalogError, match="neither UTF-8 nor GB18030"):
        load_catalog(tmp_path / "c.csv")


def test_xlsx_as_a_government_writes_it(tmp_path: Path) -> None:
    """A title row above the header, an extra column, a number-typed phone, a blank row, both sheets."""
    book = Workbook()
    sheet = book.active
    sheet.title = "权力清单"
    sheet.append(["某县权力清单（2026年版）"])
    sheet.append([c.header for c in POWER_COLUMNS] + ["备注"])
    sheet.append(
        [
            "A-1",
            "食品经营许可",
            "行政许可",
            None,
            None,
            None,
            "20个工作日",
            "即办",
            None,
            "flowcharts/licence.bpmn",
            None,
            None,
            12345,
            "网办",
        ]
    )
    sheet.append([])
    sheet.append(["A-2", "检查", "行政检查", None, None, None, "15个工作日", None, None, None, None, None, None, None])
    risks = book.create_sheet("廉政风险点")
    risks.append(["职权编码", "环节", "风险点编号", "风险点", "风险等级", "防控措施", "责任岗位"])
    risks.append(["A-1", "受理", "R-1", "违规受理", "中", "书面凭证\n电子监察", "窗口"])
    book.create_sheet("说明").append(["ignored"])
    book.save(tmp_path / "c.xlsx")
    catalog = load_catalog(tmp_path / "c.xlsx")
    a1, a2 = catalog.powers
    assert (a1.row, a2.row) == (3, 5)  # as the spreadsheet shows them
    assert a1.phone == "12345" and a1.extra == {"备注": "网办"}
    assert a1.promised_limit is not None and a1.promised_limit.immediate
    assert catalog.risk_points[0].measures == ("书面凭证", "电子监察")


def test_xlsx_text_starting_with_equals_stays_text(tmp_path: Path) -> None:
    catalog = Catalog(powers=[PowerRow(code="A-1", name='=HYPERLINK("x")', category=Category.OTHER)])
    save_catalog(catalog, tmp_path / "c.xlsx")
    cell = load_workbook(tmp_path / "c.xlsx")["权力清单"]["B2"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("x")'
    assert load_catalog(tmp_path / "c.xlsx") == catalog


def test_yaml_unknown_key_is_named(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "powers:\n  - code: A\n    name: B\n    category: 行政许可\n    limit: 3日\n", encoding="utf-8"
    )
    with pytest.raises(CatalogError, match=r"powers line 2, column limit: unknown key 'limit'"):
        load_catalog(tmp_path / "c.yaml")


def test_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"unknown catalog format '\.txt'"):
        save_catalog(Catalog(), tmp_path / "c.txt")


def test_fast_row_equals_model_construct() -> None:
    values: dict[str, Any] = dict(
        row=1,
        extra={},
        power="a",
        step="b",
        id="c",
        description="d",
        level=RiskLevel.HIGH,
        measures=("x",),
        post=None,
        category=None,
    )
    fast = fast_row(RiskPointRow, dict(values))
    assert fast == RiskPointRow.model_construct(**values)
    assert fast.model_dump() == RiskPointRow(**values).model_dump()
