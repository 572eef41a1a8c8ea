"""Catalog spreadsheets are read within bounds: each limit refused with a clear error naming file, row and column.

XLSX packages are built by hand here (parts written as Excel would, then sizes patched or rows numbered as an
attacker would); the heaviest refusals (a real 4 GB shared-strings bomb, a row numbered 2,000,000,000, a column
ZZZZZZZ) run the CLI in a subprocess under a 1 GiB address-space limit and a timeout.
"""

from __future__ import annotations

import csv
import io
import os
import struct
import subprocess
import sys
import threading
import zipfile
import zlib
from pathlib import Path

import pytest

from approvalflow.catalog import CatalogError, SpreadsheetLimits, load_catalog
from approvalflow.catalog.formats.bounds import SpreadsheetLimitError
from approvalflow.catalog.formats.xlsx_package import BoundedStream

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ["职权编码", "职权名称", "职权类别"]
GOOD_ROW = ["A-1", "名称", "行政许可"]


# -- building workbooks --------------------------------------------------------------------------------------------
def _parts(sheet_data: str, strings: list[str], namespace: str = MAIN) -> dict[str, bytes]:
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
    return {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        b'+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        b'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
        b'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'.encode(),
        "xl/workbook.xml": f'<workbook xmlns="{namespace}" xmlns:r="{rel}"><sheets><sheet name="权力清单" '
        'sheetId="1" r:id="rId1"/></sheets></workbook>'.encode(),
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/worksheet" '
        f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>'.encode(),
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{namespace}"><sheetData>{sheet_data}</sheetData></worksheet>'
        .encode(),
        "xl/sharedStrings.xml": f'<sst xmlns="{namespace}">{sst}</sst>'.encode(),
    }  # fmt: skip


def _header_rows(extra: str = "") -> tuple[str, list[str]]:
    """A header row and one good row as shared strings, then ``extra`` rows."""
    strings = HEADER + GOOD_ROW
    head = "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABC"))
    good = "".join(f'<c r="{c}2" t="s"><v>{i + 3}</v></c>' for i, c in enumerate("ABC"))
    return f'<row r="1">{head}</row><row r="2">{good}</row>{extra}', strings


def _xlsx(path: Path, extra_rows: str = "", namespace: str = MAIN) -> Path:
    data, strings = _header_rows(extra_rows)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in _parts(data, strings, namespace).items():
            z.writestr(name, content)
    return path


