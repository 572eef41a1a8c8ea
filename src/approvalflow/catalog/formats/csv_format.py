"""CSV catalogs: ``NAME.csv`` holds 权力清单; ``NAME.廉政风险点.csv`` beside it holds the risk points.

Reading detects the encoding without being told: a UTF-8 BOM means UTF-8;
otherwise strict UTF-8 is tried, then GB18030 (a superset of GBK, which Excel
in China writes). Writing uses UTF-8 with a BOM so that Excel opens it, or
GB18030 when asked.

Every cell written goes through :func:`approvalflow.io.csvsafe.neutralise` (a text
a spreadsheet could run as a formula gets a ``'`` prefix) and every cell read
through :func:`approvalflow.io.csvsafe.restore`, so a conversion stays lossless.
Reading is bounded (:mod:`.bounds`): file size, rows, columns, cells, field size.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ...errors import DefinitionError
from ...io.csvsafe import CsvLimitError, neutralise_row, read_rows
from ...io.inputfiles import read_regular_file
from ..build import RawTable, build_catalog
from ..columns import POWER_COLUMNS, POWER_SHEET, RISK_COLUMNS, RISK_SHEET, column_letter, power_cells, risk_cells
from ..model import Catalog
from ..problems import CatalogError, CatalogProblem
from .bounds import DEFAULT_LIMITS, SpreadsheetLimitError, SpreadsheetLimits
from .table import TableReader, table_rows

__all__ = ["ENCODINGS", "decode", "read_csv", "risk_path", "write_csv"]

ENCODINGS = ("utf-8-sig", "utf-8", "gb18030", "gbk")


def risk_path(path: Path) -> Path:
    """The risk table beside a CSV power list: ``清单.csv`` -> ``清单.廉政风险点.csv``."""
    return path.with_name(f"{path.stem}.{RISK_SHEET}{path.suffix}")


def decode(data: bytes, file: str) -> str:
    """BOM -> UTF-8; else strict UTF-8; else GB18030; else a :class:`CatalogError`."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CatalogError([CatalogProblem("neither UTF-8 nor GB18030/GBK; save the sheet as CSV UTF-8", file)], file=file)


def _file_error(
    message: str, *, file: str | Path | None = None, line: int | None = None, element: str | None = None
) -> DefinitionError:
    """A :class:`CatalogError` built as ``read_regular_file`` builds its errors."""
    return CatalogError([CatalogProblem(message, None if file is None else str(file))], file=file)


def _fail(path: Path, message: str, row: int | None = None, letter: str | None = None, sheet: str = "") -> CatalogError:
    problem = CatalogProblem(message, str(path), sheet or None, row, None, letter)
    return CatalogError([problem], file=str(path))


def _read_table(path: Path, reader: TableReader, limits: SpreadsheetLimits) -> RawTable:
    hint = "raise it with load_catalog(..., limits=SpreadsheetLimits(max_file_bytes=...))"
    data = read_regular_file(path, max_bytes=limits.max_file_bytes, error=_file_error, hint=hint)
    try:
        text = decode(data, str(path))
    except UnicodeDecodeError as exc:
        raise _fail(path, "a UTF-8 BOM but not UTF-8") from exc
    del data
    try:
        rows = read_rows(
            text,
            max_field=limits.max_field,
            max_columns=limits.max_columns,
            max_rows=limits.max_rows,
            max_cells=limits.max_cells,
        )
        del text
        return reader.read(iter(rows))
    except CsvLimitError as exc:
        letter = None if exc.column is None else column_letter(exc.column - 1)
        hint = f"; raise it with load_catalog(..., limits=SpreadsheetLimits({exc.option}=...))" if exc.option else ""
        raise _fail(path, exc.message + hint, exc.row, letter, reader.sheet) from None
    except SpreadsheetLimitError as exc:
        raise _fail(path, exc.message, exc.row, exc.letter, reader.sheet) from None


def read_csv(path: Path, *, limits: SpreadsheetLimits = DEFAULT_LIMITS) -> Catalog:
    """A catalog from ``path`` and, when it exists, its sibling risk table, read within ``limits``."""
    powers_reader = TableReader(POWER_COLUMNS, POWER_SHEET, str(path), max_cells=limits.max_cells)
    powers = _read_table(path, powers_reader, limits)
    problems = list(powers_reader.problems)
    risks = RawTable()
    sibling = risk_path(path)
    if sibling.exists():
        risk_reader = TableReader(RISK_COLUMNS, RISK_SHEET, str(sibling), max_cells=limits.max_cells)
        risks = _read_table(sibling, risk_reader, limits)
        problems += risk_reader.problems
    return build_catalog(powers, risks, file=str(path), problems=problems, risk_file=str(sibling))


def _write_table(path: Path, header: list[str], body: list[list[str | None]], encoding: str) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(neutralise_row(header))
    writer.writerows(map(neutralise_row, body))
    try:
        data = buf.getvalue().encode(encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        problem = CatalogProblem(f"a character {encoding} cannot encode: {bad!r}; write gb18030", str(path))
        raise CatalogError([problem], file=str(path)) from exc
    path.write_bytes(data)


def write_csv(catalog: Catalog, path: Path, *, encoding: str = "utf-8-sig") -> None:
    """Write the power list to ``path`` and the risk points to the sibling file (removed when there are none)."""
    if encoding.lower().replace("_", "-") not in ENCODINGS:
        msg = f"unsupported CSV encoding {encoding!r}; use one of {', '.join(ENCODINGS)}"
        raise CatalogError([CatalogProblem(msg, str(path))], file=str(path))
    powers = catalog.powers
    header, body = table_rows(POWER_COLUMNS, [power_cells(p) for p in powers], [p.extra for p in powers])
    _write_table(path, header, body, encoding)
    sibling = risk_path(path)
    if catalog.risk_points:
        rows = catalog.risk_points
        header, body = table_rows(RISK_COLUMNS, [risk_cells(r) for r in rows], [r.extra for r in rows])
        _write_table(sibling, header, body, encoding)
    elif sibling.exists():
        sibling.unlink()
