"""Catalog formats, chosen by file extension: YAML, JSON, CSV, XLSX.

A format is a reader and a writer registered under its extensions; another
format can be added with :func:`register_format`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...io.yamlio import collection_paused
from ..model import Catalog
from ..problems import CatalogError, CatalogProblem
from .bounds import SpreadsheetLimits
from .csv_format import read_csv, write_csv
from .tree_format import read_json, read_yaml, write_json, write_yaml
from .xlsx_format import read_xlsx, write_xlsx

__all__ = [
    "FORMATS",
    "Format",
    "SpreadsheetLimits",
    "format_for",
    "read_catalog_file",
    "register_format",
    "write_catalog_file",
]


@dataclass(frozen=True)
class Format:
    """A catalog file format: its name, reader and writer (writer options are keyword arguments)."""

    name: str
    read: Callable[..., Catalog]  # (path, *, limits=...) for spreadsheet formats
    write: Callable[..., None]


FORMATS: dict[str, Format] = {}


def register_format(extensions: tuple[str, ...], fmt: Format) -> None:
    """Use ``fmt`` for files ending in any of ``extensions`` (with the dot, lower case)."""
    for ext in extensions:
        FORMATS[ext] = fmt


register_format((".yaml", ".yml"), Format("yaml", read_yaml, write_yaml))
register_format((".json",), Format("json", read_json, write_json))
register_format((".csv",), Format("csv", read_csv, write_csv))
register_format((".xlsx",), Format("xlsx", read_xlsx, write_xlsx))


def format_for(path: Path) -> Format:
    """The format of a path by its extension; a :class:`CatalogError` for an unknown one."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise CatalogError([CatalogProblem(f"unknown catalog format {path.suffix!r}; use {known}", str(path))])
    return fmt


def read_catalog_file(path: Path, *, limits: SpreadsheetLimits | None = None) -> Catalog:
    """Read by extension; ``limits`` go to the readers that take them (CSV and XLSX)."""
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such file"
        raise CatalogError([CatalogProblem(what, str(path))], file=str(path))
    fmt = format_for(path)
    options = {"limits": limits} if limits is not None and "limits" in inspect.signature(fmt.read).parameters else {}
    with collection_paused():
        return fmt.read(path, **options)


def write_catalog_file(catalog: Catalog, path: Path, **options: Any) -> None:
    """Write by extension; options (e.g. ``encoding="gb18030"`` for CSV) go to the writer."""
    fmt = format_for(path)
    accepted = set(inspect.signature(fmt.write).parameters) - {"catalog", "path"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        msg = f"the {fmt.name} format takes no option {', '.join(unknown)}"
        raise CatalogError([CatalogProblem(msg, str(path))], file=str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with collection_paused():
            fmt.write(catalog, path, **options)
    except OSError as exc:
        raise CatalogError([CatalogProblem(f"cannot write: {exc.strerror}", str(path))], file=str(path)) from exc