def _declare(path: Path, name: str, size: int) -> None:
    """Patch the uncompressed size the zip declares for ``name`` (local header and central directory)."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:
        length = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + length] == encoded:
            struct.pack_into("<I", data, pos + 24, size)
            local = struct.unpack_from("<I", data, pos + 42)[0]
            struct.pack_into("<I", data, local + 22, size)
        pos += 4
    path.write_bytes(bytes(data))


def _refused(path: Path, match: str, limits: SpreadsheetLimits | None = None) -> CatalogError:
    with pytest.raises(CatalogError, match=match) as info:
        load_catalog(path, limits=limits)
    assert str(path) in str(info.value)
    return info.value


# -- XLSX ---------------------------------------------------------------------------------------------------------
def test_a_good_workbook_reads(tmp_path: Path) -> None:
    (power,) = load_catalog(_xlsx(tmp_path / "c.xlsx")).powers
    assert (power.code, power.name) == ("A-1", "名称")


def test_declared_uncompressed_size_is_refused_unread(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "bomb.xlsx")
    _declare(path, "xl/sharedStrings.xml", 4_000_000_000)
    error = _refused(path, r"4,000,000,000 bytes uncompressed in xl/sharedStrings\.xml")
    assert "max_part_bytes" in str(error)  # says how to raise it


def test_declared_package_total_is_bounded(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "c.xlsx")
    _refused(path, r"bytes uncompressed \(as declared\).*max_package_bytes", SpreadsheetLimits(max_package_bytes=500))


def test_a_part_larger_than_it_declares_is_refused(tmp_path: Path) -> None:
    """A lying size: zipfile stops at the declared size and the CRC fails; either way a clear error, no bomb."""
    path = tmp_path / "liar.xlsx"
    data, strings = _header_rows()
    parts = _parts(data, [*strings, "x" * 2_000_000])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    _declare(path, "xl/sharedStrings.xml", 1000)
    _refused(path, r"cannot read the workbook: Bad CRC-32 for file 'xl/sharedStrings\.xml'")


def test_the_bounded_stream_stops_one_byte_past_the_limit() -> None:
    stream = BoundedStream(io.BytesIO(b"x" * 10_000), "xl/sharedStrings.xml", 4096)
    with pytest.raises(SpreadsheetLimitError, match=r"xl/sharedStrings\.xml holds more than 4,096 bytes"):
        stream.read()
    assert BoundedStream(io.BytesIO(b"x" * 4096), "p", 4096).read() == b"x" * 4096


def test_a_large_zip_directory_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dir.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(20):
            z.writestr(f"{i}" + "x" * 250, b"")
    opened: list[object] = []
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda self: opened.append(self))
    _refused(
        path, r"the zip directory takes [\d,]+ bytes, more than 3 parts need.*max_parts", SpreadsheetLimits(max_parts=3)
    )
    assert opened == []  # zipfile never read the directory


def test_too_many_parts(tmp_path: Path) -> None:
    _refused(_xlsx(tmp_path / "c.xlsx"), r"6 parts, more than the limit of 3", SpreadsheetLimits(max_parts=3))


@pytest.mark.parametrize("formula", [False, True], ids=["scan", "iterparse"])
def test_a_row_numbered_two_billion_is_refused(tmp_path: Path, formula: bool) -> None:
    cell = '<c r="A2000000000"><f>1+1</f><v>2</v></c>' if formula else '<c r="A2000000000" t="s"><v>0</v></c>'
    path = _xlsx(tmp_path / "rows.xlsx", f'<row r="2000000000">{cell}</row>')
    error = _refused(path, r"row numbered 2000000000, past the limit of 1,048,576 rows.*max_rows")
    assert error.problems[0].sheet == "权力清单"


@pytest.mark.parametrize("ref", ["ZZZZZZZ3", "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ3", "XFE3"])
def test_a_column_past_the_last_is_refused(tmp_path: Path, ref: str) -> None:
    path = _xlsx(tmp_path / "cols.xlsx", f'<row r="3"><c r="{ref}" t="s"><v>0</v></c></row>')
    error = _refused(path, r"a cell in column [A-Z]+")
    assert error.problems[0].row == 3 or "XFD" in str(error)


def test_rows_columns_and_cells_limits(tmp_path: Path) -> None:
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>3</v></c></row>' for n in range(3, 13))
    path = _xlsx(tmp_path / "c.xlsx", rows)
    _refused(path, r"12 rows, more than the limit of 5", SpreadsheetLimits(max_rows=5))
    _refused(path, r"cells, more than the limit of 10", SpreadsheetLimits(max_cells=10))
    wide = _xlsx(tmp_path / "wide.xlsx", '<row r="3"><c r="Z3" t="s"><v>3</v></c></row>')
    error = _refused(wide, r"column Z, past the limit of 10 columns", SpreadsheetLimits(max_columns=10))
    assert error.problems[0].row == 3


def test_a_row_of_more_cells_than_columns_is_refused_before_it_is_laid_out(tmp_path: Path) -> None:
    from approvalflow.catalog.formats import xlsx_fast

    row = '<row r="3">' + '<c r="A3" t="s"><v>3</v></c>' * 17_000 + "</row>"
    error = _refused(_xlsx(tmp_path / "c.xlsx", row), r"a row of 17,000 cells, more than the limit of 16,384")
    assert error.problems[0].row == 3
    assert len(xlsx_fast._DENSE) < 17_000  # the shared column-letter table did not grow to it


def test_a_sparse_sheet_cannot_pad_to_a_huge_grid(tmp_path: Path) -> None:
    """Many one-cell rows and one wide row: rows x width is bounded, not just the cells present."""
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>3</v></c></row>' for n in range(3, 400))
    rows += '<row r="400"><c r="XFD400" t="s"><v>3</v></c></row>'
    _refused(
        _xlsx(tmp_path / "c.xlsx", rows),
        r"rows and 16,384 columns make .*max_cells",
        SpreadsheetLimits(max_cells=100_000),
    )


def test_shared_string_count_and_size(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "c.xlsx")
    _refused(path, r"6 shared strings, more than the limit of 5", SpreadsheetLimits(max_shared_strings=5))
    _refused(path, r"characters of shared strings, more than the limit of 10", SpreadsheetLimits(max_shared_chars=10))


def test_a_shared_string_index_out_of_range(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "c.xlsx", '<row r="3"><c r="A3"><f>x</f></c><c r="B3" t="s"><v>99</v></c></row>')
    _refused(path, r"refers to shared string '99'; the table has 6")


def test_the_openpyxl_fallback_sees_the_same_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workbook the fast reader does not take (strict OOXML) goes to openpyxl only once it passed the checks."""
    import openpyxl

    strict = "http://purl.oclc.org/ooxml/spreadsheetml/main"
    path = _xlsx(tmp_path / "strict.xlsx", namespace=strict)
    _declare(path, "xl/sharedStrings.xml", 4_000_000_000)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl was handed a bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    _refused(path, r"bytes uncompressed in xl/sharedStrings\.xml")


