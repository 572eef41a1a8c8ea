"""A catalog skeleton and its risk table, generated from BPMN files (the BPMN is the source).

One power per flowchart with an ``af:power``: code, name, category, basis and
body from ``af:power``, limits from ``af:timeLimit``, ``流程图`` relative to the
catalog's folder, and one 廉政风险点 row per ``af:risk``. Fields the BPMN
does not hold (承办机构, 收费依据及标准, 责任事项, 追责情形, 监督电话) are left
blank to be filled in.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ..bpmn.loader import ProcessDefinition, load_process
from ..errors import DefinitionError, ExtensionError
from .limits import Limit, format_limit
from .model import Catalog, PowerRow, RiskPointRow
from .paths import FlowchartPathError, flowchart_path
from .problems import CatalogError, CatalogProblem

__all__ = ["bpmn_files", "catalog_from_bpmn", "power_row_for", "risk_rows_for", "risk_table"]


def bpmn_files(paths: Iterable[str | Path]) -> list[Path]:
    """The ``.bpmn`` files named, and those under named folders, sorted."""
    found: list[Path] = []
    for p in map(Path, paths):
        found.extend(sorted(p.rglob("*.bpmn")) if p.is_dir() else [p])
    return found


def _labels(d: ProcessDefinition) -> dict[str, str]:
    """Each node, flow and process id -> its name when that name is unique, else the id."""
    named = [(n.id, n.name) for n in d.nodes.values()] + [(f.id, f.name) for f in d.flows.values()]
    named += [(p.id, p.name) for p in d.processes.values()]
    counts = Counter(name for _, name in named if name)
    return {ident: name if name and counts[name] == 1 else ident for ident, name in named}


def risk_rows_for(d: ProcessDefinition, code: str) -> list[RiskPointRow]:
    """The 廉政风险点 rows of one power from its flowchart's ``af:risk`` annotations."""
    labels = _labels(d)
    return [
        RiskPointRow(
            power=code,
            step=labels.get(r.node or d.id, r.node or d.id),
            id=r.id,
            description=r.description,
            level=r.level,
            measures=r.measures,
            post=r.post,
            category=r.category,
        )
        for r in d.risks
    ]


def _limit(value: int | None, unit: str) -> Limit | None:
    return None if value is None else format_limit(value, unit)  # type: ignore[arg-type]


def power_row_for(d: ProcessDefinition, flowchart: str) -> PowerRow:
    """The 权力清单 row of a flowchart with an ``af:power``."""
    if d.power is None:
        raise ExtensionError(f"process {d.id} has no af:power", file=d.file, element=d.id)
    tl = d.time_limit
    return PowerRow(
        code=d.power.code,
        name=d.power.name,
        category=d.power.category,
        basis=d.power.basis,
        body=d.power.body,
        statutory_limit=_limit(tl.statutory, tl.unit) if tl else None,
        promised_limit=_limit(tl.promised, tl.unit) if tl else None,
        flowchart=flowchart,
    )


def catalog_from_bpmn(
    paths: Iterable[str | Path], *, relative_to: str | Path = "."
) -> tuple[Catalog, list[tuple[Path, str]]]:
    """A catalog of the flowcharts with an ``af:power``, and the files skipped, each with the reason.

    A file is skipped when its process has no ``af:power`` or when it does not load on its own
    (e.g. a process only called from another one).

    ``relative_to`` is the folder the catalog will be written to (``流程图`` paths are relative to it).
    """
    folder = Path(relative_to).resolve()
    catalog = Catalog()
    skipped: list[tuple[Path, str]] = []
    for path in bpmn_files(paths):
        try:
            d = load_process(path)
        except DefinitionError as exc:
            skipped.append((path, f"does not load on its own: {exc}"))
            continue
        if d.power is None:
            skipped.append((path, "no af:power"))
            continue
        rel = Path(os.path.relpath(path.resolve(), folder)).as_posix()
        catalog.powers.append(power_row_for(d, rel))
        catalog.risk_points.extend(risk_rows_for(d, d.power.code))
    return catalog, skipped


def risk_table(
    catalog: Catalog, *, base: str | Path | None = None, root: str | Path | None = None, allow_outside: bool = False
) -> list[RiskPointRow]:
    """The 廉政风险点 rows of every power of ``catalog``, generated from its flowchart's ``af:risk`` annotations.

    The BPMN is the source: use this to write (or rewrite) a catalog's risk table. Rows come in power order;
    ``流程图`` paths are relative to ``base`` (default: the catalog's folder) and must stay inside ``root``
    (default: ``base``) unless ``allow_outside``. Each flowchart is loaded once; a power without a flowchart
    gets no rows, a refused path raises a :class:`CatalogError` naming the row and column, and a flowchart
    that does not load raises its :class:`~approvalflow.errors.DefinitionError`.
    """
    folder = Path(base) if base is not None else (Path(catalog.file).parent if catalog.file else Path.cwd())
    inside = Path(root) if root is not None else None
    loaded: dict[Path, ProcessDefinition] = {}
    rows: list[RiskPointRow] = []
    for p in catalog.powers:
        if not p.flowchart:
            continue
        try:
            path = flowchart_path(p.flowchart, folder, root=inside, allow_outside=allow_outside).resolve()
        except FlowchartPathError as exc:
            problem = CatalogProblem(
                f"{exc} ({exc.rule})", catalog.file, "权力清单", p.row, "流程图", None, catalog.row_kind
            )
            raise CatalogError([problem], file=catalog.file) from None
        if path not in loaded:
            loaded[path] = load_process(path)
        rows.extend(risk_rows_for(loaded[path], p.code))
    return rows
