"""The power list (权力清单): read, write and check catalogs against their flowcharts.

``load_catalog`` / ``save_catalog`` read and write YAML, JSON, CSV and XLSX by
extension; ``check_catalog`` compares a catalog with the BPMN files it names;
``catalog_from_bpmn`` writes a skeleton (powers and risk table) from BPMN files and
``risk_table`` a catalog's risk table from its flowcharts.
See ``docs/catalog.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .check import CatalogFinding, CatalogReport, check_catalog
from .formats import FORMATS, Format, SpreadsheetLimits, read_catalog_file, register_format, write_catalog_file
from .generate import catalog_from_bpmn, risk_rows_for, risk_table
from .limits import Limit, format_limit, parse_time_limit
from .model import CATEGORY_NAMES, Catalog, PowerRow, RiskPointRow, StageItem, split_stages
from .problems import CatalogError, CatalogProblem

__all__ = [
    "CATEGORY_NAMES",
    "FORMATS",
    "Catalog",
    "CatalogError",
    "CatalogFinding",
    "CatalogProblem",
    "CatalogReport",
    "Format",
    "Limit",
    "PowerRow",
    "RiskPointRow",
    "SpreadsheetLimits",
    "StageItem",
    "catalog_from_bpmn",
    "check_catalog",
    "format_limit",
    "load_catalog",
    "parse_time_limit",
    "register_format",
    "risk_rows_for",
    "risk_table",
    "save_catalog",
    "split_stages",
]


def load_catalog(path: str | Path, *, limits: SpreadsheetLimits | None = None) -> Catalog:
    """Read a catalog file by extension (.yaml/.yml, .json, .csv, .xlsx); :class:`CatalogError` lists bad cells.

    Spreadsheets are read within ``limits`` (default :class:`SpreadsheetLimits`: file and part sizes, rows,
    columns, cells, shared strings); pass ``SpreadsheetLimits(max_rows=...)`` and so on to raise one.
    """
    return read_catalog_file(Path(path), limits=limits)


def save_catalog(catalog: Catalog, path: str | Path, **options: Any) -> None:
    """Write a catalog by extension; CSV takes ``encoding`` (``utf-8-sig`` default, or ``gb18030``)."""
    write_catalog_file(catalog, Path(path), **options)
