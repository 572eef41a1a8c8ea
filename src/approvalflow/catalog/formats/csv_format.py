"""CSV catalogs: ``NAME.csv`` holds 权力清单; ``NAME.廉政风险点.csv`` beside it holds the risk points.

Reading detects the encoding without being told: a UTF-8 BOM means UTF-8;
otherwise strict UTF-8 is tried, then GB18030 (a superset of GBK, which Excel
in China writes). Writing uses UTF-8 with a BOM so that Excel opens it, or
GB18030 when asked.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..build import RawTable, build_catalog
from ..columns import POWER_COLUMNS, POWER_SHEET, RISK_COLUMNS, RISK_SHEET, power_cells, risk_cells
from ..model import Catalog
from ..problems import CatalogError, CatalogProblem
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


def _rows(text: str) -> Iterator[tuple[int, Sequence[str]]]:
    """(row number as a spreadsheet shows it, cells); a quoted cell may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""))
    yield from enumerate(reader, start=1)


def _read_table(path: Path, reader: TableReader) -> RawTable:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError([CatalogProblem(f"cannot read: {exc.strerror}", str(path))], file=str(path)) from exc
    try:
        text = decode(data, str(path))
    except UnicodeDecodeError as exc:
        raise CatalogError([CatalogProblem("a UTF-8 BOM but not UTF-8", str(path))], file=str(path)) from exc
    try:
        return reader.read(_rows(text))
    except csv.Error as exc:
        raise CatalogError([CatalogProblem(f"not a CSV file: {exc}", str(path))], file=str(path)) from exc


def read_csv(path: Path) -> Catalog:
    """A catalog from ``path`` and, when it exists, its sibling risk table."""
    powers_reader = TableReader(POWER_COLUMNS, POWER_SHEET, str(path))
    powers = _read_table(path, powers_reader)
    problems = list(powers_reader.problems)
    risks = RawTable()
    sibling = risk_path(path)
    if sibling.exists():
        risk_reader = TableReader(RISK_COLUMNS, RISK_SHEET, str(sibling))
        risks = _read_table(sibling, risk_reader)
        problems += risk_reader.problems
    return build_catalog(powers, risks, file=str(path), problems=problems, risk_file=str(sibling))


def _write_table(path: Path, header: list[str], body: list[list[str | None]], encoding: str) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in body])
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
