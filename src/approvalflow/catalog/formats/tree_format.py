"""YAML and JSON catalogs: ``powers`` and ``risk_points``, each a list of records.

Keys are the model's field names (``code``, ``statutory_limit`` …) or the
Chinese headers of SPEC section 9; columns a government added go under
``extra``. Categories and levels are written as SPEC section 2's ids
(``licensing``, ``high``) and read in either language; limits in people's words.
Rows are numbered by YAML line (of the item's first key) and by JSON item
number (1-based, in its list).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..build import RawRecord, RawTable, build_catalog
from ..columns import POWER_COLUMNS, RISK_COLUMNS, Column
from ..model import Catalog, PowerRow, RiskPointRow
from ..problems import CatalogError, CatalogProblem

__all__ = ["catalog_to_data", "read_json", "read_yaml", "write_json", "write_yaml"]

_LISTS = ("powers", "risk_points")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _records(items: list[Any], numbers: list[int], columns: Sequence[Column], name: str, kind: str,
             file: str, problems: list[CatalogProblem]) -> RawTable:  # fmt: skip
    """Record by record: Chinese headers as keys, unknown keys, items that are no mapping (each named)."""
    keys = {c.field: c.field for c in columns} | {c.header: c.field for c in columns}
    out = []
    for item, row in zip(items, numbers, strict=True):
        if not isinstance(item, dict):
            problems.append(CatalogProblem("an item must be a mapping", file, name, row, row_kind=kind))
            continue
        rec = RawRecord(row=row, values={})
        for key, value in item.items():
            if key == "extra" and (value is None or isinstance(value, dict)):
                rec.extra = dict(value or {})
            elif key in keys:
                rec.values[keys[key]] = value
            else:
                msg = f"unknown key {key!r}; put columns of your own under 'extra'"
                problems.append(CatalogProblem(msg, file, name, row, str(key), row_kind=kind))
        out.append(rec)
    return RawTable.from_records(out)


def _table(
    items: Any, lines: Sequence[int], columns: Sequence[Column], name: str, file: str, problems: list[CatalogProblem]
) -> RawTable:
    """A list of records as a table; column by column when every item is a mapping keyed by field names."""
    kind = "line" if lines else "item"
    if items is None:
        return RawTable()
    if not isinstance(items, list):
        problems.append(CatalogProblem(f"'{name}' must be a list", file, name))
        return RawTable()
    numbers = [lines[i] if i < len(lines) else i + 1 for i in range(len(items))]
    fields = {c.field for c in columns}
    if not all(type(item) is dict for item in items):
        return _records(items, numbers, columns, name, kind, file, problems)
    used = set(itertools.chain.from_iterable(items))
    extras = [item.get("extra") for item in items] if "extra" in used else []
    if not used <= fields | {"extra"} or not all(e is None or type(e) is dict for e in extras):
        return _records(items, numbers, columns, name, kind, file, problems)
    table = RawTable(rows=numbers, cells={f: [item.get(f) for item in items] for f in fields & used})
    for key in dict.fromkeys(itertools.chain.from_iterable(e for e in extras if e)):
        table.extra[str(key)] = [e.get(key) if e else None for e in extras]
    return table


def _from_data(data: Any, file: str, lines: dict[str, list[int]], row_kind: str) -> Catalog:
    if not isinstance(data, dict):
        raise CatalogError([CatalogProblem("a catalog is a mapping with 'powers' and 'risk_points'", file)], file=file)
    problems: list[CatalogProblem] = []
    for key in data:
        if key not in _LISTS:
            problems.append(CatalogProblem(f"unknown top-level key {key!r}; expected powers, risk_points", file))
    powers = _table(data.get("powers"), lines.get("powers", []), POWER_COLUMNS, "powers", file, problems)
    risks = _table(data.get("risk_points"), lines.get("risk_points", []), RISK_COLUMNS, "risk_points", file, problems)
    return build_catalog(
        powers,
        risks,
        file=file,
        row_kind=row_kind,
        problems=problems,
        sheets=("powers", "risk_points"),
    )


def _item_lines(node: Any) -> dict[str, list[int]]:
    """The line of each item of the top-level lists, from the composed YAML node tree."""
    lines: dict[str, list[int]] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(value, yaml.SequenceNode):
                lines[str(key.value)] = [item.start_mark.line + 1 for item in value.value]
    return lines


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError([CatalogProblem(f"cannot read as UTF-8 text: {exc}", str(path))], file=str(path)) from exc


def read_yaml(path: Path) -> Catalog:
    """A catalog from a YAML file; rows are YAML line numbers."""
    loader = _Loader(_read_text(path))
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        problem = CatalogProblem(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            str(path),
            None,
            None if line is None else line + 1,
            None,
            None,
            "line",
        )
        raise CatalogError([problem], file=str(path)) from exc
    finally:
        loader.dispose()
    return _from_data(data, str(path), _item_lines(node), "line")


def read_json(path: Path) -> Catalog:
    """A catalog from a JSON file; rows are item numbers (1-based) in ``powers`` / ``risk_points``."""
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        problem = CatalogProblem(f"not valid JSON: {exc.msg}", str(path), None, exc.lineno, None, None, "line")
        raise CatalogError([problem], file=str(path)) from exc
    return _from_data(data, str(path), {}, "item")


def _power(p: PowerRow) -> dict[str, Any]:
    return p.model_dump(mode="json", exclude_none=True, exclude_defaults=False) | _limits(p)


def _limits(p: PowerRow) -> dict[str, Any]:
    return {k: getattr(p, k).text for k in ("statutory_limit", "promised_limit") if getattr(p, k) is not None}


def _risk(r: RiskPointRow) -> dict[str, Any]:
    d = r.model_dump(mode="json", exclude_none=True)
    d["measures"] = list(r.measures)
    return d


def _tidy(d: dict[str, Any]) -> dict[str, Any]:
    """Empty lists and mappings left out; ``extra`` last."""
    extra = d.pop("extra", None)
    out = {k: v for k, v in d.items() if not (k == "measures" and not v)}
    if extra:
        out["extra"] = extra
    return out


def catalog_to_data(catalog: Catalog) -> dict[str, Any]:
    """The catalog as plain data, in the layout of the YAML and JSON formats."""
    return {
        "powers": [_tidy(_power(p)) for p in catalog.powers],
        "risk_points": [_tidy(_risk(r)) for r in catalog.risk_points],
    }


def write_yaml(catalog: Catalog, path: Path) -> None:
    """Write YAML (UTF-8, Chinese as is, one key a line)."""
    text = yaml.dump(catalog_to_data(catalog), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
    path.write_text(text, encoding="utf-8")


def write_json(catalog: Catalog, path: Path) -> None:
    """Write JSON (UTF-8, Chinese as is, indented)."""
    path.write_text(json.dumps(catalog_to_data(catalog), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