@pytest.fixture
def openpyxl_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast reader declines every workbook, so openpyxl's read-only mode reads it."""
    from approvalflow.catalog.formats import xlsx_format
    from approvalflow.catalog.formats.xlsx_fast import UnsupportedWorkbook

    def decline(*args: object, **kwargs: object) -> None:
        raise UnsupportedWorkbook("declined by the test")

    monkeypatch.setattr(xlsx_format, "FastWorkbook", decline)


@pytest.mark.usefixtures("openpyxl_only")
def test_openpyxl_reads_a_good_workbook_and_counts_its_rows(tmp_path: Path) -> None:
    (power,) = load_catalog(_xlsx(tmp_path / "c.xlsx")).powers
    assert power.code == "A-1"
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>3</v></c></row>' for n in range(3, 13))
    path = _xlsx(tmp_path / "rows.xlsx", rows)
    _refused(path, r"11 rows, more than the limit of 10", SpreadsheetLimits(max_rows=10))
    _refused(path, r"at least 13 cells, more than the limit of 12", SpreadsheetLimits(max_cells=12))
    _refused(path, r"a row of 3 columns, more than the limit of 2", SpreadsheetLimits(max_columns=2))


@pytest.mark.usefixtures("openpyxl_only")
def test_openpyxl_does_not_walk_to_row_two_billion(tmp_path: Path) -> None:
    """openpyxl yields the empty rows of a gap one by one: the count stops it at the row limit."""
    path = _xlsx(tmp_path / "rows.xlsx", '<row r="2000000000"><c r="A2000000000" t="s"><v>0</v></c></row>')
    _refused(path, r"1,001 rows, more than the limit of 1,000", SpreadsheetLimits(max_rows=1000))


# -- CSV ----------------------------------------------------------------------------------------------------------
def _csv(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows([HEADER, *rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_csv_field_is_bounded_by_our_own_limit(tmp_path: Path) -> None:
    path = _csv(tmp_path / "c.csv", [["A-1", "x" * 200_000, "行政许可"]])
    before = csv.field_size_limit()
    # the csv module's own default is the same bound: it stops first and names the row
    error = _refused(path, r"row 2: a field longer than the limit of 131,072 characters.*max_field")
    assert error.problems[0].row == 2
    assert csv.field_size_limit() == before
    # raised on request, and the process-wide setting is put back afterwards
    (power,) = load_catalog(path, limits=SpreadsheetLimits(max_field=300_000)).powers
    assert len(power.name) == 200_000 and csv.field_size_limit() == before


def test_csv_bound_holds_when_the_process_limit_is_raised(tmp_path: Path) -> None:
    path = _csv(tmp_path / "c.csv", [["A-1", "x" * 5_000, "行政许可"]])
    before = csv.field_size_limit(sys.maxsize)
    try:
        error = _refused(
            path, r"a field of 5,000 characters, more than the limit of 1,000", SpreadsheetLimits(max_field=1000)
        )
        assert (error.problems[0].row, error.problems[0].letter) == (2, "B")
    finally:
        csv.field_size_limit(before)


def test_csv_rows_columns_cells_and_bytes(tmp_path: Path) -> None:
    path = _csv(tmp_path / "c.csv", [[f"A-{n}", "名称", "行政许可"] for n in range(20)])
    _refused(path, r"more than the limit of 10 rows", SpreadsheetLimits(max_rows=10))
    _refused(path, r"more than the limit of 30 fields in all", SpreadsheetLimits(max_cells=30))
    _refused(path, r"larger than the limit of 100 bytes.*max_file_bytes", SpreadsheetLimits(max_file_bytes=100))
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(HEADER) + "\nA-1,名称,行政许可" + "," * 20_000 + "\n", encoding="utf-8")
    error = _refused(wide, r"a row of 20,003 fields, more than the limit of 16,384")
    assert error.problems[0].row == 2


def test_a_fifo_beside_a_csv_is_not_opened(tmp_path: Path) -> None:
    path = _csv(tmp_path / "c.csv", [GOOD_ROW])
    os.mkfifo(tmp_path / "c.廉政风险点.csv")
    result: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(path, result), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "reading hung on a FIFO"
    assert result and "FIFO" in str(result[0])


def _capture(path: Path, into: list[BaseException]) -> None:
    try:
        load_catalog(path)
    except CatalogError as exc:
        into.append(exc)


# -- measured: the CLI refuses within 1 GiB and a timeout ----------------------------------------------------------
_LIMITED = """
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, ({mem}, {mem}))
sys.argv = ["approvalflow", *sys.argv[1:]]
runpy.run_module("approvalflow", run_name="__main__")
"""


def _run_limited(*args: str, mem: int = 2**30, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    code = _LIMITED.format(mem=mem)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)


def _raw_zip(path: Path, entries: list[tuple[str, bytes, int, int]]) -> None:
    """A zip of (name, raw deflate data, uncompressed size, crc) entries, written by hand."""
    out = bytearray()
    central = bytearray()
    for name, data, size, crc in entries:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
        out += encoded + data
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded),
            0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += encoded
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))


