"""XLSX catalogs: the sheet ``权力清单`` and the optional sheet ``廉政风险点``.

Reading takes the sheets with :mod:`.xlsx_fast` (a scan of the sheet XML as
Excel, WPS and this package write it, else lxml ``iterparse``), and falls back
to openpyxl's read-only mode for a workbook that reader does not understand;
other sheets are ignored. Every read is bounded (:mod:`.bounds`), the fallback
included: openpyxl opens only a package whose sizes, parts and shared strings
passed the same checks, and its rows are counted against the same limits.
Writing uses :mod:`.xlsx_write` (shared strings, as Excel writes them); every
cell is a shared string (``t="s"``), never a formula (``<f>``), so a text that
starts with ``=`` stays text and needs no quote prefix (unlike CSV).
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from ..build import RawTable, build_catalog
from ..columns import POWER_COLUMNS, POWER_SHEET, RISK_COLUMNS, RISK_SHEET, power_cells, risk_cells
from ..model import Catalog
from ..problems import CatalogError, CatalogProblem
from .bounds import DEFAULT_LIMITS, SpreadsheetLimitError, SpreadsheetLimits, over
from .table import TableReader, table_rows
from .xlsx_fast import FastWorkbook, UnsupportedWorkbook, shared_strings
from .xlsx_package import open_package, read_part
from .xlsx_write import Sheet, write_workbook

__all__ = ["read_xlsx", "write_xlsx"]

Rows = Callable[[str], Iterator[tuple[int, Sequence[Any]]]]


def _preflight(path: Path, limits: SpreadsheetLimits) -> None:
    """What openpyxl would read, checked first: sizes and parts, and the shared strings counted."""
    with open_package(path, limits) as package:
        try:
            data = read_part(package, "xl/sharedStrings.xml", limits)
        except KeyError:
            return
        shared_strings(data, limits)


def _bounded(rows: Iterator[Sequence[Any]], limits: SpreadsheetLimits) -> Iterator[tuple[int, Sequence[Any]]]:
    """openpyxl's rows (gaps come as empty rows), counted against the row, column and cell limits."""
    cells = 0
    for number, row in enumerate(rows, start=1):
        if number > limits.max_rows:
            raise SpreadsheetLimitError("the sheet has " + over("rows", number, limits.max_rows, "max_rows"))
        if len(row) > limits.max_columns:
            what = over("columns", len(row), limits.max_columns, "max_columns")
            raise SpreadsheetLimitError(f"a row of {what}", row=number)
        cells += len(row)
        if cells > limits.max_cells:
            what = over("cells", cells, limits.max_cells, "max_cells")
            raise SpreadsheetLimitError(f"the sheet has at least {what}", row=number)
        yield number, row


class _OwnedBook:
    """An openpyxl workbook and the file handle it reads: closing it closes both."""

    def __init__(self, book: Any, handle: Any) -> None:
        self._book, self._handle = book, handle
        self.sheetnames = book.sheetnames

    def __getitem__(self, name: str) -> Any:
        return self._book[name]

    def close(self) -> None:
        try:
            self._book.close()
        finally:
            self._handle.close()


def _openpyxl(path: Path, limits: SpreadsheetLimits) -> tuple[Any, list[str], Rows]:
    from openpyxl import load_workbook  # slow to import: only for workbooks the fast reader does not take
    from openpyxl.utils.exceptions import InvalidFileException

    _preflight(path, limits)
    # Our own handle, closed on every path: openpyxl does not close its archive when it fails half way.
    handle = path.open("rb")
    try:
        book = _OwnedBook(load_workbook(handle, read_only=True, data_only=True), handle)
    except InvalidFileException as exc:
        handle.close()
        raise ValueError(str(exc)) from exc
    except Exception as exc:  # anything else openpyxl raises on a damaged file: never its traceback
        handle.close()
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc

    def rows(name: str) -> Iterator[tuple[int, Sequence[Any]]]:
        source = book[name].iter_rows(values_only=True)
        try:
            yield from _bounded(source, limits)
        except SpreadsheetLimitError:
            raise
        except Exception as exc:
            raise ValueError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            source.close()  # openpyxl's sheet stream, so that closing the book closes the file

    return book, list(book.sheetnames), rows


