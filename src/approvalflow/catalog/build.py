"""From raw tables to rows: every cell parsed, every bad cell collected, one error listing them all.

Each format reader produces a :class:`RawTable` per table: the cells column by
column, with the row number of each record and the letter of each column.
:func:`build_catalog` parses them column by column (each distinct cell of a
column once: a county list repeats its cells a lot) and raises one
:class:`CatalogError` listing every bad cell, in row then column order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from typing import Any, TypeVar

from pydantic import BaseModel

from .columns import CONVERTERS, POWER_COLUMNS, POWER_SHEET, RISK_COLUMNS, RISK_SHEET, Column, text_cell
from .model import Catalog, PowerRow, RiskPointRow, _Row
from .problems import CatalogError, CatalogProblem

__all__ = ["RawRecord", "RawTable", "build_catalog", "fast_row"]

_M = TypeVar("_M", bound=_Row)


_Bad = tuple[int, int, str | None, str | None, str]  # record index, column index, header, letter, message


@dataclass(slots=True)
class RawRecord:
    """One record as a tree format (YAML, JSON) reads it: field -> raw value, extra columns, its row number."""

    row: int
    values: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RawTable:
    """One table as read: for each field and each extra column, one raw cell per record, in record order."""

    rows: list[int] = field(default_factory=list)  # the row (or line, or item) number of each record
    cells: dict[str, Sequence[Any]] = field(default_factory=dict)  # field -> cells; a missing column is blank
    extra: dict[str, Sequence[Any]] = field(default_factory=dict)  # extra column header -> cells
    letters: dict[str, str] = field(default_factory=dict)  # field or extra header -> column letter

    @classmethod
    def from_records(cls, records: Sequence[RawRecord]) -> RawTable:
        """The table of records read one by one (a key a record lacks is a blank cell)."""
        fields = dict.fromkeys(k for r in records for k in r.values)
        extras = dict.fromkeys(k for r in records for k in r.extra)
        return cls(
            rows=[r.row for r in records],
            cells={f: [r.values.get(f) for r in records] for f in fields},
            extra={str(k): [r.extra.get(k) for r in records] for k in extras},
        )


def _slot_setters() -> tuple[Callable[[Any, Any], None], ...]:
    """Setters of the four slots a pydantic model instance has (the descriptors' own, which is quickest)."""
    names = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
    try:
        return tuple(vars(BaseModel)[n].__set__ for n in names)
    except (KeyError, AttributeError):  # a pydantic laid out otherwise: the generic way
        return tuple(partial(_set_attribute, n) for n in names)


def _set_attribute(name: str, obj: Any, value: Any) -> None:
    object.__setattr__(obj, name, value)


_SET_DICT, _SET_FIELDS, _SET_EXTRA, _SET_PRIVATE = _slot_setters()


def fast_row(cls: type[_M], values: dict[str, Any], fields_set: set[str] | None = None) -> _M:
    """A row from values already checked, with every field given (as ``model_construct``, faster).

    ``fields_set`` may be one set shared by many rows: it names every field, so pydantic never adds to it.
    """
    obj = object.__new__(cls)
    _SET_DICT(obj, values)
    _SET_FIELDS(obj, set(values) if fields_set is None else fields_set)
    _SET_EXTRA(obj, None)
    _SET_PRIVATE(obj, None)
    return obj


def _convert_column(raw: Sequence[Any], col: Column, index: int, letter: str | None, bad: list[_Bad]) -> list[Any]:
    """One column's cells parsed, each distinct cell once; bad cells go to ``bad`` (their value is None)."""
    convert = CONVERTERS[col.kind]
    try:
        distinct: set[Any] | None = set(raw)
    except TypeError:  # lists (measures in YAML and JSON): as tuples they can be looked up too
        raw = [tuple(v) if type(v) is list else v for v in raw]
        try:
            distinct = set(raw)
        except TypeError:
            distinct = None
    if distinct is None or any(type(v) is bool for v in distinct):  # True == 1 would share an entry
        out = []
        for i, v in enumerate(raw):
            try:
                out.append(convert(v))
            except ValueError as exc:
                out.append(None)
                bad.append((i, index, col.header, letter, str(exc)))
        return out
    table: dict[Any, Any] = {}
    errors: dict[Any, str] = {}
    for v in distinct:
        try:
            table[v] = convert(v)
        except ValueError as exc:
            errors[v] = str(exc)
    if errors:
        bad.extend((i, index, col.header, letter, errors[v]) for i, v in enumerate(raw) if v in errors)
        return [table.get(v) for v in raw]
    return list(map(table.__getitem__, raw))


def _extra_column(table: RawTable, header: str, index: int, into: list[dict[str, str]], bad: list[_Bad]) -> None:
    key = header.strip()
    for i, value in enumerate(table.extra[header]):
        if value is None:
            continue
        try:
            text = text_cell(value)
        except ValueError as exc:
            bad.append((i, index, header, table.letters.get(header), str(exc)))
            continue
        if text is not None:
            into[i][key] = text


class _Builder:
    """Parses tables, collecting problems instead of stopping."""

    def __init__(self, file: str | None, row_kind: str) -> None:
        self.file = file
        self.row_kind = row_kind
        self.problems: list[CatalogProblem] = []

    def rows(self, table: RawTable, columns: Sequence[Column], sheet: str, cls: type[_M]) -> list[_M]:
        """Rows of the records that parse; a problem for each bad cell, in row then column order."""
        n = len(table.rows)
        bad: list[_Bad] = []
        blank = [None] * n
        converted = [
            _convert_column(table.cells.get(c.field, blank), c, i, table.letters.get(c.field), bad)
            for i, c in enumerate(columns)
        ]
        extras: list[dict[str, str]] = [{} for _ in range(n)]
        for k, header in enumerate(table.extra):
            _extra_column(table, header, len(columns) + k, extras, bad)
        names = ("row", "extra", *(c.field for c in columns))
        fields_set = set(names)
        records = map(dict, map(zip, repeat(names), zip(table.rows, extras, *converted, strict=True)))
        if not bad:
            return [fast_row(cls, values, fields_set) for values in records]
        for i, _, column, letter, msg in sorted(bad, key=lambda b: (b[0], b[1])):
            self.problems.append(CatalogProblem(msg, self.file, sheet, table.rows[i], column, letter, self.row_kind))
        failed = {b[0] for b in bad}
        return [fast_row(cls, values, fields_set) for i, values in enumerate(records) if i not in failed]


def build_catalog(
    powers: RawTable,
    risks: RawTable,
    *,
    file: str | None,
    row_kind: str = "row",
    problems: Sequence[CatalogProblem] = (),
    risk_file: str | None = None,
    sheets: tuple[str, str] = (POWER_SHEET, RISK_SHEET),
) -> Catalog:
    """Rows from raw tables; one :class:`CatalogError` listing every bad cell (with ``problems`` found earlier).

    ``risk_file`` names the file of the risk table when it is not ``file`` (CSV);
    ``sheets`` names the two tables in messages.
    """
    b = _Builder(file, row_kind)
    b.problems.extend(problems)
    power_rows = b.rows(powers, POWER_COLUMNS, sheets[0], PowerRow)
    b.file = risk_file or file
    risk_rows = b.rows(risks, RISK_COLUMNS, sheets[1], RiskPointRow)
    if b.problems:
        raise CatalogError(b.problems, file=file)
    return Catalog.model_construct(powers=power_rows, risk_points=risk_rows, file=file, row_kind=row_kind)