def _deflate(data: bytes) -> bytes:
    co = zlib.compressobj(6, zlib.DEFLATED, -15)
    return co.compress(data) + co.flush()


def _bomb(path: Path, declared: int | None = None) -> None:
    """A real shared-strings bomb: 4,000,000,000 bytes of <si> items from about 9 MB of deflate data."""
    chunk = b"<si><t>" + b"a" * 1000 + b"</t></si>"
    chunk *= 1024
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = b'<sst xmlns="' + MAIN.encode() + b'">'
    first = co.compress(head + chunk) + co.flush(zlib.Z_FULL_FLUSH)
    repeat = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    count = (4_000_000_000 - len(head) - 6) // len(chunk)
    tail_text = b"</sst>"
    size = len(head) + len(chunk) * count + len(tail_text)
    body = first + repeat * (count - 1) + co.compress(tail_text) + co.flush()
    data, strings = _header_rows()
    entries = [(n, _deflate(c), len(c), zlib.crc32(c)) for n, c in _parts(data, strings).items() if "shared" not in n]
    entries.append(("xl/sharedStrings.xml", body, declared if declared is not None else size, 0))
    _raw_zip(path, entries)


@pytest.mark.parametrize("declared", ["honest", "lying"])
def test_a_four_gigabyte_shared_strings_bomb_is_refused_in_bounded_memory(tmp_path: Path, declared: str) -> None:
    path = tmp_path / "bomb.xlsx"
    _bomb(path, None if declared == "honest" else 50_000)
    result = _run_limited("catalog", "check", str(path))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "bomb.xlsx" in result.stderr
    if declared == "honest":
        assert "bytes uncompressed in xl/sharedStrings.xml" in result.stderr
    else:  # zipfile stops at the declared 50,000 bytes and the CRC fails: a damaged file, not a bomb
        assert "cannot read the workbook" in result.stderr


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ('<row r="2000000000"><c r="A2000000000" t="s"><v>0</v></c></row>', "row numbered 2000000000"),
        ('<row r="3"><c r="ZZZZZZZ3" t="s"><v>0</v></c></row>', "column ZZZZZZZ"),
    ],
    ids=["row-2e9", "column-ZZZZZZZ"],
)
def test_huge_references_are_refused_in_bounded_memory(tmp_path: Path, rows: str, expected: str) -> None:
    path = _xlsx(tmp_path / "refs.xlsx", rows)
    for command in (["catalog", "check", str(path)], ["catalog", "convert", str(path), str(tmp_path / "o.yaml")]):
        result = _run_limited(*command, timeout=30)
        assert result.returncode == 2, result.stderr[-2000:]
        assert expected in result.stderr and "refs.xlsx" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "o.yaml").exists()
