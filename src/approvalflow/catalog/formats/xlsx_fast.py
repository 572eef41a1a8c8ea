"""A fast, read-only XLSX sheet reader for large power lists.

openpyxl builds a Python object per cell, which takes tens of seconds on a
county list of 100,000 rows. This reader takes a sheet in two tiers:

1. :func:`scan_sheet` reads the sheet XML as Excel, WPS and this package write
   it (``<row r=..>`` with ``<c r=.. t=..><v>..</v></c>`` cells: shared and
   inline strings, numbers, booleans) with one regular expression, and checks
   by counting ``<c `` and ``<row `` that no cell was left unread; anything
   else (formulas, rich inline text, comments, namespace prefixes, cells or
   rows without a reference) raises :class:`UnsupportedWorkbook` before a row
   is yielded. A sheet of shared strings and empty cells only (what this
   package writes, and any text sheet from Excel) takes a quicker path still;
2. otherwise :meth:`FastWorkbook.rows` streams the sheet with lxml ``iterparse``.

Shared strings are scanned the same way, with lxml for rich-text runs.

A workbook neither understands raises :class:`UnsupportedWorkbook` and the
caller falls back to openpyxl.

Every read is bounded (:mod:`.bounds`): the package is opened and its parts read
by :mod:`.xlsx_package` (declared and actual uncompressed sizes), the number of
rows, cells and shared strings is counted before anything is built, and a row
number, column letter or padding past a limit raises :class:`SpreadsheetLimitError`
(never padded to, never handed to the fallback).
"""

from __future__ import annotations

import io
import itertools
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from ...errors import DefinitionError
from ..columns import column_letter
from .bounds import DEFAULT_LIMITS, SpreadsheetLimitError, SpreadsheetLimits, over
from .xlsx_package import open_package, open_part, read_part

__all__ = ["FastWorkbook", "UnsupportedWorkbook", "scan_sheet", "shared_strings"]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
# huge_tree off: libxml2's own caps on depth and on one text node (10 MB; a cell holds at most 32,767 characters)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

