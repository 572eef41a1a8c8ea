"""Does a catalog agree with its flowcharts? ``catalog check`` (SPEC sections 7 and 9).

The BPMN is the source: a power's 法定/承诺办结时限 must be its flowchart's
``af:timeLimit``, and its rows of 廉政风险点 must be the flowchart's ``af:risk``
annotations (same ids, on the same step, at the same level). Each flowchart is
loaded once however many powers share it. Every finding has a stable rule id
and a severity (documented in ``docs/catalog.md``). A ``流程图`` is opened only
when it stays inside the catalog's folder (or ``root``) and is a regular file
(:mod:`.paths`), unless ``allow_outside`` is given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..bpmn.loader import ProcessDefinition, load_process
from ..bpmn.model import RiskLevel, RiskPoint
from ..errors import DefinitionError
from ..io.yamlio import collection_paused
from ..rules.findings import Severity
from .columns import POWER_SHEET, RISK_SHEET
from .limits import Limit
from .model import LEVEL_NAMES, Catalog, PowerRow, RiskPointRow
from .paths import FlowchartPathError, flowchart_path
from .problems import CATALOG, CatalogFinding, catalog_finding

__all__ = ["RULES", "CatalogFinding", "CatalogReport", "FlowchartCache", "check_catalog"]

#: rule id -> severity of ``catalog check`` (the table of :data:`~.problems.CATALOG`).
RULES: dict[str, Severity] = CATALOG.severity
_LIMIT_COLUMNS = {"statutory": "法定办结时限", "promised": "承诺办结时限"}


@dataclass
class CatalogReport:
    """What ``catalog check`` found."""

    powers: int
    risk_points: int
    findings: list[CatalogFinding] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def to_json(self) -> dict[str, object]:
        return {
            "powers": self.powers,
            "risk_points": self.risk_points,
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass
class _Flowchart:
    definition: ProcessDefinition
    labels: dict[str, frozenset[str]]  # BPMN id or name -> ids of nodes, flows and processes it names
    risks: dict[str, RiskPoint]


def _index(d: ProcessDefinition) -> _Flowchart:
    labels: dict[str, set[str]] = {}
    named = [(n.id, n.name) for n in d.nodes.values()] + [(f.id, f.name) for f in d.flows.values()]
    named += [(p.id, p.name) for p in d.processes.values()]
    for ident, name in named:
        labels.setdefault(ident, set()).add(ident)
        if name:
            labels.setdefault(name, set()).add(ident)
    risks = {r.id: r for r in d.risks}
    return _Flowchart(d, {k: frozenset(v) for k, v in labels.items()}, risks)


class FlowchartCache:
    """Loads each BPMN file once (by resolved path); remembers failures too."""

    def __init__(self) -> None:
        self._cache: dict[Path, _Flowchart | DefinitionError] = {}

    def get(self, path: Path) -> _Flowchart | DefinitionError:
        key = path.resolve()
        if key not in self._cache:
            try:
                self._cache[key] = _index(load_process(key))
            except DefinitionError as exc:
                self._cache[key] = exc
        return self._cache[key]


def _limit_words(value: int, unit: str) -> str:
    return {"workday": f"{value}个工作日", "day": f"{value}日", "hour": f"{value}小时"}[unit]


def _differ(mine: Limit, theirs: int, unit: str) -> bool:
    """Value or unit differ (即办 is 0 in any unit)."""
    return (mine.value, mine.unit) != (theirs, unit) and not mine.value == theirs == 0


def _check_limits(p: PowerRow, chart: _Flowchart) -> Iterator[CatalogFinding]:
    tl = chart.definition.time_limit
    for kind, column in _LIMIT_COLUMNS.items():
        mine: Limit | None = getattr(p, f"{kind}_limit")
        theirs: int | None = getattr(tl, kind) if tl is not None else None
        unit = tl.unit if tl is not None else "workday"
        if mine is None and theirs is not None:
            msg = f"{p.code}: {column} is blank; the flowchart says {_limit_words(theirs, unit)}"
            yield catalog_finding("catalog-limit-blank", p.row, column, msg, power=p.code)
        elif mine is not None and theirs is None:
            msg = f"{p.code}: {column} is {mine.text}; the flowchart's af:timeLimit has no {kind} limit"
            yield catalog_finding("catalog-limit-mismatch", p.row, column, msg, power=p.code)
        elif mine is not None and theirs is not None and _differ(mine, theirs, unit):
            msg = f"{p.code}: {column} is {mine.text}; the flowchart's af:timeLimit says {_limit_words(theirs, unit)}"
            yield catalog_finding("catalog-limit-mismatch", p.row, column, msg, power=p.code)


_Problem = tuple[str, str, str]  # rule, column, message (without the power and risk id)


def _risk_row_problems(r: RiskPointRow, chart: _Flowchart) -> list[_Problem]:
    """What is wrong with one risk row against its flowchart; the same for every power sharing the flowchart."""
    problems: list[_Problem] = []
    ids = chart.labels.get(r.step)
    bpmn = chart.risks.get(r.id)
    if ids is None:
        problems.append(("catalog-risk-step", "环节", f'环节 "{r.step}" names no step of the flowchart'))
    if bpmn is None:
        problems.append(("catalog-risk-extra", "风险点编号", "the flowchart has no af:risk with this id"))
        return problems
    if ids is not None and bpmn.node not in ids:
        problems.append(("catalog-risk-mismatch", "环节", f'环节 is "{r.step}"; the flowchart has it on {bpmn.node}'))
    if r.level != bpmn.level:
        msg = f"风险等级 is {LEVEL_NAMES[r.level]}; the flowchart says {LEVEL_NAMES[bpmn.level]}"
        problems.append(("catalog-risk-mismatch", "风险等级", msg))
    if r.description != bpmn.description or r.measures != bpmn.measures:
        problems.append(("catalog-risk-text", "风险点", "风险点 or 防控措施 differ from the flowchart's af:risk"))
    return problems


_Memo = dict[tuple[int, str, str, RiskLevel, str, tuple[str, ...]], list[_Problem]]


def _check_risks(p: PowerRow, rows: list[RiskPointRow], chart: _Flowchart, memo: _Memo) -> Iterator[CatalogFinding]:
    for r in rows:
        key = (id(chart), r.step, r.id, r.level, r.description, r.measures)
        problems = memo.get(key)
        if problems is None:
            problems = memo[key] = _risk_row_problems(r, chart)
        for rule, column, msg in problems:
            yield catalog_finding(rule, r.row, column, f"{r.power} {r.id}: {msg}", RISK_SHEET, r.power)
    listed = {r.id for r in rows}
    for rid, risk in chart.risks.items():
        if rid not in listed:
            msg = f"{p.code}: risk point {rid} on {risk.node} of the flowchart is not in {RISK_SHEET}"
            yield catalog_finding("catalog-risk-missing", p.row, "流程图", msg, power=p.code)


@dataclass(frozen=True)
class _Where:
    """Where flowcharts are: ``base`` (paths are relative to it), ``root`` (they must stay inside), or anywhere."""

    base: Path
    root: Path | None = None
    allow_outside: bool = False


def _flowchart(p: PowerRow, where: _Where, cache: FlowchartCache) -> tuple[_Flowchart | None, CatalogFinding | None]:
    if not p.flowchart:
        msg = f"{p.code}: no 流程图; the power cannot be checked against a flowchart"
        return None, catalog_finding("catalog-no-flowchart", p.row, "流程图", msg, power=p.code)
    try:
        path = flowchart_path(p.flowchart, where.base, root=where.root, allow_outside=where.allow_outside)
    except FlowchartPathError as exc:
        return None, catalog_finding(exc.rule, p.row, "流程图", f"{p.code}: {exc}", power=p.code)
    chart = cache.get(path)
    if isinstance(chart, DefinitionError):
        msg = f"{p.code}: the flowchart {p.flowchart} does not load: {chart}"
        return None, catalog_finding("catalog-flowchart-invalid", p.row, "流程图", msg, power=p.code)
    return chart, None


def _again(problem: CatalogFinding, p: PowerRow) -> CatalogFinding:
    """The same flowchart problem, for another power that names the same file."""
    message = p.code + problem.message[len(problem.power or "") :]
    return catalog_finding(problem.rule, p.row, problem.column, message, problem.sheet or POWER_SHEET, p.code)


def _table_findings(catalog: Catalog) -> Iterator[CatalogFinding]:
    counts = Counter(p.code for p in catalog.powers)
    if len(counts) != len(catalog.powers):
        seen: set[str] = set()
        for p in catalog.powers:
            if p.code in seen:
                msg = f"{p.code}: 职权编码 appears {counts[p.code]} times"
                yield catalog_finding("catalog-duplicate-code", p.row, "职权编码", msg, power=p.code)
            seen.add(p.code)
    pairs = [(r.power, r.id) for r in catalog.risk_points]
    if len(set(pairs)) == len(pairs) and {power for power, _ in pairs} <= counts.keys():
        return  # the quick answer for a clean table
    listed: set[tuple[str, str]] = set()
    for r, pair in zip(catalog.risk_points, pairs, strict=True):
        if r.power not in counts:
            msg = f"{r.power} {r.id}: no power with this 职权编码 in {POWER_SHEET}"
            yield catalog_finding("catalog-risk-unknown-power", r.row, "职权编码", msg, RISK_SHEET, r.power)
        if pair in listed:
            msg = f"{r.power} {r.id}: this risk point appears twice for the power"
            yield catalog_finding("catalog-risk-duplicate", r.row, "风险点编号", msg, RISK_SHEET, r.power)
        listed.add(pair)


def check_catalog(
    catalog: Catalog,
    *,
    base: str | Path | None = None,
    cache: FlowchartCache | None = None,
    root: str | Path | None = None,
    allow_outside: bool = False,
) -> CatalogReport:
    """Check a catalog against its flowcharts (paths relative to ``base``, default the catalog's folder).

    A ``流程图`` must stay inside ``root`` (default: ``base``) and be a regular file, else the power gets a
    ``catalog-flowchart-outside`` or ``catalog-flowchart-not-file`` finding and nothing is opened;
    ``allow_outside=True`` lifts the first rule for a catalog you trust. Risk points are compared only when the
    catalog has a risk table (at least one risk point).
    """
    folder = Path(base) if base is not None else (Path(catalog.file).parent if catalog.file else Path.cwd())
    where = _Where(folder, Path(root) if root is not None else None, allow_outside)
    with collection_paused():
        return _check(catalog, where, cache or FlowchartCache())


def _check(catalog: Catalog, where: _Where, cache: FlowchartCache) -> CatalogReport:
    report = CatalogReport(len(catalog.powers), len(catalog.risk_points), list(_table_findings(catalog)))
    by_power: dict[str, list[RiskPointRow]] = {}
    for r in catalog.risk_points:
        by_power.setdefault(r.power, []).append(r)
    compare_risks = bool(catalog.risk_points)
    memo: _Memo = {}
    checked: set[str] = set()
    charts: dict[str | None, tuple[_Flowchart | None, CatalogFinding | None]] = {}
    for p in catalog.powers:
        first = p.code not in checked
        checked.add(p.code)
        if p.flowchart not in charts:
            charts[p.flowchart] = _flowchart(p, where, cache)
        chart, problem = charts[p.flowchart]
        if problem is not None:
            report.findings.append(problem if problem.power == p.code else _again(problem, p))
        if chart is None:
            continue
        report.findings.extend(_check_limits(p, chart))
        if compare_risks and first:  # a duplicate code's risk rows are checked once
            report.findings.extend(_check_risks(p, by_power.get(p.code, []), chart, memo))
    return report
