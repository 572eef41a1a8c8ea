"""A small XLSX writer for text tables, laid out as Excel writes them (shared strings).

openpyxl's write-only mode stores every cell as an inline string, with every
Chinese character as a character reference: a county list becomes a 60 MB
sheet that takes seconds to parse again. Excel and WPS store each distinct
text once in ``sharedStrings.xml``; so does this writer, which keeps a power
list of 100,000 rows to a sheet a few times smaller and quick to read. Every
cell is text (a value that starts with ``=`` is text too, never a formula).
The files open in Excel, WPS and LibreOffice and read back with openpyxl
(the tests check that).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from ..columns import column_letter

__all__ = ["Sheet", "write_workbook"]

Sheet = tuple[str, Sequence[str], Sequence[Sequence[str | None]]]  # title, header, rows

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STYLES = (
    f'{_DECL}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="等线"/></font><font><b/><sz val="11"/><name val="等线"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment wrapText="1" vertical="top"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_HEADER_STYLE, _WRAP_STYLE = 1, 2


class _Strings:
    """The shared string table: each distinct text once, in order of first use."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.uses = 0

    def ref(self, text: str) -> int:
        self.uses += 1
        i = self.index.get(text)
        if i is None:
            i = self.index[text] = len(self.index)
        return i

    def xml(self) -> str:
        items = "".join(_si(t) for t in self.index)
        return f'{_DECL}<sst xmlns="{_MAIN}" count="{self.uses}" uniqueCount="{len(self.index)}">{items}</sst>'


def _si(text: str) -> str:
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<si><t{space}>{escape(text)}</t></si>"


def _width(values: Sequence[str | None]) -> int:
    """A column width from the longest first line of the first rows (CJK characters count double)."""
    longest = 0
    for v in values:
        if v:
            line = v.split("\n", 1)[0]
            longest = max(longest, sum(2 if ord(ch) > 0x2E80 else 1 for ch in line))
    return min(max(longest + 2, 8), 60)


def _sheet_xml(header: Sequence[str], rows: Sequence[Sequence[str | None]], strings: _Strings) -> str:
    letters = [column_letter(i) for i in range(max([len(header), *map(len, rows)], default=0))]
    cols = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{_width([header[i], *(r[i] for r in rows[:200] if i < len(r))])}"'
        ' customWidth="1"/>'
        for i in range(len(header))
    )
    out = [
        f'{_DECL}<worksheet xmlns="{_MAIN}" xmlns:r="{_R}"><sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>',
        f"<cols>{cols}</cols>" if cols else "",
        "<sheetData>",
    ]
    ref = strings.ref
    head = "".join(f'<c r="{letters[i]}1" s="{_HEADER_STYLE}" t="s"><v>{ref(h)}</v></c>' for i, h in enumerate(header))
    out.append(f'<row r="1">{head}</row>')
    for n, row in enumerate(rows, start=2):
        # blank cells before the row's last value are written empty, so that its cells run A, B, C … (quick to read)
        last = max((i for i, v in enumerate(row) if v), default=-1)
        cells = "".join(
            f'<c r="{letters[i]}{n}"{_style(v)} t="s"><v>{ref(v)}</v></c>' if v else f'<c r="{letters[i]}{n}"/>'
            for i, v in enumerate(row[: last + 1])
        )
        out.append(f'<row r="{n}">{cells}</row>')
    out.append("</sheetData></worksheet>")
    return "".join(out)


def _style(value: str) -> str:
    return f' s="{_WRAP_STYLE}"' if "\n" in value else ""


def write_workbook(path: Path, sheets: Sequence[Sheet]) -> None:
    """Write a workbook of text sheets (the first row of each is its header, bold and frozen)."""
    strings = _Strings()
    parts = {f"xl/worksheets/sheet{i}.xml": _sheet_xml(h, rows, strings) for i, (_, h, rows) in enumerate(sheets, 1)}
    names = "".join(
        f'<sheet name={quoteattr(title)} sheetId="{i}" r:id="rId{i}"/>' for i, (title, _, _) in enumerate(sheets, 1)
    )
    n = len(sheets)
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_R}/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1)
    )
    rels += f'<Relationship Id="rId{n + 1}" Type="{_R}/styles" Target="styles.xml"/>'
    rels += f'<Relationship Id="rId{n + 2}" Type="{_R}/sharedStrings" Target="sharedStrings.xml"/>'
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SHEET_TYPE}"/>' for i in range(1, n + 1)
    )
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    content_types = (
        f'{_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>{overrides}'
        f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/></Types>'
    )
    files = {
        "[Content_Types].xml": content_types,
        "_rels/.rels": f'{_DECL}<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
        f'Type="{_R}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'{_DECL}<workbook xmlns="{_MAIN}" xmlns:r="{_R}"><sheets>{names}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'{_DECL}<Relationships xmlns="{_PKG}">{rels}</Relationships>',
        "xl/styles.xml": _STYLES,
        **parts,
        "xl/sharedStrings.xml": strings.xml(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name, text in files.items():
            z.writestr(name, text.encode("utf-8"))
    path.write_bytes(buffer.getvalue())
