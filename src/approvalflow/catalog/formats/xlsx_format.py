"""XLSX catalogs: the sheet ``权力清单`` and the optional sheet ``廉政风险点``.

Reading takes the sheets with :mod:`.xlsx_fast` (a scan of the sheet XML as
Excel, WPS and this package write it, else lxml ``iterparse``), and falls back
to openpyxl's read-only mode for a workbook that reader does not understand;
other sheets are ignored. Writing uses :mod:`.xlsx_write` (shared strings, as
Excel writes them); every cell is text, so a text that starts with ``=`` is
never a formula.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from ..build import RawTable, build_catalog
from ..columns import POWER_COLUMNS, POWER_SHEET, RISK_COLUMNS, RISK_SHEET, power_cells, risk_cells
from ..model import Catalog
from ..problems import CatalogError, CatalogProblem
from .table import TableReader, table_rows
from .xlsx_fast import FastWorkbook, UnsupportedWorkbook
from .xlsx_write import Sheet, write_workbook

__all__ = ["read_xlsx", "write_xlsx"]

Rows = Callable[[str], Iterator[tuple[int, Sequence[Any]]]]


def _openpyxl(path: Path) -> tuple[Any, list[str], Rows]:
    from openpyxl import load_workbook  # slow to import: only for workbooks the fast reader does not take
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except InvalidFileException as exc:
        raise ValueError(str(exc)) from exc

    def rows(name: str) -> Iterator[tuple[int, Sequence[Any]]]:
        yield from enumerate(book[name].iter_rows(values_only=True), start=1)

    return book, list(book.sheetnames), rows


def _open(path: Path) -> tuple[Any, list[str], Rows]:
    """The fast reader when it understands the workbook, else openpyxl's read-only mode."""
    try:
        fast = FastWorkbook(str(path))
        return fast, list(fast.sheets), fast.rows
    except (UnsupportedWorkbook, etree.XMLSyntaxError, zipfile.BadZipFile, KeyError):
        pass
    return _openpyxl(path)


def _read_sheets(names: list[str], rows: Rows, file: str) -> tuple[RawTable, RawTable, list[CatalogProblem]]:
    if POWER_SHEET not in names:
        raise CatalogError([CatalogProblem(f"no sheet named {POWER_SHEET} (sheets: {', '.join(names)})", file)])
    power_reader = TableReader(POWER_COLUMNS, POWER_SHEET, file)
    powers = power_reader.read(rows(POWER_SHEET))
    problems = list(power_reader.problems)
    risks = RawTable()
    if RISK_SHEET in names:
        risk_reader = TableReader(RISK_COLUMNS, RISK_SHEET, file)
        risks = risk_reader.read(rows(RISK_SHEET))
        problems += risk_reader.problems
    return powers, risks, problems


def read_xlsx(path: Path) -> Catalog:
    """A catalog from the workbook's 权力清单 and 廉政风险点 sheets."""
    file = str(path)
    try:
        book, names, rows = _open(path)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise CatalogError([CatalogProblem(f"cannot read the workbook: {exc}", file)], file=file) from exc
    try:
        powers, risks, problems = _read_sheets(names, rows, file)
    except (
        UnsupportedWorkbook,
        etree.XMLSyntaxError,
        zipfile.BadZipFile,
        LookupError,
        ValueError,
        OverflowError,
    ) as exc:
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
