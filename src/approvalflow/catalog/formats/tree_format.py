"""YAML and JSON catalogs: ``powers`` and ``risk_points``, each a list of records.

Keys are the model's field names (``code``, ``statutory_limit`` …) or the
Chinese headers of SPEC section 9; columns a government added go under
``extra``. Categories and levels are written as SPEC section 2's ids
(``licensing``, ``high``) and read in either language; limits in people's words.
Rows are numbered by YAML line (of the item's first key) and by JSON item
number (1-based, in its list).

Both formats are read within bounds (a catalog comes from another system): a
regular file of at most :data:`CATALOG_MAX_BYTES` bytes; YAML through the
package's one bounded reader (:func:`approvalflow.io.yamlio.parse_yaml`, with libyaml
for speed) with at most :data:`CATALOG_MAX_YAML_NODES` nodes, aliases expanded, and
:data:`~approvalflow.io.yamlio.MAX_YAML_DEPTH` levels; JSON nested at most as deep
(Python's decoder recurses). ``read_yaml(path, max_bytes=..., max_nodes=...)`` and
``read_json(path, max_bytes=...)`` raise the bounds.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ...errors import DefinitionError
from ...io.yamlio import MAX_YAML_DEPTH, YamlDocument, collection_paused, parse_yaml, read_yaml_text
from ..build import RawRecord, RawTable, build_catalog
from ..columns import POWER_COLUMNS, RISK_COLUMNS, Column
from ..model import Catalog, PowerRow, RiskPointRow
from ..problems import CatalogError, CatalogProblem

__all__ = [
    "CATALOG_MAX_BYTES",
    "CATALOG_MAX_YAML_NODES",
    "catalog_to_data",
    "read_json",
    "read_yaml",
    "write_json",
    "write_yaml",
]

CATALOG_MAX_BYTES = 128 * 2**20
"""Largest YAML or JSON catalog read, in bytes: a county list (5,700 powers, 94,000 risk points) is 25 MB of YAML
and 31 MB of JSON. Raise it with ``read_yaml(path, max_bytes=...)`` or ``read_json(path, max_bytes=...)``."""

CATALOG_MAX_YAML_NODES = 4_000_000
"""Most YAML nodes a catalog may stand for, aliases expanded: a county list has 1.9 million, which take about
1 GB while they are read. Raise it with ``read_yaml(path, max_nodes=...)``."""

_LISTS = ("powers", "risk_points")
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


def _item_lines(doc: YamlDocument) -> dict[str, list[int]]:
    """The line of each item of the top-level lists (the rows), from the reader's line table."""
    rows: dict[str, list[int]] = {}
    for path, line in doc.lines(depth=2).by_path.items():
        if len(path) == 2 and isinstance(path[0], str) and isinstance(path[1], int):
            rows.setdefault(path[0], []).append(line)
    return rows


def _catalog_error(
    message: str, *, file: str | Path | None = None, line: int | None = None, element: str | None = None
) -> DefinitionError:
    """A :class:`CatalogError` with one problem (the shape :mod:`approvalflow.io.yamlio` raises errors in)."""
    name = str(file) if file is not None else None
    return CatalogError([CatalogProblem(message, name, None, line, element, None, "line")], file=name)


def _read_text(path: Path, max_bytes: int, option: str) -> str:
    hint = f"raise the limit with {option}(path, max_bytes=...)"
    return read_yaml_text(path, error=_catalog_error, max_bytes=max_bytes, hint=hint)


def read_yaml(path: Path, *, max_bytes: int = CATALOG_MAX_BYTES, max_nodes: int = CATALOG_MAX_YAML_NODES) -> Catalog:
    """A catalog from a YAML file; rows are YAML line numbers."""
    text = _read_text(path, max_bytes, "read_yaml")
    doc = parse_yaml(path, error=_catalog_error, text=text, max_bytes=max_bytes, max_nodes=max_nodes)
    with collection_paused():  # a county list is millions of objects, none in a cycle
        return _from_data(doc.data, str(path), _item_lines(doc), "line")


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]')


def read_json(path: Path, *, max_bytes: int = CATALOG_MAX_BYTES) -> Catalog:
    """A catalog from a JSON file; rows are item numbers (1-based) in ``powers`` / ``risk_points``.

    Nesting deeper than :data:`~approvalflow.io.yamlio.MAX_YAML_DEPTH` is refused (a catalog nests 4 deep).
    """
    text = _read_text(path, max_bytes, "read_json")
    try:
        data = json.loads(text)
        deep = _too_deep(data, MAX_YAML_DEPTH)
    except json.JSONDecodeError as exc:
        problem = CatalogProblem(f"not valid JSON: {exc.msg}", str(path), None, exc.lineno, None, None, "line")
        raise CatalogError([problem], file=str(path)) from exc
    except RecursionError:  # the decoder recurses once per level
        deep = True
    if deep:
        message = f"not valid here: JSON nested more than {MAX_YAML_DEPTH} levels deep"
        raise _catalog_error(message, file=path, line=_deep_json_line(text, MAX_YAML_DEPTH))
    with collection_paused():
        return _from_data(data, str(path), {}, "item")


def _too_deep(data: Any, limit: int) -> bool:
    """Whether lists and objects nest more than ``limit`` deep (a loop, no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _deep_json_line(text: str, limit: int) -> int | None:
    """The line where the brackets of ``text`` first open more than ``limit`` deep (strings skipped)."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return text.count("\n", 0, match.start()) + 1
        elif token in "]}":
            depth -= 1
    return None


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
