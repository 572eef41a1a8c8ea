"""Typed metadata of a process definition: what the ``af:`` annotations say.

These are plain frozen dataclasses, built once by :mod:`approvalflow.bpmn.loader`
from a BPMN file and read by the engine, the rules, ``validate`` and the
renderers. Names follow BPMN for BPMN things and the reform's words for the
reform's things (see ``docs/concepts.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Literal

__all__ = [
    "FIVE_DOMAINS",
    "Category",
    "Collective",
    "Countersign",
    "CountersignMode",
    "Domain",
    "FlowInfo",
    "Material",
    "MinDuration",
    "NodeInfo",
    "Power",
    "RiskLevel",
    "RiskPoint",
    "StepInfo",
    "TimeLimit",
    "Unit",
]

Unit = Literal["workday", "day", "hour"]


class Category(StrEnum):
    """The twelve power categories of SPEC section 2 (职权类别)."""

    LICENSING = "licensing"  # 行政许可
    PENALTY = "penalty"  # 行政处罚
    COERCION = "coercion"  # 行政强制
    LEVY = "levy"  # 行政征收
    PAYMENT = "payment"  # 行政给付
    INSPECTION = "inspection"  # 行政检查
    CONFIRMATION = "confirmation"  # 行政确认
    REWARD = "reward"  # 行政奖励
    ADJUDICATION = "adjudication"  # 行政裁决
    OTHER = "other"  # 其他行政权力
    INTERNAL = "internal"  # 内部管理
    SERVICE = "service"  # 公共服务


class Domain(StrEnum):
    """The five domains of 五不直接分管 that a unit's principal never handles directly."""

    PERSONNEL = "personnel"  # 人事
    FINANCE = "finance"  # 财务
    ENGINEERING = "engineering"  # 工程项目
    PROCUREMENT = "procurement"  # 物资采购
    APPROVAL = "approval"  # 行政审批


FIVE_DOMAINS: frozenset[Domain] = frozenset(Domain)


class RiskLevel(StrEnum):
    """Risk grade of a 廉政风险点: 高, 中, 低."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def chinese(self) -> str:
        return {"high": "高", "medium": "中", "low": "低"}[self.value]


@dataclass(frozen=True)
class Power:
    """``af:power``: the power (职权) this flowchart belongs to."""

    code: str
    name: str
    category: Category
    basis: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class TimeLimit:
    """``af:timeLimit``: the case limits (法定/承诺办结时限) and the one extension (延期)."""

    statutory: int | None = None
    promised: int | None = None
    extension: int | None = None
    unit: Unit = "workday"
    starts_after: str | None = None
    restart_on_return: bool = False  # af:timeLimit/@restartOnReturn: a 退回 before startsAfter restarts the clock


@dataclass(frozen=True)
class RiskPoint:
    """``af:risk``: an integrity risk point (廉政风险点) on a node."""

    id: str
    level: RiskLevel
    description: str
    measures: tuple[str, ...] = ()
    category: str | None = None
    post: str | None = None
    node: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Collective:
    """``af:collective``: a meeting step (集体讨论决定, 三重一大)."""

    quorum: Fraction = Fraction(2, 3)
    last_speaker: str | None = None
    pass_rule: str = "majority-of-present"
    group: str = "leadership"  # the unit's group (organisation file, units[].groups) whose members meet


CountersignMode = Literal["all", "any", "sequence", "ratio"]


@dataclass(frozen=True)
class Countersign:
    """A multi-instance step as Chinese approval signs it (``af:countersign`` on ``multiInstanceLoopCharacteristics``).

    ``mode``: ``all`` 会签 (every signer approves; one 不同意 rejects), ``any`` 或签 (the first approval passes; all
    rejecting rejects), ``sequence`` 依次审批 (one at a time in the order given; a rejection ends it), ``ratio`` 票签
    (passes when the approvals reach ``ratio`` of the signers; rejects once that can no longer happen). The signers
    are ``signers`` (people ids, in order), or the list in the case-data key ``signers_from``, or ``cardinality``
    instances (the ``loopCardinality`` expression) open to any authorised person, each signed by a different one.
    ``declared`` is false for a multi-instance step without ``af:countersign`` (the default: 会签 of distinct people).
    """

    mode: CountersignMode = "all"
    ratio: Fraction | None = None
    signers: tuple[str, ...] = ()
    signers_from: str | None = None
    cardinality: str | None = None
    sequential: bool = False
    element_variable: str | None = None
    declared: bool = True


@dataclass(frozen=True)
class NodeInfo:
    """Any BPMN flow node of a process, with what the engine and the renderers need."""

    id: str
    kind: str  # BPMN local tag name: userTask, exclusiveGateway, startEvent, ...
    name: str | None
    process: str
    line: int | None
    lane: str | None = None
    documentation: str | None = None
    annotations: tuple[str, ...] = ()
    risks: tuple[RiskPoint, ...] = ()


@dataclass(frozen=True)
class Material:
    """A material the applicant supplies (申请材料, ``af:materials/af:material``): an id, a name, required or not."""

    id: str
    name: str
    required: bool = True
    line: int | None = None
    step: str | None = None  # the step that declares it; None for the process


@dataclass(frozen=True)
class MinDuration:
    """``af:minDuration``: the least time a step must stay open (e.g. 征求意见期不少于30日, 公示期不少于7日)."""

    value: int
    unit: Unit = "day"
    reason: str | None = None


@dataclass(frozen=True)
class StepInfo:
    """A step (user, manual or plain task, or call activity) with its ``af:`` annotations."""

    node: NodeInfo
    posts: tuple[str, ...] = ()
    domain: Domain | None = None
    time_limit: int | None = None
    unit: Unit = "workday"
    separate_from: tuple[str, ...] = ()
    same_actor_as: str | None = None
    suspends_clock: str | None = None  # the reason, e.g. 补正; None when the step does not suspend
    once: bool = False
    requires: tuple[str, ...] = ()
    collective: Collective | None = None
    extension: bool = False
    posts_from_lane: bool = False
    min_duration: MinDuration | None = None
    units: tuple[str, ...] = ()  # the units whose people do the step (af:step/@units); () = the case's unit
    case_unit: bool = False  # af:step/@caseUnit="true": the case's unit's people may do it too (with ``units``)
    countersign: Countersign | None = None  # a multi-instance step: who signs and how the opinions decide
    materials: tuple[Material, ...] = ()  # the materials the step asks for (af:materials)
    return_to: str | None = None  # af:step/@returnTo: "previous", "start" or a step id (退回 without a named target)

    @property
    def id(self) -> str:
        return self.node.id

    @property
    def name(self) -> str:
        return self.node.name or self.node.id


@dataclass(frozen=True)
class FlowInfo:
    """A sequence flow, with its condition and risk points."""

    id: str
    source: str
    target: str
    process: str
    line: int | None
    name: str | None = None
    condition: str | None = None
    default: bool = False
    risks: tuple[RiskPoint, ...] = field(default=())
