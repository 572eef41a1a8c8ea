"""How much of a spreadsheet a catalog reader takes: every bound a named constant, all raisable at once.

A catalog comes from another system, so reading one must neither exhaust memory nor take forever. The defaults
hold a province-sized list with room to spare (a county list of 5,700 powers and 94,000 risk points takes a
tenth of each); a file past one is refused with an error naming the file, sheet, row and column, the limit and how
to raise it: ``load_catalog(path, limits=SpreadsheetLimits(max_rows=2_000_000))``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import DefinitionError
from ...io.csvsafe import MAX_CSV_COLUMNS, MAX_CSV_FIELD, MAX_CSV_ROWS

__all__ = [
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_FIELD",
    "MAX_FILE_BYTES",
    "MAX_PACKAGE_BYTES",
    "MAX_PARTS",
    "MAX_PART_BYTES",
    "MAX_ROWS",
    "MAX_SHARED_CHARS",
    "MAX_SHARED_STRINGS",
    "SpreadsheetLimitError",
    "SpreadsheetLimits",
]

MAX_FILE_BYTES = 256 * 2**20
"""Largest CSV file read (bytes); a county list in CSV is about 17 MB."""

MAX_PART_BYTES = 256 * 2**20
"""Largest uncompressed size of one part of an XLSX package (a sheet, the shared strings), as the zip declares
it and as actually read."""

MAX_PACKAGE_BYTES = 1024 * 2**20
"""Largest sum of the declared uncompressed sizes of all parts of an XLSX package."""

MAX_PARTS = 10_000
"""Most files in an XLSX package (a workbook has a few dozen); also bounds the zip's central directory."""

MAX_ROWS = MAX_CSV_ROWS
"""Highest row number of a sheet (Excel's 1,048,576); a row numbered higher is refused, never padded to."""

MAX_COLUMNS = MAX_CSV_COLUMNS
"""Most columns of a sheet (Excel's 16,384, column XFD); a cell reference past it is refused."""

MAX_CELLS = 5_000_000
"""Most cells of one sheet, counting the blank cells before a row's last one (a county list has about 750,000)."""

MAX_FIELD = MAX_CSV_FIELD
"""Longest cell of a CSV file, in characters."""

MAX_SHARED_STRINGS = 2_000_000
"""Most entries of an XLSX shared-string table."""

MAX_SHARED_CHARS = 128 * 2**20
"""Most characters of all the shared strings of an XLSX file together."""


@dataclass(frozen=True)
class SpreadsheetLimits:
    """The bounds of one read; pass ``load_catalog(path, limits=SpreadsheetLimits(...))`` to raise any."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_part_bytes: int = MAX_PART_BYTES
    max_package_bytes: int = MAX_PACKAGE_BYTES
    max_parts: int = MAX_PARTS
    max_rows: int = MAX_ROWS
    max_columns: int = MAX_COLUMNS
    max_cells: int = MAX_CELLS
    max_field: int = MAX_FIELD
    max_shared_strings: int = MAX_SHARED_STRINGS
    max_shared_chars: int = MAX_SHARED_CHARS


DEFAULT_LIMITS = SpreadsheetLimits()


class SpreadsheetLimitError(DefinitionError):
    """A spreadsheet past a bound (or malformed in a way that would cost without bound): where and what."""

    def __init__(
        self, message: str, *, sheet: str | None = None, row: int | None = None, letter: str | None = None
    ) -> None:
        self.sheet = sheet
        self.letter = letter
        super().__init__(message, row=row, column=letter)


def over(what: str, value: int, limit: int, option: str) -> str:
    """``more than the limit of N {what}; raise it with SpreadsheetLimits(option=...)``."""
    return (
        f"{value:,} {what}, more than the limit of {limit:,}; raise it with "
        f"load_catalog(..., limits=SpreadsheetLimits({option}=...))"
    )