# A row start, or a whole cell. Values cannot hold "<", so each cell token holds exactly one "<c ", and
# each row token one "<row ": when the counts agree with the text, no cell was left unread.
_TOKEN = re.compile(  # possessive quantifiers (Python 3.11): no backtracking, a third quicker
    r'<(?:c r="([A-Z]{1,3})\d++"(?: s="\d++")?+(?: t="(s|n|b|str|e|inlineStr)")?+(?: s="\d++")?+'
    r'(?:/>|>(?:<v>([^<]*+)</v>|<is><t(?: xml:space="preserve")?+>([^<]*+)</t></is>|<v/>)?+</c>)'
    r'|row r="(\d++)"[^>]*+>)'
)
_SHARED = re.compile(r'<si><t(?: xml:space="preserve")?+(?:>([^<]*+)</t>|/>)</si>')
_ENTITY = re.compile(r"&(?:#x([0-9A-Fa-f]+)|#(\d+)|(amp|lt|gt|quot|apos));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_ENCODING = re.compile(rb'^\s*<\?xml[^>]*encoding="([^"]+)"')
_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,9})")


class UnsupportedWorkbook(DefinitionError):
    """The workbook uses something this reader does not handle."""


def _entity(m: re.Match[str]) -> str:
    hexa, dec, name = m.groups()
    if name:
        return _NAMED[name]
    return chr(int(hexa, 16) if hexa else int(dec))


def unescape(raw: str) -> str:
    """XML character data to text: line ends normalised as an XML parser does, the five entities, char refs."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "&" not in raw:
        return raw
    text = _ENTITY.sub(_entity, raw)
    if "&" in _ENTITY.sub("", raw):
        raise UnsupportedWorkbook("an entity other than the XML ones")
    return text


def _column_index(letters: str) -> int:
    if len(letters) > 3:  # past XFD (Excel's last column) whatever the limit; never computed digit by digit
        raise SpreadsheetLimitError(f"a cell in column {letters[:12]}, past Excel's last column XFD")
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _number(v: str) -> int | float:
    number = float(v)
    return int(number) if number.is_integer() and "." not in v and "E" not in v.upper() else number


def _sheet_data(data: bytes) -> tuple[str, int, int]:
    """The sheet XML as text and the span of its ``sheetData`` content."""
    declared = _ENCODING.match(data[:200])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise UnsupportedWorkbook("not UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsupportedWorkbook("not UTF-8") from exc
    start = text.find("<sheetData>")
    if start < 0:
        if "<sheetData/>" in text:
            return "", 0, 0
        raise UnsupportedWorkbook("no plain <sheetData>")
    end = text.find("</sheetData>", start)
    if end < 0:
        raise UnsupportedWorkbook("no </sheetData>")
    return text, start + len("<sheetData>"), end


_Token = tuple[str, str, str, str, str]  # column letters, type, value, inline text, row number
_DENSE: list[str] = []  # A, B, C ... as far as a row has needed


def _row_number(text: str, limits: SpreadsheetLimits) -> int:
    """A row number within ``max_rows`` (a row 2,000,000,000 is refused, not padded to)."""
    if len(text) > 9 or int(text) > limits.max_rows:
        shown = text if len(text) <= 12 else text[:12] + "…"
        msg = f"a row numbered {shown}, past the limit of {limits.max_rows:,} rows; raise it with "
        raise SpreadsheetLimitError(msg + "load_catalog(..., limits=SpreadsheetLimits(max_rows=...))")
    return int(text)


def _column(letters: str, row: int, limits: SpreadsheetLimits) -> int:
    index = _column_index(letters)
    if index >= limits.max_columns:
        msg = f"a cell in column {letters}, past the limit of {limits.max_columns:,} columns; raise it with "
        raise SpreadsheetLimitError(msg + "load_catalog(..., limits=SpreadsheetLimits(max_columns=...))", row=row)
    return index


class _Cells:
    """Counts the cells placed in a sheet (blanks before a row's last cell included) against ``max_cells``."""

    def __init__(self, limits: SpreadsheetLimits) -> None:
        self.limits = limits
        self.placed = 0

    def add(self, n: int, row: int) -> None:
        self.placed += n
        if self.placed > self.limits.max_cells:
            msg = over("cells", self.placed, self.limits.max_cells, "max_cells")
            raise SpreadsheetLimitError(f"the sheet has at least {msg}", row=row)


def _text_rows(
    tokens: list[_Token], shared: dict[str, str], limits: SpreadsheetLimits = DEFAULT_LIMITS
) -> list[tuple[int, list[Any]]]:
    """The quick path for a sheet of shared strings and empty cells (every text sheet Excel or this package
    writes): values by list comprehension, and a row whose cells run A, B, C … without a gap taken as a slice."""
    values = [shared[v] if k else None for _, k, v, _, _ in tokens]
    letters = [t[0] for t in tokens]
    starts = [i for i, t in enumerate(tokens) if t[4]]
    starts.append(len(tokens))
    rows: list[tuple[int, list[Any]]] = []
    expected = 1
    counter = _Cells(limits)
    for a, b in itertools.pairwise(starts):
        number = _row_number(tokens[a][4], limits)
        if number != expected:
            if number < expected:
                raise UnsupportedWorkbook("rows out of order")
            rows.extend((n, []) for n in range(expected, number))
        width = b - a - 1
        if width > limits.max_columns:  # before the shared letter table grows to it
            what = over("cells", width, limits.max_columns, "max_columns")
            raise SpreadsheetLimitError(f"a row of {what}", row=number)
        while len(_DENSE) < width:
            _DENSE.append(column_letter(len(_DENSE)))
        dense = letters[a + 1 : b] == _DENSE[:width]
        if not dense and width:
            _column(letters[b - 1], number, limits)  # the row's last cell: how wide _place makes it
        cells = values[a + 1 : b] if dense else _place(letters[a + 1 : b], values[a + 1 : b])
        counter.add(len(cells), number)
        rows.append((number, cells))
        expected = number + 1
    return rows


def _place(letters: list[str], values: list[Any]) -> list[Any]:
    """A row's values at their columns (a gap is None)."""
    cells: list[Any] = []
    for col, value in zip(letters, values, strict=True):
        index = _column_index(col)
        if index < len(cells):
            raise UnsupportedWorkbook("cells out of order")
        cells.extend([None] * (index - len(cells)))
        cells.append(value)
    return cells


def _precount(text: str, pos: int, end: int, limits: SpreadsheetLimits) -> None:
    """Rows and cells counted in the text before a token is built."""
    rows = text.count("<row ", pos, end)
    if rows > limits.max_rows:
        raise SpreadsheetLimitError("the sheet has " + over("rows", rows, limits.max_rows, "max_rows"))
    cells = text.count("<c ", pos, end)
    if cells > limits.max_cells:
        raise SpreadsheetLimitError("the sheet has " + over("cells", cells, limits.max_cells, "max_cells"))


def scan_sheet(
    data: bytes, strings: list[str], limits: SpreadsheetLimits = DEFAULT_LIMITS
) -> list[tuple[int, list[Any]]]:
    """Every row of a sheet part as (row number, values), rows missing from the file included as empty.

    Raises :class:`UnsupportedWorkbook` when the XML is not in the common layout this scan reads, and
    :class:`SpreadsheetLimitError` past a limit.
    """
    text, pos, end = _sheet_data(data)
    _precount(text, pos, end, limits)
    tokens: list[_Token] = _TOKEN.findall(text, pos, end)
    row_count = sum(1 for t in tokens if t[4])
    if (
        len(tokens) - row_count != text.count("<c ", pos, end)
        or row_count != text.count("<row ", pos, end)
        or text.find("<c>", pos, end) >= 0
        or text.find("<row>", pos, end) >= 0
        or text.find("<!", pos, end) >= 0  # comments, CDATA
        or text.find("<?", pos, end) >= 0  # processing instructions
    ):
        raise UnsupportedWorkbook("cells or rows this scan does not read (formulas, rich text, no reference)")
    shared = dict(zip(map(str, range(len(strings))), strings, strict=True))
    try:
        if not any(k != "s" and (k or v) for _, k, v, _, _ in tokens):  # only shared strings and empty cells
            return _text_rows(tokens, shared, limits)
    except (ValueError, KeyError, OverflowError) as exc:
        raise UnsupportedWorkbook(f"a cell this scan does not read: {exc}") from exc
    rows: list[tuple[int, list[Any]]] = []
    cells: list[Any] = []
    append = cells.append
    expected = 1
    texts: dict[str, str] = {}
    columns: dict[str, int] = {}
    counter = _Cells(limits)
    number = 0
    try:
        for letters, kind, v, inline, number_text in tokens:
            if not letters:  # a row
                counter.add(len(cells), number)
                number = _row_number(number_text, limits)
                if number < expected:
                    raise UnsupportedWorkbook("rows out of order")
                rows.extend((n, []) for n in range(expected, number))
                cells = []
                append = cells.append
                rows.append((number, cells))
                expected = number + 1
                continue
            try:
                index = columns[letters]
            except KeyError:
                index = columns[letters] = _column(letters, number, limits)
            if index != len(cells):
                if index < len(cells):
                    raise UnsupportedWorkbook("cells out of order")
                cells.extend([None] * (index - len(cells)))
            if kind == "s":
                append(shared[v])
            elif kind in ("inlineStr", "str", "e"):
                raw = inline if kind == "inlineStr" else v
                value = texts.get(raw)
                if value is None:
                    value = texts[raw] = unescape(raw)
                append(value or None)
            elif not v:
                append(None)
            elif kind == "b":
                append(v == "1")
            else:
                append(_number(v))
    except (ValueError, KeyError, OverflowError) as exc:
        raise UnsupportedWorkbook(f"a cell this scan does not read: {exc}") from exc
    counter.add(len(cells), number)
    return rows


def _scan_shared(data: bytes) -> list[str] | None:
    """The shared strings when each is one plain ``<si><t>`` (rich text and phonetic runs: None, for lxml)."""
    declared = _ENCODING.match(data[:200])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return None
    try:
        text = data.decode("utf-8")
        items = _SHARED.findall(text)
        if len(items) != text.count("<si>") + text.count("<si "):
            return None
        return [unescape(t) if "&" in t or "\r" in t else t for t in items]
    except (UnicodeDecodeError, UnsupportedWorkbook, ValueError, OverflowError):
        return None


def shared_strings(data: bytes, limits: SpreadsheetLimits = DEFAULT_LIMITS) -> list[str]:
    """The shared-string table, its entries counted before they are built and their total length bounded."""
    count = data.count(b"<si>") + data.count(b"<si ") + data.count(b"<si/>")
    if count > limits.max_shared_strings:
        what = over("shared strings", count, limits.max_shared_strings, "max_shared_strings")
        raise SpreadsheetLimitError(f"the workbook has {what}")
    strings = _scan_shared(data)
    if strings is None:
        strings = []
        context = etree.iterparse(io.BytesIO(data), events=("end",), tag=f"{{{_MAIN}}}si", resolve_entities=False)
        for _, si in context:
            strings.append(_text(si))
            si.clear(keep_tail=False)
            if len(strings) > limits.max_shared_strings:
                what = over("shared strings", len(strings), limits.max_shared_strings, "max_shared_strings")
                raise SpreadsheetLimitError(f"the workbook has {what}")
    chars = sum(map(len, strings))
    if chars > limits.max_shared_chars:
        what = over("characters of shared strings", chars, limits.max_shared_chars, "max_shared_chars")
        raise SpreadsheetLimitError(f"the workbook has {what}")
    return strings


def _text(el: Any) -> str:
    """Text of a string item: plain ``t`` or rich-text runs ``r/t`` (phonetic ``rPh`` left out)."""
    t = el.find(f"{{{_MAIN}}}t")
    if t is not None:
        return t.text or ""
    return "".join(r.findtext(f"{{{_MAIN}}}t") or "" for r in el.iterfind(f"{{{_MAIN}}}r"))


class FastWorkbook:
    """Sheets by name; :meth:`rows` yields (row number, values) as a spreadsheet shows them."""

    def __init__(self, path: str, limits: SpreadsheetLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self._zip = open_package(Path(path), limits)
        self._strings: list[str] | None = None
        try:
            self.sheets = self._sheet_paths()
        except BaseException:
            self._zip.close()
            raise

    def close(self) -> None:
        self._zip.close()

    def _xml(self, name: str) -> Any:
        try:
            return etree.fromstring(read_part(self._zip, name, self.limits), _PARSER)
        except KeyError as exc:
            raise UnsupportedWorkbook(f"no part {name}") from exc

    def _sheet_paths(self) -> dict[str, str]:
        book = self._xml("xl/workbook.xml")
        if book.tag != f"{{{_MAIN}}}workbook":
            raise UnsupportedWorkbook("not a transitional SpreadsheetML workbook")
        rels = self._xml("xl/_rels/workbook.xml.rels")
        targets = {r.get("Id"): r.get("Target", "") for r in rels.iterfind(f"{{{_PKG_REL}}}Relationship")}
        paths = {}
        for sheet in book.iter(f"{{{_MAIN}}}sheet"):
            target = targets.get(sheet.get(f"{{{_REL}}}id"), "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            paths[sheet.get("name", "")] = part
        return paths

    def _shared(self) -> list[str]:
        if self._strings is None:
            try:
                data = read_part(self._zip, "xl/sharedStrings.xml", self.limits)
            except KeyError:
                data = None
            self._strings = [] if data is None else shared_strings(data, self.limits)
        return self._strings

    def _value(self, c: Any, row: int) -> Any:
        kind = c.get("t", "n")
        if kind == "inlineStr":
            el = c.find(f"{{{_MAIN}}}is")
            return None if el is None else _text(el)
        v = c.findtext(f"{{{_MAIN}}}v")
        if not v:  # no value, or a formula without a cached result
            return None
        if kind == "s":
            strings = self._shared()
            if not v.isdigit() or int(v) >= len(strings):
                ref = str(c.get("r", ""))[:12]
                msg = f"cell {ref} refers to shared string {v[:12]!r}; the table has {len(strings):,}"
                raise SpreadsheetLimitError(msg, row=row)
            return strings[int(v)]
        if kind in ("str", "e"):
            return v
        if kind == "b":
            return v == "1"
        if kind == "n":
            return _number(v)
        raise UnsupportedWorkbook(f"cell type {kind!r}")

    def rows(self, name: str) -> Iterator[tuple[int, list[Any]]]:
        """(row number, values); rows missing from the file come out empty."""
        strings = self._shared()
        try:
            yield from scan_sheet(read_part(self._zip, self.sheets[name], self.limits), strings, self.limits)
            return
        except UnsupportedWorkbook:
            pass
        yield from self._iterparse(name)

    def _iterparse(self, name: str) -> Iterator[tuple[int, list[Any]]]:
        row_tag = f"{{{_MAIN}}}row"
        expected = 1
        limits = self.limits
        counter = _Cells(limits)
        with open_part(self._zip, self.sheets[name], limits) as stream:
            events = etree.iterparse(stream, events=("end",), tag=row_tag, resolve_entities=False, huge_tree=False)
            for rows, (_, row) in enumerate(events, start=1):
                if rows > limits.max_rows:
                    raise SpreadsheetLimitError("the sheet has " + over("rows", rows, limits.max_rows, "max_rows"))
                number = _row_number(str(row.get("r", expected)), limits)
                while expected < number:
                    yield expected, []
                    expected += 1
                values: list[Any] = []
                for c in row:
                    counter.add(1, number)
                    ref = c.get("r")
                    if ref is not None and (index := self._index(str(ref), number)) > len(values):
                        counter.add(index - len(values), number)
                        values.extend([None] * (index - len(values)))
                    values.append(self._value(c, number))
                row.clear(keep_tail=False)
                while row.getprevious() is not None:
                    del row.getparent()[0]
                yield number, values
                expected = number + 1

    def _index(self, ref: str, row: int) -> int:
        """The column of a cell reference such as ``AB12``; one past the last column is refused unread."""
        letters = ref[: len(ref) - len(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))]
        if not _REF.fullmatch(ref):
            if len(letters) > 3:
                return _column(letters, row, self.limits)  # raises: past XFD
            raise SpreadsheetLimitError(f"a cell reference {ref[:20]!r} that is not a column and a row", row=row)
        return _column(letters, row, self.limits)
