"""``approvalflow demo``: sample cases of the general licensing process, clean and rule-breaking.

Every case runs on the real engine with a fake clock and China's working-day calendar; for each case the demo
prints every attempted step and what the engine did with it, then the case's deadlines, its time accounting
(elapsed, suspended, remaining working days) and the yellow and red cards at a moment.
"""

from __future__ import annotations

from pathlib import Path

from ..bpmn.loader import ProcessDefinition, load_process
from ..engine.case import Case
from ..errors import ApprovalflowError, StepRefused
from ..org.organisation import Organisation, load_organisation
from ..testing.report import table
from .cases import DEMO_CASES, DEMO_UNIT, DemoCase, find_processes, start_demo_case

__all__ = ["DEMO_CASES", "DemoCase", "find_processes", "run_demo"]


def _play(demo: DemoCase, definition: ProcessDefinition, org: Organisation) -> tuple[Case, list[list[str]]]:
    case, clock = start_demo_case(demo, definition, org, f"demo-{demo.title.split('.')[0]}")
    rows = []
    for task, actor, at, data in demo.steps:
        clock.to(at)
        who = f"{org.people[actor].name}({actor})"
        try:
            found = case.complete(task, actor, data=data)
            outcome = "recorded: " + ", ".join(f.rule for f in found) if found else "completed"
        except StepRefused as exc:
            outcome = "REFUSED: " + ", ".join(exc.rules)
        rows.append([at[5:16].replace("T", " "), definition.steps[task].name, who, outcome])
    if demo.check_at:
        clock.to(demo.check_at)
    return case, rows


_CARD = {"red": "红牌 red", "yellow": "黄牌 yellow"}


def _time_lines(case: Case) -> list[str]:
    report = case.time_report()
    lines = []
    if report.deadlines is not None:
        d = report.deadlines
        lines.append(
            f"   期限 deadlines: promised {d.promised.day if d.promised else '-'}, "
            f"statutory {d.statutory.day if d.statutory else '-'}"
            + (f" (extended by {case.extension_days} working days)" if case.extension_days else "")
        )
    if report.elapsed is not None:
        lines.append(
            f"   用时 as of {report.at:%m-%d %H:%M}: {report.elapsed} working days counted, "
            f"{report.suspended} suspended; remaining: promised {report.remaining_promised}, "
            f"statutory {report.remaining_statutory}"
        )
    cards = case.alerts()
    if cards:
        lines.append(
            "   预警 cards: "
            + "; ".join(f"{_CARD[a.level]} {a.scope} {a.task or a.limit} (due {a.deadline.day})" for a in cards)
        )
    return lines


def run_demo(processes: Path | None = None, out: Path | None = None) -> int:
    """Run the demo cases and print a table per case, then the process library, then supervision.

    The supervision part keeps its case store (SQLite) and efficiency report in ``out`` (default: a new temporary
    folder, kept and printed so that the report can be opened). Returns the exit status.
    """
    try:
        folder = find_processes(processes)
    except FileNotFoundError as exc:
        print(f"approvalflow demo: {exc}")
        return 2
    definition = load_process(folder / "licensing" / "general_licensing.bpmn")
    org = load_organisation(folder / "org" / "sample_county.yaml")
    power, limit = definition.power, definition.time_limit
    print(
        f"approvalflow demo — {power.name if power else definition.name_or_id} ({power.code if power else ''}), "
        f"{org.unit(DEMO_UNIT).name}"
    )
    if limit is not None:
        print(
            f"limits: promised {limit.promised}, statutory {limit.statutory} working days after acceptance, "
            f"one extension of up to {limit.extension}; calendar: China's (2026: 中秋 Sep 25–27, 国庆 Oct 1–7 off; "
            "Sep 20 and Oct 10 worked)\n"
        )
    for demo in DEMO_CASES:
        try:
            case, rows = _play(demo, definition, org)
        except ApprovalflowError as exc:
            print(f"{demo.title}: error: {exc}")
            return 2
        print(f"{demo.title}   [policy: {demo.policy.value}]")
        print(table(["time", "step", "actor", "outcome"], rows))
        status = "办结 completed" if case.is_completed else "在办 open: " + ", ".join(s.id for s in case.ready_steps())
        trail = "intact" if case.trail.verify() else "BROKEN"
        print(f"→ {status}; findings {len(case.findings)}; audit trail {len(case.trail.entries)} entries, {trail}")
        print("\n".join(_time_lines(case)) + "\n")
    code = _run_library(folder.parent / "examples" / "scenarios")
    code = code or _run_catalog(folder / "catalog" / "sample_county.yaml")
    return code or _run_supervision(folder, out)


def _run_catalog(path: Path) -> int:
    """权力清单: load the sample county catalog, check it against its flowcharts and print one line."""
    if not path.is_file():
        return 0
    from ..catalog import check_catalog, load_catalog

    try:
        # the sample catalog lives in processes/catalog/ and names flowcharts in processes/*/: allow that folder
        report = check_catalog(load_catalog(path), root=path.parent.parent)
    except ApprovalflowError as exc:
        print(f"{path.name}: error: {exc}")
        return 2
    errors = sum(f.severity == "error" for f in report.findings)
    print(
        f"\n权力清单 the sample county catalog ({path}): {report.powers} powers, {report.risk_points} risk points, "
        f"{len(report.findings)} findings ({errors} errors) against their flowcharts"
    )
    return 0


def _run_supervision(processes: Path, out: Path | None) -> int:
    """电子监察: the demo cases in a SQLite case store, a sweep, and the efficiency report."""
    import tempfile

    from .supervision import run_supervision_demo

    folder = out if out is not None else Path(tempfile.mkdtemp(prefix="approvalflow-demo-"))
    print()
    print("\n".join(run_supervision_demo(folder, processes).lines))
    return 0


def _run_library(folder: Path) -> int:
    """Run every example scenario of the process library (one clean case per process) and print a line each."""
    from ..testing.scenario import run_scenario

    files = sorted(folder.glob("*.scenario.yaml"))
    if not files:
        return 0
    print(f"流程库 the process library: one example case per process ({folder})")
    rows = []
    for path in files:
        try:
            result = run_scenario(path)
        except ApprovalflowError as exc:
            print(f"{path.name}: error: {exc}")
            return 2
        case = result.case
        power = case.definition.power
        deadlines = result.to_json()["deadlines"]
        rows.append(
            [
                power.name if power else case.definition.name_or_id,
                case.unit.name,
                str(len(case.path)),
                "办结 completed" if case.is_completed else "在办 open",
                str(len(case.findings)),
                "intact" if case.trail.verify() else "BROKEN",
                (deadlines or {}).get("promised") or "-",
            ]
        )
    print(table(["process", "unit", "steps", "status", "findings", "trail", "promised by"], rows))
    return 0
