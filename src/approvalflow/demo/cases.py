"""The demo's sample cases of the general licensing process, and where the demo finds ``processes/``.

Shared by :mod:`approvalflow.demo.licensing` (the tables) and :mod:`approvalflow.demo.supervision` (the store),
so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bpmn.loader import ProcessDefinition
from ..engine.case import Case, Policy, start_case
from ..org.organisation import Organisation
from ..time.clock import FakeClock

__all__ = ["DEMO_CASES", "DEMO_UNIT", "DemoCase", "Step", "find_processes", "start_demo_case"]

Step = tuple[str, str, str, dict[str, Any]]  # task, actor, moment, data


@dataclass(frozen=True)
class DemoCase:
    title: str
    policy: Policy
    data: dict[str, Any]
    start: str
    steps: list[Step] = field(default_factory=list)
    check_at: str | None = None  # when to show the cards (default: the last step's moment)


DEMO_UNIT = "market-bureau"
"""The unit of the sample organisation every demo case runs in."""
_APPLICANT = {"applicant": "某餐饮有限公司"}
_T = "2026-{}:00+08:00"

DEMO_CASES = [
    DemoCase(
        "1. 一次告知补正后受理，跨国庆中秋假期按时办结",
        Policy.ENFORCE,
        _APPLICANT,
        _T.format("09-25T09:00"),
        [
            ("receive", "wang", _T.format("09-25T09:30"), {"materials_complete": False}),
            ("notify_correction", "wang", _T.format("09-25T10:00"), {}),
            ("receive", "wang", _T.format("09-28T09:00"), {"materials_complete": True}),
            ("accept", "wang", _T.format("09-28T10:00"), {}),
            ("review", "liu", _T.format("10-09T16:00"), {"needs_extension": False}),
            ("decide", "li", _T.format("10-12T10:00"), {"approved": True}),
            ("deliver", "chen", _T.format("10-13T15:00"), {}),
        ],
    ),
    DemoCase(
        "2. 第二次补正告知被拒绝（一次告知，once）",
        Policy.ENFORCE,
        _APPLICANT,
        _T.format("09-28T09:00"),
        [
            ("receive", "wang", _T.format("09-28T09:30"), {"materials_complete": False}),
            ("notify_correction", "wang", _T.format("09-28T10:00"), {}),
            ("receive", "wang", _T.format("09-29T09:00"), {"materials_complete": False}),
            ("notify_correction", "wang", _T.format("09-29T09:30"), {}),
        ],
    ),
    DemoCase(
        "3. 受理人自审、一把手直接审批被拒绝，改由他人办理",
        Policy.ENFORCE,
        _APPLICANT,
        _T.format("09-28T09:00"),
        [
            ("receive", "zhou", _T.format("09-28T09:30"), {"materials_complete": True}),
            ("accept", "zhou", _T.format("09-28T10:00"), {}),
            ("review", "zhou", _T.format("09-30T10:00"), {"needs_extension": False}),
            ("review", "liu", _T.format("09-30T11:00"), {"needs_extension": False}),
            ("decide", "zhang", _T.format("10-09T10:00"), {"approved": True}),
            ("decide", "li", _T.format("10-09T11:00"), {"approved": True}),
            ("deliver", "wang", _T.format("10-10T10:00"), {}),
        ],
    ),
    DemoCase(
        "4. 审查人与申请人有利害关系，须回避",
        Policy.ENFORCE,
        {"applicant": "某建筑工程有限公司"},
        _T.format("09-28T09:00"),
        [
            ("receive", "wang", _T.format("09-28T09:30"), {"materials_complete": True}),
            ("accept", "wang", _T.format("09-28T10:00"), {}),
            ("review", "liu", _T.format("09-30T10:00"), {"needs_extension": False}),
            ("review", "zhou", _T.format("09-30T11:00"), {"needs_extension": False}),
        ],
        check_at=_T.format("10-09T09:00"),
    ),
    DemoCase(
        "5. 经负责人批准延期十个工作日，两个期限同时顺延",
        Policy.ENFORCE,
        _APPLICANT,
        _T.format("09-28T09:00"),
        [
            ("receive", "wang", _T.format("09-28T09:30"), {"materials_complete": True}),
            ("accept", "wang", _T.format("09-28T10:00"), {}),
            ("review", "liu", _T.format("10-14T16:00"), {"needs_extension": True}),
            ("extend", "zhang", _T.format("10-15T09:00"), {"extension_days": 10}),
        ],
        check_at=_T.format("10-29T09:00"),
    ),
    DemoCase(
        "6. 决定环节久拖不决：环节和承诺时限亮红牌",
        Policy.ENFORCE,
        _APPLICANT,
        _T.format("09-28T09:00"),
        [
            ("receive", "wang", _T.format("09-28T09:30"), {"materials_complete": True}),
            ("accept", "wang", _T.format("09-28T10:00"), {}),
            ("review", "liu", _T.format("10-09T16:00"), {"needs_extension": False}),
        ],
        check_at=_T.format("10-26T09:00"),
    ),
    DemoCase(
        "7. 同类违规在 record 策略下放行并记录（监督外部系统日志）",
        Policy.RECORD,
        {"applicant": "某建筑工程有限公司"},
        _T.format("09-28T09:00"),
        [
            ("receive", "zhou", _T.format("09-28T09:30"), {"materials_complete": True}),
            ("accept", "zhou", _T.format("09-28T10:00"), {}),
            ("review", "zhou", _T.format("09-30T10:00"), {"needs_extension": False}),
            ("decide", "zhang", _T.format("10-09T10:00"), {"approved": True}),
            ("deliver", "wang", _T.format("10-26T10:00"), {}),
        ],
    ),
]


def find_processes(start: Path | None = None) -> Path:
    """The project's ``processes/`` folder: given, in the working directory, or beside the source tree."""
    candidates = [start] if start else [Path.cwd() / "processes", Path(__file__).resolve().parents[3] / "processes"]
    for c in candidates:
        if c is not None and (c / "licensing" / "general_licensing.bpmn").is_file():
            return c
    raise FileNotFoundError(
        "cannot find the processes/ folder with licensing/general_licensing.bpmn; "
        "run the demo from the project's root or pass --processes DIR"
    )


def start_demo_case(
    demo: DemoCase, definition: ProcessDefinition, org: Organisation, case_id: str
) -> tuple[Case, FakeClock]:
    """Start ``demo`` in :data:`DEMO_UNIT` on a fake clock at its start; the clock is returned to be moved."""
    clock = FakeClock(demo.start)
    case = start_case(definition, org, unit=DEMO_UNIT, clock=clock, data=demo.data, policy=demo.policy, case_id=case_id)
    return case, clock