def _open(path: Path, limits: SpreadsheetLimits) -> tuple[Any, list[str], Rows]:
    """The fast reader when it understands the workbook, else openpyxl's read-only mode."""
    try:
        fast = FastWorkbook(str(path), limits)
        return fast, list(fast.sheets), fast.rows
    except (UnsupportedWorkbook, etree.XMLSyntaxError, zipfile.BadZipFile, KeyError):
        pass
    return _openpyxl(path, limits)


def _limit_error(exc: SpreadsheetLimitError, file: str, sheet: str | None = None) -> CatalogError:
    problem = CatalogProblem(exc.message, file, exc.sheet or sheet, exc.row, None, exc.letter)
    return CatalogError([problem], file=file)


def _read_sheet(reader: TableReader, rows: Rows, file: str) -> RawTable:
    try:
        return reader.read(rows(reader.sheet))
    except SpreadsheetLimitError as exc:
        raise _limit_error(exc, file, reader.sheet) from None


def _read_sheets(
    names: list[str], rows: Rows, file: str, limits: SpreadsheetLimits
) -> tuple[RawTable, RawTable, list[CatalogProblem]]:
    if POWER_SHEET not in names:
        shown = ", ".join(n[:40] for n in names[:20])
        raise CatalogError([CatalogProblem(f"no sheet named {POWER_SHEET} (sheets: {shown})", file)])
    power_reader = TableReader(POWER_COLUMNS, POWER_SHEET, file, max_cells=limits.max_cells)
    powers = _read_sheet(power_reader, rows, file)
    problems = list(power_reader.problems)
    risks = RawTable()
    if RISK_SHEET in names:
        risk_reader = TableReader(RISK_COLUMNS, RISK_SHEET, file, max_cells=limits.max_cells)
        risks = _read_sheet(risk_reader, rows, file)
        problems += risk_reader.problems
    return powers, risks, problems


#: What a damaged workbook can raise from zipfile, zlib, lxml or openpyxl: each is "cannot read the workbook".
_DAMAGED: tuple[type[BaseException], ...] = (
    UnsupportedWorkbook,
    etree.LxmlError,
    zipfile.BadZipFile,
    zlib.error,
    LookupError,
    ValueError,
    OverflowError,
    EOFError,
    OSError,
)


def read_xlsx(path: Path, *, limits: SpreadsheetLimits = DEFAULT_LIMITS) -> Catalog:
    """A catalog from the workbook's 权力清单 and 廉政风险点 sheets, read within ``limits``."""
    file = str(path)
    try:
        book, names, rows = _open(path, limits)
    except SpreadsheetLimitError as exc:
        raise _limit_error(exc, file) from None
    except _DAMAGED as exc:
        raise CatalogError([CatalogProblem(f"cannot read the workbook: {exc}", file)], file=file) from exc
    try:
        powers, risks, problems = _read_sheets(names, rows, file, limits)
    except _DAMAGED as exc:
        raise CatalogError([CatalogProblem(f"cannot read the workbook: {exc}", file)], file=file) from exc
    finally:
        book.close()
    return build_catalog(powers, risks, file=file, problems=problems)


def write_xlsx(catalog: Catalog, path: Path) -> None:
    """Write both sheets (廉政风险点 only when there are risk points)."""
    powers = catalog.powers
    sheets: list[Sheet] = [
        (POWER_SHEET, *table_rows(POWER_COLUMNS, [power_cells(p) for p in powers], [p.extra for p in powers]))
    ]
    if catalog.risk_points:
        risks = catalog.risk_points
        sheets.append((RISK_SHEET, *table_rows(RISK_COLUMNS, [risk_cells(r) for r in risks], [r.extra for r in risks])))
    write_workbook(path, sheets)
