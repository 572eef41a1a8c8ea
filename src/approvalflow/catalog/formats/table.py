"""Tables as governments lay them out: a header row of Chinese column names, then one row per item.

Shared by the CSV and XLSX formats. The header row is the first of the first
five rows that holds ``职权编码`` (a title row above it is allowed). Columns not
in SPEC section 9 are kept as extra columns, in their order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from ..build import RawTable
from ..columns import Column, cell_text, column_letter
from ..problems import CatalogProblem
from .bounds import MAX_CELLS, SpreadsheetLimitError, over

__all__ = ["TableReader", "table_rows"]

_HEADER_SEARCH = 5
_KEY_HEADER = "职权编码"
_REQUIRED = frozenset({"required", "category", "level"})  # columns a table must have; others may be absent


@dataclass
class TableReader:
    """Reads one table's rows into a :class:`RawTable`, collecting problems."""

    columns: Sequence[Column]
    sheet: str
    file: str | None
    problems: list[CatalogProblem] = field(default_factory=list)
    max_cells: int = MAX_CELLS  # rows x the widest row, as the columns are laid out

    def _problem(self, msg: str, row: int | None = None, col: str | None = None, letter: str | None = None) -> None:
        self.problems.append(CatalogProblem(msg, self.file, self.sheet, row, col, letter))

    def _header(self, cells: Sequence[Any], row: int) -> list[tuple[int, str, bool]] | None:
        """(index, field or extra header, is_extra) for each column; None when the header is unusable."""
        by_header = {c.header: c for c in self.columns}
        seen: set[str] = set()
        layout: list[tuple[int, str, bool]] = []
        for i, raw in enumerate(cells):
            head = (cell_text(raw) or "").strip()
            if not head:
                continue
            if head in seen:
                self._problem(f'the header "{head}" appears twice', row, head, column_letter(i))
                continue
            seen.add(head)
            col = by_header.get(head)
            layout.append((i, col.field if col else head, col is None))
        missing = [c.header for c in self.columns if c.kind in _REQUIRED and c.header not in seen]
        for head in missing:
            self._problem(f'the header row has no column "{head}"', row)
        return None if missing else layout

    def read(self, rows: Iterable[tuple[int, Sequence[Any]]]) -> RawTable:
        """The table below the header, column by column; blank rows are skipped."""
        rows = iter(rows)
        layout: list[tuple[int, str, bool]] | None = None
        for number, cells in rows:
            if any(cell_text(c) == _KEY_HEADER for c in cells):
                layout = self._header(cells, number)
                break
            if number >= _HEADER_SEARCH:
                self._problem(f'no header row with "{_KEY_HEADER}" in the first {_HEADER_SEARCH} rows', number)
                return RawTable()
        if layout is None:
            if not self.problems:
                self._problem(f'no header row with "{_KEY_HEADER}"')
            return RawTable()
        numbers: list[int] = []
        data: list[Sequence[Any]] = []
        for number, cells in rows:
            if not any(cells) and all(c is None or c == "" for c in cells):
                continue
            numbers.append(number)
            data.append(cells)
        width = max(map(len, data), default=0)
        if len(numbers) * width > self.max_cells:
            what = over("cells", len(numbers) * width, self.max_cells, "max_cells")
            raise SpreadsheetLimitError(f"{len(numbers):,} rows and {width:,} columns make {what}", sheet=self.sheet)
        by_index = list(zip_longest(*data)) if data else []
        blank = (None,) * len(numbers)
        table = RawTable(rows=numbers, letters={name: column_letter(i) for i, name, _ in layout})
        for i, name, is_extra in layout:
            (table.extra if is_extra else table.cells)[name] = by_index[i] if i < len(by_index) else blank
        known = {i for i, _, _ in layout}
        for i in range(len(by_index)):
            if i not in known:
                self._stray(by_index[i], numbers, i)
        return table

    def _stray(self, cells: Sequence[Any], numbers: list[int], index: int) -> None:
        for number, value in zip(numbers, cells, strict=True):
            if cell_text(value) and str(value).strip():
                self._problem("a cell in a column without a header", number, None, column_letter(index))


def table_rows(
    columns: Sequence[Column], cells: Sequence[dict[str, str | None]], extras: Sequence[dict[str, str]]
) -> tuple[list[str], list[list[str | None]]]:
    """Header and rows to write: SPEC columns (optional ones when used), then extra columns."""
    used = [c for c in columns if c.always or any(row.get(c.field) for row in cells)]
    extra_heads: dict[str, None] = {}
    for extra in extras:
        extra_heads.update(dict.fromkeys(extra))
    header = [c.header for c in used] + list(extra_heads)
    pairs = zip(cells, extras, strict=True)
    body = [[row.get(c.field) for c in used] + [extra.get(h) for h in extra_heads] for row, extra in pairs]
    return header, body
