"""Spreadsheet-safe CSV: formula injection neutralised on the way out, reading bounded on the way in.

Out (CSV injection, OWASP): a spreadsheet that opens a CSV runs a cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula (``=HYPERLINK(...)``, ``=cmd|'/c calc'!A1``), and a leading tab or carriage return can hide
one. Every CSV writer of the package passes its cells through :func:`neutralise`, which prefixes a single quote
``'`` to a text that a spreadsheet could take for a formula: one whose first character is in
:data:`FORMULA_STARTS`, or whose first character after leading blanks is one of ``= + - @`` (or their full-width
forms, which Chinese input methods type). A text that already starts with ``'`` is prefixed too, so that the
escaping is unambiguous and :func:`restore` (used by every CSV reader of the package) gives back exactly what
was written: ``restore(neutralise(text)) == text`` for every text.

A cell that is a plain decimal number (``-3.5``, ``+2``, ``-1e-3``) is a number to every spreadsheet, never a
formula, and is written as is; ``-3.5+1``, ``-inf`` or ``- 3`` are not plain numbers and are neutralised.

In: :func:`read_rows` parses CSV text with bounds of its own (field size, columns, rows) and raises
:class:`CsvLimitError` naming the row and column; each caller turns it into its own error naming the file.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from ..errors import DefinitionError

__all__ = [
    "ESCAPE",
    "FORMULA_STARTS",
    "MAX_CSV_CELLS",
    "MAX_CSV_COLUMNS",
    "MAX_CSV_FIELD",
    "MAX_CSV_ROWS",
    "CsvLimitError",
    "is_formula_like",
    "neutralise",
    "neutralise_row",
    "read_rows",
    "restore",
]

ESCAPE = "'"
"""The prefix that makes a spreadsheet take a cell as text (and that :func:`restore` removes)."""

FORMULA_STARTS = frozenset("=+-@\t\r\n\0＝＋－＠")
"""First characters that make a spreadsheet cell a formula, or hide one: OWASP's ``= + - @``, tab and CR, also
line feed and NUL (ASVS), and the full-width ``＝ ＋ － ＠``."""

_SIGNS = frozenset("=+-@＝＋－＠")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)

MAX_CSV_FIELD = 131_072
"""Longest CSV field read, in characters (the csv module's own default). Raise it with ``max_field=``."""

MAX_CSV_COLUMNS = 16_384
"""Most fields in one CSV row (Excel's column limit, XFD). Raise it with ``max_columns=``."""

MAX_CSV_ROWS = 1_048_576
"""Most rows in one CSV file, the header included (Excel's row limit). Raise it with ``max_rows=``."""

MAX_CSV_CELLS = 5_000_000
"""Most fields in one CSV file, all rows together. Raise it with ``max_cells=``."""


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could take ``text`` for a formula (a plain number is not one)."""
    if not text:
        return False
    first = text[0]
    if first in FORMULA_STARTS:
        return not (first in "+-" and _NUMBER.fullmatch(text))
    if first.isspace():
        rest = text.lstrip()
        return bool(rest) and rest[0] in _SIGNS
    return False


def neutralise(text: str) -> str:
    """``text`` as a CSV cell that no spreadsheet runs as a formula: ``'`` prefixed when needed (see the module)."""
    if text and (text[0] == ESCAPE or is_formula_like(text)):
        return ESCAPE + text
    return text


def restore(text: str) -> str:
    """The text :func:`neutralise` was given: one leading ``'`` removed where it added one."""
    if text[:1] == ESCAPE and (text[1:2] == ESCAPE or is_formula_like(text[1:])):
        return text[1:]
    return text


def neutralise_row(values: Iterable[object]) -> list[str]:
    """A row of values as safe CSV cells: None is an empty cell, numbers their ``str``, text :func:`neutralise`-d."""
    return ["" if v is None else neutralise(v if isinstance(v, str) else str(v)) for v in values]


class CsvLimitError(DefinitionError, ValueError):
    """A CSV file past a bound, or not CSV; ``row`` (1-based record) and ``column`` (1-based) where known.

    ``option`` names the keyword of :func:`read_rows` that raises the bound passed (None: not CSV); the caller
    adds how its own users raise it.
    """

    column: int | None

    def __init__(
        self, message: str, *, row: int | None = None, column: int | None = None, option: str | None = None
    ) -> None:
        self.option = option
        super().__init__(message, row=row, column=column)


_FIELD_LOCK = threading.Lock()


@contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """The csv module's process-wide field limit raised to ``limit`` while parsing, then set back.

    Only when ``limit`` is above it (our own bound is checked on every field anyway), under a lock, and always
    restored: the process-wide setting is never left changed.
    """
    if csv.field_size_limit() >= limit:
        yield
        return
    with _FIELD_LOCK:
        before = csv.field_size_limit(limit)
        try:
            yield
        finally:
            csv.field_size_limit(before)


def read_rows(
    text: str,
    *,
    max_field: int = MAX_CSV_FIELD,
    max_columns: int = MAX_CSV_COLUMNS,
    max_rows: int = MAX_CSV_ROWS,
    max_cells: int = MAX_CSV_CELLS,
    restore_cells: bool = True,
) -> list[tuple[int, list[str]]]:
    """Every row of CSV ``text`` as (row number as a spreadsheet shows it, cells), each cell :func:`restore`-d.

    A quoted cell may span lines (it is still one row). Raises :class:`CsvLimitError` for a field longer than
    ``max_field`` characters, a row of more than ``max_columns`` fields, more than ``max_rows`` rows or
    ``max_cells`` fields in all, or text the csv module refuses.
    """
    rows: list[tuple[int, list[str]]] = []
    number = cells_read = 0
    try:
        with _field_limit(max_field):
            for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
                _check_row(cells, number, max_field, max_columns, max_rows)
                cells_read += len(cells)
                if cells_read > max_cells:
                    raise CsvLimitError(
                        f"more than the limit of {max_cells:,} fields in all", row=number, option="max_cells"
                    )
                rows.append((number, [restore(c) for c in cells] if restore_cells else cells))
    except csv.Error as exc:
        if "field limit" in str(exc):
            msg = f"a field longer than the limit of {max_field:,} characters"
            raise CsvLimitError(msg, row=number + 1, option="max_field") from None
        raise CsvLimitError(f"not readable as CSV: {exc}", row=number + 1) from None
    return rows


def _check_row(cells: list[str], number: int, max_field: int, max_columns: int, max_rows: int) -> None:
    if number > max_rows:
        raise CsvLimitError(f"more than the limit of {max_rows:,} rows", row=number, option="max_rows")
    if len(cells) > max_columns:
        msg = f"a row of {len(cells):,} fields, more than the limit of {max_columns:,}"
        raise CsvLimitError(msg, row=number, column=max_columns + 1, option="max_columns")
    if cells and max(map(len, cells)) > max_field:
        i = next(i for i, cell in enumerate(cells) if len(cell) > max_field)
        msg = f"a field of {len(cells[i]):,} characters, more than the limit of {max_field:,}"
        raise CsvLimitError(msg, row=number, column=i + 1, option="max_field")
